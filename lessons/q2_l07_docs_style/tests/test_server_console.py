"""Tests of the server console's commands."""
import contextlib
import io
import unittest

from server_console import HELP, console_loop, run_command
from server_storage import ServerStorage


class TestRunCommand(unittest.TestCase):
    def setUp(self):
        self.storage = ServerStorage('sqlite://')
        self.storage.user_login('alice', '127.0.0.1', 5000)
        self.storage.user_login('bob', '127.0.0.1', 5001)
        self.storage.user_logout('bob')

    def test_users_lists_everyone(self):
        text = run_command(self.storage, 'users')
        self.assertIn('alice', text)
        self.assertIn('bob', text)

    def test_connected_lists_the_active_ones(self):
        text = run_command(self.storage, 'connected')
        self.assertIn('127.0.0.1:5000', text)
        self.assertNotIn('bob', text)

    def test_loghist_of_one_user(self):
        text = run_command(self.storage, 'loghist bob')
        self.assertIn('127.0.0.1:5001', text)
        self.assertNotIn('alice', text)

    def test_empty_tables_say_so(self):
        empty = ServerStorage('sqlite://')
        self.assertEqual([run_command(empty, c) for c in ('users', 'connected', 'loghist')],
                         ['No users yet', 'Nobody', 'No logins'])

    def test_help_and_unknown_commands(self):
        self.assertEqual(run_command(self.storage, 'help'), HELP)
        self.assertEqual(run_command(self.storage, 'dance'), HELP)

    def test_exit(self):
        self.assertIsNone(run_command(self.storage, 'exit'))


class TestConsoleLoop(unittest.TestCase):
    def test_exit_stops_the_server(self):
        stopped = []
        with contextlib.redirect_stdout(io.StringIO()):
            console_loop(ServerStorage('sqlite://'), ['users\n', 'exit\n', 'users\n'],
                         lambda: stopped.append(True))
        self.assertEqual(stopped, [True])

    def test_end_of_input_does_not_stop_the_server(self):
        stopped = []
        with contextlib.redirect_stdout(io.StringIO()):
            console_loop(ServerStorage('sqlite://'), ['users\n'], lambda: stopped.append(True))
        self.assertEqual(stopped, [])


if __name__ == '__main__':
    unittest.main()

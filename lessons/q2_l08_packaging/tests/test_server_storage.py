"""Tests of ServerStorage on an in-memory SQLite database (and one file, for a restart)."""
import os
import tempfile
import unittest

from messenger_server.passwords import derive_key
from messenger_server.server_storage import ServerStorage


class TestServerStorage(unittest.TestCase):
    def setUp(self):
        self.storage = ServerStorage('sqlite://')

    def test_first_login_creates_the_user(self):
        self.storage.user_login('alice', '127.0.0.1', 5000)
        self.assertEqual([name for name, _ in self.storage.users_list()], ['alice'])
        self.assertIn('alice', self.storage)
        self.assertNotIn('bob', self.storage)

    def test_login_marks_the_user_active_until_logout(self):
        self.storage.user_login('alice', '127.0.0.1', 5000)
        self.storage.user_login('bob', '127.0.0.1', 5001)
        self.assertEqual([row[:3] for row in self.storage.active_users_list()],
                         [('alice', '127.0.0.1', 5000), ('bob', '127.0.0.1', 5001)])
        self.storage.user_logout('alice')
        self.assertEqual([row[0] for row in self.storage.active_users_list()], ['bob'])

    def test_second_login_replaces_the_active_row(self):
        self.storage.user_login('alice', '127.0.0.1', 5000)
        self.storage.user_login('alice', '127.0.0.1', 6000)
        self.assertEqual([row[2] for row in self.storage.active_users_list()], [6000])

    def test_history_keeps_every_login_in_order(self):
        for port in (5000, 5001):
            self.storage.user_login('alice', '127.0.0.1', port)
        self.storage.user_login('bob', '10.0.0.1', 7000)
        self.assertEqual([(name, port) for name, _, _, port in self.storage.login_history()],
                         [('alice', 5000), ('alice', 5001), ('bob', 7000)])
        self.assertEqual(len(self.storage.login_history('bob')), 1)
        self.assertEqual(self.storage.login_history('carol'), [])

    def test_logout_of_unknown_user_is_harmless(self):
        self.storage.user_logout('nobody')
        self.assertEqual(self.storage.active_users_list(), [])


class TestContactsAndCounters(unittest.TestCase):
    def setUp(self):
        self.storage = ServerStorage('sqlite://')
        for name in ('alice', 'bob', 'carol'):
            self.storage.user_login(name, '127.0.0.1', 5000)

    def test_contacts_are_per_user(self):
        self.assertTrue(self.storage.add_contact('alice', 'bob'))
        self.assertTrue(self.storage.add_contact('alice', 'bob'))    # twice is once
        self.assertTrue(self.storage.add_contact('alice', 'carol'))
        self.assertEqual(self.storage.contacts('alice'), ['bob', 'carol'])
        self.assertEqual(self.storage.contacts('bob'), [])

    def test_unknown_users_cannot_be_contacts(self):
        self.assertFalse(self.storage.add_contact('alice', 'zed'))
        self.assertFalse(self.storage.add_contact('zed', 'alice'))

    def test_remove_contact(self):
        self.storage.add_contact('alice', 'bob')
        self.assertTrue(self.storage.remove_contact('alice', 'bob'))
        self.assertFalse(self.storage.remove_contact('alice', 'bob'))

    def test_message_counts_add_up(self):
        self.storage.add_message_counts({'alice': (2, 1), 'bob': (0, 2)})
        self.storage.add_message_counts({'alice': (1, 0), 'nobody': (5, 5)})
        stats = {name: (sent, received) for name, _, sent, received
                 in self.storage.message_stats()}
        self.assertEqual(stats, {'alice': (3, 1), 'bob': (0, 2), 'carol': (0, 0)})

    def test_user_names(self):
        self.assertEqual(self.storage.user_names(), ['alice', 'bob', 'carol'])


class TestAccounts(unittest.TestCase):
    def setUp(self):
        self.storage = ServerStorage('sqlite://')

    def test_added_user_has_a_salted_slow_hash(self):
        self.storage.add_user('alice', 'secret', iterations=1000)
        salt, iterations, key = self.storage.password_record('alice')
        self.assertEqual((iterations, key), (1000, derive_key('secret', salt, 1000)))
        self.assertIn('alice', self.storage)
        self.assertEqual(self.storage.users_list(), [('alice', None)])

    def test_two_users_with_one_password_have_different_salts_and_keys(self):
        for name in ('alice', 'bob'):
            self.storage.add_user(name, 'same', iterations=1000)
        alice, bob = self.storage.password_record('alice'), self.storage.password_record('bob')
        self.assertNotEqual(alice[0], bob[0])
        self.assertNotEqual(alice[2], bob[2])

    def test_adding_again_sets_a_new_password(self):
        self.storage.add_user('alice', 'old', iterations=1000)
        self.storage.add_user('alice', 'new', iterations=1000)
        salt, _, key = self.storage.password_record('alice')
        self.assertEqual(key, derive_key('new', salt, 1000))
        self.assertEqual(len(self.storage.user_names()), 1)

    def test_no_record_for_unknown_user(self):
        self.assertIsNone(self.storage.password_record('nobody'))


class TestRestart(unittest.TestCase):
    def test_users_stay_and_active_users_are_cleared(self):
        with tempfile.TemporaryDirectory() as folder:
            url = f'sqlite:///{os.path.join(folder, "server.db")}'
            first = ServerStorage(url)
            first.user_login('alice', '127.0.0.1', 5000)
            first.engine.dispose()
            second = ServerStorage(url)
            self.assertIn('alice', second)
            self.assertEqual(second.active_users_list(), [])
            second.engine.dispose()


if __name__ == '__main__':
    unittest.main()

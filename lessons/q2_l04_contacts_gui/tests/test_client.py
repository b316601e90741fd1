"""Tests of client.py: reading answers, the command line, a whole run against a stub server."""
import contextlib
import io
import socket
import threading
import unittest

from unittest import mock

from client import (ChatClient, Inbox, describe_message, describe_response, main, parse_args,
                    parse_command, run_threads)
from client_storage import ClientStorage
from logs import InTemporaryDirectory
from protocol import (MessageReader, ProtocolError, encode_message, make_chat_message,
                      make_request, make_response)


class TestDescribeResponse(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(describe_response(make_response(200, 'OK')), '200: OK')

    def test_error(self):
        self.assertEqual(describe_response(make_response(400, 'bad')), '400: bad')

    def test_not_a_response(self):
        with self.assertRaises(ProtocolError):
            describe_response({'action': 'presence'})


class TestDescribeMessage(unittest.TestCase):
    def test_sender_and_text(self):
        message = make_chat_message('alice', '#all', 'Привет')
        self.assertEqual(describe_message(message), 'alice: Привет')

    def test_direct_message(self):
        message = make_chat_message('alice', 'bob', 'psst')
        self.assertEqual(describe_message(message), 'alice (to you): psst')


class TestParseCommand(unittest.TestCase):
    def test_plain_text_goes_to_all(self):
        message = parse_command('hello there\n', 'alice')
        self.assertEqual((message['to'], message['message'], message['from']),
                         ('#all', 'hello there', 'alice'))

    def test_at_name_goes_to_one_user(self):
        message = parse_command('@bob  see you\n', 'alice')
        self.assertEqual((message['to'], message['message']), ('bob', 'see you'))

    def test_commands(self):
        self.assertEqual([parse_command(line, 'a') for line in ('/quit\n', '/help', '  \n')],
                         ['quit', 'help', None])

    def test_contact_commands(self):
        self.assertEqual(parse_command('/users', 'a')['action'], 'get_users')
        self.assertEqual(parse_command('/contacts', 'a')['action'], 'get_contacts')
        added = parse_command('/add bob', 'a')
        self.assertEqual((added['action'], added['user_id']), ('add_contact', 'bob'))
        self.assertEqual(parse_command('/del bob', 'a')['action'], 'del_contact')

    def test_history_command(self):
        self.assertEqual(parse_command('/history', 'a'), ('history', None))
        self.assertEqual(parse_command('/history bob', 'a'), ('history', 'bob'))


class TestInbox(unittest.TestCase):
    """The client's reading and sending on a socket pair standing in for the server."""

    def setUp(self):
        self.sock, self.server = socket.socketpair()
        self.sock.settimeout(5)
        self.addCleanup(self.sock.close)
        self.addCleanup(self.server.close)
        self.inbox = Inbox(self.sock)
        self.client = ChatClient('alice', ClientStorage('sqlite://'))
        self.client.sock, self.client.inbox = self.sock, self.inbox

    def test_messages_before_a_response_are_printed(self):
        self.server.sendall(encode_message(make_chat_message('bob', '#all', 'hi')) +
                            encode_message(make_response(200, 'OK')))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            response = self.inbox.next_response()
        self.assertEqual((response['response'], out.getvalue()), (200, 'bob: hi\n'))

    def test_garbage_from_the_server_raises(self):
        self.server.sendall(b'garbage\n')
        with self.assertRaises(ProtocolError):
            self.inbox.next_message()

    def test_introduce_sends_presence(self):
        self.server.sendall(encode_message(make_response(200, 'OK')))
        self.assertEqual(self.client.introduce()['response'], 200)
        self.assertIn(b'"account_name": "alice"', self.server.recv(4096))

    def test_input_loop_sends_lines_then_quit(self):
        self.client.input_loop(['one\n', '@bob two\n', '/quit\n', 'never sent\n'])
        self.sock.close()
        messages = MessageReader().feed(self.server.recv(4096))
        self.assertEqual([m.get('to') for m in messages], ['#all', 'bob', None])
        self.assertEqual(messages[-1]['action'], 'quit')

    def test_responses_are_matched_to_requests_and_stored(self):
        self.client.send(make_request('add_contact', 'bob'))
        self.client.send(make_chat_message('alice', 'bob', 'hi bob'))
        self.client.send(make_request('get_users'))
        self.server.sendall(encode_message(make_response(200, 'bob added')) +
                            encode_message(make_response(200, 'OK')) +
                            encode_message({**make_response(202, '2 users'),
                                            'users': ['alice', 'bob']}))
        self.server.close()
        with contextlib.redirect_stdout(io.StringIO()):
            self.client.receive_loop()
        storage = self.client.storage
        self.assertEqual((storage.contacts(), storage.known_users()), (['bob'], ['alice', 'bob']))
        self.assertEqual([row[1:] for row in storage.history('bob')], [('alice', 'bob', 'hi bob')])

    def test_refused_message_is_not_kept(self):
        self.client.send(make_chat_message('alice', 'nobody', 'hello?'))
        self.server.sendall(encode_message(make_response(404, 'there is no user nobody')))
        self.server.close()
        with contextlib.redirect_stdout(io.StringIO()):
            self.client.receive_loop()
        self.assertEqual(self.client.storage.history(), [])

    def test_received_messages_are_kept(self):
        self.server.sendall(encode_message(make_chat_message('bob', 'alice', 'psst')) +
                            encode_message(make_chat_message('carol', '#all', 'hi all')))
        self.server.close()
        with contextlib.redirect_stdout(io.StringIO()):
            self.client.receive_loop()
        self.assertEqual([row[1:] for row in self.client.storage.history()],
                         [('bob', 'bob', 'psst'), ('carol', '#all', 'hi all')])

    def test_history_shows_who_wrote_to_whom(self):
        storage = self.client.storage
        storage.save_message('bob', 'alice', True, 'hi bob')        # alice wrote to bob
        storage.save_message('bob', 'bob', False, 'psst')           # bob wrote to alice
        storage.save_message('#all', 'carol', False, 'hi all')
        storage.save_message('alice', 'alice', True, 'note to self')
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.client.show_history(None)
        self.assertEqual([line.split(' ', 2)[2] for line in out.getvalue().splitlines()],
                         ['alice -> bob: hi bob', 'bob -> alice: psst', 'carol -> #all: hi all',
                          'alice -> alice: note to self'])

    def test_receive_loop_prints_messages_and_refusals_until_closed(self):
        self.server.sendall(encode_message(make_chat_message('bob', '#all', 'hi')) +
                            encode_message(make_response(200, 'OK')) +
                            encode_message(make_response(404, 'carol is not connected')))
        self.server.close()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.client.receive_loop()
        self.assertEqual(out.getvalue(), 'bob: hi\n404: carol is not connected\n')


class TestRunThreads(unittest.TestCase):
    def test_returns_when_the_first_thread_ends(self):
        release = threading.Event()
        threads = run_threads((release.wait, (10,)), (lambda: None, ()))
        self.assertTrue(threads[0].is_alive())
        release.set()
        threads[0].join(5)
        self.assertFalse(threads[0].is_alive())


class TestParseArgs(unittest.TestCase):
    def test_address_and_default_port(self):
        args = parse_args(['127.0.0.1'])
        self.assertEqual((args.address, args.port, args.name), ('127.0.0.1', 7777, None))

    def test_port_and_name(self):
        args = parse_args(['localhost', '8000', '-n', 'alice'])
        self.assertEqual((args.port, args.name), (8000, 'alice'))

    def test_address_is_required(self):
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            parse_args([])


class TestMain(InTemporaryDirectory):
    """Runs the client against a one-shot stub server on a free port."""

    def run_against(self, reply):
        listener = socket.create_server(('127.0.0.1', 0))
        port = listener.getsockname()[1]

        def answer_once():
            client, _ = listener.accept()
            with client:
                client.recv(4096)
                client.sendall(reply)
                client.recv(4096)      # the client's quit, or nothing when it gave up
            listener.close()

        thread = threading.Thread(target=answer_once)
        thread.start()
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                mock.patch('sys.stdin', io.StringIO('')):
            code = main(['127.0.0.1', str(port), '-n', 'alice'])
        thread.join(5)
        return code, out.getvalue()

    def test_200_exits_0(self):
        code, out = self.run_against(encode_message(make_response(200, 'OK')))
        self.assertEqual((code, out.strip()), (0, '200: OK'))

    def test_400_exits_1(self):
        code, out = self.run_against(encode_message(make_response(400, 'bad')))
        self.assertEqual(code, 1)
        self.assertIn('400', out)

    def test_garbage_reply_is_reported(self):
        code, out = self.run_against(b'nonsense\n')
        self.assertEqual(code, 1)
        self.assertIn('Error', out)

    def test_run_is_logged(self):
        self.run_against(encode_message(make_response(200, 'OK')))
        with open('client.log', encoding='utf-8') as file:
            log = file.read()
        self.assertIn('Server answered', log)


if __name__ == '__main__':
    unittest.main()

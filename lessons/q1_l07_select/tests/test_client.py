"""Tests of client.py: reading answers, the command line, a whole run against a stub server."""
import contextlib
import io
import socket
import threading
import unittest

from unittest import mock

from client import Inbox, describe_message, describe_response, main, parse_args, send_lines
from logs import InTemporaryDirectory
from protocol import ProtocolError, encode_message, make_chat_message, make_response


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


class TestInbox(unittest.TestCase):
    """The client's reading and sending on a socket pair standing in for the server."""

    def setUp(self):
        self.sock, self.server = socket.socketpair()
        self.sock.settimeout(5)
        self.addCleanup(self.sock.close)
        self.addCleanup(self.server.close)
        self.inbox = Inbox(self.sock)

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

    def test_send_lines_sends_each_line_to_all(self):
        self.server.sendall(encode_message(make_response(200, 'OK')) * 2)
        send_lines(self.sock, self.inbox, 'alice', ['one\n', '\n', 'two\n'])
        sent = self.server.recv(4096).decode()
        self.assertEqual((sent.count('"to": "#all"'), '"one"' in sent, '"two"' in sent),
                         (2, True, True))

    def test_send_lines_reports_refusals(self):
        self.server.sendall(encode_message(make_response(400, 'too long')))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            send_lines(self.sock, self.inbox, 'alice', ['x\n'])
        self.assertEqual(out.getvalue(), '400: too long\n')


class TestParseArgs(unittest.TestCase):
    def test_address_and_default_port(self):
        args = parse_args(['127.0.0.1'])
        self.assertEqual((args.address, args.port, args.name, args.mode),
                         ('127.0.0.1', 7777, 'guest', 'listen'))

    def test_send_mode(self):
        self.assertEqual(parse_args(['127.0.0.1', '-m', 'send']).mode, 'send')

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
            listener.close()

        thread = threading.Thread(target=answer_once)
        thread.start()
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                mock.patch('sys.stdin', io.StringIO('')):
            code = main(['127.0.0.1', str(port), '-m', 'send'])
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
        code, out = self.run_against(b'nonsense')
        self.assertEqual(code, 1)
        self.assertIn('Error', out)

    def test_run_is_logged(self):
        self.run_against(encode_message(make_response(200, 'OK')))
        with open('client.log', encoding='utf-8') as file:
            log = file.read()
        self.assertIn('Server answered', log)


if __name__ == '__main__':
    unittest.main()

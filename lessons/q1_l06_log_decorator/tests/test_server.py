"""Tests of server.py: answers, serving one client, the command line."""
import errno
import unittest
from unittest import mock

from constants import ACCEPT_PAUSE
from fakes import FakeSocket
from protocol import decode_message, encode_message, make_presence
from server import accept_client, handle_message, parse_args, serve_client


class TestHandleMessage(unittest.TestCase):
    def test_presence_gets_200(self):
        self.assertEqual(handle_message(make_presence('alice'))['response'], 200)

    def test_unknown_action_gets_400(self):
        response = handle_message({'action': 'dance', 'time': 1.0})
        self.assertEqual(response['response'], 400)
        self.assertIn('action', response['error'])

    def test_missing_action_gets_400(self):
        self.assertEqual(handle_message({})['response'], 400)

    def test_bad_presence_gets_400_with_reason(self):
        response = handle_message({'action': 'presence', 'time': 1.0, 'user': 'alice'})
        self.assertEqual(response['response'], 400)
        self.assertIn('user', response['error'])


class TestServeClient(unittest.TestCase):
    def serve(self, incoming):
        sock = FakeSocket(incoming)
        serve_client(sock, ('127.0.0.1', 5000))
        return sock.sent

    def test_answers_presence(self):
        sent = self.serve(encode_message(make_presence('alice')))
        self.assertEqual(decode_message(sent)['response'], 200)

    def test_answers_garbage_with_400(self):
        self.assertEqual(decode_message(self.serve(b'garbage'))['response'], 400)

    def test_silent_client_gets_nothing(self):
        self.assertEqual(self.serve(b''), b'')

    def test_bad_request_is_logged_as_warning(self):
        with self.assertLogs('server', 'WARNING') as logs:
            self.serve(b'garbage')
        self.assertIn('bad request', logs.output[0])

    def test_fault_gets_500_and_is_logged(self):
        with mock.patch('server.handle_message', side_effect=RuntimeError('a bug')), \
                self.assertLogs('server', 'ERROR') as logs:
            sent = self.serve(encode_message(make_presence('alice')))
        self.assertEqual(decode_message(sent)['response'], 500)
        self.assertIn('RuntimeError: a bug', logs.output[0])


class TestAcceptClient(unittest.TestCase):
    def test_out_of_descriptors_waits_and_tries_again(self):
        listener = mock.Mock()
        listener.accept.side_effect = [OSError(errno.EMFILE, 'Too many open files'),
                                       ('sock', 'address')]
        with mock.patch('server.time.sleep') as sleep, self.assertLogs('server', 'ERROR'):
            self.assertEqual(accept_client(listener), ('sock', 'address'))
        sleep.assert_called_once_with(ACCEPT_PAUSE)


class TestParseArgs(unittest.TestCase):
    def test_defaults(self):
        args = parse_args([])
        self.assertEqual((args.port, args.address), (7777, ''))

    def test_port_and_address(self):
        args = parse_args(['-p', '8888', '-a', '127.0.0.1'])
        self.assertEqual((args.port, args.address), (8888, '127.0.0.1'))

    def test_bad_port_is_refused(self):
        for port in ('0', '70000', 'seven'):
            with self.subTest(port=port), self.assertRaises(SystemExit):
                parse_args(['-p', port])


if __name__ == '__main__':
    unittest.main()

"""Tests of client.py: reading answers, the command line, a whole run against a stub server."""
import contextlib
import io
import socket
import threading
import unittest

from client import describe_response, main, parse_args
from logs import InTemporaryDirectory
from protocol import ProtocolError, encode_message, make_response


class TestDescribeResponse(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(describe_response(make_response(200, 'OK')), '200: OK')

    def test_error(self):
        self.assertEqual(describe_response(make_response(400, 'bad')), '400: bad')

    def test_not_a_response(self):
        with self.assertRaises(ProtocolError):
            describe_response({'action': 'presence'})


class TestParseArgs(unittest.TestCase):
    def test_address_and_default_port(self):
        args = parse_args(['127.0.0.1'])
        self.assertEqual((args.address, args.port, args.name), ('127.0.0.1', 7777, 'guest'))

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
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(['127.0.0.1', str(port)])
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

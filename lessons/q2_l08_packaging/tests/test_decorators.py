"""Tests of the @log decorator."""
import logging
import unittest

from messenger_server.decorators import hide_secrets, log
from messenger_server.protocol import (decode_message, encode_message, make_authenticate,
                                       make_response)


@log
def add(first, second=0):
    """Return the sum (a function to decorate)."""
    return first + second


def call_add():
    """Call ``add`` from a function with a known name."""
    return add(2, second=3)


class Counted(int):
    """An int that counts how often it is written out: formatting a call would do it."""

    reprs = 0

    def __repr__(self):
        Counted.reprs += 1
        return super().__repr__()


class TestLog(unittest.TestCase):
    def test_call_is_logged_with_arguments_and_caller(self):
        with self.assertLogs('messenger_server.decorators', 'DEBUG') as logs:
            self.assertEqual(call_add(), 5)
        self.assertEqual(len(logs.records), 1)
        message = logs.records[0].getMessage()
        self.assertIn('test_decorators.add(2, second=3)', message)
        self.assertIn('called from test_decorators.call_add', message)

    def test_decorated_function_keeps_its_name_and_docstring(self):
        self.assertEqual(add.__name__, 'add')
        self.assertIn('sum', add.__doc__)

    def test_protocol_helpers_are_decorated(self):
        with self.assertLogs('messenger_server.decorators', 'DEBUG') as logs:
            make_response(200, 'OK')
        self.assertIn('protocol.make_response(200, ', logs.output[0])

    def test_nothing_is_formatted_when_debug_is_off(self):
        with self.assertNoLogs('messenger_server.decorators', 'DEBUG'):
            # assertNoLogs lowers the level to DEBUG; raise it again inside the block.
            logging.getLogger('messenger_server.decorators').setLevel(logging.INFO)
            add(Counted(1))
        self.assertEqual(Counted.reprs, 0)

    def test_login_secrets_are_hidden(self):
        salt, nonce, proof = 'aa' * 16, 'bb' * 32, 'cc' * 32
        with self.assertLogs('messenger_server.decorators', 'DEBUG') as logs:
            encode_message({'response': 101, 'salt': salt, 'iterations': 1000, 'nonce': nonce})
            decode_message(encode_message(make_authenticate('alice', proof)))
        text = '\n'.join(logs.output)
        for secret in (salt, nonce, proof):
            self.assertNotIn(secret, text)
        self.assertIn("'salt': '***'", text)
        self.assertIn("make_authenticate('alice', '***')", text)

    def test_hide_secrets_in_json_bytes(self):
        self.assertEqual(hide_secrets(b'{"proof": "a\\"b", "user": {"account_name": "x"}}'),
                         b'{"proof": "***", "user": {"account_name": "x"}}')


if __name__ == '__main__':
    unittest.main()

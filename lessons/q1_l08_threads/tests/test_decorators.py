"""Tests of the @log decorator."""
import logging
import unittest

from decorators import log
from protocol import make_response


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
        with self.assertLogs('decorators', 'DEBUG') as logs:
            self.assertEqual(call_add(), 5)
        self.assertEqual(len(logs.records), 1)
        message = logs.records[0].getMessage()
        self.assertIn('test_decorators.add(2, second=3)', message)
        self.assertIn('called from test_decorators.call_add', message)

    def test_decorated_function_keeps_its_name_and_docstring(self):
        self.assertEqual(add.__name__, 'add')
        self.assertIn('sum', add.__doc__)

    def test_protocol_helpers_are_decorated(self):
        with self.assertLogs('decorators', 'DEBUG') as logs:
            make_response(200, 'OK')
        self.assertIn('protocol.make_response(200, ', logs.output[0])

    def test_nothing_is_formatted_when_debug_is_off(self):
        with self.assertNoLogs('decorators', 'DEBUG'):
            # assertNoLogs lowers the level to DEBUG; raise it again inside the block.
            logging.getLogger('decorators').setLevel(logging.INFO)
            add(Counted(1))
        self.assertEqual(Counted.reprs, 0)


if __name__ == '__main__':
    unittest.main()

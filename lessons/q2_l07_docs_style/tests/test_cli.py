"""Tests of cli.py."""
import argparse
import unittest

from cli import port_number


class TestPortNumber(unittest.TestCase):
    def test_valid(self):
        self.assertEqual(port_number('7777'), 7777)

    def test_out_of_range(self):
        for text in ('0', '65536', '-1'):
            with self.subTest(text=text), self.assertRaises(argparse.ArgumentTypeError):
                port_number(text)

    def test_not_a_number(self):
        with self.assertRaises(argparse.ArgumentTypeError):
            port_number('seven')


if __name__ == '__main__':
    unittest.main()

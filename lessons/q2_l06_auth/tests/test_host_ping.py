"""Tests of host_ping.py: real pings on loopback addresses, and the rest without a network."""
import contextlib
import io
import ipaddress
import unittest
from unittest import mock

import host_ping
from host_ping import address_range, host_ping as ping_hosts, host_range_ping, host_range_ping_tab

LOOPBACK = ipaddress.ip_address('127.0.0.1')


def quietly(function, *args, **kwargs):
    """Call ``function`` with its printing captured; return (result, printed text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = function(*args, **kwargs)
    return result, out.getvalue()


class TestRealPing(unittest.TestCase):
    """Loopback addresses answer on any machine with ping installed."""

    def test_loopback_range_is_reachable(self):
        results, printed = quietly(host_range_ping, '127.0.0.1', 3)
        self.assertEqual(results, [(LOOPBACK + n, True) for n in range(3)])
        self.assertIn('127.0.0.3: reachable', printed)

    def test_host_name_is_pinged(self):
        results, _ = quietly(ping_hosts, ['localhost'])
        self.assertEqual(results, [('localhost', True)])


class TestWithoutNetwork(unittest.TestCase):
    """``is_reachable`` replaced: 127.0.0.2 is made to look unreachable."""

    def setUp(self):
        patcher = mock.patch.object(host_ping, 'is_reachable',
                                    lambda host, timeout: str(host) != '127.0.0.2')
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_unreachable_host_is_reported(self):
        results, printed = quietly(ping_hosts, ['127.0.0.1', '127.0.0.2'])
        self.assertEqual([reachable for _, reachable in results], [True, False])
        self.assertIn('127.0.0.2: unreachable', printed)

    def test_table_has_two_columns(self):
        table, printed = quietly(host_range_ping_tab, '127.0.0.1', 3)
        lines = table.splitlines()
        self.assertEqual(lines[0].split(), ['Reachable', 'Unreachable'])
        self.assertEqual(lines[2].split(), ['127.0.0.1', '127.0.0.2'])
        self.assertEqual(lines[3].split(), ['127.0.0.3'])
        self.assertEqual(printed.strip(), table.strip())


class TestAddressRange(unittest.TestCase):
    def test_range(self):
        self.assertEqual([str(a) for a in address_range('10.0.0.254', 2)],
                         ['10.0.0.254', '10.0.0.255'])

    def test_range_may_not_change_the_third_octet(self):
        with self.assertRaisesRegex(ValueError, 'last octet'):
            address_range('10.0.0.250', 10)

    def test_range_needs_ipv4(self):
        with self.assertRaises(ValueError):
            address_range('not an address', 2)


class TestCommandLine(unittest.TestCase):
    def test_missing_ping_is_a_clear_error(self):
        out = io.StringIO()
        with mock.patch('shutil.which', return_value=None), contextlib.redirect_stderr(out):
            code = host_ping.main(['127.0.0.1'])
        self.assertEqual((code, out.getvalue().strip()),
                         (1, 'Error: the ping command is not installed'))

    def test_bad_range_is_a_clear_error(self):
        out = io.StringIO()
        with contextlib.redirect_stderr(out):
            code = host_ping.main(['--range', '127.0.0.250', '10'])
        self.assertEqual(code, 1)
        self.assertIn('last octet', out.getvalue())


if __name__ == '__main__':
    unittest.main()

"""Tests of host_ping.py: pings of loopback addresses, and the rest without a network.

``host_ping`` runs the system ``ping``, which a machine may lack. So the tests that ping put a
stand-in ``ping`` first on the PATH, a small Python script that answers for a few loopback
addresses and localhost; only ``TestRealPing`` runs the real command, where it is installed.
"""
import contextlib
import io
import ipaddress
import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import host_ping
from host_ping import address_range, host_ping as ping_hosts, host_range_ping, host_range_ping_tab

LOOPBACK = ipaddress.ip_address('127.0.0.1')
# The stand-in: `ping ... HOST` answers (exits 0) for these hosts only.
STAND_IN = '''#!{python}
import sys
sys.exit(0 if sys.argv[-1] in ('127.0.0.1', '127.0.0.2', '127.0.0.3', 'localhost') else 1)
'''


def quietly(function, *args, **kwargs):
    """Call ``function`` with its printing captured; return (result, printed text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = function(*args, **kwargs)
    return result, out.getvalue()


class StandInPing(unittest.TestCase):
    """Each test finds the stand-in ``ping`` first on the PATH."""

    def setUp(self):
        if os.name == 'nt':
            self.skipTest('the stand-in ping is a POSIX script (Windows always has ping)')
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        script = Path(folder.name) / 'ping'
        script.write_text(STAND_IN.format(python=sys.executable), encoding='utf-8')
        script.chmod(0o755)
        path = folder.name + os.pathsep + os.environ.get('PATH', '')
        patcher = mock.patch.dict(os.environ, {'PATH': path})
        patcher.start()
        self.addCleanup(patcher.stop)


class TestPing(StandInPing):
    """host_ping runs ``ping`` once per host and reads its exit status."""

    def test_loopback_range_is_reachable(self):
        results, printed = quietly(host_range_ping, '127.0.0.1', 3)
        self.assertEqual(results, [(LOOPBACK + n, True) for n in range(3)])
        self.assertIn('127.0.0.3: reachable', printed)

    def test_host_name_is_pinged(self):
        results, _ = quietly(ping_hosts, ['localhost'])
        self.assertEqual(results, [('localhost', True)])

    def test_host_that_does_not_answer_is_unreachable(self):
        results, printed = quietly(host_range_ping, '127.0.0.3', 2)
        self.assertEqual(results, [(LOOPBACK + 2, True), (LOOPBACK + 3, False)])
        self.assertIn('127.0.0.4: unreachable', printed)


class TestRealPing(unittest.TestCase):
    """The system ping, where it is installed: loopback always answers it."""

    @unittest.skipUnless(shutil.which('ping'), 'the system ping command is not installed '
                         '(on Debian: apt-get install iputils-ping; .ci/run installs it)')
    def test_loopback_answers_the_system_ping(self):
        results, _ = quietly(ping_hosts, ['127.0.0.1'])
        self.assertEqual(results, [(LOOPBACK, True)])


class TestWithoutNetwork(StandInPing):
    """``is_reachable`` replaced: 127.0.0.2 is made to look unreachable."""

    def setUp(self):
        super().setUp()
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

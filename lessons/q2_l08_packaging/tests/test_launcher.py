"""Tests of launcher.py: its commands, then a real run of this stage's server and clients."""
import contextlib
import io
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from launcher import run_commands

LAUNCHER = Path(__file__).resolve().parent.parent / 'launcher.py'


class FakeLauncher:
    """Records what ``run_commands`` asks of it."""

    def __init__(self):
        self.calls = []

    def start(self):
        self.calls.append('start')

    def say(self, number, text):
        self.calls.append(('say', number, text))

    def stop(self):
        self.calls.append('stop')


class TestRunCommands(unittest.TestCase):
    def test_commands_are_carried_out_until_q(self):
        fake = FakeLauncher()
        with contextlib.redirect_stdout(io.StringIO()):
            run_commands(fake, ['s\n', 'say 2 hello there\n', 'x\n', 'q\n', 's\n'])
        self.assertEqual(fake.calls, ['start', ('say', 2, 'hello there'), 'stop', 'stop'])

    def test_end_of_input_stops_everything(self):
        fake = FakeLauncher()
        run_commands(fake, [])
        self.assertEqual(fake.calls, ['stop'])


def free_port():
    """Return a TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_text(path, text, timeout=10):
    """Poll ``path`` until it holds ``text``; return what it holds then."""
    deadline = time.monotonic() + timeout
    content = ''
    while time.monotonic() < deadline:
        content = path.read_text(encoding='utf-8') if path.exists() else ''
        if text in content:
            break
        time.sleep(0.05)
    return content


class TestRealRun(unittest.TestCase):
    """The launcher starts this stage's server and two clients in a temporary directory."""

    def test_start_say_and_stop(self):
        with tempfile.TemporaryDirectory() as folder:
            launcher = subprocess.Popen(
                [sys.executable, str(LAUNCHER), '-p', str(free_port()), '-n', '2'],
                cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                launcher.stdin.write('s\n')
                launcher.stdin.flush()
                for number in (1, 2):       # both clients are in the chat before anyone speaks
                    joined = wait_for_text(Path(folder, f'client{number}.out'), '200')
                    self.assertIn('200', joined)
                launcher.stdin.write('say 1 hello from the launcher\n')
                launcher.stdin.flush()
                received = wait_for_text(Path(folder, 'client2.out'), 'user1: hello')
                self.assertIn('user1: hello from the launcher', received)
                out, _ = launcher.communicate('x\nq\n', timeout=30)
            finally:
                if launcher.poll() is None:
                    launcher.kill()
            self.assertEqual(launcher.returncode, 0)
            self.assertIn('Started a server', out)
            self.assertIn('Stopped 3 processes', out)
            self.assertIn('Server stopped', Path(folder, 'server.out').read_text())


if __name__ == '__main__':
    unittest.main()

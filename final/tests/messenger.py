"""Run the messenger as a user does: a server, two console clients, a message each way."""
from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

TIMEOUT = 30.0
PASSWORDS = {'alice': 'alice-secret', 'bob': 'боб-пароль'}


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def user_env(home: Path) -> dict[str, str]:
    """Return an environment whose data folder (keys, default database) is under ``home``."""
    return dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / 'data'), PYTHONUTF8='1',
                LC_ALL='C.UTF-8', QT_QPA_PLATFORM='offscreen')


def venv(folder: Path, *requirements: str, extra_index: str | None = None) -> Path:
    """Make a fresh virtual environment, install ``requirements``; return its bin folder."""
    subprocess.run([sys.executable, '-m', 'uv', 'venv', '-q', '--python', sys.executable,
                    str(folder)], check=True)
    index = ['--extra-index-url', extra_index] if extra_index else []
    subprocess.run([sys.executable, '-m', 'uv', 'pip', 'install', '-q', '--python',
                    str(folder / 'bin' / 'python'), *index, *requirements], check=True)
    return folder / 'bin'


class Console:
    """A console client in its own process: type lines into it, wait for lines out of it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        # The client outlives this call: leave() ends it. pylint: disable=consider-using-with
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, encoding='utf-8',
                                        env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip('\n'))

    def type(self, line: str) -> None:
        """Type a line, as at the keyboard."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + '\n')
        self.process.stdin.flush()

    def expect(self, wanted: str) -> None:
        """Wait until the client prints ``wanted`` (a whole line)."""
        deadline = time.monotonic() + TIMEOUT
        while wanted not in self.seen:
            try:
                self.seen.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f'no {wanted!r} in {self.seen}') from None

    def leave(self) -> int:
        """End the input (the client says quit); return its exit code."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(TIMEOUT)


def wait_listening(process: subprocess.Popen, port: int) -> None:
    """Wait until the server accepts connections on ``port``."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f'the server exited with {process.returncode}'
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)      # polling for the port to open, with a deadline
    raise AssertionError(f'the server did not listen on {port} within {TIMEOUT} s')


def chat_each_way(server: str | Path, client: str | Path, home: Path) -> None:
    """Add alice and bob, serve, and let them exchange a direct message each way.

    ``server`` and ``client`` are the ``jim-server`` and ``jim-client`` executables to run.
    """
    env = user_env(home)
    db = str(home / 'server.db')
    added = subprocess.run([str(server), '--db', db, '--iterations', '4096', '--add-user',
                            *PASSWORDS], input=''.join(f'{p}\n' for p in PASSWORDS.values()),
                           capture_output=True, text=True, encoding='utf-8', env=env,
                           timeout=TIMEOUT, check=False)
    assert added.returncode == 0, added.stderr
    port = free_port()
    with subprocess.Popen([str(server), '--db', db, '--host', '127.0.0.1', '--port', str(port)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env) as served:
        try:
            wait_listening(served, port)
            talk(client, port, env)
        finally:
            served.send_signal(signal.SIGTERM)
            log = served.communicate(timeout=TIMEOUT)[0].decode('utf-8', 'replace')
        assert served.returncode == 0, log


def talk(client: str | Path, port: int, env: dict[str, str]) -> None:
    """Log alice and bob in with two clients; a message each way, end to end encrypted."""
    consoles = {}
    for name, password in PASSWORDS.items():
        consoles[name] = Console([str(client), '127.0.0.1', str(port), '-n', name], env)
        consoles[name].type(password)                 # not a terminal: the first line
        consoles[name].expect(f'200: logged in as {name}')
    alice, bob = consoles['alice'], consoles['bob']
    alice.type('@bob Привет, Боб!')
    bob.expect('alice [bob]: Привет, Боб!')
    bob.type('@alice hello, alice')
    alice.expect('bob [alice]: hello, alice')
    for console in consoles.values():
        assert console.leave() == 0, console.seen
        assert not any('Traceback' in line for line in console.seen), console.seen

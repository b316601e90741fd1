"""A stage's server in a subprocess, for the black-box suite and the repository's tools."""
from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from itertools import count
from pathlib import Path

from stages import Stage
from wire import (POOL, TIMEOUT, JimConnection, authenticate, free_port, presence,
                  scram_login)

START_TIMEOUT = 15.0
PORT_ATTEMPTS = 3           # starts of a server whose free port was taken before it bound it
STOP_TIMEOUT = 10.0
LOG_EXCERPT = 4000         # characters of a server's output shown either side of a failure
PROBES = count()
IN_USE = os.strerror(errno.EADDRINUSE)     # what a server says when it cannot listen


def taken(address: tuple[str, int]) -> bool:
    """Tell whether something holds ``address`` (a server may not say so in these words)."""
    with socket.socket() as sock:
        try:
            sock.bind(address)
        except OSError as err:
            return err.errno == errno.EADDRINUSE
    return False


class PortTaken(RuntimeError):
    """The server could not listen: its port was taken after it was picked."""


class ServerProcess:
    """A stage's server running in a subprocess, in a working directory of its own."""

    def __init__(self, stage: Stage, workdir: Path, accounts: Path | None = None,
                 output: Path | None = None):
        self.stage = stage
        self.workdir = workdir
        if accounts is not None:       # a database with TEST_USERS in it, made once
            for path in accounts.glob('*'):
                shutil.copy(path, workdir)
        self.address = ('127.0.0.1', free_port())
        self.output = output or workdir / 'server-output.txt'
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and wait until it accepts connections.

        The port was free when it was picked, but another program may take it before the
        server binds it: the server is then started again, on another free port.
        """
        for _ in range(PORT_ATTEMPTS - 1):
            try:
                self._start()
                return
            except PortTaken:
                self.address = ('127.0.0.1', free_port())
        self._start()

    def _start(self) -> None:
        argv = self.stage.command('server', host=self.address[0], port=self.address[1])
        # PYTHONFAULTHANDLER: a server that will not stop prints where it is stuck (see stop).
        env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONFAULTHANDLER='1',
                   QT_QPA_PLATFORM='offscreen')
        start_of_log = len(self.log())
        with open(self.output, 'ab') as out:
            # The server outlives this call: stop() ends it. pylint: disable=consider-using-with
            self.process = subprocess.Popen(argv, cwd=self.workdir, env=env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log()
                if IN_USE in log[start_of_log:] or taken(self.address):
                    raise PortTaken(log)
                raise RuntimeError(f'server exited with {self.process.returncode}:\n{log}')
            try:
                socket.create_connection(self.address, timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)     # polling for the port to open, with a deadline
        raise RuntimeError(f'server did not listen within {START_TIMEOUT} s:\n{self.log()}')

    def stop(self) -> int:
        """Stop the server with SIGTERM and return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired as timeout:
            # SIGABRT makes the fault handler print every thread's stack into the output.
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            raise AssertionError(f'server ignored SIGTERM for {STOP_TIMEOUT} s:\n'
                                 f'{self.log()[-LOG_EXCERPT:]}') from timeout

    def database_files(self) -> list[Path]:
        """Return the server's database and its journals (failing if it made none)."""
        files = list(self.workdir.glob('*.db*'))
        assert files, f'no database in {sorted(p.name for p in self.workdir.iterdir())}'
        return files

    def log(self) -> str:
        """Return what the server printed."""
        return self.output.read_text(errors='replace') if self.output.exists() else ''

    def connect(self, timeout: float = TIMEOUT, source: str | None = None) -> JimConnection:
        """Open a new raw connection (from the loopback address ``source`` if given)."""
        return JimConnection(self.address, timeout=timeout, source=source)

    def introduce(self, conn: JimConnection, name: str) -> dict:
        """Introduce ``name`` on ``conn``: log in where the stage has accounts, else presence."""
        conn.user = name         # names the connection in the report of nox -s check
        if self.stage.has('scram'):
            return scram_login(conn, name)
        if self.stage.has('auth'):
            return authenticate(conn, name)
        return conn.request(presence(name))

    def join(self, name: str) -> JimConnection:
        """Open a connection and introduce ``name`` (200 expected)."""
        conn = self.connect()
        response = self.introduce(conn, name)
        assert response['response'] == 200, response
        return conn

    def session(self, name: str) -> JimConnection:
        """Open a connection on which requests are served: logged in as ``name`` if need be."""
        logs_in = self.stage.has('auth') or self.stage.has('scram')
        return self.join(name) if logs_in else self.connect()

    def assert_serving(self) -> None:
        """Fail unless the server still introduces a newcomer with 200."""
        assert self.process is not None and self.process.poll() is None, self.log()
        with self.connect() as conn:
            response = self.introduce(conn, f'probe{next(PROBES) % POOL}')
        assert response['response'] == 200, response

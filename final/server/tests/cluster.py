"""Several jim-server nodes on one PostgreSQL database, for the cluster tests.

``JIM_TEST_POSTGRES`` names the server to use (default: the machine's own, on 127.0.0.1:5432,
trust authentication); each test gets a database of its own, dropped afterwards. A test that
must restart PostgreSQL starts a private instance (``PrivatePostgres``) from the same
binaries, on a free port, as the ``postgres`` user.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from jim.messages import msg, request
from jim.constants import Action
from jim_client.connection import Connection

ADMIN = os.environ.get('JIM_TEST_POSTGRES', 'postgresql://postgres@127.0.0.1:5432/postgres')
PASSWORD = 'cluster-password'
BINARIES = Path('/usr/lib/postgresql/15/bin')
WAIT = 30.0


def free_port() -> int:
    """Return a TCP port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def poll(condition, timeout: float = WAIT, what: str = 'the condition'):
    """Wait until ``condition()`` is truthy; return it; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'{what} did not happen within {timeout:g} s')
        time.sleep(0.02)


def reachable(dsn: str = ADMIN) -> str | None:
    """Return None if PostgreSQL answers at ``dsn``, else why not."""
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error as err:
        return str(err).strip()
    return None


class Database:
    """A database of its own on a PostgreSQL server, made and dropped with an admin DSN."""

    def __init__(self, admin: str = ADMIN) -> None:
        self.admin = admin
        self.name = f'jim_test_{uuid.uuid4().hex[:12]}'
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE {self.name}')
        info = psycopg.conninfo.conninfo_to_dict(admin)
        host = info.get('host', '127.0.0.1')
        self.url = (f'postgresql+psycopg://{info.get("user", "postgres")}@'
                    f'{host}:{info.get("port", 5432)}/{self.name}')

    @property
    def dsn(self) -> str:
        """The database's own DSN, for psycopg."""
        return psycopg.conninfo.make_conninfo(self.admin, dbname=self.name)

    def drop(self) -> None:
        """Drop it, whoever is still connected."""
        with psycopg.connect(self.admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS {self.name} WITH (FORCE)')


class Node:
    """One jim-server process of a cluster."""

    def __init__(self, url: str, name: str, folder: Path, *flags: str) -> None:
        self.url, self.name, self.port = url, name, free_port()
        self.flags = flags
        self.log = folder / f'node-{name}.log'
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens."""
        return '127.0.0.1', self.port

    def start(self) -> Node:
        """Start it and wait until it listens."""
        argv = [sys.executable, '-m', 'jim_server', '--db-url', self.url, '--port',
                str(self.port), '--node-id', self.name, '--iterations', '4096',
                '--requests-per-second', '1000000', '--verbose', *self.flags]
        with open(self.log, 'ab') as log:
            # It outlives this call: stop() ends it. pylint: disable=consider-using-with
            self.process = subprocess.Popen(argv, stdout=log, stderr=log)
        poll(self.listening, what=f'node {self.name} listening')
        return self

    def listening(self) -> bool:
        """Tell whether it accepts a connection."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f'node {self.name} exited:\n{self.log.read_text()}')
        with contextlib.suppress(OSError), socket.create_connection(self.address, timeout=1):
            return True
        return False

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """End it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def add_users(url: str, *names: str) -> None:
    """Create accounts (password PASSWORD) in the database at ``url``."""
    subprocess.run([sys.executable, '-m', 'jim_server', '--db-url', url, '--iterations',
                    '4096', '--add-user', *names], input=f'{PASSWORD}\n' * len(names),
                   text=True, check=True, capture_output=True, timeout=60)


def log_in(node: Node, name: str, acks: bool = False) -> Connection:
    """Return a connection of ``name``, logged in on ``node``."""
    conn = Connection(*node.address, timeout=WAIT)
    conn.login(name, PASSWORD, acks=acks)
    return conn


def next_msg(conn: Connection) -> dict:
    """Return the next pushed msg (passing over presence notices)."""
    while True:
        item = conn.receive()
        if item.get('action') == 'msg':
            return item


def next_presence(conn: Connection) -> dict:
    """Return the next pushed presence notice (passing over messages)."""
    while True:
        item = conn.receive()
        if item.get('action') == 'presence':
            return item


def direct(to: str, text: str, message_id: str | None = None) -> dict:
    """Return a msg to ``to``."""
    return msg(to, text, message_id=message_id)


def users_online(conn: Connection) -> list[str]:
    """Return the online list of get_users."""
    return list(conn.request(request(Action.GET_USERS))['online'])


class PrivatePostgres:
    """A PostgreSQL instance of its own (to stop and restart), run as the postgres user."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix='jim-pg-'))
        self.data, self.sockets = self.folder / 'data', self.folder / 'sockets'
        self.sockets.mkdir()
        shutil.chown(self.folder, 'postgres')
        shutil.chown(self.sockets, 'postgres')
        self.port = free_port()
        self._as_postgres([str(BINARIES / 'initdb'), '-D', str(self.data), '-U', 'postgres',
                           '--auth=trust', '-E', 'UTF8'])
        self.admin = f'postgresql://postgres@127.0.0.1:{self.port}/postgres'
        self.start()

    def _as_postgres(self, argv: list[str]) -> None:
        prefix = [] if os.geteuid() != 0 else ['runuser', '-u', 'postgres', '--']
        subprocess.run(prefix + argv, check=True, capture_output=True, timeout=120,
                       cwd=self.folder)

    def _ctl(self, *args: str) -> None:
        self._as_postgres([str(BINARIES / 'pg_ctl'), '-D', str(self.data), '-w', '-t', '60',
                           '-l', str(self.folder / 'postgres.log'), *args])

    def start(self) -> None:
        """Start it (and wait until it answers)."""
        self._ctl('-o', f'-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1',
                  'start')

    def stop(self) -> None:
        """Stop it, cutting every connection."""
        self._ctl('-m', 'fast', 'stop')

    def remove(self) -> None:
        """Stop it if it runs and remove its files."""
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)

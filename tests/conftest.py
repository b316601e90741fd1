"""Fixtures of the black-box suite: the stage under test and its server in a subprocess.

Run it for one stage: ``pytest tests --stage q1_l03_jim`` (nox does this for every stage).
Tests marked ``@pytest.mark.needs("feature", ...)`` are deselected, not skipped, for stages
whose manifest does not declare those features.
"""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from itertools import count
from pathlib import Path

import pytest

from stages import FEATURES, FINAL, LESSONS, Stage, load_stage
from wire import (POOL, TEST_PASSWORD, TEST_USERS, JimConnection, authenticate, free_port,
                  presence, scram_login)

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
PROBES = count()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--stage NAME``."""
    parser.addoption('--stage', help='stage directory name under lessons/ to test')


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``needs`` marker."""
    config.addinivalue_line('markers', 'needs(*features): run only for stages with these features')


def selected_stage(config: pytest.Config) -> Stage:
    """Return the stage named by ``--stage``."""
    name = config.getoption('--stage')
    if not name:
        raise pytest.UsageError('name the stage to test: pytest tests --stage q1_l03_jim')
    directory = FINAL if name == 'final' else LESSONS / name
    if not (directory / 'stage.toml').is_file():
        raise pytest.UsageError(f'no stage manifest at {directory}/stage.toml')
    return load_stage(directory)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests that need features the selected stage lacks."""
    stage = selected_stage(config)
    keep, drop = [], []
    for item in items:
        needed = [f for mark in item.iter_markers('needs') for f in mark.args]
        unknown = set(needed) - FEATURES.keys()
        if unknown:
            raise pytest.UsageError(f'{item.nodeid} needs unknown features {unknown}')
        (keep if stage.has(*needed) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope='session')
def stage(pytestconfig: pytest.Config) -> Stage:
    """The stage under test."""
    return selected_stage(pytestconfig)


class ServerProcess:
    """A stage's server running in a subprocess, in a working directory of its own."""

    def __init__(self, stage: Stage, workdir: Path, accounts: Path | None = None):
        self.stage = stage
        self.workdir = workdir
        if accounts is not None:       # a database with TEST_USERS in it, made once
            for path in accounts.glob('*'):
                shutil.copy(path, workdir)
        self.address = ('127.0.0.1', free_port())
        self.output = workdir / 'server-output.txt'
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        argv = self.stage.command('server', host=self.address[0], port=self.address[1])
        env = dict(os.environ, PYTHONUNBUFFERED='1', QT_QPA_PLATFORM='offscreen')
        with open(self.output, 'ab') as out:
            # The server outlives this call: stop() ends it. pylint: disable=consider-using-with
            self.process = subprocess.Popen(argv, cwd=self.workdir, env=env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'server exited with {self.process.returncode}:\n{self.log()}')
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
            self.process.kill()
            self.process.wait()
            raise AssertionError(f'server ignored SIGTERM for {STOP_TIMEOUT} s:\n'
                                 f'{self.log()}') from timeout

    def log(self) -> str:
        """Return what the server printed."""
        return self.output.read_text(errors='replace') if self.output.exists() else ''

    def connect(self, timeout: float = 5.0) -> JimConnection:
        """Open a new raw connection."""
        return JimConnection(self.address, timeout=timeout)

    def introduce(self, conn: JimConnection, name: str) -> dict:
        """Introduce ``name`` on ``conn``: log in where the stage has accounts, else presence."""
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


@pytest.fixture(scope='session')
def accounts(stage: Stage, tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """For stages with authentication: a folder with a database of TEST_USERS."""
    if not stage.has('auth') and not stage.has('scram'):
        return None
    folder = tmp_path_factory.mktemp('accounts')
    done = subprocess.run(stage.command('add_users') + TEST_USERS, cwd=folder, text=True,
                          input=f'{TEST_PASSWORD}\n' * len(TEST_USERS), capture_output=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def run_server(stage: Stage, workdir: Path, accounts: Path | None):
    """Start a server, hand it out, then check that it stops cleanly on SIGTERM."""
    proc = ServerProcess(stage, workdir, accounts)
    proc.start()
    try:
        yield proc
    finally:
        code = proc.stop()
    log = proc.log()
    assert code == 0, f'server exited with {code} on SIGTERM:\n{log}'
    assert 'Traceback' not in log, log


@pytest.fixture
def server(stage: Stage, tmp_path: Path, accounts: Path | None):
    """A running server of the stage, for this test alone."""
    yield from run_server(stage, tmp_path, accounts)


@pytest.fixture(scope='module')
def shared_server(stage: Stage, tmp_path_factory: pytest.TempPathFactory,
                  accounts: Path | None):
    """One server for every test of a module that leaves no state behind (hostile input)."""
    yield from run_server(stage, tmp_path_factory.mktemp('shared'), accounts)

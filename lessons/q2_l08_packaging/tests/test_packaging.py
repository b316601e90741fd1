"""Lesson Q2 L8: the two distributions build, install, run, freeze and publish.

Everything is made once per module in temporary folders (never in the stage's folders): the
wheels and sdists of ``server/`` and ``client/`` (``python -m build``, from copies), one fresh
venv with the two wheels installed (uv), the frozen server (cx_Freeze) and a local package
index (pypiserver). Every server here listens on 127.0.0.1, on a free port; every wait polls
with a deadline.
"""
# pytest hands each fixture to the tests that name it. pylint: disable=redefined-outer-name
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import free_port

STAGE = Path(__file__).resolve().parent.parent
ROOT = STAGE.parent.parent                  # the repository: its black-box suite is in tests/
VERSION = '0.8.0'
TIMEOUT = 60                                # seconds for any one wait
PASSWORDS = {'alice': 'alice-pw', 'bob': 'bob-pw'}
# A fresh venv needs no byte code compiled ahead: each command here runs once.
ENV = {name: value for name, value in os.environ.items() if name != 'UV_COMPILE_BYTECODE'}


def run(*args, **kwargs):
    """Run a command, fail the test with its output if it fails; return the finished process."""
    done = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, env=ENV,
                          timeout=300, check=False, **kwargs)
    assert done.returncode == 0, f'{args}\n{done.stdout}\n{done.stderr}'
    return done


def wait_for_port(port, process):
    """Wait until something accepts on 127.0.0.1:``port``; fail if ``process`` ends first."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f'it ended with {process.returncode}'
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            threading.Event().wait(0.05)        # a poll interval, not a wait for the server
    raise AssertionError(f'nothing listens on port {port} after {TIMEOUT} s')


def stop(process):
    """Stop a server with SIGTERM, as a service manager would; return its output."""
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=TIMEOUT)
    return out


class Lines:
    """The lines a process prints, read by a thread, to wait for one of them with a deadline."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self.read, args=(stream,), daemon=True).start()

    def read(self, stream):
        """Put each line of ``stream`` on the queue."""
        for line in stream:
            self.lines.put(line.rstrip('\n'))

    def wait_for(self, text):
        """Return the first line that holds ``text``; fail after TIMEOUT seconds."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f'no line with {text!r} in {self.seen}')


@pytest.fixture(scope='module')
def dist(tmp_path_factory):
    """The wheels and sdists of both distributions, built from copies of their folders."""
    folder = tmp_path_factory.mktemp('build')
    for side in ('server', 'client'):
        shutil.copytree(STAGE / side, folder / side,
                        ignore=shutil.ignore_patterns('__pycache__', 'build', '*.egg-info'))
        run(sys.executable, '-m', 'build', '--installer', 'uv', '--outdir', folder / 'dist',
            folder / side)
    return folder / 'dist'


def new_venv(folder, *requirements, index=None):
    """Make a venv in ``folder`` with uv, install ``requirements``; return its bin folder."""
    run(sys.executable, '-m', 'uv', 'venv', '--quiet', '--python', sys.executable, folder)
    python = folder / 'bin' / 'python'
    # The local index sends uv on to PyPI for what it does not have (the dependencies).
    indexes = ['--index-url', index] if index else []
    run(sys.executable, '-m', 'uv', 'pip', 'install', '--quiet', '--python', python, *indexes,
        *requirements)
    return folder / 'bin'


@pytest.fixture(scope='module')
def installed(dist, tmp_path_factory):
    """The bin folder of a fresh venv where the two wheels (and cx_Freeze) are installed."""
    wheels = sorted(dist.glob('*.whl'))
    return new_venv(tmp_path_factory.mktemp('venv') / 'venv', *wheels, 'cx_Freeze~=8.0')


def add_accounts(command, folder):
    """Create alice and bob in ``folder``/server.db with the server ``command``."""
    run(*command, '--db', 'server.db', '--iterations', '1000', '--add-user', *PASSWORDS,
        input=''.join(f'{password}\n' for password in PASSWORDS.values()), cwd=folder)


@pytest.fixture
def serve(tmp_path):
    """Start a server command (accounts made first) on a free port; stop it after the test."""
    started = []

    def start(command):
        add_accounts(command, tmp_path)
        port = free_port()
        process = subprocess.Popen([*map(str, command), '-a', '127.0.0.1', '-p', str(port),
                                    '--no-gui', '--db', 'server.db'], cwd=tmp_path, env=ENV,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        wait_for_port(port, process)
        return port

    yield start
    for process in started:
        if process.poll() is None:
            stop(process)


def test_each_distribution_has_a_wheel_and_an_sdist(dist):
    assert sorted(path.name for path in dist.iterdir()) == [
        f'messenger_client-{VERSION}-py3-none-any.whl', f'messenger_client-{VERSION}.tar.gz',
        f'messenger_server-{VERSION}-py3-none-any.whl', f'messenger_server-{VERSION}.tar.gz']
    run(sys.executable, '-m', 'twine', 'check', '--strict', *sorted(dist.iterdir()))
    with zipfile.ZipFile(dist / f'messenger_client-{VERSION}-py3-none-any.whl') as wheel:
        names = wheel.namelist()
        entry_points = wheel.read(f'messenger_client-{VERSION}.dist-info/entry_points.txt')
    assert 'messenger_client/client.py' in names and 'messenger_client/protocol.py' in names
    assert not any(name.startswith('messenger_server/') for name in names)
    assert b'messenger-client = messenger_client.client:main' in entry_points
    assert b'messenger-client-gui = messenger_client.client_gui:main' in entry_points


def test_the_version_is_the_one_of_both_pyprojects():
    for side in ('server', 'client'):
        with open(STAGE / side / 'pyproject.toml', 'rb') as file:
            assert tomllib.load(file)['project']['version'] == VERSION


def test_the_installed_server_and_clients_exchange_a_message(installed, serve):
    port = serve([installed / 'messenger-server'])
    client = [installed / 'messenger-client', '127.0.0.1', port, '-n']
    with subprocess.Popen([*map(str, client), 'bob'], stdin=subprocess.PIPE, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV,
                          cwd=installed.parent) as bob:
        try:
            lines = Lines(bob.stdout)
            bob.stdin.write(f'{PASSWORDS["bob"]}\n')
            bob.stdin.flush()
            lines.wait_for('200')
            run(*client, 'alice', input=f'{PASSWORDS["alice"]}\nhello from the wheels\n',
                cwd=installed.parent)
            assert lines.wait_for('hello from the wheels') == 'alice: hello from the wheels'
            bob.stdin.close()               # the end of his input: bob's client quits
            assert bob.wait(TIMEOUT) == 0
        finally:
            if bob.poll() is None:
                bob.kill()
    assert (installed / 'messenger-client-gui').is_file()


def test_python_dash_m_runs_the_installed_packages(installed, tmp_path):
    # In a temporary folder: the server starts its log before it reads its arguments.
    for package, words in (('messenger_server', '--add-user'), ('messenger_client', '--db')):
        assert words in run(installed / 'python', '-m', package, '--help', cwd=tmp_path).stdout
    assert [path.name for path in tmp_path.iterdir()] == ['server.log']


def test_the_black_box_suite_passes_against_the_installed_server(installed, tmp_path):
    # The suite starts a stage's scripts with its own Python: here they hand over to the
    # installed commands. A smoke test (each test starts a server): presence, the login and
    # the chat; the whole suite runs against this stage's folder in
    # nox -s "tests(q2_l08_packaging)".
    for script, command in (('run_server.py', 'messenger-server'),
                            ('run_client.py', 'messenger-client')):
        (tmp_path / script).write_text(
            f'import os, sys\nos.execv({str(installed / command)!r}, '
            f'[{command!r}, *sys.argv[1:]])\n', encoding='utf-8')
    shutil.copy(STAGE / 'stage.toml', tmp_path)
    smoke = ['test_presence.py', 'test_auth.py::test_wrong_password_gets_402',
             'test_auth.py::test_second_login_of_the_same_user_gets_409',
             'test_chat.py::test_message_to_all_reaches_every_other_client']
    done = run(sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
               *[f'tests/{test}' for test in smoke], '--stage-dir', tmp_path, cwd=ROOT)
    assert '7 passed' in done.stdout, done.stdout


def test_the_frozen_server_answers_a_presence(installed, serve, tmp_path_factory):
    folder = tmp_path_factory.mktemp('frozen')
    # run_server.py, as the README does: cx_Freeze finds messenger_server installed in the venv.
    # The console server only: --no-gui never imports PyQt5, so it is left out (a third of
    # the size, and faster to freeze). SQLAlchemy imports its SQLite dialect by name, which
    # cx_Freeze cannot see: it is named here.
    run(installed / 'cxfreeze', '--script', STAGE / 'run_server.py',
        '--target-name', 'messenger-server', 'build_exe', '--build-exe', folder / 'exe',
        '--excludes', 'PyQt5', '--packages', 'sqlalchemy.dialects.sqlite', '--silent',
        cwd=folder)
    port = serve([folder / 'exe' / 'messenger-server'])
    with socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT) as sock:
        sock.sendall(b'{"action": "presence", "time": 1.0, '
                     b'"user": {"account_name": "alice", "status": "here"}}\n')
        answer = sock.makefile('rb').readline()
    assert b'"response": 401' in answer         # it speaks JIM: log in first


def test_upload_to_an_index_and_install_from_it(dist, tmp_path):
    packages = tmp_path / 'packages'
    packages.mkdir()
    port = free_port()
    # No accounts (-a . -P .): anyone may upload to this index, which only this test sees.
    with subprocess.Popen([sys.executable, '-m', 'pypiserver', 'run', '-i', '127.0.0.1', '-p',
                           str(port), '-a', '.', '-P', '.', str(packages)], env=ENV,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as index:
        try:
            wait_for_port(port, index)
            url = f'http://127.0.0.1:{port}'
            run(sys.executable, '-m', 'twine', 'upload', '--non-interactive', '--repository-url',
                url, '-u', 'student', '-p', 'any', *sorted(dist.iterdir()))
            assert len(list(packages.iterdir())) == 4
            bin_folder = new_venv(tmp_path / 'venv', 'messenger-server', 'messenger-client',
                                  index=f'{url}/simple/')
        finally:
            index.terminate()
            index.wait(TIMEOUT)
    for name in ('messenger-server', 'messenger-client'):
        assert (bin_folder / name).is_file()
        shown = run(bin_folder / 'python', '-c', 'import importlib.metadata, sys; '
                    'print(importlib.metadata.version(sys.argv[1]))', name)
        assert shown.stdout.strip() == VERSION

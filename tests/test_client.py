"""The stage's own client, run as a student runs it, against the stage's server."""
import socket
import stat
import subprocess

import pytest

from wire import TEST_PASSWORD

# Not run against a student's folder that has no client (nox -s check checks servers).
pytestmark = pytest.mark.uses_client


def run_client(stage, server, tmp_path, name, stdin='', which='client'):
    """Run the stage's client as a user would; return the finished process."""
    if stage.has('auth') or stage.has('scram'):
        stdin = f'{TEST_PASSWORD}\n{stdin}'    # not a terminal: the first line is the password
    argv = stage.command(which, host=server.address[0], port=server.address[1], name=name)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30,
                          cwd=tmp_path, check=False)


def test_client_introduces_itself_and_exits_cleanly(stage, server, tmp_path):
    done = run_client(stage, server, tmp_path, 'alice', stdin='')
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'Traceback' not in done.stderr
    assert '200' in done.stdout, done.stdout


def test_client_reports_a_refused_connection(stage, tmp_path):
    # Bound but not listening: refused, and no client can connect to itself on it.
    with socket.socket() as bound:
        bound.bind(('127.0.0.1', 0))
        argv = stage.command('client', host='127.0.0.1', port=bound.getsockname()[1],
                             name='alice')
        done = subprocess.run(argv, input='', capture_output=True, text=True, timeout=30,
                              cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert 'Traceback' not in done.stderr
    assert 'refused' in (done.stdout + done.stderr).lower()


def test_client_files_are_for_their_owner_only(stage, server, tmp_path):
    folder = tmp_path / 'client'
    folder.mkdir()
    done = run_client(stage, server, folder, 'alice')
    assert done.returncode == 0, done.stdout + done.stderr
    loose = {path.name: stat.filemode(path.stat().st_mode) for path in folder.iterdir()
             if path.stat().st_mode & 0o077}
    assert not loose, f'readable by others than their owner: {loose}'


@pytest.mark.needs('chat')
def test_chat_client_sends_what_is_typed(stage, server, tmp_path):
    with server.join('observer') as observer:
        done = run_client(stage, server, tmp_path, 'alice', stdin='Привет из клиента\n',
                          which='chat_client')
        assert done.returncode == 0, done.stdout + done.stderr
        got = observer.next_pushed()
    assert got['from'] == 'alice'
    assert got['message'] == 'Привет из клиента'

"""The stage's own client, run as a student runs it, against the stage's server."""
import socket
import subprocess

import pytest

from wire import TEST_PASSWORD


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


@pytest.mark.needs('chat')
def test_chat_client_sends_what_is_typed(stage, server, tmp_path):
    with server.join('observer') as observer:
        done = run_client(stage, server, tmp_path, 'alice', stdin='Привет из клиента\n',
                          which='chat_client')
        assert done.returncode == 0, done.stdout + done.stderr
        got = observer.next_pushed()
    assert got['from'] == 'alice'
    assert got['message'] == 'Привет из клиента'

"""The admin window against a real server in a thread."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import socket
import threading
import time

import pytest

from jim_client.connection import Connection
from jim_server.engine import Server
from jim_server.gui import AddUserDialog, ServerWindow
from jim_server.settings import Settings
from jim_server.storage import Storage


@pytest.fixture
def server(tmp_path):
    """Yield a running server with the account alice."""
    storage = Storage(f'sqlite:///{tmp_path}/s.db')
    storage.add_user('alice', 'pw', iterations=4096)
    server = Server(Settings('127.0.0.1', 0), storage)
    server.listen()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield server
    server.stop()
    thread.join(10)
    storage.close()


def items(widget):
    """Return the texts of a list widget."""
    return [widget.item(row).text() for row in range(widget.count())]


def test_window_shows_who_is_online(qtbot, server):
    window = ServerWindow(server)
    qtbot.addWidget(window)
    assert items(window.accounts) == ['alice'] and items(window.online) == []
    with Connection(*server.address) as alice:
        alice.login('alice', 'pw')
        qtbot.waitUntil(lambda: items(window.online) == ['alice'], timeout=5000)
    qtbot.waitUntil(lambda: items(window.online) == [], timeout=5000)


def test_added_user_can_log_in(qtbot, server):
    window = ServerWindow(server, iterations=5000)
    qtbot.addWidget(window)
    window.show_add_user()
    dialog = window.add_user
    dialog.name.setText('bob')
    dialog.password.setText('s3cret')
    dialog.again.setText('typo')
    dialog.save()
    assert 'same' in dialog.problem.text()
    dialog.again.setText('s3cret')
    dialog.save()
    assert 'bob' in items(window.accounts)
    assert server.chat.storage.verifier('bob').iterations == 5000
    with Connection(*server.address) as bob:
        bob.login('bob', 's3cret')


def test_bad_name_is_refused(qtbot, server):
    dialog = AddUserDialog(server)
    qtbot.addWidget(dialog)
    dialog.name.setText('#room')
    dialog.password.setText('x')
    dialog.again.setText('x')
    dialog.save()
    assert dialog.problem.text() and dialog.result() != AddUserDialog.Accepted


def test_the_window_reads_a_snapshot_while_connections_churn(qtbot, server):
    window = ServerWindow(server)
    qtbot.addWidget(window)
    done, errors = threading.Event(), []

    def churn():
        while not done.is_set():
            socket.create_connection(server.address, timeout=5).close()

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                window.refresh()
            except Exception as err:  # pylint: disable=broad-except  # what we look for
                errors.append(err)
            qtbot.wait(1)
    finally:
        done.set()
        thread.join(10)
    assert not errors
    assert isinstance(server.snapshot.online, tuple)       # immutable, replaced each second

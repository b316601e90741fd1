"""Shared fixtures; Qt draws offscreen in tests, so no display is needed."""
import os
import socket
import threading

import pytest

from server import Server
from server_storage import ServerStorage

# pytest-qt has no setting for the platform: it is read when the QApplication starts.
os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')


def free_port():
    """Return a TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port():
    """A port that refuses connections: bound, never listening (so no self-connection)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        yield sock.getsockname()[1]


@pytest.fixture
def running_server(tmp_path):
    """A server on a free port, serving in a thread, with a file database."""
    server = Server('127.0.0.1', free_port(), ServerStorage(f'sqlite:///{tmp_path}/server.db'))
    server.listen()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield server
    server.stop()
    thread.join(5)
    server.close()

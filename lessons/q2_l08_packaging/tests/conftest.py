"""Shared fixtures; Qt draws offscreen in tests, so no display is needed."""
import os
import socket
import sys
import threading
from pathlib import Path

import pytest

# The two packages are tested from their folders, uninstalled (as run_server.py runs them).
STAGE = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(STAGE / 'server'), str(STAGE / 'client')]

# pylint: disable=wrong-import-position
from messenger_server.server import Server  # noqa: E402
from messenger_server.server_storage import ServerStorage  # noqa: E402
# pylint: enable=wrong-import-position

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

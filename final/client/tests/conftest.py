"""A real server in a thread for the client's tests; Qt draws offscreen."""
import os
import threading

import pytest

from jim_server.engine import Server
from jim_server.settings import Settings
from jim_server.storage import Storage

# pytest-qt has no setting for the platform: Qt reads it when the application starts.
os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')


@pytest.fixture
def address(tmp_path):
    """Serve alice, bob and carol (password ``pw``) from ``tmp_path/s.db``; yield the address."""
    storage = Storage(f'sqlite:///{tmp_path}/s.db')
    for name in ('alice', 'bob', 'carol'):
        storage.add_user(name, 'pw', iterations=4096)
    server = Server(Settings('127.0.0.1', 0), storage)
    server.listen()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield server.address
    server.stop()
    thread.join(10)
    storage.close()

"""A real server in a thread for the client's tests; Qt draws offscreen."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import os
import socket
import threading

import pytest

from jim.constants import E2E
from jim.framing import Decoder, encode
from jim_client.e2e import DecryptionError
from jim_server.engine import Server
from jim_server.settings import Settings
from jim_server.storage import Storage

# pytest-qt has no setting for the platform: Qt reads it when the application starts.
os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')


class ThreadServer:
    """A server in a thread, on one port across restarts, over one database."""

    def __init__(self, storage):
        self.storage = storage
        self.port = 0
        self.server = self.thread = None

    def start(self):
        """Serve (on the port of the first start, after a restart)."""
        self.server = Server(Settings('127.0.0.1', self.port, iterations=4096), self.storage)
        self.server.listen()
        self.port = self.server.address[1]
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def stop(self):
        """Stop serving; every client is disconnected."""
        self.server.stop()
        self.thread.join(10)


@pytest.fixture
def restart(tmp_path):
    """Serve alice, bob and carol (password ``pw``) from ``tmp_path/s.db``; yield the server,
    which a test may stop and start again."""
    storage = Storage(f'sqlite:///{tmp_path}/s.db')
    for name in ('alice', 'bob', 'carol'):
        storage.add_user(name, 'pw', iterations=4096)
    server = ThreadServer(storage)
    server.start()
    yield server
    if server.thread.is_alive():
        server.stop()
    storage.close()


@pytest.fixture
def address(restart):
    """The address of the server of ``restart``."""
    return restart.server.address


class KeySwapProxy:
    """A man in the middle between clients and the server of ``restart``: it keeps every
    object the clients send (``sent``) and, once ``swap`` is set to ``(user, key)``, hands
    out ``key`` in every ``get_key`` answer about ``user``, as a server that lies would."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.address = self.listener.getsockname()
        self.sent = []
        self.swap = None
        self.sockets = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        """Pair each client with a connection of its own to the server."""
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            threading.Thread(target=self.pump, args=(client, server, self.keep),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, self.rewrite),
                             daemon=True).start()

    def keep(self, item):
        """Note what a client sends."""
        self.sent.append(item)
        return item

    def rewrite(self, item):
        """Swap the key of a get_key answer, when told to."""
        if self.swap is not None:
            user, key = self.swap
            if item.get('user_id') == user and 'key' in item:
                return {**item, 'key': key}
        return item

    @staticmethod
    def pump(source, target, change):
        """Carry objects from ``source`` to ``target`` through ``change``."""
        decoder = Decoder()
        try:
            while data := source.recv(65536):
                target.sendall(b''.join(encode(change(item)) for item in decoder.feed(data)))
        except OSError:
            pass
        for sock in (source, target):       # shutdown wakes the other pump's recv; close
            try:                            # alone would not while it waits in it
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def sealed_to(self, user):
        """Return the sealed messages clients sent to ``user`` through the proxy, each once
        (one sent again after a connection was cut has the same id)."""
        sealed = {item['id']: item for item in self.sent if item.get('action') == 'msg'
                  and item.get('to') == user and item.get('encoding') == E2E}
        return list(sealed.values())

    def readable_by(self, keys, sender, sender_public, user):
        """Return the texts of the sealed messages to ``user`` that ``keys`` can open."""
        texts = []
        for item in self.sealed_to(user):
            try:
                texts.append(keys.decrypt(sender_public, sender, user, item['message']))
            except DecryptionError:
                pass
        return texts

    def cut(self):
        """Cut every connection (clients then connect again)."""
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        """Stop listening and cut every connection."""
        self.listener.close()
        self.cut()


@pytest.fixture
def proxy(address):
    """A KeySwapProxy in front of the server."""
    man_in_the_middle = KeySwapProxy(address)
    yield man_in_the_middle
    man_in_the_middle.close()

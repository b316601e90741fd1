"""The engine on real sockets: a server in a thread, clients speaking raw JIM."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import socket
import threading

import pytest

from jim.framing import Decoder, encode
from jim.messages import msg

from jim_server.engine import Server
from jim_server.settings import Limits, Settings
from jim_server.storage import Storage


def start(tmp_path, **limits):
    """Start a server with these limits in a thread; return it and the thread."""
    storage = Storage(f'sqlite:///{tmp_path}/server.db')
    server = Server(Settings('127.0.0.1', 0, limits=Limits(**limits)), storage)
    server.listen()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    return server, thread


@pytest.fixture
def make_server(tmp_path):
    """Yield a function that starts servers; stop them all afterwards."""
    started = []

    def make(**limits):
        started.append(start(tmp_path, **limits))
        return started[-1][0]

    yield make
    for server, thread in started:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()
        server.chat.storage.close()


def read_objects(sock, count):
    """Read and decode up to ``count`` objects from ``sock``."""
    decoder, items = Decoder(), []
    while len(items) < count:
        data = sock.recv(65536)
        if not data:
            break
        items += decoder.feed(data)
    return items


def test_requests_over_the_budget_get_429(make_server):
    server = make_server(request_burst=5, requests_per_second=0.001)
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(encode(msg('#all', 'x')) * 8)
        codes = [item['response'] for item in read_objects(sock, 8)]
    assert codes == [401] * 5 + [429] * 3


def test_connections_per_address_are_capped(make_server):
    server = make_server(connections_per_address=2)
    socks = [socket.create_connection(server.address, timeout=5) for _ in range(3)]
    try:
        assert socks[2].recv(10) == b''            # the third was closed at once
        socks[0].sendall(encode(msg('#all', 'x')))
        assert read_objects(socks[0], 1)[0]['response'] == 401
    finally:
        for sock in socks:
            sock.close()


def test_stop_closes_clients(make_server):
    server = make_server()
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(encode(msg('#all', 'x')))
        assert read_objects(sock, 1)[0]['response'] == 401
        server.stop()
        assert sock.recv(10) == b''

"""The engine on real sockets: a server in a thread, clients speaking raw JIM."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import errno
import logging
import selectors
import socket
import threading
import time

import pytest

from jim.framing import Decoder, encode
from jim.messages import msg, presence

from jim_server import engine
from jim_server.engine import Server, State, address_group
from jim_server.settings import Limits, Settings
from jim_server.storage import Storage

WAIT = 5.0


def start(tmp_path, **limits):
    """Start a server with these limits in a thread; return it and the thread."""
    storage = Storage(f'sqlite:///{tmp_path}/server.db')
    server = Server(Settings('127.0.0.1', 0, limits=Limits(**limits)), storage)
    server.listen()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    return server, thread


@pytest.fixture
def make_server(tmp_path, monkeypatch):
    """Yield a function that starts servers (sweeping often); stop them all afterwards."""
    monkeypatch.setattr(engine, 'SWEEP_INTERVAL', 0.05)
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


def closed(sock):
    """Tell whether the server closes ``sock`` within WAIT seconds (data is skipped)."""
    sock.settimeout(WAIT)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass                         # closed with unread data: a reset
    return True


def poll(condition, timeout=WAIT):
    """Wait until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.01)


def test_the_request_budget_is_per_address_not_per_connection(make_server):
    server = make_server(request_burst=5, requests_per_second=0.001)
    with socket.create_connection(server.address, timeout=WAIT) as one, \
            socket.create_connection(server.address, timeout=WAIT) as two:
        one.sendall(encode(msg('#all', 'x')) * 3)
        assert [item['response'] for item in read_objects(one, 3)] == [401] * 3
        two.sendall(encode(msg('#all', 'x')) * 4)
        assert [item['response'] for item in read_objects(two, 4)] == [401] * 2 + [429] * 2


def test_connections_per_address_are_capped(make_server):
    server = make_server(connections_per_address=2)
    socks = [socket.create_connection(server.address, timeout=WAIT) for _ in range(3)]
    try:
        assert socks[2].recv(10) == b''            # the third was closed at once
        socks[0].sendall(encode(msg('#all', 'x')))
        assert read_objects(socks[0], 1)[0]['response'] == 401
    finally:
        for sock in socks:
            sock.close()


def test_connections_in_all_are_capped(make_server):
    server = make_server(max_connections=1)
    with socket.create_connection(server.address, timeout=WAIT) as first, \
            socket.create_connection(server.address, timeout=WAIT) as second:
        assert second.recv(10) == b''
        first.sendall(encode(presence('x')))
        assert read_objects(first, 1)[0]['response'] == 401


def test_ipv6_addresses_are_counted_by_their_64_network():
    assert address_group('2001:db8:1:2:aaaa::1') == address_group('2001:db8:1:2:bbbb::9') \
        == '2001:db8:1:2::/64'
    assert address_group('2001:db8:1:3::1') != address_group('2001:db8:1:2::1')
    assert address_group('::ffff:10.0.0.1') == '10.0.0.1'
    assert address_group('10.0.0.1') == '10.0.0.1'


def test_a_connection_that_does_not_log_in_is_closed(make_server):
    server = make_server(login_timeout=0.3)
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        started = time.monotonic()
        assert closed(sock)
        assert time.monotonic() - started < 3


def test_a_tls_handshake_that_never_ends_is_closed(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, 'SWEEP_INTERVAL', 0.05)
    from test_tls import self_signed   # pylint: disable=import-outside-toplevel
    import ssl                         # pylint: disable=import-outside-toplevel
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    storage = Storage(f'sqlite:///{tmp_path}/server.db')
    server = Server(Settings('127.0.0.1', 0, limits=Limits(handshake_timeout=0.3)), storage,
                    context)
    server.listen()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        with socket.create_connection(server.address, timeout=WAIT) as sock:
            sock.sendall(b'\x16\x03\x01')          # the start of a ClientHello, no more
            assert closed(sock)
    finally:
        server.stop()
        thread.join(10)
        storage.close()


def test_a_stalled_reader_is_closed(make_server):
    # More answers than the kernel's buffers hold (a few MB), within the output limit.
    server = make_server(stall_timeout=0.3, max_output_bytes=64 << 20)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(server.address)
    with sock:
        sock.sendall(encode(presence('x')) * 100_000)    # 100,000 answers it never reads
        poll(lambda: server.snapshot.connections == 1)
        poll(lambda: not server.snapshot.connections)


class ExhaustedListener(socket.socket):
    """A listening socket whose accept fails as if the process had no descriptor left."""

    failures: list = []

    def accept(self):
        if self.failures is not None:
            self.failures.append(time.monotonic())
            raise OSError(errno.EMFILE, 'Too many open files')
        return super().accept()


def test_out_of_file_descriptors_pauses_accepting_and_logs_once(tmp_path, caplog):
    storage = Storage(f'sqlite:///{tmp_path}/server.db')
    server = Server(Settings('127.0.0.1', 0), storage)
    server.listen()
    real = server.listener
    server.selector.unregister(real)
    server.listener = ExhaustedListener(real.family, real.type, fileno=real.detach())
    server.listener.failures = None
    server.selector.register(server.listener, selectors.EVENT_READ)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        with caplog.at_level(logging.WARNING), \
                socket.create_connection(server.address, timeout=WAIT) as connected:
            poll(lambda: len(server.connections) == 1)
            failures = server.listener.failures = []
            waiting = [socket.create_connection(server.address, timeout=WAIT)
                       for _ in range(3)]
            poll(lambda: failures)
            connected.sendall(encode(presence('x')))       # the connected one is served
            assert read_objects(connected, 1)[0]['response'] == 401
            poll(lambda: len(failures) >= 2, timeout=3)    # tried again after the pause
            assert failures[1] - failures[0] >= engine.ACCEPT_PAUSE * 0.9
            poll(lambda: len(failures) >= 3, timeout=3)
            server.listener.failures = None
            for sock in waiting:                           # then they are taken in
                sock.sendall(encode(presence('x')))
                assert read_objects(sock, 1)[0]['response'] == 401
                sock.close()
        notices = [r.message for r in caplog.records if 'not accepting' in r.message]
        assert len(notices) == 1, notices                  # once per NOTICE_INTERVAL
    finally:
        server.stop()
        thread.join(10)
        storage.close()


def test_a_fault_in_one_connection_closes_it_alone(make_server, monkeypatch):
    server = make_server()
    with socket.create_connection(server.address, timeout=WAIT) as good, \
            socket.create_connection(server.address, timeout=WAIT) as bad:
        poll(lambda: len(server.connections) == 2)
        victim = next(c for c in server.connections
                      if c.sock.getpeername() == bad.getsockname())
        real_feed = victim.decoder.feed
        monkeypatch.setattr(victim.decoder, 'feed', lambda data: 1 / 0)
        bad.sendall(b'{}\n')
        assert closed(bad) and victim.state is State.CLOSED
        good.sendall(encode(presence('x')))
        assert read_objects(good, 1)[0]['response'] == 401
        assert real_feed


def test_stop_closes_clients(make_server):
    server = make_server()
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(encode(msg('#all', 'x')))
        assert read_objects(sock, 1)[0]['response'] == 401
        server.stop()
        assert sock.recv(10) == b''

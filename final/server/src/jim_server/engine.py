"""The network engine: one ``selectors`` loop, non-blocking sockets, an output buffer each.

Nothing stalls the loop: reads and writes never block, a client that does not read is cut off
once its output passes ``max_output_bytes``, and the database is written once per turn of the
loop (``Chat.commit``), before any acknowledgement of that turn goes out.
"""
from __future__ import annotations

import collections
import logging
import selectors
import socket
import ssl
import time
from typing import Any

from jim.constants import Status
from jim.framing import Decoder, encode
from jim.messages import response

from jim_server.chat import Chat
from jim_server.settings import Settings
from jim_server.storage import Storage

logger = logging.getLogger(__name__)
READ_SIZE = 65_536
SHUTDOWN_GRACE = 2.0       # seconds to flush what is queued when the server stops


class Connection:
    """One client's socket, its unfinished input, its unsent output and its request budget."""

    __slots__ = ('sock', 'address', 'decoder', 'out', 'closing', 'closed', 'writing',
                 'tokens', 'stamp', 'handshaking')

    def __init__(self, sock: socket.socket, address: str, settings: Settings) -> None:
        self.sock = sock
        self.handshaking = isinstance(sock, ssl.SSLSocket)   # TLS: no data before it
        self.address = address
        self.decoder = Decoder(settings.limits.max_message_bytes)
        self.out = bytearray()
        self.closing = False           # close once the output is sent (after quit)
        self.closed = False
        self.writing = False           # registered for EVENT_WRITE
        self.tokens = float(settings.limits.request_burst)
        self.stamp = time.monotonic()


class Server:
    """Accepts, reads, hands requests to the chat, writes: until ``stop``."""

    def __init__(self, settings: Settings, storage: Storage,
                 tls: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls = tls
        self.limits = settings.limits
        self.chat = Chat(storage, settings.limits)
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.per_address: collections.Counter[str] = collections.Counter()
        self.touched: set[Connection] = set()
        # stop() may be called from a signal handler or a thread: a byte here wakes select.
        self.waker, self.wakeup = socket.socketpair()
        self.waker.setblocking(False)
        self.wakeup.setblocking(False)
        self.selector.register(self.wakeup, selectors.EVENT_READ)
        self.running = False

    @property
    def address(self) -> tuple[str, int]:
        """Where the server listens."""
        assert self.listener is not None
        host, port = self.listener.getsockname()[:2]
        return host, port

    def listen(self) -> None:
        """Open the listening socket."""
        self.listener = socket.create_server((self.settings.host, self.settings.port),
                                             backlog=1024)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ)
        logger.info('listening on %s:%s', *self.address)

    def stop(self) -> None:
        """Make ``serve_forever`` return after this turn; safe from signals and threads."""
        try:
            self.waker.send(b'x')
        except OSError:
            pass                       # already woken

    def serve_forever(self) -> None:
        """Serve until ``stop``; then send what is queued (briefly) and close everything."""
        self.running = True
        while self.running:
            for key, mask in self.selector.select():
                if key.fileobj is self.listener:
                    self.accept()
                elif key.fileobj is self.wakeup:
                    self.running = False
                else:
                    self.handle(key.data, mask)
            self.dispatch()
        self.shutdown()

    def handle(self, conn: Connection, mask: int) -> None:
        """Serve one ready connection."""
        if conn.handshaking:
            self.handshake(conn)
            return
        if mask & selectors.EVENT_READ and not conn.closed:
            self.read(conn)
        if mask & selectors.EVENT_WRITE and not conn.closed:
            self.flush(conn)

    def accept(self) -> None:
        """Take every waiting connection, within the per-address limit."""
        assert self.listener is not None
        while True:
            try:
                sock, peer = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as err:      # out of file descriptors, for one
                logger.error('cannot accept: %s', err)
                return
            address = peer[0]
            if self.per_address[address] >= self.limits.connections_per_address:
                logger.warning('%s: refused, %d connections already', address,
                               self.per_address[address])
                sock.close()
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
            conn = Connection(sock, address, self.settings)
            self.per_address[address] += 1
            self.selector.register(sock, selectors.EVENT_READ, conn)
            self.chat.connect(conn, address)

    def handshake(self, conn: Connection) -> None:
        """Go on with the TLS handshake; wait for whichever way the socket must turn."""
        try:
            conn.sock.do_handshake()                 # type: ignore[attr-defined]
        except ssl.SSLWantReadError:
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
            return
        except ssl.SSLWantWriteError:
            self.selector.modify(conn.sock, selectors.EVENT_WRITE, conn)
            return
        except OSError as err:                       # SSLError included: a bad client
            self.close(conn, f'TLS handshake failed: {err}')
            return
        conn.handshaking = False
        self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
        self.read(conn)                              # data may have come with the handshake

    def read(self, conn: Connection) -> None:
        """Read what is there and hand each complete request to the chat."""
        try:
            data = conn.sock.recv(READ_SIZE)
            # TLS may hold decrypted bytes that select() cannot see: take them now.
            while isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending():
                data += conn.sock.recv(READ_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as err:
            self.close(conn, f'read failed: {err}')
            return
        if not data:
            self.close(conn, 'closed by the client')
            return
        for item in conn.decoder.feed(data):
            if self.within_budget(conn):
                self.chat.receive(conn, item)
            else:
                self.chat.reply(conn, response(Status.TOO_MANY_REQUESTS, 'slow down'))

    def within_budget(self, conn: Connection) -> bool:
        """Take one request from the connection's token bucket."""
        now = time.monotonic()
        conn.tokens = min(float(self.limits.request_burst),
                          conn.tokens + (now - conn.stamp) * self.limits.requests_per_second)
        conn.stamp = now
        if conn.tokens < 1:
            return False
        conn.tokens -= 1
        return True

    def dispatch(self) -> None:
        """Commit this turn, queue its output, and send what can be sent now.

        Closing a connection may give the chat more to say (that its user left): that goes
        out in this turn too.
        """
        while self.chat.busy or self.touched:
            encoded: dict[int, bytes] = {}
            for conn, message in self.chat.commit():
                data = encoded.get(id(message))
                if data is None:
                    data = encoded[id(message)] = encode(message)
                self.queue(conn, data)
            for conn in self.chat.to_close:
                conn.closing = True
                self.touched.add(conn)
            self.chat.to_close.clear()
            touched, self.touched = self.touched, set()
            for conn in touched:
                self.flush(conn)

    def queue(self, conn: Any, data: bytes) -> None:
        """Add ``data`` to the connection's output; cut off a client that does not read."""
        if conn.closed:
            return
        conn.out += data
        if len(conn.out) > self.limits.max_output_bytes:
            self.close(conn, f'too slow: over {self.limits.max_output_bytes} bytes unread')
            return
        self.touched.add(conn)

    def flush(self, conn: Connection) -> None:
        """Send what the socket takes; wait for writability for the rest."""
        if conn.closed:
            return
        if conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                sent = 0
            except OSError as err:
                self.close(conn, f'write failed: {err}')
                return
            del conn.out[:sent]
        if conn.out and not conn.writing:
            self.selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
            conn.writing = True
        elif not conn.out and conn.writing:
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
            conn.writing = False
        if not conn.out and conn.closing:
            self.close(conn, 'quit')

    def close(self, conn: Connection, reason: str) -> None:
        """Forget the connection and close its socket."""
        if conn.closed:
            return
        conn.closed = True
        self.selector.unregister(conn.sock)
        conn.sock.close()
        self.chat.disconnect(conn)
        self.per_address[conn.address] -= 1
        if not self.per_address[conn.address]:
            del self.per_address[conn.address]
        logger.debug('%s: disconnected: %s', conn.address, reason)

    def connections(self) -> list[Connection]:
        """Return every open connection."""
        return [key.data for key in self.selector.get_map().values()
                if isinstance(key.data, Connection)]

    def shutdown(self) -> None:
        """Send queued output for a moment, then close every socket."""
        self.chat.stopping = True       # nobody is left to hear who leaves
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while time.monotonic() < deadline and any(c.out for c in self.connections()):
            for key, _ in self.selector.select(timeout=max(0.0, deadline - time.monotonic())):
                if isinstance(key.data, Connection):
                    self.flush(key.data)
        for conn in self.connections():
            self.close(conn, 'server stopping')
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
        self.selector.close()
        self.waker.close()
        self.wakeup.close()
        logger.info('stopped')

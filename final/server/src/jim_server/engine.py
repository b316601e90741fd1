"""The network engine: one ``selectors`` loop, non-blocking sockets, an output buffer each.

The engine reads bytes, hands the decoded objects to the ``Chat``, and carries out the
``Turn`` that ``Chat.commit`` returns once per turn of the loop: it sends, closes and reports
back what was written. Nothing stalls the loop: reads and writes never block, and every
resource is bounded by a ``Limits`` field (connections in all and per address, requests per
address, output per client, handshake, login, idle and stall timeouts). A fault while serving
one connection closes that connection, logged with its traceback; the loop goes on.
"""
from __future__ import annotations

import collections
import dataclasses
import enum
import errno
import ipaddress
import logging
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from jim.constants import Status
from jim.framing import Decoder
from jim.messages import response

from jim_server.chat import Chat
from jim_server.settings import Limits, Settings
from jim_server.storage import Storage, StorageError

logger = logging.getLogger(__name__)
READ_SIZE = 65_536
SHUTDOWN_GRACE = 2.0       # seconds to flush what is queued when the server stops
SWEEP_INTERVAL = 1.0       # seconds between two looks at timeouts
ACCEPT_PAUSE = 1.0         # seconds without accepting after running out of file descriptors
BUS_RETRY = (0.5, 1.0, 2.0, 5.0, 10.0)   # seconds before opening the bus again, and again
NOTICE_INTERVAL = 10.0     # seconds between two log lines about the same trouble
# accept() errors that mean "out of resources", not "this one connection failed".
EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class State(enum.Enum):
    """Where a connection is in its life; ``Server`` makes every transition."""

    HANDSHAKE = 'handshake'    # TLS handshake under way: no data yet
    OPEN = 'open'              # reading requests, writing answers
    CLOSING = 'closing'        # writing what is queued, then closing (after quit)
    CLOSED = 'closed'


class Connection:
    """One client's socket, its unfinished input, its unsent output and its clocks."""

    __slots__ = ('sock', 'address', 'group', 'decoder', 'out', 'state', 'writing', 'opened',
                 'heard', 'progress', 'probed')

    def __init__(self, sock: socket.socket, address: str, group: str, limits: Limits,
                 now: float) -> None:
        self.sock = sock
        self.address = address
        self.group = group                 # the address, or its /64 network for IPv6
        self.decoder = Decoder(limits.max_message_bytes)
        self.out = bytearray()
        self.state = State.HANDSHAKE if isinstance(sock, ssl.SSLSocket) else State.OPEN
        self.writing = False               # registered for EVENT_WRITE
        self.opened = now
        self.heard = now                   # when the client last sent something
        self.progress = now                # when its output last moved (or started)
        self.probed = False


class Budget:
    """A token bucket: ``rate`` requests a second, ``burst`` at once."""

    __slots__ = ('tokens', 'stamp', 'rate', 'burst')

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> bool:
        """Take one request; False when the bucket is empty."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def full(self, now: float) -> bool:
        """Tell whether the bucket has refilled (nothing to remember any more)."""
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What the loop looks like, published once a second for other threads (the window)."""

    online: tuple[str, ...] = ()
    connections: int = 0


BUS = object()          # the selector's data of the bus's socket


class BusLink:
    """The engine's side of the bus (a cluster on PostgreSQL; nothing on SQLite): register
    its socket, read it, reopen it with growing pauses when it fails."""

    def __init__(self, storage: Storage, node: str) -> None:
        self.bus: Any = None
        if storage.cluster:
            from jim_server.bus import Bus  # pylint: disable=import-outside-toplevel  # extra
            self.bus = Bus(storage.engine.url.render_as_string(hide_password=False),
                           f'jim-bus {node}')
        self.fd = -1
        self.failures = 0
        self.retry_at = 0.0

    def open(self, selector: selectors.BaseSelector, now: float) -> None:
        """Open the bus and watch its socket; on failure, try again later."""
        if self.bus is None or self.fd >= 0 or now < self.retry_at:
            return
        from jim_server.bus import BusError  # pylint: disable=import-outside-toplevel
        try:
            self.bus.open()
        except BusError as err:
            self.failed(now, err)
            return
        self.fd = self.bus.fileno()
        selector.register(self.fd, selectors.EVENT_READ, BUS)
        self.failures = 0
        logger.info('listening to the other nodes')

    def drain(self, selector: selectors.BaseSelector, now: float) -> dict[str, int]:
        """Read the bus: what was stored up to where (a failure closes it; the once-a-second
        poll catches up)."""
        from jim_server.bus import BusError  # pylint: disable=import-outside-toplevel
        try:
            return dict(self.bus.drain())
        except BusError as err:
            self.close(selector)
            self.failed(now, err)
            return {}

    def lead(self, selector: selectors.BaseSelector, now: float) -> bool:
        """Once a second: open the bus if it is closed; tell whether this node leads."""
        if self.bus is None:
            return False
        self.open(selector, now)
        if self.fd < 0:
            return False
        from jim_server.bus import BusError  # pylint: disable=import-outside-toplevel
        try:
            return bool(self.bus.lead())
        except BusError as err:
            self.close(selector)
            self.failed(now, err)
            return False

    def failed(self, now: float, err: Exception) -> None:
        """Note a failure; the next attempt waits longer each time."""
        self.retry_at = now + BUS_RETRY[min(self.failures, len(BUS_RETRY) - 1)]
        self.failures += 1
        logger.warning('%s; trying again in %.1f s', err, self.retry_at - now)

    def close(self, selector: selectors.BaseSelector) -> None:
        """Stop watching the bus and close it."""
        if self.fd >= 0:
            try:
                selector.unregister(self.fd)
            except (KeyError, ValueError):
                pass
            self.fd = -1
        if self.bus is not None:
            self.bus.close()


def address_group(address: str) -> str:
    """Return what limits count by: an IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Server:  # pylint: disable=too-many-instance-attributes  # the loop's sockets and counters
    """Accepts, reads, hands requests to the chat, writes: until ``stop``."""

    def __init__(self, settings: Settings, storage: Storage,
                 tls: ssl.SSLContext | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.tls = tls
        self.limits = settings.limits
        self.clock = clock
        self.chat: Chat[Connection] = Chat(storage, settings, clock)
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.connections: set[Connection] = set()
        self.per_group: collections.Counter[str] = collections.Counter()
        self.budgets: dict[str, Budget] = {}
        self.snapshot = Snapshot()
        self.touched: set[Connection] = set()
        self.resume_accepting = 0.0          # when to accept again (0: accepting)
        self.bus = BusLink(storage, settings.node_id)
        self.notices: dict[str, tuple[float, int]] = {}   # kind: (last logged, suppressed)
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
        self.chat.start()
        self.bus.open(self.selector, self.clock())
        next_sweep = self.clock() + SWEEP_INTERVAL
        while self.running:
            wake = min(next_sweep, self.resume_accepting or next_sweep)
            # A session waiting for the next page of a backlog: just look, do not wait.
            timeout = 0.0 if self.chat.hungry else max(0.0, wake - self.clock())
            for key, mask in self.selector.select(timeout):
                if key.fileobj is self.listener:
                    self.accept()
                elif key.fileobj is self.wakeup:
                    self.running = False
                elif key.data is BUS:
                    for kind, position in self.bus.drain(self.selector, self.clock()).items():
                        self.chat.notified(kind, position)
                else:
                    self.guarded(key.data, self.handle, key.data, mask)
            self.chat.refill()
            self.dispatch()
            now = self.clock()
            if self.resume_accepting and now >= self.resume_accepting:
                self.resume()
            if now >= next_sweep:
                self.sweep(now)
                next_sweep = now + SWEEP_INTERVAL
        self.shutdown()

    def guarded(self, conn: Connection, work: Callable[..., None], *args: object) -> None:
        """Do one connection's ``work``; a fault in it closes that connection only."""
        try:
            work(*args)
        except Exception:  # pylint: disable=broad-except  # the loop must go on
            logger.exception('%s: internal error', conn.address)
            self.close(conn, 'internal error')

    def handle(self, conn: Connection, mask: int) -> None:
        """Serve one ready connection."""
        if conn.state is State.HANDSHAKE:
            self.handshake(conn)
            return
        if mask & selectors.EVENT_READ and conn.state is State.OPEN:
            self.read(conn)
        if mask & selectors.EVENT_WRITE and conn.state is not State.CLOSED:
            self.flush(conn)

    # Accepting.
    def accept(self) -> None:
        """Take every waiting connection, within the limits."""
        assert self.listener is not None
        while True:
            try:
                sock, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                if err.errno in EXHAUSTED:
                    self.pause_accepting(err)
                else:
                    self.notice('accept', f'cannot accept: {err}')
                return
            try:
                self.admit(sock, peer[0])
            except OSError as err:                  # reset before we could set it up
                sock.close()
                self.notice('accept', f'{peer[0]}: cannot set up the connection: {err}')

    def admit(self, sock: socket.socket, address: str) -> None:
        """Register an accepted socket, or close it if a limit says no."""
        group = address_group(address)
        if len(self.connections) >= self.limits.max_connections:
            sock.close()
            self.notice('full', f'refused {address}: {len(self.connections)} connections '
                                'already (--max-connections)')
            return
        if self.per_group[group] >= self.limits.connections_per_address:
            sock.close()
            self.notice(f'group {group}', f'refused {address}: {self.per_group[group]} '
                        'connections from its address already (--connections-per-address)')
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        now = self.clock()
        conn = Connection(sock, address, group, self.limits, now)
        self.selector.register(sock, selectors.EVENT_READ, conn)
        self.connections.add(conn)
        self.per_group[group] += 1
        if group not in self.budgets:
            self.budgets[group] = Budget(self.limits.requests_per_second,
                                         self.limits.request_burst, now)
        self.chat.connect(conn, group)

    def pause_accepting(self, err: OSError) -> None:
        """Out of file descriptors: stop accepting for a moment, serve who is connected."""
        assert self.listener is not None
        self.selector.unregister(self.listener)
        self.resume_accepting = self.clock() + ACCEPT_PAUSE
        self.notice('exhausted', f'cannot accept: {err}; not accepting for {ACCEPT_PAUSE:g} s')

    def resume(self) -> None:
        """Accept again after a pause."""
        assert self.listener is not None
        self.resume_accepting = 0.0
        self.selector.register(self.listener, selectors.EVENT_READ)

    def notice(self, kind: str, text: str) -> None:
        """Log a warning, at most once per NOTICE_INTERVAL for each kind of trouble."""
        now = self.clock()
        last, suppressed = self.notices.get(kind, (0.0, 0))
        if last and now - last < NOTICE_INTERVAL:
            self.notices[kind] = (last, suppressed + 1)
            return
        more = f' ({suppressed} more like it since the last report)' if suppressed else ''
        logger.warning('%s%s', text, more)
        self.notices[kind] = (now, 0)

    # Reading and writing.
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
        conn.state = State.OPEN
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
        now = self.clock()
        conn.heard, conn.probed = now, False
        budget = self.budgets[conn.group]
        for item in conn.decoder.feed(data):
            if budget.take(now):
                self.chat.receive(conn, item)
            else:
                self.chat.reply(conn, response(Status.TOO_MANY_REQUESTS, 'slow down'))

    def dispatch(self) -> None:
        """Commit the turn and carry it out: queue, close, flush.

        Writing may let the chat give more (the next page of a backlog), and closing may
        give it more to say (that a user left): that goes out in this turn too.
        """
        while True:
            try:
                turn = self.chat.commit()
            except Exception:  # pylint: disable=broad-except  # a bug: log it, serve on
                logger.exception('cannot carry out a turn')
                return
            for conn, data in turn.sends:
                self.queue(conn, data)
            for conn in turn.drop:
                self.close(conn, f'too slow: over {self.limits.max_output_bytes} bytes unread')
            for conn in turn.close:
                if conn.state is not State.CLOSED:
                    conn.state = State.CLOSING
                    self.touched.add(conn)
            touched, self.touched = self.touched, set()
            for conn in touched:
                self.guarded(conn, self.flush, conn)
            if not self.chat.busy:
                return

    def queue(self, conn: Connection, data: bytes) -> None:
        """Add ``data`` to the connection's output (the chat keeps it within bounds)."""
        if conn.state is State.CLOSED:
            return
        if not conn.out:
            conn.progress = self.clock()
        conn.out += data
        self.touched.add(conn)

    def flush(self, conn: Connection) -> None:
        """Send what the socket takes; wait for writability for the rest."""
        if conn.state is State.CLOSED or conn.state is State.HANDSHAKE:
            return
        if conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                sent = 0
            except OSError as err:
                self.close(conn, f'write failed: {err}')
                return
            if sent:
                del conn.out[:sent]
                conn.progress = self.clock()
                self.chat.written(conn, sent)
        if conn.out and not conn.writing:
            self.selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
            conn.writing = True
        elif not conn.out and conn.writing:
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
            conn.writing = False
        if not conn.out and conn.state is State.CLOSING:
            self.close(conn, 'quit')

    def close(self, conn: Connection, reason: str) -> None:
        """Forget the connection and close its socket; what it had not been sent is kept."""
        if conn.state is State.CLOSED:
            return
        conn.state = State.CLOSED
        self.connections.discard(conn)
        try:
            self.selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        conn.out = bytearray()
        self.per_group[conn.group] -= 1
        if not self.per_group[conn.group]:
            del self.per_group[conn.group]
        self.chat.disconnect(conn)
        logger.debug('%s: disconnected: %s', conn.address, reason)

    # Once a second.
    def sweep(self, now: float) -> None:
        """Close what timed out, probe who is silent, forget idle budgets, publish a snapshot."""
        limits = self.limits
        for conn in list(self.connections):
            if conn.state is State.HANDSHAKE and now - conn.opened > limits.handshake_timeout:
                self.close(conn, 'TLS handshake timed out')
            elif conn.out and now - conn.progress > limits.stall_timeout:
                self.close(conn, f'stalled: output unread for {limits.stall_timeout:g} s')
            elif not self.chat.logged_in(conn):
                if now - conn.opened > limits.login_timeout:
                    self.close(conn, f'no login within {limits.login_timeout:g} s')
            elif now - conn.heard > limits.idle_timeout:
                self.close(conn, f'silent for {limits.idle_timeout:g} s')
            elif now - conn.heard > limits.idle_timeout / 2 and not conn.probed:
                conn.probed = True
                self.chat.probe(conn)
        for group in [g for g, b in self.budgets.items() if g not in self.per_group
                      and b.full(now)]:
            del self.budgets[group]
        self.chat.tick(self.bus.lead(self.selector, now))     # and polls the news
        self.chat.catch_up()
        self.dispatch()
        self.snapshot = Snapshot(tuple(sorted(self.chat.online)), len(self.connections))

    def shutdown(self) -> None:
        """Stop accepting, send queued output for a moment, then close every socket."""
        self.chat.stop()
        if self.listener is not None:
            if not self.resume_accepting:
                self.selector.unregister(self.listener)
            self.listener.close()
        deadline = self.clock() + SHUTDOWN_GRACE
        while self.clock() < deadline and any(c.out for c in self.connections):
            for key, _ in self.selector.select(timeout=max(0.0, deadline - self.clock())):
                if isinstance(key.data, Connection):
                    self.guarded(key.data, self.flush, key.data)
            self.chat.commit()          # cursors moved by what was written
        for conn in list(self.connections):
            self.close(conn, 'server stopping')
        self.chat.commit()
        try:
            self.chat.cluster.stop()
        except StorageError:
            logger.exception('cannot say that this node stops')
        self.bus.close(self.selector)
        self.selector.close()
        self.waker.close()
        self.wakeup.close()
        logger.info('stopped')

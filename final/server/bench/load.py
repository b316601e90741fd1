"""The load generator of the benchmark: the same shapes of traffic for three kinds of server.

A ``Dialect`` says how a client of one kind of server says hello (a JIM SCRAM login, the bare
relay's name line, IRC's NICK and USER), writes a message to another client, and tells a
delivered message among the lines it receives. ``Pump`` drives many non-blocking clients
from one ``selectors`` loop; the workloads (``pipelined``, ``ping_pong``, ``offered``) use
it and measure what was delivered, how fast, and the server's CPU time from /proc.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import selectors
import socket
import time
from collections.abc import Callable

import orjson

TEXT = 'x' * 40


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far (Linux)."""
    with open(f'/proc/{pid}/stat', encoding='ascii') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def rss_kib(pid: int) -> int:
    """Return the resident memory of a process in KiB (Linux)."""
    with open(f'/proc/{pid}/status', encoding='ascii') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


class Dialect:
    """How one kind of server is spoken to; ``hello`` returns what to send first."""

    name = ''

    def hello(self, client: Client) -> bytes:
        """Return the first bytes a client sends; ``client.ready`` is set by ``lines``."""
        raise NotImplementedError

    def message(self, to: str, text: str) -> bytes:
        """Return a message to ``to``."""
        raise NotImplementedError

    def lines(self, client: Client, lines: list[bytes]) -> list[bytes]:
        """Handle received lines; return the delivered messages among them."""
        raise NotImplementedError

    @staticmethod
    def text(line: bytes) -> str:
        """Return the text of a delivered message."""
        raise NotImplementedError


class Relay(Dialect):
    """The bare relay: a name line, then JSON objects with ``to``."""

    name = 'bare relay'

    def hello(self, client: Client) -> bytes:
        client.ready = True
        return client.name.encode() + b'\n'

    def message(self, to: str, text: str) -> bytes:
        return orjson.dumps({'to': to, 'message': text}) + b'\n'

    def lines(self, client: Client, lines: list[bytes]) -> list[bytes]:
        return lines

    @staticmethod
    def text(line: bytes) -> str:
        return str(orjson.loads(line)['message'])


class Irc(Dialect):
    """IRC (miniircd): NICK and USER, then PRIVMSG."""

    name = 'miniircd'

    def hello(self, client: Client) -> bytes:
        return f'NICK {client.name}\r\nUSER {client.name} 0 * :{client.name}\r\n'.encode()

    def message(self, to: str, text: str) -> bytes:
        return f'PRIVMSG {to} :{text}\r\n'.encode()

    def lines(self, client: Client, lines: list[bytes]) -> list[bytes]:
        if not client.ready and any(b' 001 ' in line for line in lines):
            client.ready = True
        return [line for line in lines if b' PRIVMSG ' in line]

    @staticmethod
    def text(line: bytes) -> str:
        return line.split(b' :', 1)[1].rstrip(b'\r').decode()


class Jim(Dialect):
    """jim-server: a SCRAM-SHA-256 login, then msg. Every account has ``password`` and the
    one ``salt`` and ``iterations`` the benchmark gave it, so the keys are derived once."""

    name = 'jim-server'

    def __init__(self, password: str, salt: bytes, iterations: int) -> None:
        salted = hashlib.pbkdf2_hmac('sha256', password.encode(), salt, iterations)
        self.client_key = hmac.new(salted, b'Client Key', 'sha256').digest()
        self.stored_key = hashlib.sha256(self.client_key).digest()

    def hello(self, client: Client) -> bytes:
        client.nonce = base64.b64encode(os.urandom(12)).decode()
        return self._authenticate(client, f'n,,n={client.name},r={client.nonce}')

    @staticmethod
    def _authenticate(client: Client, scram: str) -> bytes:
        return orjson.dumps({'action': 'authenticate', 'time': time.time(),
                             'user': {'account_name': client.name}, 'scram': scram}) + b'\n'

    def message(self, to: str, text: str) -> bytes:
        return orjson.dumps({'action': 'msg', 'time': time.time(), 'to': to,
                             'encoding': 'utf-8', 'message': text}) + b'\n'

    def lines(self, client: Client, lines: list[bytes]) -> list[bytes]:
        delivered = []
        for line in lines:
            if line.startswith(b'{"action":"msg"'):
                delivered.append(line)
            elif not client.ready and line.startswith(b'{"response":'):
                self._login_step(client, orjson.loads(line))
        return delivered

    def _login_step(self, client: Client, answer: dict) -> None:
        if answer['response'] == 101:
            first = answer['scram']
            without_proof = f'c=biws,r={first.split(",")[0][2:]}'
            auth = f'n={client.name},r={client.nonce},{first},{without_proof}'.encode()
            signature = hmac.new(self.stored_key, auth, 'sha256').digest()
            proof = bytes(a ^ b for a, b in zip(self.client_key, signature))
            client.out += self._authenticate(
                client, f'{without_proof},p={base64.b64encode(proof).decode()}')
        elif answer['response'] == 200:
            client.ready = True
        else:
            raise RuntimeError(f'{client.name} cannot log in: {answer}')

    @staticmethod
    def text(line: bytes) -> str:
        return str(orjson.loads(line)['message'])


class Client:
    """One non-blocking connection of the load generator."""

    __slots__ = ('name', 'sock', 'out', 'partial', 'ready', 'nonce')

    def __init__(self, name: str, address: tuple[str, int]) -> None:
        self.name = name
        self.sock = socket.create_connection(address, timeout=30)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.out = bytearray()
        self.partial = b''
        self.ready = False
        self.nonce = ''


class Pump:
    """Many clients on one selector: write what is queued, read and split into lines."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.selector = selectors.DefaultSelector()
        self.clients: dict[str, Client] = {}
        # Called with (receiver, line, time) for each delivered message.
        self.on_message: Callable[[Client, bytes, float], None] = lambda *_: None

    def start(self, name: str, address: tuple[str, int]) -> Client:
        """Connect ``name`` and queue its hello; ``turn`` does the rest."""
        client = Client(name, address)
        client.out += self.dialect.hello(client)
        self.clients[client.name] = client
        self.selector.register(client.sock, selectors.EVENT_READ, client)
        return client

    def connect(self, names: list[str], address: tuple[str, int], in_flight: int = 200) -> None:
        """Connect and say hello for each name, ``in_flight`` at a time; until all are ready."""
        pending = list(reversed(names))
        while pending or not all(c.ready for c in self.clients.values()):
            waiting = sum(not c.ready for c in self.clients.values())
            while pending and waiting < in_flight:
                self.start(pending.pop(), address)
                waiting += 1
            self.turn(0.01)

    def send(self, sender: str, to: str, text: str) -> None:
        """Queue a message from ``sender`` to ``to``."""
        self.clients[sender].out += self.dialect.message(to, text)

    def turn(self, timeout: float) -> None:
        """Write what is queued; read what arrived, once."""
        for client in self.clients.values():
            if client.out:
                try:
                    del client.out[:client.sock.send(client.out)]
                except BlockingIOError:
                    pass
        for key, _ in self.selector.select(timeout):
            client = key.data
            try:
                data = client.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                raise ConnectionError(f'{self.dialect.name} closed {client.name}')
            lines = (client.partial + data).split(b'\n')
            client.partial = lines.pop()
            now = time.perf_counter()
            for line in self.dialect.lines(client, lines):
                self.on_message(client, line, now)

    def run(self, done: Callable[[], bool], seconds: float,
            feed: Callable[[], None] | None = None) -> None:
        """Turn until ``done()`` or ``seconds`` have passed, calling ``feed`` each turn."""
        deadline = time.perf_counter() + seconds
        while not done() and time.perf_counter() < deadline:
            if feed:
                feed()
            self.turn(0.001)

    def close(self) -> None:
        """Close every client."""
        for client in self.clients.values():
            self.selector.unregister(client.sock)
            client.sock.close()
        self.clients.clear()


def pairs_of(count: int) -> list[tuple[str, str]]:
    """Return ``count`` (sender, receiver) pairs of the benchmark's names."""
    return [(f'u{n}', f'u{count + n}') for n in range(count)]


def pipelined(pump: Pump, pid: int, pairs: int, window: int,
              seconds: float) -> tuple[float, float]:
    """Each sender keeps ``window`` messages in flight to its receiver; return delivered
    messages per second and the server's CPU microseconds per delivered message."""
    partner = {receiver: sender for sender, receiver in pairs_of(pairs)}
    delivered = [0]

    def arrived(client: Client, _line: bytes, _now: float) -> None:
        delivered[0] += 1
        pump.send(partner[client.name], client.name, TEXT)

    pump.on_message = arrived
    for sender, receiver in pairs_of(pairs):
        for _ in range(window):
            pump.send(sender, receiver, TEXT)
    pump.run(lambda: False, 0.5)                           # warm up
    start, cpu, count = time.perf_counter(), cpu_seconds(pid), delivered[0]
    pump.run(lambda: False, seconds)
    elapsed, used = time.perf_counter() - start, cpu_seconds(pid) - cpu
    count = delivered[0] - count
    pump.on_message = lambda *_: None
    pump.run(lambda: False, 0.5)                           # let the last ones come in
    return count / elapsed, used / count * 1e6


def ping_pong(pump: Pump, pairs: int, seconds: float) -> tuple[float, list[float]]:
    """Each pair answers each other, one message in flight; return messages per second and
    the one-way latencies (seconds)."""
    partner = dict(pairs_of(pairs))
    partner.update({b: a for a, b in partner.items()})
    latencies: list[float] = []

    def arrived(client: Client, line: bytes, now: float) -> None:
        latencies.append(now - float(pump.dialect.text(line)))
        pump.send(client.name, partner[client.name], repr(time.perf_counter()))

    pump.on_message = arrived
    for sender, receiver in pairs_of(pairs):
        pump.send(sender, receiver, repr(time.perf_counter()))
    start = time.perf_counter()
    pump.run(lambda: False, seconds)
    elapsed = time.perf_counter() - start
    pump.on_message = lambda *_: None
    pump.run(lambda: False, 0.3)
    return len(latencies) / elapsed, latencies


def offered(pump: Pump, pid: int, rate: float, pairs: int,
            seconds: float) -> tuple[list[float], float]:
    """Offer ``rate`` messages a second spread over ``pairs``; return the latencies and the
    server's CPU share of one core."""
    senders = pairs_of(pairs)
    latencies: list[float] = []
    total = int(rate * seconds)
    sent = [0]

    def arrived(_client: Client, line: bytes, now: float) -> None:
        latencies.append(now - float(pump.dialect.text(line)))

    def feed() -> None:
        due = min(total, int((time.perf_counter() - start) * rate))
        while sent[0] < due:
            sender, receiver = senders[sent[0] % pairs]
            pump.send(sender, receiver, repr(start + sent[0] / rate))
            sent[0] += 1

    pump.on_message = arrived
    start, cpu = time.perf_counter(), cpu_seconds(pid)
    pump.run(lambda: len(latencies) >= total, seconds + 10, feed)
    used = (cpu_seconds(pid) - cpu) / (time.perf_counter() - start)
    pump.on_message = lambda *_: None
    return latencies, used

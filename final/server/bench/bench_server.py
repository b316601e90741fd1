"""Load generator for jim-server, in a process of its own: prints figures, judges nothing.

Run: ``python bench/bench_server.py`` (``nox -s bench`` runs it). It starts a server on a
free loopback port with a fresh database in a temporary folder; history is persisted as
always. Figures: logins per second, delivered messages per second (ping-pong and pipelined),
p50/p99 latency at a fixed offered rate, connections held at once and memory per connection.
"""
from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from jim.framing import Decoder, encode
from jim.messages import msg
from jim_client.connection import Connection

PASSWORD = 'bench-password'


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Return the resident memory of a process in KiB (Linux)."""
    with open(f'/proc/{pid}/status', encoding='ascii') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def start_server(folder: str, users: list[str]) -> tuple[subprocess.Popen, int]:
    """Create the accounts, start the server, wait until it listens."""
    db = os.path.join(folder, 'bench.db')
    server = [sys.executable, '-m', 'jim_server', '--db', db]
    subprocess.run(server + ['--iterations', '4096', '--add-user', *users], check=True,
                   input=f'{PASSWORD}\n' * len(users), text=True, stdout=subprocess.DEVNULL)
    port = free_port()
    # The server outlives this call: main() ends it. pylint: disable=consider-using-with
    process = subprocess.Popen(server + ['--port', str(port), '--max-output-bytes', '67108864',
                                         '--requests-per-second', '1000000',
                                         '--connections-per-address', '100000'],
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('the server did not start')


def log_in(port: int, name: str) -> Connection:
    """Connect and log ``name`` in; return the connection."""
    conn = Connection('127.0.0.1', port)
    conn.login(name, PASSWORD)
    conn.sock.settimeout(30)
    return conn


def bench_logins(port: int, names: list[str]) -> tuple[float, list[Connection]]:
    """Log every name in, one at a time; return logins per second and the connections."""
    start = time.perf_counter()
    conns = [log_in(port, name) for name in names]
    return len(names) / (time.perf_counter() - start), conns


def bench_ping_pong(a: Connection, b: Connection, names: tuple[str, str],
                    rounds: int) -> tuple[float, list[float]]:
    """A and B answer each other; return messages/s and one-way latencies (s)."""
    latencies = []
    start = time.perf_counter()
    for _ in range(rounds):
        for sender, receiver, to in ((a, b, names[1]), (b, a, names[0])):
            sent = time.perf_counter()
            sender.send(msg(to, 'ping'))
            while receiver.receive().get('action') != 'msg':
                pass        # its response, or who logged in
            latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - start
    for conn in (a, b):
        while conn.pending:
            conn.pending.popleft()
    return 2 * rounds / elapsed, latencies


class Pump:
    """Non-blocking senders and receivers on one selector: pipelined traffic."""

    def __init__(self, conns: list[Connection]) -> None:
        self.selector = selectors.DefaultSelector()
        self.out: dict[socket.socket, bytearray] = {}
        self.decoders: dict[socket.socket, Decoder] = {}
        self.received: list[tuple[float, str]] = []
        self.responses = 0
        for conn in conns:
            conn.sock.setblocking(False)
            self.out[conn.sock] = bytearray()
            self.decoders[conn.sock] = Decoder()
            self.selector.register(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def run_until(self, done, deadline: float, feed=None) -> None:
        """Write what is queued and read what arrives until ``done()`` or the deadline."""
        while not done() and time.perf_counter() < deadline:
            if feed:
                feed()
            for key, mask in self.selector.select(timeout=0.01):
                sock = key.fileobj
                if mask & selectors.EVENT_WRITE and self.out[sock]:
                    try:
                        del self.out[sock][:sock.send(self.out[sock])]
                    except BlockingIOError:
                        pass
                if mask & selectors.EVENT_READ:
                    try:
                        data = sock.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    now = time.perf_counter()
                    for item in self.decoders[sock].feed(data):
                        if 'response' in item:
                            self.responses += 1
                        elif item.get('action') == 'msg':
                            self.received.append((now, item['message']))


def bench_pipelined(senders, receivers, per_sender: int) -> float:
    """Each sender sends ``per_sender`` messages at once; return messages delivered per second."""
    pump = Pump(senders + receivers)
    text = 'x' * 40
    for index, conn in enumerate(senders):
        pump.out[conn.sock] += encode(msg(f'u{len(senders) + index}', text)) * per_sender
    total = per_sender * len(senders)
    start = time.perf_counter()
    pump.run_until(lambda: len(pump.received) >= total, start + 120)
    return len(pump.received) / (time.perf_counter() - start)


def bench_latency(senders, receivers, rate: float, seconds: float) -> tuple[float, list[float]]:
    """Offer ``rate`` messages/s spread over the senders; return delivered/s and latencies."""
    pump = Pump(senders + receivers)
    start = time.perf_counter()
    sent = [0]

    def feed() -> None:
        due = min(int((time.perf_counter() - start) * rate), int(rate * seconds))
        while sent[0] < due:
            index = sent[0] % len(senders)
            pump.out[senders[index].sock] += encode(
                msg(f'u{len(senders) + index}', repr(time.perf_counter())))
            sent[0] += 1

    total = int(rate * seconds)
    pump.run_until(lambda: len(pump.received) >= total, start + seconds + 30, feed)
    latencies = [now - float(text) for now, text in pump.received]
    return len(pump.received) / (time.perf_counter() - start), latencies


def bench_connections(port: int, pid: int, count: int) -> tuple[int, float]:
    """Hold ``count`` connections at once; return how many and the KiB of server memory each."""
    before = rss_kib(pid)
    socks = []
    for _ in range(count):
        socks.append(socket.create_connection(('127.0.0.1', port), timeout=10))
    probe = socks[-1]
    probe.sendall(encode(msg('#all', 'anyone?')))      # answered (401) with all held
    assert probe.recv(4096)
    held = len(socks)
    after = rss_kib(pid)
    for sock in socks:
        sock.close()
    return held, (after - before) / held


def percentile(values: list[float], share: float) -> float:
    """Return the value below which ``share`` of ``values`` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    """Start a server, measure it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=20)
    parser.add_argument('--per-sender', type=int, default=5000)
    parser.add_argument('--connections', type=int, default=5000)
    args = parser.parse_args()
    names = [f'u{n}' for n in range(2 * args.pairs)]
    with tempfile.TemporaryDirectory() as folder:
        process, port = start_server(folder, names)
        try:
            report(args, measure(args, port, process.pid, names))
        finally:
            process.terminate()
            process.wait(30)


def measure(args: argparse.Namespace, port: int, pid: int, names: list[str]) -> dict[str, Any]:
    """Run every benchmark against the server on ``port``; return the figures by name."""
    # First, while the server's memory holds nothing else.
    held, per_connection = bench_connections(port, pid, args.connections)
    logins, conns = bench_logins(port, names)
    senders, receivers = conns[:args.pairs], conns[args.pairs:]
    pingpong, one_way = bench_ping_pong(conns[0], conns[args.pairs],
                                        (names[0], names[args.pairs]), 2000)
    pipelined = bench_pipelined(senders, receivers, args.per_sender)
    offered, latencies = bench_latency(senders, receivers, 5000, 3)
    return {'held': held, 'per_connection': per_connection, 'logins': logins,
            'pingpong': pingpong, 'one_way': one_way, 'pipelined': pipelined,
            'offered': offered, 'latencies': latencies}


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Print the figures as a table."""
    one_way, latencies = figures['one_way'], figures['latencies']
    rows = [
        ('logins per second (SCRAM, 4096 iterations, one at a time)',
         f'{figures["logins"]:,.0f}'),
        ('direct messages/s, ping-pong (one pair)', f'{figures["pingpong"]:,.0f}'),
        ('  one-way latency p50 / p99, ms',
         f'{percentile(one_way, .5) * 1e3:.2f} / {percentile(one_way, .99) * 1e3:.2f}'),
        (f'direct messages/s, pipelined ({args.pairs} pairs)', f'{figures["pipelined"]:,.0f}'),
        ('delivered/s at 5,000 msg/s offered', f'{figures["offered"]:,.0f}'),
        ('  latency p50 / p99, ms',
         f'{percentile(latencies, .5) * 1e3:.2f} / {percentile(latencies, .99) * 1e3:.2f}'),
        ('connections held at once', f'{figures["held"]:,}'),
        ('  server memory per connection, KiB', f'{figures["per_connection"]:.1f}'),
    ]
    width = max(len(name) for name, _ in rows)
    print(f'jim-server on 127.0.0.1, {os.cpu_count()} cores, history persisted (SQLite, WAL)')
    for name, value in rows:
        print(f'{name:<{width}}  {value:>14}')
    print(f'(median of one-way ping-pong latency: {statistics.median(one_way) * 1e3:.2f} ms)')


if __name__ == '__main__':
    main()

"""jim-server beside a bare relay and miniircd, in one run: prints figures, judges nothing.

Run: ``python bench/bench_server.py`` (``nox -s bench`` runs it, with miniircd installed).
Each round starts each server afresh on a free loopback port and drives it with the same
load generator (``load.py``); the table gives the median of the rounds and each figure's
ratio to the bare relay's. Then, for jim-server alone: 10,000 logins, logins with millions
of messages stored, and the loop's longest stall while a login replays 20,000 messages.
The table is written to ``build/bench.md`` too.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert

from jim.framing import Decoder, encode
from jim.messages import presence
from jim.scram import make_verifier
from jim_server.storage import Storage, User

import load

HERE = Path(__file__).resolve().parent
PASSWORD, SALT, ITERATIONS = 'bench-password', b'bench-salt-16byt', 4096
JIM_FLAGS = ['--iterations', str(ITERATIONS), '--max-output-bytes', str(64 << 20),
             '--requests-per-second', '1e9', '--request-burst', str(10 ** 9),
             '--connections-per-address', '100000', '--max-connections', '100000']


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    """Wait until the server accepts connections."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'the server exited with {process.returncode}')
        with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError('the server did not listen')


def make_accounts(database: Path | str, count: int) -> None:
    """Create u0..u(count-1) straight in the schema, all with one verifier (fast), in a
    SQLite file or at an SQLAlchemy URL."""
    storage = Storage(f'sqlite:///{database}' if isinstance(database, Path) else database)
    verifier = make_verifier(PASSWORD, ITERATIONS, salt=SALT)
    with storage.engine.begin() as connection:
        connection.execute(insert(User), [
            {'name': f'u{n}', 'salt': verifier.salt, 'iterations': verifier.iterations,
             'stored_key': verifier.stored_key, 'server_key': verifier.server_key,
             'created': datetime.datetime.now(), 'delivered': 0} for n in range(count)])
    storage.close()


class Server:
    """One server under test, in a process of its own."""

    def __init__(self, kind: str, folder: Path, accounts: int) -> None:
        self.kind, self.port = kind, free_port()
        if kind == 'jim':
            database = folder / f'jim-{self.port}.db'
            make_accounts(database, accounts)
            argv = [sys.executable, '-m', 'jim_server', '--db', str(database), '--port',
                    str(self.port), *JIM_FLAGS]
            self.dialect: load.Dialect = load.Jim(PASSWORD, SALT, ITERATIONS)
        elif kind == 'relay':
            argv = [sys.executable, str(HERE / 'relay.py'), str(self.port)]
            self.dialect = load.Relay()
        else:
            argv = [sys.executable, '-m', 'miniircd', '--listen', '127.0.0.1', '--ports',
                    str(self.port)]
            if hasattr(os, 'geteuid') and os.geteuid() == 0:     # it refuses root otherwise
                argv += ['--setuid', 'root']
            self.dialect = load.Irc()
        # It outlives this call: stop() ends it. pylint: disable=consider-using-with
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_listening(self.process, self.port)

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens."""
        return '127.0.0.1', self.port

    def stop(self) -> None:
        """End it."""
        self.process.terminate()
        self.process.wait(30)


KINDS = {'jim': 'jim-server', 'relay': 'bare relay', 'irc': 'miniircd'}


def one_round(kind: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    """Run the shared workloads once against a fresh server of ``kind``."""
    pairs = max(args.pairs, args.offered_pairs, args.ping_pairs)
    server = Server(kind, folder, 2 * pairs)
    pump = load.Pump(server.dialect)
    try:
        pump.connect([f'u{n}' for n in range(2 * pairs)], server.address)
        rate, cpu = load.pipelined(pump, server.process.pid, args.pairs, args.window,
                                   args.seconds)
        ping, one_way = load.ping_pong(pump, args.ping_pairs, args.seconds)
        latencies, share = load.offered(pump, server.process.pid, args.rate,
                                        args.offered_pairs, args.seconds)
        return {'pipelined': rate, 'cpu_us': cpu, 'ping': ping,
                'ping_p99': percentile(one_way, .99) * 1e3,
                'offered_p50': percentile(latencies, .5) * 1e3,
                'offered_p99': percentile(latencies, .99) * 1e3, 'offered_cpu': share}
    finally:
        pump.close()
        server.stop()


def crowd(kind: str, folder: Path, count: int) -> dict[str, float | str]:
    """Log ``count`` clients in (in flight 200 at a time) and keep them: time and memory."""
    server = Server(kind, folder, count)
    pump = load.Pump(server.dialect)
    before = load.rss_kib(server.process.pid)
    start = time.perf_counter()
    try:
        pump.connect([f'u{n}' for n in range(count)], server.address)
    except (OSError, ConnectionError, RuntimeError):
        held = sum(c.ready for c in pump.clients.values())
        return {'login_s': f'fails past {held:,}', 'kib_each': f'fails past {held:,}'}
    finally:
        elapsed = time.perf_counter() - start
        after = load.rss_kib(server.process.pid) if server.process.poll() is None else 0
        pump.close()
        server.stop()
    return {'login_s': elapsed, 'kib_each': (after - before) / count}


def fill_history(database: Path, count: int, users: int) -> None:
    """Store ``count`` messages straight in the schema (indexes made after, as a restore
    would), among ``users`` users and #all; every user has read everything."""
    with sqlite3.connect(database) as connection:
        indexes = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                     "AND tbl_name = 'messages' AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            connection.execute(f'DROP INDEX {name}')
        batch = 100_000
        for start in range(0, count, batch):
            connection.executemany(
                'INSERT INTO messages (time, sender, "to", text, encoding) '
                'VALUES (?, ?, ?, ?, ?)',
                ((1.0, f'u{n % users}', '#all' if n % 10 == 0 else f'u{(n * 7) % users}',
                  'stored ' * 5, 'utf-8') for n in range(start, min(count, start + batch))))
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute('UPDATE users SET delivered = (SELECT max(id) FROM messages)')


def login_time(address: tuple[str, int], dialect: load.Dialect, name: str,
               times: int = 20) -> float:
    """Return the median milliseconds of a login (connect, two SCRAM steps, first page)."""
    samples = []
    for _ in range(times):
        pump = load.Pump(dialect)
        start = time.perf_counter()
        pump.connect([name], address)
        samples.append((time.perf_counter() - start) * 1e3)
        pump.close()
    return statistics.median(samples)


def history_logins(folder: Path, sizes: list[int]) -> dict[int, tuple[float, float]]:
    """Return, per number of stored messages, (seconds to store them, login ms)."""
    figures = {}
    for size in sizes:
        database = folder / f'history-{size}.db'
        make_accounts(database, 1000)
        start = time.perf_counter()
        if size:
            fill_history(database, size, 1000)
        filled = time.perf_counter() - start
        port = free_port()
        # Ended below. pylint: disable=consider-using-with
        process = subprocess.Popen([sys.executable, '-m', 'jim_server', '--db', str(database),
                                    '--port', str(port), *JIM_FLAGS],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(process, port)
        try:
            login_time(('127.0.0.1', port), load.Jim(PASSWORD, SALT, ITERATIONS), 'u1', 3)
            figures[size] = (filled, login_time(('127.0.0.1', port),
                                                load.Jim(PASSWORD, SALT, ITERATIONS), 'u1'))
        finally:
            process.terminate()
            process.wait(30)
    return figures


def stall_during_backlog(folder: Path, waiting: int) -> tuple[float, float]:
    """Return the longest a busy client waited for an answer (ms): while nothing else
    happens, then while a login replays ``waiting`` messages (read as fast as they come)."""
    server = Server('jim', folder, 2)
    sender, reader = load.Pump(server.dialect), load.Pump(server.dialect)
    try:
        sender.connect(['u0'], server.address)
        for _ in range(waiting):
            sender.send('u0', 'u1', load.TEXT)              # u1 is offline: kept
        sender.run(lambda: not sender.clients['u0'].out, 60)
        sender.run(lambda: False, 1.0)                      # the last ones stored
        with socket.create_connection(server.address) as probe:
            quiet = longest_answer(probe, lambda: None, 1.0)
            replayed = [0]
            reader.on_message = lambda *_: replayed.__setitem__(0, replayed[0] + 1)
            reader.start('u1', server.address)
            busy = longest_answer(probe, lambda: reader.turn(0), 10.0,
                                  lambda: replayed[0] >= waiting)
        return quiet, busy
    finally:
        sender.close()
        reader.close()
        server.stop()


def longest_answer(probe: socket.socket, work: Callable[[], None], seconds: float,
                   done: Callable[[], bool] = lambda: False) -> float:
    """Send requests one at a time on ``probe`` while doing ``work``; return the longest
    wait for an answer, in ms. The probe does not log in: its 401s time the loop as well."""
    decoder, longest = Decoder(), 0.0
    deadline = time.perf_counter() + seconds
    probe.setblocking(False)
    while time.perf_counter() < deadline and not done():
        sent = time.perf_counter()
        probe.sendall(encode(presence('u2')))
        answered = False
        while not answered:
            work()
            try:
                answered = any('response' in item for item in decoder.feed(probe.recv(65536)))
            except BlockingIOError:
                pass
        longest = max(longest, time.perf_counter() - sent)
    return longest * 1e3


def percentile(values: list[float], share: float) -> float:
    """Return the value below which ``share`` of ``values`` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    """Measure, print the table, write build/bench.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=3.0, help='of each workload')
    parser.add_argument('--pairs', type=int, default=20)
    parser.add_argument('--window', type=int, default=16, help='messages in flight a pair')
    parser.add_argument('--ping-pairs', type=int, default=10)
    parser.add_argument('--rate', type=float, default=5000.0)
    parser.add_argument('--offered-pairs', type=int, default=50)
    parser.add_argument('--crowd', type=int, default=10_000)
    parser.add_argument('--history', default='0,1000000,3000000')
    parser.add_argument('--waiting', type=int, default=20_000)
    parser.add_argument('--output', type=Path, default=HERE.parents[2] / 'build' / 'bench.md')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        medians = interleaved(folder, args)
        crowds = {kind: crowd(kind, folder, args.crowd) for kind in KINDS}
        print('crowds done', flush=True)
        history = history_logins(folder, [int(n) for n in args.history.split(',')])
        stall = stall_during_backlog(folder, args.waiting)
    text = report(args, medians, crowds, history, stall)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding='utf-8')


def interleaved(folder: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Run the shared workloads ``args.rounds`` times on each kind of server, in turn;
    return the median of each figure."""
    rounds: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for number in range(args.rounds):
        for kind, runs in rounds.items():
            runs.append(one_round(kind, folder, args))
            print(f'round {number + 1}/{args.rounds}: {KINDS[kind]}: '
                  f'{runs[-1]["pipelined"]:,.0f} msgs/s pipelined', flush=True)
    return {kind: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            for kind, runs in rounds.items()}


def report(args: argparse.Namespace, medians: dict[str, dict[str, float]],
           crowds: dict[str, dict[str, float | str]], history: dict[int, tuple[float, float]],
           stall: tuple[float, float]) -> str:
    """Return the figures as a Markdown table (with ratios to the bare relay and miniircd)."""
    rows = [
        (f'{args.pairs} pairs x {args.window} in flight: delivered msgs/s', 'pipelined', 0),
        ('same: server CPU us per delivered message', 'cpu_us', 1),
        (f'{args.ping_pairs} pairs ping-pong: msgs/s', 'ping', 0),
        ('same: one-way p99, ms', 'ping_p99', 2),
        (f'{args.rate:,.0f} msgs/s offered over {args.offered_pairs} pairs: p50, ms',
         'offered_p50', 2),
        ('same: p99, ms', 'offered_p99', 2),
        ('same: server CPU share of a core', 'offered_cpu', 2),
    ]
    lines = ['## jim-server beside a bare relay and miniircd: the latest run',
             '',
             f'{datetime.date.today()}, {platform.node()}: {os.cpu_count()} cores, '
             f'Python {platform.python_version()}, {platform.machine()}; medians of '
             f'{args.rounds} interleaved rounds of {args.seconds:g} s per workload; '
             'jim-server stores every message (SQLite, WAL).',
             '',
             '| workload | jim-server | bare relay | miniircd | jim / relay | jim / miniircd |',
             '| --- | ---: | ---: | ---: | ---: | ---: |']
    for label, key, digits in rows:
        jim, relay, irc = (medians[kind][key] for kind in KINDS)
        lines.append(f'| {label} | {jim:,.{digits}f} | {relay:,.{digits}f} | '
                     f'{irc:,.{digits}f} | {jim / relay:.2f} | {jim / irc:.2f} |')
    for label, key, digits in ((f'{args.crowd:,} clients logged in at once: seconds',
                                'login_s', 2),
                               ('same: server memory per client, KiB', 'kib_each', 2)):
        values = [crowds[kind][key] for kind in KINDS]
        cells = [v if isinstance(v, str) else f'{v:,.{digits}f}' for v in values]
        ratio = (f'{values[0] / values[1]:.2f}'
                 if not any(isinstance(v, str) for v in values[:2]) else '')
        lines.append(f'| {label} | {" | ".join(cells)} | {ratio} | |')
    return '\n'.join(lines + alone(args, history, stall)) + '\n'


def alone(args: argparse.Namespace, history: dict[int, tuple[float, float]],
          stall: tuple[float, float]) -> list[str]:
    """Return the rows of the table of jim-server's own figures."""
    lines = ['', '| jim-server alone | figure |', '| --- | ---: |']
    empty = history.get(0, (0.0, 0.0))[1]
    for size, (filled, login) in sorted(history.items()):
        note = f' (stored in {filled:.0f} s)' if size else ''
        lines.append(f'| login, {size:,} messages stored{note}: ms | {login:.2f} '
                     f'({login - empty:+.2f}) |')
    lines.append(f'| longest wait of a busy client, quiet: ms | {stall[0]:.1f} |')
    lines.append(f'| same, while a login replays {args.waiting:,} messages: ms | '
                 f'{stall[1]:.1f} |')
    return lines


if __name__ == '__main__':
    main()

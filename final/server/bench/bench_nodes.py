"""jim-server on one, two and three nodes sharing PostgreSQL: prints figures, judges nothing.

Run: ``python bench/bench_nodes.py --nodes 1,2,3`` (``nox -s bench -- --nodes 1,2,3``), with
PostgreSQL reachable at ``JIM_BENCH_POSTGRES`` (default: 127.0.0.1:5432, trust
authentication; a database of its own is made and dropped). For each number of nodes it
measures pairs whose two ends are on one node (same-node) and on two (cross-node): delivered
messages per second with 16 in flight a pair, and the CPU milliseconds every 1,000 of them
cost the nodes (from /proc, per node); then the latency of 2,000 messages a second offered
across nodes. A single node on SQLite and one on PostgreSQL are the baselines. On a 2-core
machine the nodes, PostgreSQL and the load share the cores: the cost per message is what
predicts a larger machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

import load
from bench_server import (JIM_FLAGS, PASSWORD, SALT, ITERATIONS, free_port, make_accounts,
                          percentile, wait_listening)

ADMIN = os.environ.get('JIM_BENCH_POSTGRES', 'postgresql://postgres@127.0.0.1:5432/postgres')


class Cluster:
    """N jim-server nodes on one database (``url``: SQLite or PostgreSQL)."""

    def __init__(self, url: str, count: int, accounts: int) -> None:
        make_accounts_at(url, accounts)
        self.ports = [free_port() for _ in range(count)]
        # Ended by stop(). pylint: disable=consider-using-with
        self.processes = [subprocess.Popen(
            [sys.executable, '-m', 'jim_server', '--db-url', url, '--port', str(port),
             '--node-id', f'node{number}', *JIM_FLAGS],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for number, port in enumerate(self.ports)]
        for process, port in zip(self.processes, self.ports):
            wait_listening(process, port)

    def address(self, number: int) -> tuple[str, int]:
        """Where node ``number`` (taken modulo the count) listens."""
        return '127.0.0.1', self.ports[number % len(self.ports)]

    def cpu(self) -> float:
        """The CPU seconds the nodes have used, in all."""
        return sum(load.cpu_seconds(process.pid) for process in self.processes)

    def stop(self) -> None:
        """End every node."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(30)


def make_accounts_at(url: str, count: int) -> None:
    """Create the benchmark's accounts in the database at ``url``."""
    make_accounts(Path(url.removeprefix('sqlite:///')) if url.startswith('sqlite:///')
                  else url, count)


def pump_for(cluster: Cluster, pairs: int, cross: bool) -> load.Pump:
    """Connect u0..u(2*pairs-1): sender n on node n, its receiver on the same node or the
    next one."""
    pump = load.Pump(load.Jim(PASSWORD, SALT, ITERATIONS))
    for number in range(pairs):
        pump.start(f'u{number}', cluster.address(number))
        pump.start(f'u{pairs + number}', cluster.address(number + (1 if cross else 0)))
    pump.run(lambda: all(client.ready for client in pump.clients.values()), 60)
    return pump


def throughput(cluster: Cluster, pairs: int, cross: bool,
               seconds: float) -> tuple[float, float]:
    """Return delivered messages/s and CPU ms per 1,000 delivered, per node."""
    pump = pump_for(cluster, pairs, cross)
    try:
        delivered = [0]
        partner = {f'u{pairs + n}': f'u{n}' for n in range(pairs)}

        def arrived(client: load.Client, _line: bytes, _now: float) -> None:
            delivered[0] += 1
            pump.send(partner[client.name], client.name, load.TEXT)

        pump.on_message = arrived
        for number in range(pairs):
            for _ in range(16):
                pump.send(f'u{number}', f'u{pairs + number}', load.TEXT)
        pump.run(lambda: False, 0.5)
        start, cpu, count = time.perf_counter(), cluster.cpu(), delivered[0]
        pump.run(lambda: False, seconds)
        elapsed, used = time.perf_counter() - start, cluster.cpu() - cpu
        count = delivered[0] - count
        pump.on_message = lambda *_: None
        pump.run(lambda: False, 0.5)
    finally:
        pump.close()
    return count / elapsed, used / count * 1e6 / len(cluster.ports)


def offered(cluster: Cluster, rate: float, pairs: int, seconds: float) -> float:
    """Offer ``rate`` messages/s across nodes; return the p99 latency in ms."""
    pump = pump_for(cluster, pairs, cross=True)
    try:
        latencies, _ = load.offered(pump, cluster.processes[0].pid, rate, pairs, seconds)
    finally:
        pump.close()
    return percentile(latencies, .99) * 1e3


def new_database() -> tuple[str, str]:
    """Make a PostgreSQL database of its own; return its name and SQLAlchemy URL."""
    name = f'jim_bench_{uuid.uuid4().hex[:10]}'
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE {name}')
    info = psycopg.conninfo.conninfo_to_dict(ADMIN)
    return name, (f'postgresql+psycopg://{info.get("user", "postgres")}@'
                  f'{info.get("host", "127.0.0.1")}:{info.get("port", 5432)}/{name}')


def drop_database(name: str) -> None:
    """Drop a database made by new_database."""
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')


def measure(label: str, url: str, nodes: int, args: argparse.Namespace) -> list[str]:
    """Return the table rows of one setup."""
    rows = []
    cluster = Cluster(url, nodes, 2 * max(args.pairs, args.offered_pairs))
    try:
        for cross in ((False, True) if nodes > 1 else (False,)):
            runs = [throughput(cluster, args.pairs, cross, args.seconds)
                    for _ in range(args.rounds)]
            rate = statistics.median(r for r, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            rows.append(f'| {label} | {"cross-node" if cross else "same-node"} | '
                        f'{rate:,.0f} | {cpu:,.0f} |')
            print(rows[-1], flush=True)
        if nodes > 1:
            p99 = offered(cluster, args.rate, args.offered_pairs, args.seconds)
            rows.append(f'| {label} | {args.rate:,.0f} msgs/s offered across nodes: p99 '
                        f'{p99:.1f} ms | | |')
            print(rows[-1], flush=True)
    finally:
        cluster.stop()
    return rows


def main() -> None:
    """Measure each setup, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', default='1,2,3')
    parser.add_argument('--pairs', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--rate', type=float, default=2000.0)
    parser.add_argument('--offered-pairs', type=int, default=30)
    args = parser.parse_args()
    rows = ['| setup | pairs | delivered msgs/s | CPU ms per 1,000 msgs, per node |',
            '| --- | --- | ---: | ---: |']
    with tempfile.TemporaryDirectory() as folder:
        rows += measure('1 node, SQLite', f'sqlite:///{folder}/bench.db', 1, args)
    for count in (int(n) for n in args.nodes.split(',')):
        name, url = new_database()
        try:
            rows += measure(f'{count} node{"s" * (count > 1)}, PostgreSQL', url, count, args)
        finally:
            drop_database(name)
    print('\n'.join(rows))


if __name__ == '__main__':
    main()

"""``jim-server``: run the server, or manage its accounts."""
from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import os
import signal
import socket
import ssl
import sys
from pathlib import Path

import platformdirs

from jim.constants import APP_NAME
from jim.errors import RemoteProtocolError
from jim.messages import account_name
from jim.scram import DEFAULT_ITERATIONS

from jim_server import __version__
from jim_server.engine import Server
from jim_server.settings import Limits, Settings
from jim_server.storage import Storage


def data_directory() -> Path:
    """Return the per-user folder for the database (the platform's own: XDG, macOS, Windows)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False, roaming=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line; every ``Limits`` field is a flag of its own."""
    parser = argparse.ArgumentParser(prog='jim-server', description='The JIM messenger server.')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: 127.0.0.1; 0.0.0.0 for all)')
    parser.add_argument('-p', '--port', type=int, default=7777, help='port (default: 7777)')
    where = parser.add_mutually_exclusive_group()
    where.add_argument('--db', type=Path,
                       help=f'SQLite file (default: {data_directory() / "server.db"})')
    where.add_argument('--db-url', help='any SQLAlchemy database URL instead of --db; with '
                       'postgresql+psycopg://..., several servers make one messenger')
    parser.add_argument('--node-id', default='',
                        help='the name of this server among several that share a PostgreSQL '
                             'database (default: this host name and the port)')
    parser.add_argument('--add-user', nargs='+', metavar='NAME',
                        help='create accounts or set new passwords, then exit; passwords are '
                             'asked for, or read one per line when stdin is not a terminal')
    parser.add_argument('--iterations', type=int, default=DEFAULT_ITERATIONS,
                        help='PBKDF2 iterations of new passwords, and of the challenge a name '
                             'without an account gets (default: %(default)s)')
    parser.add_argument('--tls-cert', type=Path, help='serve TLS with this certificate (PEM)')
    parser.add_argument('--tls-key', type=Path, help='the private key of --tls-cert (PEM)')
    parser.add_argument('--gui', action='store_true',
                        help='show the admin window (needs the gui extra: PyQt5)')
    parser.add_argument('-v', '--verbose', action='store_true', help='log every connection')
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    limits = parser.add_argument_group('limits')
    for item in dataclasses.fields(Limits):
        limits.add_argument('--' + item.name.replace('_', '-'), type=type(item.default),
                            default=item.default,
                            metavar='SECONDS' if item.name.endswith(('timeout', 'window'))
                            else 'N',
                            help=f'{item.metadata["help"]} (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.tls_key and not args.tls_cert:
        parser.error('--tls-key needs --tls-cert')
    for item in dataclasses.fields(Limits):
        if getattr(args, item.name) <= 0:
            parser.error(f'--{item.name.replace("_", "-")} must be more than 0')
    return args


def limits_of(args: argparse.Namespace) -> Limits:
    """Return the limits the command line sets."""
    return Limits(**{item.name: getattr(args, item.name) for item in dataclasses.fields(Limits)})


def private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only, with a folder that is theirs alone.

    SQLite gives its -wal and -shm files the mode of the database file.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def database_url(args: argparse.Namespace) -> str:
    """Return the SQLAlchemy URL the command line asks for, creating a private SQLite file."""
    if args.db_url:
        return str(args.db_url)
    path = args.db or data_directory() / 'server.db'
    private_file(path)
    return f'sqlite:///{path}'


def add_users(storage: Storage, names: list[str], iterations: int) -> int:
    """Set the password of each name; return an exit code."""
    lines = iter(sys.stdin)
    for name in names:
        try:
            account_name(name)
        except RemoteProtocolError as err:
            print(f'Error: {name!r}: {err}', file=sys.stderr)
            return 1
        if sys.stdin.isatty():
            password = getpass.getpass(f'Password for {name}: ')
            if getpass.getpass('Again: ') != password:
                print('Error: the passwords differ', file=sys.stderr)
                return 1
        else:
            password = next(lines, '').rstrip('\r\n')
        if not password:
            print(f'Error: no password for {name}', file=sys.stderr)
            return 1
        storage.add_user(name, password, iterations)
        print(f'{name}: password set')
    return 0


def stop_on_signals(server: Server) -> None:
    """Make SIGTERM and Ctrl+C stop ``server`` after its current turn.

    Python runs a handler between two bytecodes, so a signal that comes just as the loop
    enters ``select`` would be handled only when select returns (within a second, at the
    next sweep); ``set_wakeup_fd`` has Python write a byte to the loop's wake-up socket at
    once.
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.stop())
    signal.set_wakeup_fd(server.waker.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run the server until SIGTERM or Ctrl+C."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format='%(asctime)s %(levelname)-7s %(name)s %(message)s')
    try:
        storage = Storage(database_url(args))
    except Exception as err:  # pylint: disable=broad-except  # any driver's error: say it
        print(f'Error: cannot open the database: {err}', file=sys.stderr)
        return 1
    try:
        if args.add_user:
            return add_users(storage, args.add_user, args.iterations)
        limits = limits_of(args)
        tls = None
        if args.tls_cert:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                tls.load_cert_chain(args.tls_cert, args.tls_key)
            except (OSError, ssl.SSLError) as err:
                print(f'Error: cannot load the TLS certificate: {err}', file=sys.stderr)
                return 1
        node = args.node_id or f'{socket.gethostname()}:{args.port}'
        server = Server(Settings(args.host, args.port, limits, args.iterations, node), storage,
                        tls)
        try:
            server.listen()
        except OSError as err:
            print(f'Error: cannot listen on {args.host}:{args.port}: {err}', file=sys.stderr)
            return 1
        if args.gui:
            from jim_server import gui  # pylint: disable=import-outside-toplevel  # extra
            gui.run(server, args.iterations)
            return 0
        stop_on_signals(server)
        server.serve_forever()
        return 0
    finally:
        storage.close()


if __name__ == '__main__':
    raise SystemExit(main())

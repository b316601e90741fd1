"""``jim-client``: chat from a terminal (or a script: lines on stdin are messages)."""
from __future__ import annotations

import argparse
import getpass
import ssl
import sys
import threading
from typing import Any

from jim.constants import ALL, Action
from jim.messages import ProtocolError, msg, request
from jim.scram import ScramError

from jim_client import __version__
from jim_client.connection import Connection, LoginError

HELP = '''Commands:
  text              send text to everyone (#all)
  @name text        send text to one user (kept for them if they are offline)
  #room text        send text to a room you joined
  /join #room       join a room          /leave #room   leave it
  /users            who has an account   /contacts      your contacts
  /add NAME         add a contact        /del NAME      remove one
  /quit             leave (so does end of input)'''


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog='jim-client', description='Chat from a terminal.')
    parser.add_argument('host', nargs='?', default='127.0.0.1',
                        help='server address (default: 127.0.0.1)')
    parser.add_argument('port', nargs='?', type=int, default=7777,
                        help='server port (default: 7777)')
    parser.add_argument('-n', '--name', required=True, help='account name')
    parser.add_argument('--tls', action='store_true',
                        help="connect with TLS and verify the server's certificate")
    parser.add_argument('--ca-file', help='trust this CA (PEM) instead of the system ones')
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    return parser.parse_args(argv)


def command(line: str) -> dict[str, Any] | str | None:
    """Turn a typed line into a request, 'quit', 'help', or None (nothing to do)."""
    text = line.strip()
    if not text:
        return None
    word, _, rest = text.partition(' ')
    rest = rest.strip()
    simple = {'/quit': 'quit', '/help': 'help', '/users': request(Action.GET_USERS),
              '/contacts': request(Action.GET_CONTACTS)}
    if word in simple:
        return simple[word]
    if word in ('/join', '/leave') and rest:
        return request(Action.JOIN if word == '/join' else Action.LEAVE, room=rest)
    if word in ('/add', '/del') and rest:
        return request(Action.ADD_CONTACT if word == '/add' else Action.DEL_CONTACT,
                       user_id=rest)
    if word.startswith('/'):
        return 'help'
    if word[0] in '@#' and len(word) > 1 and rest:
        return msg(word.lstrip('@'), rest)
    return msg(ALL, text)


def show(item: dict[str, Any]) -> str | None:
    """Return the line to print for something the server sent (None for a plain 200)."""
    if 'response' not in item:
        where = '' if item.get('to') == ALL else f' [{item.get("to")}]'
        return f'{item.get("from")}{where}: {item.get("message")}'
    code = item['response']
    lists = ', '.join(item.get('users') or item.get('contacts') or [])
    if code == 202:
        return f'{item.get("alert")}: {lists}'
    if code >= 400:
        return f'{code}: {item.get("error", "")}'
    return None


def receive_loop(conn: Connection) -> None:
    """Print what the server sends until the connection ends (a thread of its own)."""
    try:
        while True:
            line = show(conn.receive())
            if line:
                print(line, flush=True)
    except (OSError, ProtocolError):
        pass


def read_password() -> str:
    """Ask for the password at a terminal; otherwise it is the first line of stdin."""
    if sys.stdin.isatty():
        return getpass.getpass('Password: ')
    return sys.stdin.readline().rstrip('\r\n')


def main(argv: list[str] | None = None) -> int:
    """Log in, then send each typed line while a thread prints what arrives."""
    args = parse_args(argv)
    password = read_password()
    tls = ssl.create_default_context(cafile=args.ca_file) if args.tls or args.ca_file else None
    try:
        conn = Connection(args.host, args.port, tls=tls)
    except OSError as err:                     # ssl.SSLError too: a certificate refused
        print(f'Error: cannot connect to {args.host}:{args.port}: {err}', file=sys.stderr)
        return 1
    with conn:
        try:
            conn.login(args.name, password)
        except (LoginError, ScramError, ProtocolError, OSError) as err:
            print(f'Error: login refused: {err}', file=sys.stderr)
            return 1
        print(f'200: logged in as {args.name}', flush=True)
        conn.sock.settimeout(None)
        receiver = threading.Thread(target=receive_loop, args=(conn,), daemon=True)
        receiver.start()
        try:
            for line in sys.stdin:
                what = command(line)
                if what == 'quit':
                    break
                if what == 'help':
                    print(HELP)
                elif isinstance(what, dict):
                    conn.send(what)
            conn.send(request(Action.QUIT))
        except (KeyboardInterrupt, OSError):
            pass
        receiver.join(5)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

"""``jim-client``: chat from a terminal (or a script: lines on stdin are messages)."""
from __future__ import annotations

import argparse
import collections
import getpass
import ssl
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from jim.constants import ALL, APP_NAME, E2E, PLAIN, Action
from jim.messages import ProtocolError, msg, request
from jim.scram import ScramError

from jim_client import __version__
from jim_client.connection import Connection, LoginError
from jim_client.e2e import DecryptionError, KeyPair

KEY_TIMEOUT = 5.0     # seconds to wait, when leaving, for keys that messages wait for

HELP = '''Commands:
  text              send text to everyone (#all)
  @name text        send text to one user (kept for them if they are offline)
  #room text        send text to a room you joined
  /join #room       join a room          /leave #room   leave it
  /users            who has an account   /contacts      your contacts
  /add NAME         add a contact        /del NAME      remove one
  /quit             leave (so does end of input)'''

# Commands that take one word: the request they make and the field the word goes in.
WITH_ARGUMENT = {'/join': (Action.JOIN, 'room'), '/leave': (Action.LEAVE, 'room'),
                 '/add': (Action.ADD_CONTACT, 'user_id'), '/del': (Action.DEL_CONTACT, 'user_id')}


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
    parser.add_argument('--no-e2e', action='store_true',
                        help='do not encrypt direct messages end to end')
    parser.add_argument('--key-file', type=Path,
                        help='your private key (default: one per name in the data folder)')
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
    if word in WITH_ARGUMENT and rest:
        action, name = WITH_ARGUMENT[word]
        return request(action, **{name: rest})
    if word.startswith('/'):
        return 'help'
    if word[0] in '@#' and len(word) > 1 and rest:
        return msg(word.lstrip('@'), rest)
    return msg(ALL, text)


def came_or_went(item: dict[str, Any]) -> str:
    """Return ``alice is online`` for a presence the server pushed."""
    user = item.get('user') or {}
    return f'{user.get("account_name")} is {user.get("status")}'


def show(item: dict[str, Any]) -> str | None:
    """Return the line to print for something the server sent (None for a plain 200)."""
    if item.get('action') == Action.PRESENCE:
        return f'({came_or_went(item)})'
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


class Session:
    """The console's conversation: requests matched to their responses, end-to-end keys.

    Direct messages are sealed for their recipient when both sides have published a key
    (``keys`` is None: no encryption). A message waits for the key it needs: ``get_key`` is
    asked once, and what waited goes out, or is shown, when the answer comes. What is sent or
    pushed after a waiting message waits behind it: everything keeps its order. ``notice``
    tells the user of a message that went out unencrypted (default: printed).
    """

    def __init__(self, conn: Connection, keys: KeyPair | None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.conn = conn
        self.keys = keys
        self.notice = notice or (lambda text: print(f'({text})', flush=True))
        self.lock = threading.Lock()
        self.settled = threading.Condition(self.lock)     # notified when no key is awaited
        self.sent: collections.deque[dict[str, Any]] = collections.deque()
        self.public: dict[str, str | None] = {}          # None: the user has no key
        self.asked: set[str] = set()                     # get_key sent, no answer yet
        self.outgoing: collections.deque[dict[str, Any]] = collections.deque()
        self.incoming: collections.deque[dict[str, Any]] = collections.deque()

    def send(self, message: dict[str, Any]) -> None:
        """Send a request, sealing a direct message; in order, behind any that waits."""
        with self.lock:
            self.outgoing.append(message)
            self._send_outgoing()

    def _send_outgoing(self) -> None:
        while self.outgoing:
            message = self.outgoing[0]
            to = self._sealed_for(message)
            if to is not None and to not in self.public:
                self._ask_key(to)
                return
            self.outgoing.popleft()
            self._send(self._seal(to, message) if to is not None else message)

    def _sealed_for(self, message: dict[str, Any]) -> str | None:
        """Return the user whose key ``message`` is sealed with (None: it goes as it is)."""
        to = message.get('to', '')
        if self.keys and message.get('action') == Action.MSG and to[:1] not in ('#', ''):
            return to
        return None

    def _send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        self.conn.send(message)

    def _ask_key(self, name: str) -> None:
        if name not in self.asked:
            self.asked.add(name)
            self._send(request(Action.GET_KEY, user_id=name))

    def _seal(self, to: str, message: dict[str, Any]) -> dict[str, Any]:
        key = self.public.get(to)
        if key is None or self.keys is None:
            self.notice(f'{to} has no key: sent unencrypted')
            return message
        sealed = self.keys.encrypt(key, self.conn.name, to, message['message'])
        return {**message, 'message': sealed, 'encoding': E2E}

    def receive(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one object from the server; return what to show the user, in order.

        Messages come back readable (``encoding`` utf-8); responses come back as they are,
        with ``request`` set to the request they answer.
        """
        with self.lock:
            if 'response' in item:
                asked = self.sent.popleft() if self.sent else {}
                if asked.get('action') == 'get_key':
                    return self._key_arrived(asked['user_id'], item.get('key'))
                return [{**item, 'request': asked}]
            self.incoming.append(item)
            return self._show_incoming()

    def _show_incoming(self) -> list[dict[str, Any]]:
        shown = []
        while self.incoming:
            item = self.incoming[0]
            if item.get('encoding') == E2E:
                sender = item.get('from', '')
                if sender not in self.public:
                    self._ask_key(sender)
                    break
                item = self._open(item)
            self.incoming.popleft()
            shown.append(item)
        return shown

    def _key_arrived(self, name: str, key: str | None) -> list[dict[str, Any]]:
        self.public[name] = key
        self.asked.discard(name)
        shown = self._show_incoming()
        self._send_outgoing()
        self.settled.notify_all()
        return shown

    def leave(self) -> None:
        """Say quit now, ahead of anything still waiting for a key."""
        with self.lock:
            self._send(request(Action.QUIT))

    def wait_settled(self, timeout: float) -> bool:
        """Wait until no message waits for a key (before leaving); False on timeout."""
        with self.lock:
            return self.settled.wait_for(lambda: not (self.incoming or self.outgoing), timeout)

    def _open(self, item: dict[str, Any]) -> dict[str, Any]:
        sender, key = item.get('from', ''), self.public.get(item.get('from', ''))
        if key is None or self.keys is None:
            text = '(encrypted, and no key to open it)'
        else:
            try:
                text = self.keys.decrypt(key, sender, self.conn.name, item['message'])
            except DecryptionError as err:
                text = f'({err})'
        return {**item, 'message': text, 'encoding': PLAIN}


def receive_loop(conn: Connection, session: Session) -> None:
    """Print what the server sends until the connection ends (a thread of its own)."""
    try:
        while True:
            for item in session.receive(conn.receive()):
                line = show(item)
                if line:
                    print(line, flush=True)
    except (OSError, ProtocolError):
        pass


def key_path(name: str) -> Path:
    """Return where ``name``'s private key is kept: the platform's per-user data folder."""
    folder = platformdirs.user_data_path(APP_NAME, appauthor=False, roaming=True)
    return folder / 'keys' / f'{name}.key'


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
        keys = None
        if not args.no_e2e:
            keys = KeyPair.load_or_create(args.key_file or key_path(args.name))
            conn.publish_key(keys.public)
        print(f'200: logged in as {args.name}', flush=True)
        conn.sock.settimeout(None)
        session = Session(conn, keys)
        receiver = threading.Thread(target=receive_loop, args=(conn, session), daemon=True)
        receiver.start()
        try:
            for line in sys.stdin:
                what = command(line)
                if what == 'quit':
                    break
                if what == 'help':
                    print(HELP)
                elif isinstance(what, dict):
                    session.send(what)
            if not session.wait_settled(KEY_TIMEOUT):   # what waits for a key goes out
                print('Error: the server did not answer for the keys of the messages left; '
                      'they were not sent', file=sys.stderr)
            session.leave()
        except (KeyboardInterrupt, OSError):
            pass
        receiver.join(5)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

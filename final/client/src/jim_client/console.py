"""``jim-client``: chat from a terminal (or a script: lines on stdin are messages)."""
from __future__ import annotations

import argparse
import getpass
import os
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jim.constants import ALL, MAX_HISTORY, Action
from jim.errors import ProtocolError
from jim.messages import msg, request
from jim.scram import ScramError

from jim_client import __version__
from jim_client.connection import LoginError
from jim_client.session import Client, Options, Session, data_folder, make_session

SETTLE_TIMEOUT = 10.0     # seconds to wait, when leaving, for what was typed to be confirmed
HISTORY_LINES = 20        # messages /history shows when not told how many

HELP = '''Commands:
  text              send text to everyone (#all)
  @name text        send text to one user (kept for them if they are offline)
  #room text        send text to a room you joined
  /join #room       join a room          /leave #room   leave it
  /users            who has an account   /contacts      your contacts
  /add NAME         add a contact        /del NAME      remove one
  /history NAME [N] the last N (20) messages with a user or in a #room
  /fingerprint      your key's fingerprint; /fingerprint NAME: the one the server gives
  /trust NAME       accept NAME's new key (compare fingerprints with NAME first)
  /quit             leave (so does end of input)'''

# Commands that take one word: the request they make and the field the word goes in.
WITH_ARGUMENT = {'/join': (Action.JOIN, 'room'), '/leave': (Action.LEAVE, 'room'),
                 '/add': (Action.ADD_CONTACT, 'user_id'), '/del': (Action.DEL_CONTACT, 'user_id')}


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add what the console and the window are both told: the server and the user's files."""
    parser.add_argument('host', nargs='?', default='127.0.0.1',
                        help='server address (default: 127.0.0.1)')
    parser.add_argument('port', nargs='?', type=int, default=7777,
                        help='server port (default: 7777)')
    parser.add_argument('--ca-file', help='trust this CA (PEM) instead of the system ones')
    parser.add_argument('--no-e2e', action='store_true',
                        help='do not encrypt direct messages end to end')
    parser.add_argument('--key-file', type=Path,
                        help='your private key (default: one per name in the data folder)')
    parser.add_argument('--data-dir', type=Path, default=data_folder(),
                        help='where your keys and the bookmarks of what you have read are '
                             'kept (default: %(default)s)')


def options_of(args: argparse.Namespace, tls: bool = False) -> Options:
    """Return the Options the command line sets (``tls``: asked for another way too)."""
    context = ssl.create_default_context(cafile=args.ca_file) if tls or args.ca_file \
        else None
    return Options(context, args.key_file, not args.no_e2e, args.data_dir)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog='jim-client', description='Chat from a terminal.')
    add_options(parser)
    parser.add_argument('-n', '--name', required=True, help='account name')
    parser.add_argument('--tls', action='store_true',
                        help="connect with TLS and verify the server's certificate")
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    return parser.parse_args(argv)


def command(  # pylint: disable=too-many-return-statements  # one per kind of line
        line: str) -> dict[str, Any] | str | tuple[str, str] | None:
    """Turn a typed line into a request, 'quit', 'help', a command of the client itself
    (('trust', NAME), ('fingerprint', NAME or '')), or None (nothing to do)."""
    text = line.strip()
    if not text:
        return None
    word, _, rest = text.partition(' ')
    rest = rest.strip()
    simple: dict[str, dict[str, Any] | str] = {
        '/quit': 'quit', '/help': 'help', '/users': request(Action.GET_USERS),
        '/contacts': request(Action.GET_CONTACTS)}
    if word in simple:
        return simple[word]
    if word in WITH_ARGUMENT and rest:
        action, name = WITH_ARGUMENT[word]
        return request(action, **{name: rest})
    if word == '/history' and rest:
        return history_request(rest)
    if word == '/fingerprint' or word == '/trust' and rest:
        return word[1:], rest
    if word.startswith('/'):
        return 'help'
    if word[0] in '@#' and len(word) > 1 and rest:
        return msg(word.lstrip('@'), rest)
    return msg(ALL, text)


def history_request(words: str) -> dict[str, Any] | str:
    """Return the history request of ``NAME [N]`` ('help' if N is not a number)."""
    name, _, count = words.partition(' ')
    if count.strip() and not count.strip().isdigit():
        return 'help'
    limit = min(max(int(count or HISTORY_LINES), 1), MAX_HISTORY)
    return request(Action.HISTORY, limit=limit, **{'with': name})


def came_or_went(item: dict[str, Any]) -> str:
    """Return ``alice is online`` for a presence the server pushed."""
    user = item.get('user') or {}
    return f'{user.get("account_name")} is {user.get("status")}'


def show(  # pylint: disable=too-many-return-statements  # one per kind of object
        item: dict[str, Any]) -> str | None:
    """Return the lines to print for something the server sent or the session tells (None
    for a plain 200)."""
    if item.get('action') == Action.PRESENCE:
        return f'({came_or_went(item)})'
    if 'event' in item:
        return show_event(item)
    if 'response' not in item:
        return message_line(item)
    code = item['response']
    if code == 202 and 'messages' in item:
        other = item.get('request', {}).get('with', '?')
        messages = item['messages']
        if not messages:
            return f'(no messages with {other})'
        lines = [message_line(message, dated=True) for message in messages]
        return '\n'.join([f'--- {len(messages)} last messages with {other} ---', *lines,
                          '---'])
    lists = ', '.join(item.get('users') or item.get('contacts') or [])
    if code == 202:
        return f'{item.get("alert")}: {lists}'
    if code >= 400:
        return f'{code}: {item.get("error", "")}'
    return None


def message_line(item: dict[str, Any], dated: bool = False) -> str:
    """Return ``sender [to]: text`` (no ``[to]`` for ``#all``), dated if asked, with the
    session's warning if any."""
    where = '' if item.get('to') == ALL else f' [{item.get("to")}]'
    when = time.strftime('%Y-%m-%d %H:%M ', time.localtime(item['time'])) \
        if dated and isinstance(item.get('time'), (int, float)) else ''
    warning = f' (WARNING: {item["warning"]})' if item.get('warning') else ''
    return f'{when}{item.get("from")}{where}: {item.get("message")}{warning}'


def show_event(item: dict[str, Any]) -> str:
    """Return what to say of a key that changed, or of a fingerprint asked for."""
    user, new = item['user'], item.get('fingerprint')
    if item['event'] == 'fingerprint':
        if new is None:
            return f'({user} has published no key)'
        trust = 'accepted' if item.get('trusted') else f'NOT accepted: /trust {user}'
        return f'({user}\'s key fingerprint: {new} ({trust}))'
    given = f'the server now gives a key with the fingerprint {new}' if new \
        else f'the server now says {user} has no key (what you write would go readable)'
    accepted = ', '.join(item.get('accepted', [])) or 'none'
    return (f'(WARNING: {user}\'s key has changed! You accepted {accepted}; {given}. '
            f'This happens when {user} uses a new device, or when someone is reading '
            f'along. Nothing sealed goes to {user} until you compare fingerprints with '
            f'{user} another way and type /trust {user})')


def read_password() -> str:
    """Ask for the password at a terminal; otherwise it is the first line of stdin."""
    if sys.stdin.isatty():
        return getpass.getpass('Password: ')
    return sys.stdin.readline().rstrip('\r\n')


def main(argv: list[str] | None = None) -> int:
    """Log in, then send each typed line while a thread prints what arrives.

    When the server is lost the client says so, reconnects and sends again what was not
    acknowledged; lines typed meanwhile wait. At the end of input it waits a moment for the
    server to acknowledge what was typed, and says which messages it could not confirm.
    """
    args = parse_args(argv)
    password = read_password()
    options = options_of(args, args.tls)
    session = make_session(args.name, options)
    client = Client(session, (args.host, args.port), password, tls=options.tls,
                    on_items=print_items, on_state=print_state)
    try:
        client.open()
    except (LoginError, ScramError, ProtocolError) as err:
        print(f'Error: login refused: {err}', file=sys.stderr)
        return 1
    except OSError as err:                     # ssl.SSLError too: a certificate refused
        print(f'Error: cannot connect to {args.host}:{args.port}: {err}', file=sys.stderr)
        return 1
    print(f'200: logged in as {args.name}', flush=True)
    receiver = threading.Thread(target=client.serve, daemon=True)
    receiver.start()
    try:
        for line in typed_lines(args.data_dir / 'console-history'):
            what = command(line)
            if what == 'quit':
                break
            if what == 'help':
                print(HELP)
            elif isinstance(what, tuple):
                run_local(session, *what)
            elif isinstance(what, dict):
                if not session.connected:
                    print('(not connected: it goes out when the server is back)', flush=True)
                session.send(what)
        if not session.wait_settled(SETTLE_TIMEOUT):
            for message in session.unanswered():
                print(f'Error: not confirmed by the server: {message.get("to")}: '
                      f'{message.get("message")}', file=sys.stderr)
    except KeyboardInterrupt:
        pass
    client.stop()
    receiver.join(5)
    return 0


def typed_lines(history: Path) -> Iterator[str]:
    """Yield the lines typed: with line editing and a history kept in ``history`` at a
    terminal (where Python has ``readline``), as they come from a pipe otherwise."""
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    try:
        import readline  # pylint: disable=import-outside-toplevel  # a terminal's only
    except ImportError:
        yield from sys.stdin
        return
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    try:
        while True:
            try:
                yield input() + '\n'
            except EOFError:
                return
    finally:
        try:
            readline.write_history_file(history)
            os.chmod(history, 0o600)
        except OSError:
            pass


def run_local(session: Session, what: str, name: str) -> None:
    """Do a command of the client itself: ``trust`` a key, show a ``fingerprint``."""
    if what == 'trust':
        if session.trust(name):
            print(f'(you accepted {name}\'s new key: what was held back goes out)', flush=True)
        else:
            print(f'({name}\'s key has not changed: nothing to accept)', flush=True)
    elif name:
        session.ask_fingerprint(name)               # the answer is printed when it comes
    elif session.fingerprint is None:
        print('(no end-to-end key: --no-e2e)', flush=True)
    else:
        print(f'(your key fingerprint: {session.fingerprint})', flush=True)


def print_items(items: list[dict[str, Any]]) -> None:
    """Print what arrived (a thread of its own calls this)."""
    for item in items:
        line = show(item)
        if line:
            print(line, flush=True)


def print_state(state: str) -> None:
    """Say that the server was lost, is back, or refused us."""
    words = {'lost': 'the connection to the server is lost: reconnecting...',
             'back': 'reconnected; what was not acknowledged is sent again'}
    print(f'({words.get(state, state)})', flush=True)


if __name__ == '__main__':
    raise SystemExit(main())

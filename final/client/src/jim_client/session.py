"""The client's side of a conversation, shared by the console and the window.

``Session`` matches responses to requests, seals and opens direct messages end to end (with
the keys the user has accepted: ``jim_client.trust``), gives each message an id of its own,
keeps what the server has not acknowledged, drops a message it has shown already, and
acknowledges what it has shown. Where it is given a folder, it keeps a ``Bookmark``: the
position of the last message shown, per account and server, so that a client that dies and
starts again does not show a message twice. ``Client`` keeps a session logged in: it receives
in a thread of its own and, when the connection is lost, says so, reconnects with backoff,
logs in again and sends again what the server had not acknowledged (the ids make that safe:
the server stores a message once).
"""
from __future__ import annotations

import collections
import dataclasses
import os
import random
import re
import secrets
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from jim.constants import APP_NAME, E2E, PLAIN, Action, Status
from jim.errors import ProtocolError
from jim.messages import ack, presence, request

from jim_client.connection import Connection, LoginError
from jim_client.e2e import DecryptionError, KeyPair
from jim_client.trust import TrustStore, Verdict, fingerprint

# Requests that are not sent again on a new connection: the answer is of no use any more.
NOT_RESENT = {Action.ACK, Action.PRESENCE, Action.QUIT}
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)     # seconds before each reconnection attempt
ACK_EVERY = 100                                # acknowledge at least every this many messages


def data_folder() -> Path:
    """Return the platform's per-user data folder of the messenger."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False, roaming=True)


def key_path(name: str, folder: Path | None = None) -> Path:
    """Return where ``name``'s private key is kept: ``keys/`` in the data folder."""
    return (folder or data_folder()) / 'keys' / f'{name}.key'


# Files are named after what the server says: its id (hex) and its host:port made safe.
SERVER_ID = re.compile(r'[0-9a-f]{1,64}')
NOT_IN_A_FILE_NAME = re.compile(r'[^A-Za-z0-9.-]')


@dataclasses.dataclass(frozen=True)
class Options:
    """How a client reaches the server, and where the user's files are kept."""

    tls: ssl.SSLContext | None = None
    key_file: Path | None = None        # default: key_path(name, data_dir)
    e2e: bool = True                    # seal direct messages end to end
    data_dir: Path = dataclasses.field(default_factory=data_folder)


def make_session(name: str, options: Options,
                 notice: Callable[[str], None] | None = None) -> Session:
    """Return ``name``'s Session: their key pair (made on first use) and bookmarks."""
    keys = KeyPair.load_or_create(options.key_file or key_path(name, options.data_dir)) \
        if options.e2e else None
    return Session(name, keys, notice, bookmarks=options.data_dir / 'bookmarks',
                   trust=options.data_dir / 'trust')


class Bookmark:
    """The position of the last message shown, kept in a file (readable by its owner only).

    Each save is one small write at the start of the file, so a client killed at any moment
    leaves either the old position or the new one.
    """

    WIDTH = 20                       # digits: a 64-bit position fits

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self.descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        data = os.pread(self.descriptor, self.WIDTH, 0)
        self.position = int(data) if data.strip().isdigit() else 0

    def save(self, position: int) -> None:
        """Remember ``position``."""
        if position != self.position:
            os.pwrite(self.descriptor, b'%0*d' % (self.WIDTH, position), 0)
            self.position = position

    def close(self) -> None:
        """Release the file."""
        os.close(self.descriptor)


class Positions:
    """Which pushed messages were handed out to be shown, were shown, and were acknowledged.

    With a folder, what was shown is kept there in a ``Bookmark`` per account and server.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.bookmark: Bookmark | None = None
        self.received = 0        # the last position handed out to be shown
        self.shown = 0           # the last one the caller said it has shown
        self.acked = 0           # the last one acknowledged to the server

    def use(self, name: str, server_id: str) -> None:
        """Go on from the bookmark of ``name`` on the server ``server_id`` (if kept)."""
        if self.folder is None or not SERVER_ID.fullmatch(server_id):
            return
        path = self.folder / f'{name}@{server_id}'
        if self.bookmark is not None and self.bookmark.path == path:
            return
        if self.bookmark is not None:
            self.bookmark.close()
        self.bookmark = Bookmark(path)
        self.received = self.shown = self.acked = self.bookmark.position

    def handed_out(self, position: int) -> None:
        """``position`` goes to the caller to be shown."""
        self.received = max(self.received, position)

    def shown_all(self) -> None:
        """What was handed out has been shown: move the bookmark."""
        self.shown = self.received
        if self.bookmark is not None:
            self.bookmark.save(self.shown)

    def ack_due(self, force: bool) -> int | None:
        """Return the position to acknowledge now, if any (once ``ACK_EVERY`` wait for it,
        or whenever ``force``)."""
        if self.shown > self.acked and (force or self.shown - self.acked >= ACK_EVERY):
            self.acked = self.shown
            return self.shown
        return None


class KeyBook:
    """Other users' public keys as a session has learnt them, and what waits for them.

    ``current`` holds this connection's answers to ``get_key`` (None: no key); ``seen`` every
    key seen per user, with the range of positions of the messages it was asked for, so that
    an old message is opened without asking again; ``store`` the keys the user accepted.
    """

    def __init__(self, store: TrustStore) -> None:
        self.store = store
        self.current: dict[str, str | None] = {}
        self.seen: dict[str, dict[str, tuple[int, int]]] = {}
        self.asked: set[tuple[str, int | None]] = set()     # get_key sent, no answer yet
        self.answered: set[tuple[str, int]] = set()         # a key asked for at a position
        self.pending: dict[str, str | None] = {}            # the last key not accepted, per user
        self.reported: set[tuple[str, str | None]] = set()  # key changes told the user
        self.held: dict[str, list[dict[str, Any]]] = {}     # sealed messages held back
        self.show: set[str] = set()                         # fingerprints asked for

    def note(self, user: str, key: str, position: int) -> None:
        """``key`` was ``user``'s at ``position``."""
        low, high = self.seen.setdefault(user, {}).get(key, (position, position))
        self.seen[user][key] = (min(low, position), max(high, position))

    def candidates(self, user: str, position: int) -> list[str]:
        """Return the keys of ``user`` known to this session, the likeliest for a message at
        ``position`` first."""
        ranges = self.seen.get(user, {})
        keys = sorted(ranges, key=lambda key: max(ranges[key][0] - position,
                                                  position - ranges[key][1], 0))
        current = self.current.get(user)
        extra = [key for key in (current, *self.store.known(user)) if key]
        return keys + [key for key in dict.fromkeys(extra) if key not in keys]

    def blocked(self, user: str) -> bool:
        """Tell whether the server's key for ``user`` is one the user has not accepted."""
        return self.store.verdict(user, self.current.get(user)) is Verdict.CHANGED

    def changed(self, user: str, key: str | None) -> list[dict[str, Any]]:
        """Note a key of ``user`` that is not accepted; return the event to tell the user
        (once per key)."""
        self.pending[user] = key
        if (user, key) in self.reported:
            return []
        self.reported.add((user, key))
        return [{'event': 'key_changed', 'user': user,
                 'accepted': [fingerprint(known) for known in self.store.known(user)],
                 'fingerprint': fingerprint(key) if key else None}]


class Session:  # pylint: disable=too-many-instance-attributes  # a session's queues and books
    """The conversation of one user, over whichever connection is current (``attach``).

    Direct messages are sealed for their recipient when both sides have published a key
    (``keys`` is None: no encryption). A message waits for the key it needs: ``get_key`` is
    asked once, and what waited goes out, or is shown, when the answer comes. What is sent or
    pushed after a waiting message waits behind it: everything keeps its order. ``notice``
    tells the user of a message that went out unencrypted (default: printed). ``bookmarks``
    is the folder of the bookmarks, ``trust`` that of the accepted keys, a file per account
    and server (None: none is kept).

    Keys are trusted on first use: a key the server gives for a user that differs from the
    ones accepted is reported (an ``event`` item, ``key_changed``), and what is to be sealed
    for that user is held back until ``trust`` accepts it. Sealed messages, pushed or in a
    page of history, are opened with the key their sender had then (``get_key`` with the
    message's position); one opened with a key not accepted carries a ``warning``.
    """

    def __init__(self, name: str, keys: KeyPair | None,
                 notice: Callable[[str], None] | None = None,
                 bookmarks: Path | None = None, trust: Path | None = None) -> None:
        self.name = name
        self.keys = keys
        self.notice = notice or (lambda text: print(f'({text})', flush=True))
        self.conn: Connection | None = None
        self.lock = threading.Condition()                # notified as answers come
        self.sent: collections.deque[dict[str, Any]] = collections.deque()
        self.typed: dict[str, dict[str, Any]] = {}     # id: a sealed msg as it was typed
        self.book = KeyBook(TrustStore())
        self.trust_folder = trust
        self.outgoing: collections.deque[dict[str, Any]] = collections.deque()
        self.incoming: collections.deque[dict[str, Any]] = collections.deque()
        self.positions = Positions(bookmarks)
        self.events: list[dict[str, Any]] = []           # told with what receive returns next

    # The connection.
    def attach(self, conn: Connection) -> None:
        """Use ``conn`` (logged in) from now on; send again what was not answered."""
        with self.lock:
            again = [message for message in self.sent if message['action'] not in NOT_RESENT]
            self.sent.clear()
            self.conn = conn
            self.positions.use(self.name, conn.server_id)
            self._use_trust(conn.server)
            self.book.current.clear()                    # a new connection: asked again
            self.book.asked = {(m['user_id'], m.get('position')) for m in again
                               if m['action'] == Action.GET_KEY}
            self.outgoing.extendleft(reversed(again))
            self._send_outgoing()

    def detach(self) -> None:
        """The connection is lost: keep what is to be sent until the next ``attach``."""
        with self.lock:
            self.conn = None

    def _use_trust(self, server: str) -> None:
        # Kept by where the user connected (host:port), not by the id the server gives:
        # a server that named itself anew would start from an empty store otherwise.
        path = None
        if self.trust_folder is not None:
            path = self.trust_folder / f'{self.name}@{NOT_IN_A_FILE_NAME.sub("_", server)}.json'
        if path != self.book.store.path:
            self.book = KeyBook(TrustStore(path))

    @property
    def connected(self) -> bool:
        """Tell whether a connection is attached."""
        return self.conn is not None

    # Sending.
    def send(self, message: dict[str, Any]) -> None:
        """Send a request (a msg gets an id), sealing a direct message; in order, behind any
        that waits for a key or for the connection."""
        if message.get('action') == Action.MSG and 'id' not in message:
            message = {**message, 'id': secrets.token_hex(8)}
        with self.lock:
            self.outgoing.append(message)
            self._send_outgoing()

    def _send_outgoing(self) -> None:
        while self.outgoing and self.conn is not None:
            message = self.outgoing[0]
            to = self._sealed_for(message)
            if to is not None and to not in self.book.current:
                self._ask_key(to)
                return
            self.outgoing.popleft()
            if to is not None and self.book.blocked(to):
                self.book.held.setdefault(to, []).append(message)
                continue
            if to is not None:
                self.typed[message['id']] = message    # told as typed if never confirmed
                message = self._seal(to, message)
            self._send(message)

    def _sealed_for(self, message: dict[str, Any]) -> str | None:
        """Return the user whose key ``message`` is sealed with (None: it goes as it is)."""
        to = message.get('to', '')
        if self.keys and message.get('action') == Action.MSG and to[:1] not in ('#', '') \
                and message.get('encoding') != E2E:
            return str(to)
        return None

    def _send(self, message: dict[str, Any]) -> None:
        """Send on the current connection; if it fails, the message waits for the next."""
        self.sent.append(message)
        if self.conn is None:
            return
        try:
            self.conn.send(message)
        except OSError:
            self.conn = None          # the receiving thread notices and reconnects

    def _ask_key(self, name: str, position: int | None = None) -> None:
        if (name, position) not in self.book.asked:
            self.book.asked.add((name, position))
            fields = {} if position is None else {'position': position}
            self._send(request(Action.GET_KEY, user_id=name, **fields))

    def _seal(self, to: str, message: dict[str, Any]) -> dict[str, Any]:
        key = self.book.current.get(to)
        if key is None or self.keys is None:
            self.notice(f'{to} has no key: sent unencrypted')
            return message
        sealed = self.keys.encrypt(key, self.name, to, message['message'])
        return {**message, 'message': sealed, 'encoding': E2E}

    # Receiving.
    def receive(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one object from the server; return what to show the user, in order.

        Messages come back readable (``encoding`` utf-8), each once even if the server sends
        it again; responses come back as they are, with ``request`` set to the request they
        answer. Call ``acknowledge`` once what was returned has been shown.
        """
        with self.lock:
            shown = self._receive(item)
            events, self.events = self.events, []
            return events + shown

    def _receive(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        if 'response' in item:
            asked = self.sent.popleft() if self.sent else {}
            self.typed.pop(asked.get('id', ''), None)
            self.lock.notify_all()
            if asked.get('action') == Action.GET_KEY:
                key = item.get('key') if item['response'] == Status.ACCEPTED else None
                return self._key_arrived(asked['user_id'], key, asked.get('position'))
            if asked.get('action') == Action.HISTORY and item.get('messages'):
                self.incoming.append({**item, 'request': asked})
                return self._show_incoming()
            return [{**item, 'request': asked}]
        if item.get('action') == Action.PROBE:
            self._send(presence(self.name))        # the server asks: still there?
            return []
        position = item.get('position')
        if isinstance(position, int) and \
                position <= max(self.positions.received, self._queued()):
            return []                              # shown already: sent again
        self.incoming.append(item)
        return self._show_incoming()

    def _queued(self) -> int:
        """Return the position of the last message waiting (for a key) to be shown."""
        positions = [item.get('position') for item in self.incoming]
        return max((p for p in positions if isinstance(p, int)), default=0)

    def _show_incoming(self) -> list[dict[str, Any]]:
        shown = []
        while self.incoming:
            item = self.incoming[0]
            if 'response' in item:                     # a page of history
                pages = [self._open(m) if m.get('encoding') == E2E else m
                         for m in item['messages']]
                opened = [m for m in pages if m is not None]
                if len(opened) < len(pages):
                    break
                item = {**item, 'messages': opened}
            elif item.get('encoding') == E2E:
                sealed = self._open(item)
                if sealed is None:
                    break
                item = sealed
            self.incoming.popleft()
            if isinstance(item.get('position'), int):
                self.positions.handed_out(item['position'])
            shown.append(item)
        return shown

    def _key_arrived(self, name: str, key: str | None,
                     position: int | None) -> list[dict[str, Any]]:
        book = self.book
        book.asked.discard((name, position))
        events = []
        if position is not None:
            book.answered.add((name, position))
            if key is not None:
                book.note(name, key, position)
        else:
            book.current[name] = key
            if book.store.check(name, key) is Verdict.CHANGED:
                events += book.changed(name, key)
            else:                                  # an accepted key again: nothing to hold
                self.outgoing.extendleft(reversed(book.held.pop(name, [])))
            if name in book.show:
                book.show.discard(name)
                events.append(self._fingerprint_event(name, key))
        shown = self._show_incoming()
        self._send_outgoing()
        return events + shown

    def _fingerprint_event(self, name: str, key: str | None) -> dict[str, Any]:
        return {'event': 'fingerprint', 'user': name, 'key': key,
                'fingerprint': fingerprint(key) if key else None,
                'trusted': key is not None and self.book.store.trusted(name, key)}

    def _open(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Return a sealed message opened (or saying why it does not open); None while a key
        is asked for."""
        sender, to = str(item.get('from', '')), str(item.get('to', ''))
        peer = to if sender == self.name else sender
        position = item.get('position')
        at = position if isinstance(position, int) else 0
        text, warning, keys = '(encrypted, and no key to open it)', '', self.keys
        if keys is None:
            return {**item, 'message': text, 'encoding': PLAIN}
        for key in self.book.candidates(peer, at):
            try:
                text = keys.decrypt(key, sender, to, item['message'])
            except DecryptionError as err:
                text = f'({err})'
                continue
            warning = self._warning(peer, key)
            break
        else:
            if any(user == peer for user, _ in self.book.asked):
                return None                        # a key of theirs comes: it may be this one
            if at and (peer, at) not in self.book.answered:
                self._ask_key(peer, at)
                return None
        opened = {**item, 'message': text, 'encoding': PLAIN}
        if warning:
            opened['warning'] = warning
        return opened

    def _warning(self, peer: str, key: str) -> str:
        """Return why a message opened with ``key`` of ``peer`` is not to be believed ('':
        it is; a first key seen is trusted from now on)."""
        if self.book.store.check(peer, key) is not Verdict.CHANGED:
            return ''
        self.events += self.book.changed(peer, key)
        return f'sealed with a key of {peer} that you have not accepted ({fingerprint(key)})'

    # Keys.
    def trust(self, name: str) -> bool:
        """Accept the key of ``name`` that was reported as changed; send what was held back
        for them. False if no key of theirs waits to be accepted."""
        with self.lock:
            book = self.book
            if name not in book.pending:
                return False
            book.store.accept(name, book.pending.pop(name))
            book.reported = {(user, key) for user, key in book.reported if user != name}
            if not book.blocked(name):
                self.outgoing.extendleft(reversed(book.held.pop(name, [])))
                self._send_outgoing()
            return True

    def ask_fingerprint(self, name: str) -> None:
        """Ask the server for ``name``'s key: a ``fingerprint`` event follows (with
        ``receive``), and a ``key_changed`` one first if it is not the accepted one."""
        with self.lock:
            self.book.show.add(name)
            if self.conn is not None:
                self._ask_key(name)

    @property
    def fingerprint(self) -> str | None:
        """The fingerprint of the user's own public key (None without end-to-end keys)."""
        return fingerprint(self.keys.public) if self.keys is not None else None

    def acknowledge(self, force: bool = False) -> None:
        """Say that what ``receive`` returned has been shown: move the bookmark, and tell
        the server.

        The ack goes out when ``force`` is true or ``ACK_EVERY`` messages wait for one, so
        that a burst costs one ack.
        """
        with self.lock:
            self.positions.shown_all()
            position = self.positions.ack_due(force) if self.conn is not None else None
            if position is not None:
                self._send(ack(position))

    # Leaving.
    def unanswered(self) -> list[dict[str, Any]]:
        """Return the messages typed that the server has not acknowledged yet (those held
        back for a key not accepted too)."""
        with self.lock:
            held = [m for messages in self.book.held.values() for m in messages]
            return [self.typed.get(m.get('id', ''), m) for m in (*self.sent, *self.outgoing,
                                                                 *held)
                    if m.get('action') == Action.MSG]

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every message typed is acknowledged and every incoming one shown;
        False on timeout."""
        with self.lock:
            return self.lock.wait_for(
                lambda: not (self.incoming or self.outgoing or self.book.held or any(
                    m.get('action') == Action.MSG for m in self.sent)), timeout)

    def leave(self) -> None:
        """Say quit now, ahead of anything still waiting for a key."""
        with self.lock:
            if self.conn is not None:
                self._send(request(Action.QUIT))


class Client:
    """Keeps a ``Session`` logged in at ``address`` (host, port) with ``password``.

    ``open`` connects and logs in once (its errors are the caller's to report); ``serve``
    then receives until ``stop``, handing what is to be shown to ``on_items`` and, when the
    connection is lost, telling ``on_state`` ('lost', 'back' or 'refused: ...'), reconnecting
    with backoff and sending again what was not acknowledged.
    """

    def __init__(self, session: Session, address: tuple[str, int], password: str, *,
                 tls: ssl.SSLContext | None = None,
                 on_items: Callable[[list[dict[str, Any]]], None] = lambda items: None,
                 on_state: Callable[[str], None] = lambda state: None) -> None:
        self.session = session
        self.address = address
        self.password = password
        self.tls = tls
        self.on_items = on_items
        self.on_state = on_state
        self.stopping = threading.Event()
        self.conn: Connection | None = None

    def open(self) -> Connection:
        """Connect, log in, publish the key; attach the session; return the connection."""
        conn = Connection(*self.address, tls=self.tls)
        try:
            conn.login(self.session.name, self.password, acks=True)
            if self.session.keys is not None:
                conn.publish_key(self.session.keys.public)
        except BaseException:
            conn.close()
            raise
        conn.sock.settimeout(None)
        self.conn = conn
        self.session.attach(conn)
        return conn

    def serve(self) -> None:
        """Receive until ``stop``; reconnect whenever the connection is lost."""
        while not self.stopping.is_set():
            conn = self.conn
            try:
                assert conn is not None
                while True:
                    self.on_items(self.session.receive(conn.receive()))
                    self.session.acknowledge(force=not conn.pending)
            except (OSError, ProtocolError, AssertionError):
                self.session.detach()
                if conn is not None:
                    conn.close()
            if self.stopping.is_set():
                return
            self.on_state('lost')
            if not self.reconnect():
                return
            self.on_state('back')

    def reconnect(self) -> bool:
        """Try to log in again, with growing pauses, until it works or ``stop``."""
        attempt = 0
        while not self.stopping.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)]
                                     * random.uniform(0.8, 1.2)):
            attempt += 1
            try:
                self.open()
                return True
            except LoginError as err:
                if err.status == Status.WRONG_CREDENTIALS:
                    self.on_state(f'refused: {err}')
                    return False
            except (OSError, ProtocolError):
                pass
        return False

    def stop(self) -> None:
        """Say quit (if connected) and end ``serve``."""
        self.stopping.set()
        try:
            self.session.leave()
        except OSError:
            pass
        if self.conn is not None and not self.session.connected:
            self.conn.close()

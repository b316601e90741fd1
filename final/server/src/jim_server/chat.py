"""The chat itself, without I/O: who is logged in, which rooms exist, where each message goes.

The engine hands it what arrived on each connection; it answers by queueing messages in
``outbox`` and the messages to keep in ``to_store``. ``commit`` stores the batch, then hands
out the outbox: nothing is acknowledged with 200 before it is on disk.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import time
from collections.abc import Callable, Hashable
from typing import Any

from jim.constants import ALL, PLAIN, Action, Status
from jim.framing import FramingError
from jim.messages import (Authenticate, ContactRequest, KeyRequest, Msg, Presence,
                          ProtocolError, RoomRequest, SimpleRequest, error_response,
                          parse_request, presence, response)
from jim.scram import ScramError, ScramServer
from sqlalchemy.exc import SQLAlchemyError

from jim_server.settings import Limits
from jim_server.storage import Storage, StoredMessage

Connection = Hashable
logger = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Session:
    """What the chat knows of one connection."""

    address: str
    name: str | None = None
    scram: ScramServer | None = None
    rooms: set[str] = dataclasses.field(default_factory=set)


class LoginThrottle:
    """Counts failed logins per key (account, address) within a sliding window."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.failures: dict[str, collections.deque[float]] = {}

    def blocked(self, *keys: str) -> bool:
        """Tell whether any of ``keys`` has failed too often lately."""
        now = self.clock()
        for key in keys:
            times = self.failures.get(key)
            while times and times[0] < now - self.window:
                times.popleft()
            if times and len(times) >= self.limit:
                return True
        return False

    def fail(self, *keys: str) -> None:
        """Count one failure against each of ``keys``."""
        for key in keys:
            self.failures.setdefault(key, collections.deque()).append(self.clock())


def relayed(sender: str, to: str, text: str, when: float | None = None,
            encoding: str = PLAIN) -> dict[str, Any]:
    """Return a msg as the server pushes it to a recipient."""
    return {'action': 'msg', 'time': time.time() if when is None else when, 'from': sender,
            'to': to, 'encoding': encoding, 'message': text}


class Chat:
    """All logged-in users, their rooms, and the rules of the conversation."""

    def __init__(self, storage: Storage, limits: Limits,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.sessions: dict[Connection, Session] = {}
        self.online: dict[str, Connection] = {}
        self.rooms: dict[str, set[str]] = {}
        self.outbox: list[tuple[Connection, dict[str, Any]]] = []
        self.stored_only: set[int] = set()   # ids of outbox messages that need the commit
        self.to_store: list[StoredMessage] = []
        self.to_close: list[Connection] = []
        self.stopping = False                # set when the server closes everything
        self.throttle = LoginThrottle(limits.failed_logins, limits.failed_login_window, clock)

    # The engine's calls.
    def connect(self, conn: Connection, address: str) -> None:
        """A connection was accepted from ``address``."""
        self.sessions[conn] = Session(address)

    def disconnect(self, conn: Connection) -> None:
        """A connection is gone."""
        session = self.sessions.pop(conn, None)
        if session is None or session.name is None:
            return
        self.online.pop(session.name, None)
        self.storage.mark_seen(session.name, time.time())
        for room in session.rooms:
            self.rooms.get(room, set()).discard(session.name)
        if not self.stopping:
            self.announce(session.name, 'offline')

    @property
    def busy(self) -> bool:
        """Tell whether anything waits for ``commit`` (or connections wait to be closed)."""
        return bool(self.outbox or self.to_store or self.to_close)

    def receive(self, conn: Connection, item: dict[str, Any] | FramingError) -> None:
        """Handle one decoded object (or framing error) from ``conn``."""
        if isinstance(item, FramingError):
            self.reply(conn, response(Status.BAD_REQUEST, str(item)))
            if item.fatal:
                self.to_close.append(conn)
            return
        session = self.sessions[conn]
        try:
            request = parse_request(item)
            if isinstance(request, Authenticate):
                self.authenticate(conn, session, request)
            elif isinstance(request, SimpleRequest) and request.action is Action.QUIT:
                self.reply(conn, response(Status.OK, 'Bye'))
                self.to_close.append(conn)
            elif session.name is None:
                self.reply(conn, response(Status.UNAUTHORIZED, 'log in first'))
            else:
                self.serve(conn, session.name, request)
        except ProtocolError as error:
            self.reply(conn, error_response(error))

    def commit(self) -> list[tuple[Connection, dict[str, Any]]]:
        """Store this turn's messages, then return what to send, in order.

        If the database fails, the messages of this turn are neither acknowledged nor
        relayed: their senders get 500 and may send them again.
        """
        if self.to_store:
            batch = []
            for item in self.to_store:
                # A recipient may have logged in since the message was accepted.
                arrived = [name for name in item.offline if name in self.online]
                for name in arrived:
                    self.hold((self.online[name], relayed(
                        item.sender, item.to, item.text, item.time, item.encoding)))
                batch.append(dataclasses.replace(
                    item, offline=tuple(n for n in item.offline if n not in arrived)))
            self.to_store = []
            try:
                self.storage.store_messages(batch)
            except SQLAlchemyError:
                logger.exception('cannot store %d messages', len(batch))
                failed = response(Status.SERVER_ERROR, 'not stored: send it again')
                # Acknowledgements of the lost messages become 500 and their relays are
                # dropped; every other reply of the turn goes out as it was.
                self.outbox = [(conn, failed if id(message) in self.stored_only else message)
                               for conn, message in self.outbox
                               if id(message) not in self.stored_only or 'response' in message]
        self.stored_only.clear()
        outbox, self.outbox = self.outbox, []
        return outbox

    def hold(self, entry: tuple[Connection, dict[str, Any]]) -> None:
        """Queue what may go out only once this turn's messages are stored."""
        self.stored_only.add(id(entry[1]))
        self.outbox.append(entry)

    def reply(self, conn: Connection, message: dict[str, Any]) -> None:
        """Queue ``message`` for ``conn``."""
        self.outbox.append((conn, message))

    # Logging in: SCRAM-SHA-256, two round trips.
    def authenticate(self, conn: Connection, session: Session, request: Authenticate) -> None:
        """Run one step of the SCRAM login."""
        if session.name is not None:
            raise ProtocolError(f'already logged in as {session.name}')
        name = request.account_name
        if self.throttle.blocked(f'user:{name}', f'address:{session.address}'):
            session.scram = None
            raise ProtocolError('too many failed logins: wait a minute',
                                Status.TOO_MANY_REQUESTS)
        try:
            if request.scram.startswith('n,'):
                session.scram = ScramServer()
                if session.scram.read_first(request.scram) != name:
                    raise ProtocolError('the SCRAM user is not the account_name')
                challenge = session.scram.challenge(self.storage.verifier(name))
                self.reply(conn, response(Status.CHALLENGE, 'prove it', scram=challenge))
                return
            scram, session.scram = session.scram, None
            if scram is None or scram.username != name:
                raise ProtocolError('start with a client-first-message')
            signature = scram.finish(request.scram)
        except ScramError:
            self.throttle.fail(f'user:{name}', f'address:{session.address}')
            raise ProtocolError('wrong name or password',
                                Status.WRONG_CREDENTIALS) from None
        if name in self.online:
            raise ProtocolError(f'{name} is already logged in', Status.CONFLICT)
        session.name = name
        self.online[name] = conn
        self.reply(conn, response(Status.OK, f'Welcome, {name}', scram=signature))
        # What was missed: messages to #all since the last logout, and those kept for us.
        missed = self.storage.missed(name) + self.storage.take_pending(name)
        for item in sorted(missed, key=lambda item: item.time):
            self.reply(conn, relayed(item.sender, item.to, item.text, item.time, item.encoding))
        self.announce(name, 'online')

    def announce(self, name: str, status: str) -> None:
        """Tell every other user online that ``name`` came (``online``) or went (``offline``)."""
        notice = presence(name, status)      # one object: the engine encodes it once
        for other, conn in self.online.items():
            if other != name:
                self.reply(conn, notice)

    # Everything else, for a logged-in user.
    def serve(self, conn: Connection, name: str, request: Any) -> None:
        """Answer a logged-in user's request."""
        if isinstance(request, Msg):
            self.send_msg(conn, name, request)
        elif isinstance(request, Presence):
            if request.account_name != name:
                raise ProtocolError(f'you are logged in as {name}', Status.FORBIDDEN)
            self.reply(conn, response(Status.OK, 'OK'))
        elif isinstance(request, RoomRequest):
            self.change_room(conn, name, request)
        elif isinstance(request, ContactRequest):
            self.change_contact(conn, name, request)
        elif isinstance(request, KeyRequest):
            self.exchange_key(conn, name, request)
        elif request.action is Action.GET_CONTACTS:
            contacts = self.storage.contacts(name)
            self.reply(conn, response(Status.ACCEPTED, counted(len(contacts), 'contact'),
                                      contacts=contacts))
        elif request.action is Action.GET_USERS:
            users = self.storage.user_names()
            self.reply(conn, response(Status.ACCEPTED, counted(len(users), 'user'), users=users,
                                      online=sorted(self.online)))

    def send_msg(self, conn: Connection, name: str, request: Msg) -> None:
        """Relay a message to its room or its user, keep it, acknowledge it."""
        to, offline = request.to, ()
        if to == ALL:
            recipients = [user for user in self.online if user != name]
        elif to.startswith('#'):
            members = self.rooms.get(to, set())
            if name not in members:
                raise ProtocolError(f'join {to} first', Status.FORBIDDEN)
            recipients = [user for user in members if user != name]
        elif to in self.online:
            recipients = [to]
        elif self.storage.verifier(to) is not None:
            recipients, offline = [], (to,)
        else:
            raise ProtocolError(f'there is no user {to}', Status.NOT_FOUND)
        now = time.time()
        self.to_store.append(StoredMessage(now, name, to, request.text, offline,
                                           request.encoding))
        self.hold((conn, response(Status.OK, 'kept for later' if offline else 'OK')))
        message = relayed(name, to, request.text, now, request.encoding)
        for user in recipients:
            self.hold((self.online[user], message))

    def change_room(self, conn: Connection, name: str, request: RoomRequest) -> None:
        """Join or leave a room (``#all`` is everyone's and cannot be left or joined)."""
        if request.room == ALL:
            raise ProtocolError(f'everyone is in {ALL}', Status.FORBIDDEN)
        session = self.sessions[conn]
        members = self.rooms.setdefault(request.room, set())
        if request.action is Action.JOIN:
            members.add(name)
            session.rooms.add(request.room)
        else:
            members.discard(name)
            session.rooms.discard(request.room)
        self.reply(conn, response(Status.OK, f'{request.action} {request.room}',
                                  members=sorted(members)))

    def exchange_key(self, conn: Connection, name: str, request: KeyRequest) -> None:
        """Publish one's public key, or hand out another user's."""
        if request.action is Action.SET_KEY:
            self.storage.set_key(name, request.key)
            self.reply(conn, response(Status.OK, 'key published'))
            return
        key = self.storage.get_key(request.user_id)
        if key is None:
            raise ProtocolError(f'{request.user_id} has published no key', Status.NOT_FOUND)
        self.reply(conn, response(Status.ACCEPTED, 'public key', user_id=request.user_id,
                                  key=key))

    def change_contact(self, conn: Connection, name: str, request: ContactRequest) -> None:
        """Add or remove a contact."""
        other = request.user_id
        if request.action is Action.ADD_CONTACT:
            if other == name:
                raise ProtocolError('you cannot be your own contact')
            if not self.storage.add_contact(name, other):
                raise ProtocolError(f'there is no user {other}', Status.NOT_FOUND)
            self.reply(conn, response(Status.OK, f'{other} added'))
        elif self.storage.remove_contact(name, other):
            self.reply(conn, response(Status.OK, f'{other} removed'))
        else:
            raise ProtocolError(f'{other} is not in your contacts', Status.NOT_FOUND)


def counted(number: int, noun: str) -> str:
    """Return ``1 contact``, ``2 contacts``: the alert of a list."""
    return f'{number} {noun}' if number == 1 else f'{number} {noun}s'

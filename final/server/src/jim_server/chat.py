"""The chat itself, without I/O: who is logged in, which rooms exist, where each message goes.

The engine owns the sockets; the chat owns everything else. Their contract:

- ``connect`` a connection when it is accepted, ``disconnect`` it when it is gone;
- ``receive`` each decoded object (or framing error) of a connection; it never raises;
- ``written`` after bytes the chat gave for a connection have reached its socket;
- ``commit`` once per turn of the loop: it stores the turn's messages in one transaction and
  returns a ``Turn``, what to send (each object encoded once) and what to close. Nothing of a
  turn is sent before its messages are stored, so no 200 goes out for a message not kept;
- ``refill`` once per turn, before ``commit``: each session whose output has drained and
  whose mail is behind gets one page of it, so a large backlog takes many turns and never
  holds up the others (``hungry`` says whether any session waits for a page);
- ``tick`` once a second (cursors are stored then, and timed work is done).

Delivery: every stored message has a position. A logged-in session is either **live** (new
messages are pushed to it as they are stored) or **paging** (it is behind: its mail is read
from the database a page at a time, as its output drains, so a large backlog never fills
memory nor stalls anyone). The user's cursor moves once a message has been written to the
socket, or, for a client that acknowledges (``ack``), once it says it has handled it. What
was queued but not written when a connection ends is simply read again at the next login.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from jim.constants import ALL, Action, Status
from jim.errors import FramingError, RemoteProtocolError
from jim.framing import encode
from jim.messages import (Ack, Authenticate, ContactRequest, History, KeyRequest, Msg,
                          Presence, Request, RoomRequest, SimpleRequest, error_response,
                          parse_request, presence, request, response)
from jim.scram import ScramError, ScramServer, fake_verifier

from jim_server.cluster import Cluster
from jim_server.settings import Limits, Settings
from jim_server.storage import NewMessage, Storage, StorageError, Stored, StoredMessage

logger = logging.getLogger(__name__)
C = TypeVar('C', bound=Hashable)      # the engine's connection type
PAGE = 256                            # messages read from the database at a time
SECRET_NAME = 'unknown-names'         # the secret that salts the challenge of unknown names


def server_error(text: str) -> bytes:
    """Return an encoded 500 response."""
    return encode(response(Status.SERVER_ERROR, text))


@dataclasses.dataclass(eq=False, slots=True)
class Session:
    """What the chat knows of one connection.

    Output accounting: ``given`` bytes are promised to the connection (queued in this turn
    or handed to the engine), ``streamed`` were handed to the engine in stream order, ``sent``
    of them were written; ``marks`` holds (end of a message in ``streamed``, its position)
    until it is written.
    """

    address: str
    name: str | None = None
    scram: ScramServer | None = None
    acks: bool = False          # the client acknowledges: its cursor moves on ack only
    delivered: int = 0          # the user's cursor
    queued: int = 0             # the position of the last message given for this session
    live: bool = False
    rooms: dict[str, int] = dataclasses.field(default_factory=dict)   # room: since
    given: int = 0
    streamed: int = 0
    sent: int = 0
    marks: collections.deque[tuple[int, int]] | None = None

    @property
    def unsent(self) -> int:
        """Bytes given to the engine and not written yet."""
        return self.given - self.sent


@dataclasses.dataclass(slots=True)
class _Accepted:
    """A msg accepted in this turn: acknowledged and relayed once it is stored."""

    message: NewMessage
    alert: str


@dataclasses.dataclass(frozen=True, slots=True)
class Turn(Generic[C]):
    """What the engine does after a turn: send (encoded bytes), close once sent, drop now."""

    sends: list[tuple[C, bytes]]
    close: list[C]
    drop: list[C]


class LoginThrottle:
    """Counts failed logins per (account, address) and per address, in a sliding window.

    An attacker elsewhere cannot lock a user out: their failures count against their own
    address. The table holds at most ``max_entries`` keys; the oldest go first.
    """

    def __init__(self, limit: int, window: float, max_entries: int,
                 clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.max_entries = max_entries
        self.failures: dict[str, collections.deque[float]] = {}

    def _count(self, key: str, now: float) -> int:
        times = self.failures.get(key)
        if times is None:
            return 0
        while times and times[0] < now - self.window:
            times.popleft()
        if not times:
            del self.failures[key]
        return len(times)

    def blocked(self, name: str, address: str) -> bool:
        """Tell whether logins of ``name`` from ``address`` must wait."""
        now = self.clock()
        return (self._count(f'{name}@{address}', now) >= self.limit
                or self._count(address, now) >= 4 * self.limit)

    def fail(self, name: str, address: str) -> None:
        """Count a failed login of ``name`` from ``address``."""
        now = self.clock()
        for key in (f'{name}@{address}', address):
            self.failures.setdefault(key, collections.deque()).append(now)
        if len(self.failures) > self.max_entries:
            self.prune()
            while len(self.failures) > self.max_entries:
                del self.failures[next(iter(self.failures))]

    def prune(self) -> None:
        """Forget the failures that are out of the window."""
        now = self.clock()
        for key in list(self.failures):
            self._count(key, now)


class SharedThrottle(LoginThrottle):
    """The login throttle of a cluster: failures are counted in the database, so that an
    attacker cannot spread guesses over the nodes."""

    def __init__(self, storage: Storage, limit: int, window: float) -> None:
        super().__init__(limit, window, 0, time.time)
        self.storage = storage

    def blocked(self, name: str, address: str) -> bool:
        counts = self.storage.failures([f'{name}@{address}', address],
                                       self.clock() - self.window)
        return (counts.get(f'{name}@{address}', 0) >= self.limit
                or counts.get(address, 0) >= 4 * self.limit)

    def fail(self, name: str, address: str) -> None:
        self.storage.fail([f'{name}@{address}', address], self.clock())

    def prune(self) -> None:
        self.storage.forget_failures(self.clock() - self.window)


def relayed(item: StoredMessage) -> dict[str, Any]:
    """Return a stored message as the server pushes it to a recipient."""
    return {'action': 'msg', 'time': item.time, 'from': item.sender, 'to': item.to,
            'encoding': item.encoding, 'message': item.text, 'position': item.position}


class Chat(Generic[C]):  # pylint: disable=too-many-instance-attributes  # the server's state
    """All logged-in users, their rooms, and the rules of the conversation."""

    def __init__(self, storage: Storage, settings: Settings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.settings = settings
        self.sessions: dict[C, Session] = {}
        self.online: dict[str, C] = {}
        self.rooms: dict[str, set[str]] = {}          # room: its members who are online
        limits = settings.limits
        self.cluster = Cluster(storage, settings.node_id, time.time)
        self.throttle = SharedThrottle(storage, limits.failed_logins,
                                       limits.failed_login_window) if storage.cluster else \
            LoginThrottle(limits.failed_logins, limits.failed_login_window,
                          limits.throttle_entries, clock)
        self.stopping = False                         # set when the server closes everything
        self._out: list[tuple[C, bytes | _Accepted, int]] = []
        # Moved cursors, stored once a second (tick): a crash before that sends those
        # messages again (clients tell by their positions), never loses one.
        self._cursors: dict[str, int] = {}
        self._cursors_due = False
        self._ending: dict[C, bool] = {}               # to close: True now, False once sent
        self.hungry: dict[C, None] = {}               # sessions that wait for a page

    @property
    def limits(self) -> Limits:
        """What each client may use."""
        return self.settings.limits

    @property
    def high_water(self) -> int:
        """Bytes of output up to which a backlog is read (then the session pages)."""
        return self.settings.limits.max_output_bytes // 2

    @property
    def low_water(self) -> int:
        """Bytes of output under which a paging session reads its next page."""
        return self.settings.limits.max_output_bytes // 4

    # The engine's calls.
    def connect(self, conn: C, address: str) -> None:
        """A connection was accepted from ``address`` (an IPv6 address: its /64 network)."""
        self.sessions[conn] = Session(address)

    def disconnect(self, conn: C) -> None:
        """A connection is gone; its user, if any, goes offline."""
        session = self.sessions.pop(conn, None)
        self.hungry.pop(conn, None)
        if session is None or session.name is None:
            return
        del self.online[session.name]
        self.cluster.release(session.name)
        for room in session.rooms:
            members = self.rooms.get(room)
            if members is not None:
                members.discard(session.name)
                if not members:
                    del self.rooms[room]
        if not self.stopping:
            self._announce(session.name, 'offline', session.rooms)

    def logged_in(self, conn: C) -> bool:
        """Tell whether ``conn`` has logged in."""
        session = self.sessions.get(conn)
        return session is not None and session.name is not None

    @property
    def busy(self) -> bool:
        """Tell whether ``commit`` has anything to do."""
        return bool(self._out or self._ending or self.cluster.behind()
                    or self._cursors and self._cursors_due)

    def receive(self, conn: C, item: dict[str, Any] | FramingError) -> None:
        """Handle one decoded object (or framing error) from ``conn``; never raises.

        A fault while serving it is that request's 500, logged with its traceback.
        """
        session = self.sessions.get(conn)
        if session is None:
            return
        if isinstance(item, FramingError):
            self.reply(conn, error_response(item))
            if item.fatal:
                self._ending.setdefault(conn, False)
            return
        try:
            self._serve(conn, session, parse_request(item))
        except RemoteProtocolError as error:
            self.reply(conn, error_response(error))
        except StorageError:
            logger.exception('%s: the database failed', session.address)
            self.reply(conn, response(Status.SERVER_ERROR, 'the database failed: try again'))
        except Exception:  # pylint: disable=broad-except  # one request's fault, not the loop's
            logger.exception('%s: %r failed', session.address, str(item.get('action'))[:20])
            self.push(conn, server_error('internal error'))

    def written(self, conn: C, count: int) -> None:
        """``count`` more bytes of what was given for ``conn`` reached its socket."""
        session = self.sessions.get(conn)
        if session is None:
            return
        session.sent += count
        marks, done = session.marks, 0
        while marks and marks[0][0] <= session.sent:
            done = marks.popleft()[1]
        if done and not session.acks:
            self._deliver(session, done)
        if not session.live and session.name and session.unsent <= self.low_water:
            self.hungry[conn] = None

    def probe(self, conn: C) -> None:
        """Ask a silent client whether it is still there (it answers with presence)."""
        self.push(conn, encode(request(Action.PROBE)))

    def start(self) -> None:
        """The server starts serving: join the cluster (nothing to do on SQLite)."""
        self.cluster.start()

    def tick(self, leader: bool = False) -> None:
        """Once a second: store moved cursors, prune the login throttle, go on with backlogs
        a failure stopped; in a cluster, beat (and as its ``leader``, bury silent nodes)."""
        self._cursors_due = True
        self.cluster.poll()
        try:
            self.throttle.prune()
            self.cluster.beat(leader, self.limits.node_timeout)
        except StorageError:
            logger.exception('the database failed')
        for conn, session in self.sessions.items():
            if session.name and not session.live and session.unsent <= self.low_water:
                self.hungry[conn] = None

    def refill(self) -> None:
        """Give each hungry session the next page of its mail (one page each per turn)."""
        hungry, self.hungry = self.hungry, {}
        for conn in hungry:
            session = self.sessions.get(conn)
            if session is not None:
                self._fill(conn, session)

    def commit(self) -> Turn[C]:
        """Store this turn's messages and moved cursors; return what to send and close.

        If the database fails, the messages of this turn are neither acknowledged nor
        relayed: their senders get 500 and may send them again (with the same ``id``).
        """
        accepted = [item for _, item, _ in self._out if isinstance(item, _Accepted)]
        stored: list[Stored] | None = []
        cursors = self._cursors if self._cursors_due else {}
        if accepted or cursors:
            try:
                stored = self.storage.store([item.message for item in accepted], cursors)
                if cursors:
                    self._cursors, self._cursors_due = {}, self.stopping
            except Exception:  # pylint: disable=broad-except  # StorageError, or a bug
                logger.exception('cannot store %d messages', len(accepted))
                stored = None
                self._cursors_due = self.stopping    # tried again at the next tick, not now
        sends: list[tuple[C, bytes]] = []
        before, later = self._others([item.position for item in stored or ()
                                      if not item.duplicate])
        relays: list[StoredMessage] = []
        results = iter(stored or ())
        for conn, item, position in self._out:
            if not isinstance(item, _Accepted):
                session = self.sessions.get(conn)
                if session is not None:
                    self._emit(sends, conn, session, item, position)
            elif stored is None:
                self._give(sends, conn, server_error('not stored: send it again'))
            else:
                try:
                    relays += self._acknowledge(sends, conn, item, next(results))
                except Exception:  # pylint: disable=broad-except  # stored: it is not lost
                    logger.exception('cannot relay message %s', item.message.client_id)
                    self._give(sends, conn, server_error('internal error'))
        # Relayed messages go out after this turn's answers and pages: a session that caught
        # up with its mail in this turn gets its last page first. Positions only grow on a
        # connection (a client drops a position lower than one it has).
        for stored_message in (*before, *relays, *later):
            self._relay(sends, stored_message)
        turn = Turn(sends, [conn for conn, now in self._ending.items() if not now],
                    [conn for conn, now in self._ending.items() if now])
        self._out, self._ending = [], {}
        return turn

    def _others(self, own: list[int]) -> tuple[list[StoredMessage], list[StoredMessage]]:
        """In a cluster, return the other nodes' new messages stored before ``own`` (this
        turn's positions) and after, to relay around this turn's, so that every recipient
        gets everything in order. If they cannot be read, the sessions here read their mail
        from the database instead, in order."""
        try:
            return self.cluster.messages_news(own)
        except StorageError:
            logger.exception('cannot read the other nodes\' messages')
            for conn, session in self.sessions.items():
                session.live = False
                self.hungry[conn] = None
            return [], []

    def _relay(self, sends: list[tuple[C, bytes]], message: StoredMessage) -> None:
        """At commit: give a stored message, encoded once, to its recipients here."""
        data = encode(relayed(message))
        for name in self._recipients(message.sender, message.to):
            conn = self.online[name]
            self._give_message(sends, conn, self.sessions[conn], data, message.position)

    def notified(self, kind: str, position: int) -> None:
        """The bus says the other nodes stored ``kind`` (messages, events) up to
        ``position``: messages are read and relayed at the next commit, events now."""
        self.cluster.notified(kind, position)
        if kind == 'events':
            self.catch_up()

    def catch_up(self) -> None:
        """In a cluster, tell the users here who came and went on the other nodes."""
        try:
            events = self.cluster.events_news()
        except StorageError:
            logger.exception('cannot read the news of the other nodes')
            return
        for _position, name, status, _node in events:
            try:
                rooms = self.storage.account(name).rooms \
                    if len(self.online) > self.limits.presence_broadcast else {}
            except StorageError:
                rooms = {}
            self._announce(name, status, rooms)

    def stop(self) -> None:
        """The server is stopping: nobody is left to hear who leaves; cursors are stored at
        every commit from now on."""
        self.stopping = self._cursors_due = True

    # Output.
    def push(self, conn: C, data: bytes) -> None:
        """Queue encoded ``data`` for ``conn``; a client that lets too much pile up is dropped.

        Only what can be sent again is dropped with it: its messages wait in the database.
        """
        session = self.sessions.get(conn)
        if session is None:
            return
        if session.unsent + len(data) > self.limits.max_output_bytes:
            self._ending[conn] = True
            return
        session.given += len(data)
        self._out.append((conn, data, 0))

    def reply(self, conn: C, message: dict[str, Any]) -> None:
        """Queue ``message`` for ``conn``."""
        self.push(conn, encode(message))

    @staticmethod
    def _emit(sends: list[tuple[C, bytes]], conn: C, session: Session, data: bytes,
              position: int) -> None:
        """At commit: hand ``data`` (given already) to the engine, in stream order; mark the
        end of a stored message, so that its delivery is known once that much is written."""
        session.streamed += len(data)
        if position:
            if session.marks is None:
                session.marks = collections.deque()
            session.marks.append((session.streamed, position))
        sends.append((conn, data))

    def _give(self, sends: list[tuple[C, bytes]], conn: C, data: bytes) -> None:
        """At commit: give and emit ``data`` for ``conn``."""
        session = self.sessions.get(conn)
        if session is not None and session.unsent + len(data) <= self.limits.max_output_bytes:
            session.given += len(data)
            self._emit(sends, conn, session, data, 0)
        elif session is not None:
            self._ending[conn] = True

    def _takes(self, session: Session, data: bytes, position: int) -> bool:
        """Tell whether a live session takes a stored message now (and count it given); a
        full one falls back to paging, and reads the rest from the database."""
        if not session.live or position <= session.queued:
            return False
        if session.unsent + len(data) > self.high_water:
            session.live = False
            return False
        session.given += len(data)
        session.queued = position
        return True

    def _give_message(self, sends: list[tuple[C, bytes]], conn: C, session: Session,
                      data: bytes, position: int) -> None:
        """At commit: give and emit a stored message."""
        if self._takes(session, data, position):
            self._emit(sends, conn, session, data, position)

    def _acknowledge(self, sends: list[tuple[C, bytes]], conn: C, item: _Accepted,
                     stored: Stored) -> list[StoredMessage]:
        """At commit: answer a stored msg; return it to relay, unless it was there
        already."""
        message, position = item.message, stored.position
        answer = {'response': 200, 'time': time.time(), 'alert': item.alert,
                  'position': position}
        if message.client_id is not None:
            answer['id'] = message.client_id
        self._give(sends, conn, encode(answer))
        if stored.duplicate:
            return []
        return [StoredMessage(position, message.time, message.sender, message.to,
                              message.text, message.encoding)]

    def _recipients(self, sender: str, to: str) -> list[str]:
        """Return who is online to get a message from ``sender`` to ``to`` now."""
        if to == ALL:
            return [name for name in self.online if name != sender]
        if to.startswith('#'):
            return [name for name in self.rooms.get(to, ()) if name != sender]
        return [to] if to in self.online else []

    def _fill(self, conn: C, session: Session) -> None:
        """Give a paging session the next page of its mail; go live once it is caught up."""
        assert session.name is not None
        if self.stopping:
            return
        try:
            page = self.storage.inbox(session.name, session.queued, session.rooms, PAGE)
        except StorageError:
            logger.exception('%s: cannot read the mail of %s', session.address, session.name)
            return
        for item in page:
            data = encode(relayed(item))
            if session.unsent + len(data) > self.high_water and session.unsent:
                return                  # more when this has drained
            session.given += len(data)
            session.queued = item.position
            self._out.append((conn, data, item.position))
        if len(page) < PAGE:
            session.live = True

    def _deliver(self, session: Session, position: int) -> None:
        """Move the session's cursor to ``position`` (stored at the next commit)."""
        if position > session.delivered and session.name is not None:
            session.delivered = position
            self._cursors[session.name] = position

    # The requests.
    def _serve(self, conn: C, session: Session, request_: Request) -> None:
        if isinstance(request_, Authenticate):
            self._authenticate(conn, session, request_)
        elif isinstance(request_, SimpleRequest) and request_.action is Action.QUIT:
            self.reply(conn, response(Status.OK, 'Bye'))
            self._ending.setdefault(conn, False)
        elif session.name is None:
            raise RemoteProtocolError('log in first', Status.UNAUTHORIZED)
        else:
            self._serve_user(conn, session, session.name, request_)

    def _authenticate(self, conn: C, session: Session, request_: Authenticate) -> None:
        """Run one step of the SCRAM login."""
        if session.name is not None:
            raise RemoteProtocolError(f'already logged in as {session.name}')
        name = request_.account_name
        if self.throttle.blocked(name, session.address):
            session.scram = None
            raise RemoteProtocolError('too many failed logins: wait a minute',
                                      Status.TOO_MANY_REQUESTS)
        try:
            if request_.scram.startswith('n,'):
                self._challenge(conn, session, name, request_.scram)
                return
            scram, session.scram = session.scram, None
            if scram is None or scram.username != name:
                raise RemoteProtocolError('start with a client-first-message')
            signature = scram.finish(request_.scram)
        except ScramError:
            self.throttle.fail(name, session.address)
            raise RemoteProtocolError('wrong name or password',
                                      Status.WRONG_CREDENTIALS) from None
        if name in self.online or not self.cluster.claim(name):
            raise RemoteProtocolError(f'{name} is already logged in', Status.CONFLICT)
        try:
            self._log_in(conn, session, name, request_.acks)
        except Exception:
            self.cluster.release(name)
            raise
        self.reply(conn, response(Status.OK, f'Welcome, {name}', scram=signature,
                                  server=self._secrets()[1]))
        self._fill(conn, session)
        self._announce(name, 'online', session.rooms)

    def _challenge(self, conn: C, session: Session, name: str, client_first: str) -> None:
        scram = ScramServer()
        if scram.read_first(client_first) != name:
            raise RemoteProtocolError('the SCRAM user is not the account_name')
        verifier = self.storage.verifier(name)
        if verifier is None:
            verifier = fake_verifier(name, self._secrets()[0], self.settings.iterations)
        challenge = scram.challenge(verifier)
        session.scram = scram
        self.reply(conn, response(Status.CHALLENGE, 'prove it', scram=challenge))

    def _secrets(self) -> tuple[bytes, str]:
        """Return the secret that salts unknown names, and the id of this database (which
        lets a client tell one server's positions from another's)."""
        return (self.storage.secret(SECRET_NAME), self.storage.secret('server-id')[:8].hex())

    def _log_in(self, conn: C, session: Session, name: str, acks: bool) -> None:
        account = self.storage.account(name)
        session.name, session.acks = name, acks
        # A cursor moved in the last second may not be stored yet.
        session.delivered = session.queued = max(account.delivered, self._cursors.get(name, 0))
        session.rooms = account.rooms
        self.online[name] = conn
        for room in account.rooms:
            self.rooms.setdefault(room, set()).add(name)

    def _announce(self, name: str, status: str, rooms: Mapping[str, int]) -> None:
        """Tell who may see ``name`` that they came (``online``) or went (``offline``).

        While few are online, that is everyone (as the course does); past
        ``presence_broadcast``, only those who have ``name`` as a contact and the members of
        its rooms, so that a crowd logging in does not cost the square of its size.
        """
        if len(self.online) <= self.limits.presence_broadcast:
            names: Iterable[str] = self.online
        else:
            try:
                seen_by = set(self.storage.watchers(name))
            except StorageError:
                logger.exception('cannot tell the contacts of %s that they are %s', name,
                                 status)
                seen_by = set()
            for room in rooms:
                seen_by.update(self.rooms.get(room, ()))
            names = seen_by
        notice = encode(presence(name, status))       # encoded once for everyone
        for other in names:
            conn = self.online.get(other)
            if conn is not None and other != name:
                self.push(conn, notice)

    def _serve_user(self, conn: C, session: Session, name: str, request_: Request) -> None:
        """Answer a logged-in user's request."""
        if isinstance(request_, Msg):
            self._send_msg(conn, session, name, request_)
        elif isinstance(request_, Ack):
            if request_.position > session.queued:
                raise RemoteProtocolError(f'nothing was sent up to {request_.position}')
            self._deliver(session, request_.position)
            self.reply(conn, response(Status.OK, 'OK'))
        elif isinstance(request_, Presence):
            if request_.account_name != name:
                raise RemoteProtocolError(f'you are logged in as {name}', Status.FORBIDDEN)
            self.reply(conn, response(Status.OK, 'OK'))
        elif isinstance(request_, RoomRequest):
            self._change_room(conn, session, name, request_)
        elif isinstance(request_, ContactRequest):
            self._change_contact(conn, name, request_)
        elif isinstance(request_, KeyRequest):
            self._exchange_key(conn, name, request_)
        elif isinstance(request_, History):
            self._history(conn, session, name, request_)
        elif not isinstance(request_, SimpleRequest):
            raise RemoteProtocolError(f'{type(request_).__name__} is not served here')
        elif request_.action is Action.GET_CONTACTS:
            contacts = self.storage.contacts(name)
            self.reply(conn, response(Status.ACCEPTED, counted(len(contacts), 'contact'),
                                      contacts=contacts))
        elif request_.action is Action.GET_USERS:
            users = self.storage.user_names()
            self.reply(conn, response(Status.ACCEPTED, counted(len(users), 'user'), users=users,
                                      online=self.cluster.online(self.online)))

    def _send_msg(self, conn: C, session: Session, name: str, request_: Msg) -> None:
        """Accept a message for its room or its user: stored, acknowledged and relayed at
        commit."""
        to, alert = request_.to, 'OK'
        if to.startswith('#') and to != ALL and to not in session.rooms:
            raise RemoteProtocolError(f'join {to} first', Status.FORBIDDEN)
        if not to.startswith('#') and to not in self.online \
                and to not in self.cluster.elsewhere:
            if not self.storage.exists(to):
                raise RemoteProtocolError(f'there is no user {to}', Status.NOT_FOUND)
            alert = 'kept for later'
        message = NewMessage(time.time(), name, to, request_.text, request_.encoding,
                             request_.id)
        self._out.append((conn, _Accepted(message, alert), 0))

    def _change_room(self, conn: C, session: Session, name: str, request_: RoomRequest) -> None:
        """Join or leave a room (``#all`` is everyone's and cannot be left or joined)."""
        room = request_.room
        if room == ALL:
            raise RemoteProtocolError(f'everyone is in {ALL}', Status.FORBIDDEN)
        if request_.action is Action.JOIN:
            session.rooms[room] = self.storage.join_room(name, room)
            self.rooms.setdefault(room, set()).add(name)
        elif room not in session.rooms:
            raise RemoteProtocolError(f'you are not in {room}', Status.NOT_FOUND)
        else:
            self.storage.leave_room(name, room)
            del session.rooms[room]
            members = self.rooms[room]
            members.discard(name)
            if not members:
                del self.rooms[room]
        self.reply(conn, response(Status.OK, f'{request_.action} {room}',
                                  members=self.storage.room_members(room)))

    def _exchange_key(self, conn: C, name: str, request_: KeyRequest) -> None:
        """Publish one's public key, or hand out another user's."""
        if request_.action is Action.SET_KEY:
            self.storage.set_key(name, request_.key)
            self.reply(conn, response(Status.OK, 'key published'))
            return
        key = self.storage.get_key(request_.user_id, request_.position)
        if key is None:
            raise RemoteProtocolError(f'{request_.user_id} has published no key',
                                      Status.NOT_FOUND)
        fields: dict[str, Any] = {'user_id': request_.user_id, 'key': key}
        if request_.position is not None:
            fields['position'] = request_.position
        self.reply(conn, response(Status.ACCEPTED, 'public key', **fields))

    def _history(self, conn: C, session: Session, name: str, request_: History) -> None:
        """Answer a page of a conversation: only what ``name`` may see of it."""
        other, since = request_.with_, 0
        if other.startswith('#') and other != ALL:
            if other not in session.rooms:
                raise RemoteProtocolError(f'join {other} first', Status.FORBIDDEN)
            since = session.rooms[other]
        elif not other.startswith('#') and not self.storage.exists(other):
            raise RemoteProtocolError(f'there is no user {other}', Status.NOT_FOUND)
        page = self.storage.history(name, other, request_.before, request_.limit, since)
        messages = [relayed(item) for item in page]
        self.reply(conn, response(Status.ACCEPTED, counted(len(messages), 'message'),
                                  messages=messages))

    def _change_contact(self, conn: C, name: str, request_: ContactRequest) -> None:
        """Add or remove a contact."""
        other = request_.user_id
        if request_.action is Action.ADD_CONTACT:
            if other == name:
                raise RemoteProtocolError('you cannot be your own contact')
            if not self.storage.add_contact(name, other):
                raise RemoteProtocolError(f'there is no user {other}', Status.NOT_FOUND)
            self.reply(conn, response(Status.OK, f'{other} added'))
        elif self.storage.remove_contact(name, other):
            self.reply(conn, response(Status.OK, f'{other} removed'))
        else:
            raise RemoteProtocolError(f'{other} is not in your contacts', Status.NOT_FOUND)


def counted(number: int, noun: str) -> str:
    """Return ``1 contact``, ``2 contacts``: the alert of a list."""
    return f'{number} {noun}' if number == 1 else f'{number} {noun}s'

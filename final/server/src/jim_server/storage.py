"""The server's database through SQLAlchemy 2.x: accounts, contacts, rooms, every message.

SQLite by default; any SQLAlchemy URL works. The schema carries a version number, and a newer
server upgrades an older database when it opens it (``MIGRATIONS``).

Every message gets a **position** from the database: its id, increasing in commit order.
Each user has a delivery cursor, ``users.delivered``: every message for them up to that
position has reached them. What is after it is their pending mail, read from ``messages``
with ``inbox``. Nothing is deleted to mark a message delivered; the cursor moves instead.

Each public method is one transaction. A failing database (a full disk, a lost connection)
raises ``StorageError``, so that the chat never has to know SQLAlchemy.
"""
from __future__ import annotations

import datetime
import functools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from sqlalchemy import (BigInteger, Connection, Engine, ForeignKey, Index, Integer, LargeBinary,
                        String, UniqueConstraint, bindparam, create_engine, delete, event, func,
                        insert, select, text, union_all, update)
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

from jim.constants import ALL, MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_POSITION, MAX_ROOM_LENGTH, PLAIN
from jim.scram import DEFAULT_ITERATIONS, Verifier, make_verifier

from jim_server.checkpoint import BACKSTOP_PAGES, Checkpointer

if TYPE_CHECKING:
    from sqlalchemy import Select

SCHEMA_VERSION = 4
P = ParamSpec('P')
R = TypeVar('R')


class StorageError(Exception):
    """The database failed; what was asked of it did not happen."""


# A message position: 64 bits (INTEGER in SQLite is, and there the id must be INTEGER to be
# the rowid).
Position = BigInteger().with_variant(Integer, 'sqlite')


class Base(DeclarativeBase):
    """The base of every table."""


class SchemaVersion(Base):
    """One row: the version of the schema this database has."""

    __tablename__ = 'schema_version'
    version: Mapped[int] = mapped_column(primary_key=True)


class User(Base):
    """An account and its SCRAM-SHA-256 verifier (not enough to log in with)."""

    __tablename__ = 'users'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), unique=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    iterations: Mapped[int]
    stored_key: Mapped[bytes] = mapped_column(LargeBinary)
    server_key: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime.datetime]
    last_seen: Mapped[float | None]          # when the user last went offline
    # Every message for this user up to this position has been delivered.
    delivered: Mapped[int] = mapped_column(Position, default=0, server_default='0')


class Contact(Base):
    """One entry of a user's contact list."""

    __tablename__ = 'contacts'
    __table_args__ = (UniqueConstraint('user_id', 'contact_id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'))
    contact_id: Mapped[int] = mapped_column(ForeignKey('users.id'))


class Message(Base):
    """Every message the server acknowledged; ``id`` is its position."""

    __tablename__ = 'messages'
    id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    time: Mapped[float]
    sender: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    to: Mapped[str] = mapped_column(String(MAX_ROOM_LENGTH + 1))
    text: Mapped[str]
    encoding: Mapped[str] = mapped_column(String(20), default=PLAIN, server_default=PLAIN)
    client_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))   # the sender's id


# A user's mail is read by recipient and position, a conversation by recipient, sender and
# position, a message sent again is found by its id (only messages with one are indexed),
# and who sees a user come and go by the contact. Created by the migration too: create_all
# makes indexes only with the tables it makes.
NEW_INDEXES = (Index('messages_to_id', Message.to, Message.id),
               Index('messages_to_sender_id', Message.to, Message.sender, Message.id),
               Index('messages_sender_client_id', Message.sender, Message.client_id,
                     unique=True, sqlite_where=Message.client_id.isnot(None),
                     postgresql_where=Message.client_id.isnot(None)),
               Index('contacts_contact_id', Contact.contact_id))


class PublicKey(Base):
    """A public key a user published for end-to-end encryption (the private one never leaves
    them), and the position from which it was theirs. Old keys are kept, so that old
    messages still open."""

    __tablename__ = 'user_keys'
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'), primary_key=True)
    since: Mapped[int] = mapped_column(Position, primary_key=True)
    key: Mapped[str]


class RoomMember(Base):
    """A user in a room; they get its messages after position ``since`` (when they joined)."""

    __tablename__ = 'room_members'
    room: Mapped[str] = mapped_column(String(MAX_ROOM_LENGTH + 1), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'), primary_key=True, index=True)
    since: Mapped[int] = mapped_column(Position)


class Secret(Base):
    """A random value the server keeps across restarts (the salt of unknown names)."""

    __tablename__ = 'secrets'
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class Counter(Base):
    """The last position handed out, of messages or of events.

    Taking positions updates this row, which locks it until the transaction ends: writers
    take turns, so positions come in commit order with no gap, on every node of a cluster.
    """

    __tablename__ = 'counters'
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(Position)


class OnlineSession(Base):
    """A user logged in, and the node that holds the connection: one login per account."""

    __tablename__ = 'sessions'
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), primary_key=True)
    node: Mapped[str] = mapped_column(String(64), index=True)


class Node(Base):
    """A running server, and when it last said so (its clock, in seconds since the epoch)."""

    __tablename__ = 'nodes'
    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat: Mapped[float]


class Event(Base):
    """A user came (``online``) or went (``offline``), for the other nodes to tell."""

    __tablename__ = 'events'
    id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    status: Mapped[str] = mapped_column(String(16))
    node: Mapped[str] = mapped_column(String(64))


class LoginFailure(Base):
    """A failed login, counted against its key (an account at an address, or an address)."""

    __tablename__ = 'login_failures'
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH + 64))
    at: Mapped[float]


# Failures are counted by key within a window.
FAILURE_INDEX = Index('login_failures_key_at', LoginFailure.key, LoginFailure.at)
COUNTERS = ('messages', 'events')
CHANNEL = 'jim'          # the PostgreSQL channel of the nodes' news: what changed, no data


@dataclass(slots=True)
class NewMessage:
    """A message to keep: who sent it, to whom, and the sender's own id for it if any."""

    time: float
    sender: str
    to: str
    text: str
    encoding: str = PLAIN
    client_id: str | None = None


@dataclass(slots=True)
class StoredMessage:
    """A message as the database keeps it, with its ``position``."""

    position: int
    time: float
    sender: str
    to: str
    text: str
    encoding: str = PLAIN


@dataclass(slots=True)
class Stored:
    """Where ``Storage.store`` put a message: its position, and whether it was there already
    (sent again with the same id: nothing new was stored)."""

    position: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """What a login needs to know of a user: their cursor and their rooms (room: since)."""

    delivered: int
    rooms: dict[str, int]


# What a message is read as (StoredMessage).
_COLUMNS = (Message.id, Message.time, Message.sender, Message.to, Message.text,
            Message.encoding)
# The columns a new message fills, after its id.
_INSERTED = ('time', 'sender', 'to', 'text', 'encoding', 'client_id')
# The statements of logins and deliveries, built once: building one costs several times
# what running it does, and SQLAlchemy caches each built statement's compiled form.
_NAME = bindparam('name', type_=String)
_VERIFIER = select(User.salt, User.iterations, User.stored_key, User.server_key) \
    .where(User.name == _NAME)
_USER_ID = select(User.id).where(User.name == _NAME)
_ACCOUNT = select(User.delivered, RoomMember.room, RoomMember.since) \
    .outerjoin(RoomMember, RoomMember.user_id == User.id).where(User.name == _NAME)
_CONTACTS = select(User.name).join(Contact, Contact.contact_id == User.id) \
    .where(Contact.user_id == _USER_ID.scalar_subquery()).order_by(User.name)
_WATCHERS = select(User.name).join(Contact, Contact.user_id == User.id) \
    .where(Contact.contact_id == _USER_ID.scalar_subquery())
# At most this many (sender, id) pairs in one query for messages sent before.
_KEYS_A_QUERY = 200


@dataclass(frozen=True)
class _DriverSQL:
    """The statements ``store`` gives the driver itself, in its ``marker`` (? or %s)."""

    marker: str

    @property
    def insert(self) -> str:
        """A new message, at its position."""
        return (f'INSERT INTO messages (id, time, sender, "to", text, encoding, client_id) '
                f'VALUES ({", ".join([self.marker] * 7)})')

    @property
    def take(self) -> str:
        """Move a counter (count, name) on; returns its new last position."""
        return f'UPDATE counters SET last = last + {self.marker} WHERE name = {self.marker} ' \
            'RETURNING last'

    @property
    def move_cursor(self) -> str:
        """Set a user's delivery cursor (position, name)."""
        return f'UPDATE users SET delivered = {self.marker} WHERE name = {self.marker}'

    @property
    def notify(self) -> str:
        """Tell the other nodes at commit (channel, what: ``messages:42``): a position,
        never data (PostgreSQL)."""
        return f'SELECT pg_notify({self.marker}, {self.marker})'

    def sent_before(self, count: int) -> str:
        """The positions of messages with ``count`` (sender, id) pairs; the partial index
        on them serves each pair."""
        pair = f'(sender = {self.marker} AND client_id = {self.marker})'
        return f'SELECT sender, client_id, id FROM messages WHERE {" OR ".join([pair] * count)}'


_LAST_POSITION = select(func.coalesce(func.max(Message.id), 0))
_MESSAGES_AFTER = select(*_COLUMNS).where(Message.id > bindparam('after', type_=Position)) \
    .order_by(Message.id).limit(bindparam('limit', type_=Integer))
_EVENTS_AFTER = select(Event.id, Event.name, Event.status, Event.node) \
    .where(Event.id > bindparam('after', type_=Position)).order_by(Event.id) \
    .limit(bindparam('limit', type_=Integer))


def _merged(parts: list[Select[int, float, str, str, str, str]],
            newest: bool) -> Select[int, float, str, str, str, str]:
    """Return ``parts`` (selects of _COLUMNS, each an indexed range), merged by position:
    the oldest ``:limit`` of them (``newest``: the newest)."""
    order = Message.id.desc() if newest else Message.id
    limit = bindparam('limit', type_=Integer)
    merged = union_all(*[part.order_by(order).limit(limit).subquery().select()
                         for part in parts]).subquery()
    return select(*merged.c).order_by(merged.c.id.desc() if newest else merged.c.id) \
        .limit(limit)


@functools.lru_cache(maxsize=64)
def _inbox_query(rooms: int) -> Select[int, float, str, str, str, str]:
    """The mail of a user in ``rooms`` rooms besides #all: their direct messages, and each
    room's (``:room0`` is #all) after ``:sinceN``, not their own."""
    name, after = bindparam('name', type_=String), bindparam('after', type_=Position)
    parts = [select(*_COLUMNS).where(Message.to == name, Message.id > after)]
    parts += [select(*_COLUMNS).where(Message.to == bindparam(f'room{n}'),
                                      Message.id > bindparam(f'since{n}', type_=Position),
                                      Message.sender != name)
              for n in range(rooms + 1)]
    return _merged(parts, newest=False)


_ROOM_HISTORY = _merged([select(*_COLUMNS).where(
    Message.to == bindparam('other'), Message.id < bindparam('before', type_=Position),
    Message.id > bindparam('since', type_=Position))], newest=True)
_DIRECT_HISTORY = _merged([select(*_COLUMNS).where(
    Message.to == to, Message.sender == sender,
    Message.id < bindparam('before', type_=Position))
    for to, sender in ((bindparam('other'), _NAME), (_NAME, bindparam('other')))],
    newest=True)


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Turn any database failure of ``method`` into StorageError."""
    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except SQLAlchemyError as err:
            raise StorageError(f'{method.__name__}: {err}') from err
    return call


def _add_message_encoding(connection: Connection) -> None:
    """Version 1 to 2: messages get their ``encoding`` (end-to-end encryption came)."""
    connection.execute(text(f"ALTER TABLE messages ADD COLUMN encoding VARCHAR(20) "
                            f"NOT NULL DEFAULT '{PLAIN}'"))


def _add_last_seen(connection: Connection) -> None:
    """Version 2 to 3: users get ``last_seen``, so that a login replays what they missed."""
    connection.execute(text('ALTER TABLE users ADD COLUMN last_seen FLOAT'))


def _add_positions(connection: Connection) -> None:
    """Version 3 to 4: delivery cursors replace the ``pending`` table; messages get the
    sender's id; public keys are kept with the position from which each was current.

    Each user's cursor is put just before the first message they had not got: the oldest
    kept for them in ``pending``, or the first to #all since they last logged out. A user who
    never logged out had every #all message live, as version 3 assumed.
    """
    connection.execute(text('ALTER TABLE users ADD COLUMN delivered BIGINT NOT NULL '
                            'DEFAULT 0'))
    if connection.dialect.name == 'postgresql':       # positions are 64-bit
        connection.execute(text('ALTER TABLE messages ALTER COLUMN id TYPE BIGINT'))
    connection.execute(text(f'ALTER TABLE messages ADD COLUMN client_id '
                            f'VARCHAR({MAX_ID_LENGTH})'))
    for index in NEW_INDEXES:
        index.create(connection)
    last = connection.scalar(text('SELECT coalesce(max(id), 0) FROM messages'))
    users = connection.execute(text('SELECT id, name, last_seen FROM users')).all()
    for user_id, name, last_seen in users:
        cursor = last
        if last_seen is not None:
            cursor = connection.scalar(text(
                'SELECT coalesce(max(id), 0) FROM messages WHERE time <= :seen'),
                {'seen': last_seen})
        oldest_kept = connection.scalar(text(
            'SELECT min(message_id) FROM pending WHERE recipient = :name'), {'name': name})
        if oldest_kept is not None:
            cursor = min(cursor, oldest_kept - 1)
        connection.execute(text('UPDATE users SET delivered = :cursor WHERE id = :id'),
                           {'cursor': cursor, 'id': user_id})
    connection.execute(text('DROP TABLE pending'))
    connection.execute(text('INSERT INTO user_keys (user_id, since, key) '
                            'SELECT user_id, 0, key FROM public_keys'))
    connection.execute(text('DROP TABLE public_keys'))
    connection.execute(insert(Counter), [{'name': 'messages', 'last': last},
                                         {'name': 'events', 'last': 0}])


# version -> the function that upgrades a database of that version to the next one.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _add_message_encoding,
                                                       2: _add_last_seen,
                                                       3: _add_positions}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead log: commits are cheap, and readers do not block the writer."""
    cursor = connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute(f'PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()


class Storage:  # pylint: disable=too-many-public-methods  # a method per question asked of it
    """The server's database; each method is one transaction and may raise StorageError."""

    def __init__(self, url: str) -> None:
        """Open (and create, or upgrade) the database at ``url``.

        Errors here are left as they are: a server that cannot open its database stops.
        """
        sqlite = url.startswith('sqlite')
        # A connection to a server that restarted is noticed before it is used.
        self.engine: Engine = create_engine(url, pool_pre_ping=not sqlite)
        if sqlite:
            event.listen(self.engine, 'connect', _sqlite_pragmas)
        self.cluster = not sqlite      # a database several servers can share
        # store() speaks to the driver in plain SQL: through SQLAlchemy, its statements took
        # twice what the database did (98 against 42 us a one-message turn on SQLite).
        self._sql = _DriverSQL('?' if self.engine.dialect.paramstyle == 'qmark' else '%s')
        self._driver_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        Base.metadata.create_all(self.engine)
        self._upgrade()
        self._writer: PoolProxiedConnection | None = None    # store()'s own, kept open
        self._secrets: dict[str, bytes] = {}
        self._accounts: set[str] = set()            # names known to have an account
        in_a_file = sqlite and self.engine.url.database not in (None, '', ':memory:')
        self._checkpointer = Checkpointer(self.engine) if in_a_file else None

    def _upgrade(self) -> None:
        with self.engine.begin() as connection:
            version = connection.scalar(select(SchemaVersion.version))
            if version is None:
                connection.execute(insert(SchemaVersion).values(version=SCHEMA_VERSION))
                connection.execute(insert(Counter), [{'name': name, 'last': 0}
                                                     for name in COUNTERS])
                return
            if version > SCHEMA_VERSION:
                raise RuntimeError(f'the database has schema {version}; this server '
                                   f'knows {SCHEMA_VERSION}: upgrade the server')
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](connection)
                version += 1
            connection.execute(update(SchemaVersion).values(version=version))

    def close(self) -> None:
        """Release the database."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()

    # Accounts.
    @_guarded
    def add_user(self, name: str, password: str, iterations: int = DEFAULT_ITERATIONS) -> None:
        """Create ``name`` with ``password``, or set a new password for it.

        A new account's mail starts now: it is not sent what was written before it existed.
        """
        verifier = make_verifier(password, iterations)
        with self.session.begin() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                last = session.scalar(select(func.coalesce(func.max(Message.id), 0)))
                user = User(name=name, created=datetime.datetime.now(), delivered=last)
                session.add(user)
            user.salt, user.iterations = verifier.salt, verifier.iterations
            user.stored_key, user.server_key = verifier.stored_key, verifier.server_key

    @_guarded
    def verifier(self, name: str) -> Verifier | None:
        """Return ``name``'s SCRAM verifier, or None when there is no such account."""
        with self.engine.connect() as connection:
            row = connection.execute(_VERIFIER, {'name': name}).first()
        return None if row is None else Verifier(*row)

    @_guarded
    def exists(self, name: str) -> bool:
        """Tell whether ``name`` has an account (remembered once seen: accounts stay)."""
        if name in self._accounts:
            return True
        with self.engine.connect() as connection:
            found = connection.scalar(_USER_ID, {'name': name}) is not None
        if found:
            self._accounts.add(name)
        return found

    @_guarded
    def user_names(self) -> list[str]:
        """Return every account name, sorted."""
        with self.engine.connect() as connection:
            return list(connection.scalars(select(User.name).order_by(User.name)))

    @_guarded
    def account(self, name: str) -> Account:
        """Return ``name``'s delivery cursor and rooms (the account must exist)."""
        with self.engine.connect() as connection:
            rows = connection.execute(_ACCOUNT, {'name': name}).all()
        return Account(rows[0].delivered, {room: since for _, room, since in rows if room})

    @_guarded
    def secret(self, name: str) -> bytes:
        """Return the server's secret called ``name``, made (32 random bytes) on first use."""
        if name in self._secrets:
            return self._secrets[name]
        with self.engine.begin() as connection:
            value = connection.scalar(select(Secret.value).where(Secret.name == name))
            if value is None:
                value = secrets.token_bytes(32)
                connection.execute(insert(Secret).values(name=name, value=value))
        self._secrets[name] = bytes(value)
        return self._secrets[name]

    # Contacts.
    @_guarded
    def contacts(self, name: str) -> list[str]:
        """Return ``name``'s contacts, sorted."""
        with self.engine.connect() as connection:
            return list(connection.scalars(_CONTACTS, {'name': name}))

    @_guarded
    def watchers(self, name: str) -> list[str]:
        """Return who has ``name`` among their contacts."""
        with self.engine.connect() as connection:
            return list(connection.scalars(_WATCHERS, {'name': name}))

    @_guarded
    def add_contact(self, name: str, contact: str) -> bool:
        """Add ``contact`` to ``name``'s list; False when ``contact`` has no account."""
        with self.engine.begin() as connection:
            owner, other = (connection.scalar(select(User.id).where(User.name == n))
                            for n in (name, contact))
            if owner is None or other is None:
                return False
            exists = select(Contact.id).where(Contact.user_id == owner,
                                              Contact.contact_id == other)
            if connection.scalar(exists) is None:
                connection.execute(insert(Contact).values(user_id=owner, contact_id=other))
            return True

    @_guarded
    def remove_contact(self, name: str, contact: str) -> bool:
        """Remove ``contact`` from ``name``'s list; False when it was not there."""
        with self.engine.begin() as connection:
            owner, other = (connection.scalar(select(User.id).where(User.name == n))
                            for n in (name, contact))
            result = connection.execute(delete(Contact).where(Contact.user_id == owner,
                                                              Contact.contact_id == other))
            return bool(result.rowcount)

    # Rooms.
    @_guarded
    def join_room(self, name: str, room: str) -> int:
        """Put ``name`` in ``room`` (if not there yet); return the position they see after."""
        with self.engine.begin() as connection:
            user_id = connection.scalar(select(User.id).where(User.name == name))
            since = connection.scalar(select(RoomMember.since).where(
                RoomMember.room == room, RoomMember.user_id == user_id))
            if since is None:
                since = int(connection.scalar(select(func.coalesce(func.max(Message.id), 0)))
                            or 0)
                connection.execute(insert(RoomMember).values(room=room, user_id=user_id,
                                                             since=since))
            return since

    @_guarded
    def leave_room(self, name: str, room: str) -> None:
        """Take ``name`` out of ``room``."""
        with self.engine.begin() as connection:
            user_id = select(User.id).where(User.name == name).scalar_subquery()
            connection.execute(delete(RoomMember).where(RoomMember.room == room,
                                                        RoomMember.user_id == user_id))

    @_guarded
    def room_members(self, room: str) -> list[str]:
        """Return the names of everyone in ``room``, sorted."""
        with self.engine.connect() as connection:
            return list(connection.scalars(
                select(User.name).join(RoomMember, RoomMember.user_id == User.id)
                .where(RoomMember.room == room).order_by(User.name)))

    # Messages.
    @_guarded
    def store(self, messages: list[NewMessage], cursors: Mapping[str, int]) -> list[Stored]:
        """Keep a batch of messages and move delivery cursors, in one transaction.

        Return where each message is, in the batch's order. A message whose sender already
        stored one with the same ``client_id`` is not stored again: its first position comes
        back, marked ``duplicate``.

        The server's loop calls it every turn, from its one thread: it keeps a driver
        connection of its own, and a connection that failed is replaced at the next turn.
        """
        writer, self._writer = self._writer, None
        try:
            if writer is None:
                writer = self.engine.raw_connection()
            cursor = writer.cursor()
            if cursors:                  # first: the counter's lock is held until the commit
                cursor.executemany(self._sql.move_cursor, [(position, name) for name, position
                                                           in cursors.items()])
            stored = self._insert(cursor, messages) if messages else []
            if messages and self.cluster:
                cursor.execute(self._sql.notify, (
                    CHANNEL, f'messages:{max(item.position for item in stored)}'))
            writer.commit()
        except Exception as err:
            if writer is not None:
                writer.invalidate()
            if isinstance(err, self._driver_error):
                raise StorageError(f'store: {err}') from err
            raise
        self._writer = writer
        return stored

    def _insert(self, cursor: DBAPICursor, messages: list[NewMessage]) -> list[Stored]:
        """Insert those of ``messages`` not sent before at the next positions, in one
        statement; return where each is."""
        known = self._sent_before(cursor, messages)
        fresh, seen = 0, set(known)
        for message in messages:
            key = (message.sender, message.client_id)
            if message.client_id is None or key not in seen:
                fresh += 1
                seen.add(key)
        if not fresh:
            return [Stored(known[(m.sender, m.client_id)], duplicate=True) for m in messages]
        stored, rows = [], []
        position = self._take(cursor.execute, 'messages', fresh) - fresh
        for message in messages:
            key = (message.sender, message.client_id)
            if message.client_id is not None and key in known:
                stored.append(Stored(known[key], duplicate=True))
                continue
            position += 1
            stored.append(Stored(position))
            rows.append((position, message.time, message.sender, message.to, message.text,
                         message.encoding, message.client_id))
            if message.client_id is not None:
                known[key] = position
        cursor.executemany(self._sql.insert, rows)
        return stored

    def _sent_before(self, cursor: DBAPICursor,
                     messages: list[NewMessage]) -> dict[tuple[str, str | None], int]:
        """Return the positions of messages stored before with the ids of ``messages``
        (by sender and id). Two nodes that store one id at once: the second fails (the
        index is unique), and its sender sends it again."""
        keys = list({(m.sender, m.client_id) for m in messages if m.client_id is not None})
        known: dict[tuple[str, str | None], int] = {}
        for start in range(0, len(keys), _KEYS_A_QUERY):
            chunk = keys[start:start + _KEYS_A_QUERY]
            cursor.execute(self._sql.sent_before(len(chunk)),
                           [value for key in chunk for value in key])
            known.update(((sender, client_id), position)
                         for sender, client_id, position in cursor.fetchall())
        return known

    def _take(self, execute: Callable[..., Any], counter: str, count: int) -> int:
        """Take ``count`` positions of ``counter`` (``execute`` runs plain SQL on the
        transaction's connection); return the last of them."""
        return int(execute(self._sql.take, (count, counter)).fetchone()[0])

    @_guarded
    def inbox(self, name: str, after: int, rooms: Mapping[str, int],
              limit: int) -> list[StoredMessage]:
        """Return, oldest first, up to ``limit`` messages for ``name`` after position
        ``after``: direct ones, #all's, and those of ``rooms`` (room: since) after they joined.

        Not their own messages to rooms; one indexed range per source, merged.
        """
        values: dict[str, Any] = {'name': name, 'after': after, 'limit': limit}
        for number, (room, since) in enumerate({ALL: 0, **rooms}.items()):
            values[f'room{number}'], values[f'since{number}'] = room, max(after, since)
        return self._read(_inbox_query(len(rooms)), values, newest=False)

    def _read(self, query: Select[int, float, str, str, str, str], values: dict[str, Any],
              newest: bool) -> list[StoredMessage]:
        """Run a merged query of messages; return them oldest first."""
        with self.engine.connect() as connection:
            # The union's columns come back untyped: they are the columns of Message.
            rows = cast(list[tuple[int, float, str, str, str, str]],
                        connection.execute(query, values).all())
        return [StoredMessage(*row) for row in (reversed(rows) if newest else rows)]

    @_guarded
    def last_position(self) -> int:
        """Return the position of the newest message (0 when there is none)."""
        with self.engine.connect() as connection:
            return int(connection.scalar(_LAST_POSITION) or 0)

    # The cluster: who is logged in where, which nodes live, what happened.
    @_guarded
    def claim(self, name: str, node: str) -> bool:
        """Record that ``name`` logs in on ``node``; False if they are logged in anywhere."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(OnlineSession).values(name=name, node=node))
                self._event(connection, name, 'online', node)
        except IntegrityError:
            return False
        return True

    @_guarded
    def release(self, name: str, node: str) -> None:
        """Record that ``name`` left ``node``."""
        with self.engine.begin() as connection:
            gone = connection.execute(delete(OnlineSession).where(
                OnlineSession.name == name, OnlineSession.node == node)).rowcount
            if gone:
                self._event(connection, name, 'offline', node)

    def _event(self, connection: Connection, name: str, status: str, node: str) -> None:
        position = self._take(connection.exec_driver_sql, 'events', 1)
        connection.execute(insert(Event).values(id=position, name=name, status=status,
                                                node=node))
        if self.cluster:
            connection.exec_driver_sql(self._sql.notify, (CHANNEL, f'events:{position}'))

    @_guarded
    def online(self) -> list[str]:
        """Return who is logged in, on any node, sorted."""
        with self.engine.connect() as connection:
            return list(connection.scalars(select(OnlineSession.name)
                                           .order_by(OnlineSession.name)))

    @_guarded
    def start_node(self, node: str, now: float) -> tuple[int, int]:
        """Record that ``node`` runs (forgetting the logins a crash of it left); return the
        last positions of messages and of events, from which it follows the others."""
        with self.engine.begin() as connection:
            connection.execute(delete(OnlineSession).where(OnlineSession.node == node))
            connection.execute(delete(Node).where(Node.node == node))
            connection.execute(insert(Node).values(node=node, beat=now))
            last = dict(connection.execute(select(Counter.name, Counter.last)).all())
        return int(last['messages']), int(last['events'])

    @_guarded
    def beat(self, node: str, now: float) -> None:
        """Record that ``node`` is alive at ``now``."""
        with self.engine.begin() as connection:
            if not connection.execute(update(Node).where(Node.node == node)
                                      .values(beat=now)).rowcount:
                connection.execute(insert(Node).values(node=node, beat=now))

    @_guarded
    def stop_node(self, node: str) -> None:
        """Record that ``node`` stopped (its users have been released)."""
        with self.engine.begin() as connection:
            connection.execute(delete(Node).where(Node.node == node))

    @_guarded
    def bury(self, before: float) -> list[str]:
        """Declare dead the nodes silent since ``before``: release their users (each an
        ``offline`` event) and forget them. Return the names released."""
        with self.engine.begin() as connection:
            dead = list(connection.scalars(select(Node.node).where(Node.beat < before)))
            if not dead:
                return []
            released = connection.execute(select(OnlineSession.name, OnlineSession.node)
                                          .where(OnlineSession.node.in_(dead))).all()
            connection.execute(delete(OnlineSession).where(OnlineSession.node.in_(dead)))
            connection.execute(delete(Node).where(Node.node.in_(dead)))
            for name, node in released:
                self._event(connection, name, 'offline', node)
        return [name for name, _ in released]

    @_guarded
    def messages_after(self, after: int, limit: int) -> list[StoredMessage]:
        """Return, in order, up to ``limit`` messages after position ``after`` (the bus)."""
        with self.engine.connect() as connection:
            rows = connection.execute(_MESSAGES_AFTER, {'after': after, 'limit': limit}).all()
        return [StoredMessage(*row) for row in rows]

    @_guarded
    def events_after(self, after: int, limit: int) -> list[tuple[int, str, str, str]]:
        """Return, in order, up to ``limit`` events (position, name, status, node) after
        ``after``."""
        with self.engine.connect() as connection:
            rows = connection.execute(_EVENTS_AFTER, {'after': after, 'limit': limit}).all()
        return [(int(position), name, status, node) for position, name, status, node in rows]

    @_guarded
    def failures(self, keys: list[str], since: float) -> dict[str, int]:
        """Return how many failed logins each of ``keys`` has had since ``since``."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(LoginFailure.key, func.count()).where(LoginFailure.key.in_(keys),
                                                             LoginFailure.at >= since)
                .group_by(LoginFailure.key)).all()
        return {key: int(count) for key, count in rows}

    @_guarded
    def fail(self, keys: list[str], now: float) -> None:
        """Count a failed login against each of ``keys``."""
        with self.engine.begin() as connection:
            connection.execute(insert(LoginFailure), [{'key': key, 'at': now} for key in keys])

    @_guarded
    def forget_failures(self, before: float) -> None:
        """Forget the failed logins older than ``before``."""
        with self.engine.begin() as connection:
            connection.execute(delete(LoginFailure).where(LoginFailure.at < before))

    # Public keys.
    @_guarded
    def set_key(self, name: str, key: str) -> None:
        """Publish ``name``'s public key; the one before is kept for the messages before."""
        with self.engine.begin() as connection:
            user_id = connection.scalar(select(User.id).where(User.name == name))
            current = connection.scalar(select(PublicKey.key).where(PublicKey.user_id == user_id)
                                        .order_by(PublicKey.since.desc()).limit(1))
            if current == key:
                return
            since = int(connection.scalar(select(func.coalesce(func.max(Message.id), 0))) or 0)
            connection.execute(delete(PublicKey).where(PublicKey.user_id == user_id,
                                                       PublicKey.since == since))
            connection.execute(insert(PublicKey).values(user_id=user_id, since=since, key=key))

    @_guarded
    def get_key(self, name: str, position: int | None = None) -> str | None:
        """Return ``name``'s public key: the one they have now, or the one they had when the
        message at ``position`` was sent; None if they had published none."""
        query = (select(PublicKey.key).join(User, User.id == PublicKey.user_id)
                 .where(User.name == name).order_by(PublicKey.since.desc()).limit(1))
        if position is not None:
            query = query.where(PublicKey.since < position)
        with self.engine.connect() as connection:
            return connection.scalar(query)

    # History.
    @_guarded
    def history(self, name: str, other: str, before: int | None, limit: int,
                since: int = 0) -> list[StoredMessage]:
        """Return, oldest first, the newest ``limit`` messages before position ``before`` of
        ``name``'s conversation with ``other``: their direct messages both ways, or a room's
        messages after position ``since``."""
        values = {'name': name, 'other': other, 'since': since, 'limit': limit,
                  'before': MAX_POSITION if before is None else before}
        query = _ROOM_HISTORY if other.startswith('#') else _DIRECT_HISTORY
        return self._read(query, values, newest=True)

"""The server's database through SQLAlchemy 2.x: accounts, contacts, every message.

SQLite by default; any SQLAlchemy URL works. The schema carries a version number, and a newer
server upgrades an older database when it opens it (``MIGRATIONS``).
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import (Engine, ForeignKey, LargeBinary, String, UniqueConstraint, create_engine,
                        delete, event, insert, select, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from jim.constants import ALL, MAX_NAME_LENGTH, PLAIN
from jim.scram import DEFAULT_ITERATIONS, Verifier, make_verifier

SCHEMA_VERSION = 3
MAX_MISSED = 500            # messages to #all replayed to a user at login, at most


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


class Contact(Base):
    """One entry of a user's contact list."""

    __tablename__ = 'contacts'
    __table_args__ = (UniqueConstraint('user_id', 'contact_id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'))
    contact_id: Mapped[int] = mapped_column(ForeignKey('users.id'))


class Message(Base):
    """Every message the server acknowledged, in the order it did."""

    __tablename__ = 'messages'
    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[float]
    sender: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    to: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH + 1))
    text: Mapped[str]
    encoding: Mapped[str] = mapped_column(String(20), default=PLAIN, server_default=PLAIN)


class PublicKey(Base):
    """A user's public key for end-to-end encryption (the private one never leaves them)."""

    __tablename__ = 'public_keys'
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'), primary_key=True)
    key: Mapped[str]


class Pending(Base):
    """A message waiting for its offline recipient's next login."""

    __tablename__ = 'pending'
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey('messages.id'))


@dataclass(frozen=True)
class StoredMessage:
    """A message to keep: ``offline`` names the recipients who will get it at next login."""

    time: float
    sender: str
    to: str
    text: str
    offline: tuple[str, ...] = ()
    encoding: str = PLAIN


def _add_message_encoding(session: Session) -> None:
    """Version 1 to 2: messages get their ``encoding`` (end-to-end encryption came)."""
    session.execute(text(f"ALTER TABLE messages ADD COLUMN encoding VARCHAR(20) "
                         f"NOT NULL DEFAULT '{PLAIN}'"))


def _add_last_seen(session: Session) -> None:
    """Version 2 to 3: users get ``last_seen``, so that a login replays what they missed."""
    session.execute(text('ALTER TABLE users ADD COLUMN last_seen FLOAT'))


# version -> the function that upgrades a database of that version to the next one.
MIGRATIONS: dict[int, Callable[[Session], None]] = {1: _add_message_encoding,
                                                    2: _add_last_seen}


def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Write-ahead log: commits are cheap, and readers do not block the writer."""
    cursor = connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()


class Storage:
    """The server's database; each method is one transaction."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == 'sqlite':
            event.listen(self.engine, 'connect', _sqlite_pragmas)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        Base.metadata.create_all(self.engine)
        self._upgrade()

    def _upgrade(self) -> None:
        with self.session.begin() as session:
            row = session.scalar(select(SchemaVersion))
            if row is None:
                session.add(SchemaVersion(version=SCHEMA_VERSION))
                return
            if row.version > SCHEMA_VERSION:
                raise RuntimeError(f'the database has schema {row.version}; this server '
                                   f'knows {SCHEMA_VERSION}: upgrade the server')
            while row.version < SCHEMA_VERSION:
                MIGRATIONS[row.version](session)
                row.version += 1

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()

    # Accounts.
    def add_user(self, name: str, password: str, iterations: int = DEFAULT_ITERATIONS) -> None:
        """Create ``name`` with ``password``, or set a new password for it."""
        verifier = make_verifier(password, iterations)
        with self.session.begin() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                user = User(name=name, created=datetime.datetime.now())
                session.add(user)
            user.salt, user.iterations = verifier.salt, verifier.iterations
            user.stored_key, user.server_key = verifier.stored_key, verifier.server_key

    def verifier(self, name: str) -> Verifier | None:
        """Return ``name``'s SCRAM verifier, or None when there is no such account."""
        with self.session() as session:
            user = session.scalar(select(User).where(User.name == name))
        if user is None:
            return None
        return Verifier(user.salt, user.iterations, user.stored_key, user.server_key)

    def user_names(self) -> list[str]:
        """Return every account name, sorted."""
        with self.session() as session:
            return list(session.scalars(select(User.name).order_by(User.name)))

    # Contacts.
    def contacts(self, name: str) -> list[str]:
        """Return ``name``'s contacts, sorted."""
        with self.session() as session:
            owner = select(User.id).where(User.name == name).scalar_subquery()
            query = (select(User.name).join(Contact, Contact.contact_id == User.id)
                     .where(Contact.user_id == owner).order_by(User.name))
            return list(session.scalars(query))

    def add_contact(self, name: str, contact: str) -> bool:
        """Add ``contact`` to ``name``'s list; False when ``contact`` has no account."""
        with self.session.begin() as session:
            owner, other = (session.scalar(select(User.id).where(User.name == n))
                            for n in (name, contact))
            if owner is None or other is None:
                return False
            exists = select(Contact.id).where(Contact.user_id == owner,
                                              Contact.contact_id == other)
            if session.scalar(exists) is None:
                session.add(Contact(user_id=owner, contact_id=other))
            return True

    def remove_contact(self, name: str, contact: str) -> bool:
        """Remove ``contact`` from ``name``'s list; False when it was not there."""
        with self.session.begin() as session:
            owner, other = (session.scalar(select(User.id).where(User.name == n))
                            for n in (name, contact))
            result = session.execute(delete(Contact).where(Contact.user_id == owner,
                                                           Contact.contact_id == other))
            return bool(result.rowcount)

    # Messages.
    def store_messages(self, messages: Iterable[StoredMessage]) -> None:
        """Keep a batch of messages in one transaction (one commit per loop turn).

        One multi-row INSERT, in the batch's order; the ids come back only when some
        message waits for an offline recipient.
        """
        batch = list(messages)
        if not batch:
            return
        rows = [{'time': m.time, 'sender': m.sender, 'to': m.to, 'text': m.text,
                 'encoding': m.encoding} for m in batch]
        with self.engine.begin() as connection:
            if not any(m.offline for m in batch):
                connection.execute(insert(Message), rows)
                return
            ids = connection.execute(
                insert(Message).returning(Message.id, sort_by_parameter_order=True),
                rows).scalars().all()
            pending = [{'recipient': name, 'message_id': message_id}
                       for message_id, item in zip(ids, batch) for name in item.offline]
            connection.execute(insert(Pending), pending)

    def take_pending(self, name: str) -> list[StoredMessage]:
        """Return, oldest first, and forget the messages that waited for ``name``."""
        with self.session.begin() as session:
            rows = session.execute(
                select(Pending.id, Message).join(Message, Pending.message_id == Message.id)
                .where(Pending.recipient == name).order_by(Pending.id)).all()
            if rows:
                session.execute(delete(Pending).where(Pending.id.in_([r[0] for r in rows])))
            return [StoredMessage(m.time, m.sender, m.to, m.text, encoding=m.encoding)
                    for _, m in rows]

    def mark_seen(self, name: str, when: float) -> None:
        """Record that ``name`` went offline at ``when``."""
        with self.session.begin() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is not None:
                user.last_seen = when

    def missed(self, name: str) -> list[StoredMessage]:
        """Return the messages to #all since ``name`` last went offline (oldest first)."""
        with self.session() as session:
            since = session.scalar(select(User.last_seen).where(User.name == name))
            if since is None:
                return []
            rows = session.scalars(select(Message).where(
                Message.to == ALL, Message.time > since, Message.sender != name)
                .order_by(Message.id.desc()).limit(MAX_MISSED))
            return [StoredMessage(m.time, m.sender, m.to, m.text, encoding=m.encoding)
                    for m in reversed(list(rows))]

    def history(self, name: str, limit: int = 100) -> list[StoredMessage]:
        """Return the last ``limit`` messages from or to ``name`` (no rooms), oldest first."""
        with self.session() as session:
            rows = session.scalars(select(Message).where(
                (Message.sender == name) | (Message.to == name))
                .order_by(Message.id.desc()).limit(limit))
            return [StoredMessage(m.time, m.sender, m.to, m.text, encoding=m.encoding)
                    for m in reversed(list(rows))]

    # Public keys.
    def set_key(self, name: str, key: str) -> None:
        """Publish ``name``'s public key (replacing the previous one)."""
        with self.session.begin() as session:
            user_id = session.scalar(select(User.id).where(User.name == name))
            session.merge(PublicKey(user_id=user_id, key=key))

    def get_key(self, name: str) -> str | None:
        """Return ``name``'s public key, or None if they have published none."""
        with self.session() as session:
            return session.scalar(select(PublicKey.key).join(User, User.id == PublicKey.user_id)
                                  .where(User.name == name))

"""The server's database, through SQLAlchemy 2.x: users, their logins, who is connected now,
their contacts and how many messages each has sent and received."""
# pylint cannot see that SQLAlchemy's ``Mapped`` is generic: ``Mapped[int]`` is its own idiom.
# pylint: disable=unsubscriptable-object
import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, create_engine, delete, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from constants import MAX_NAME_LENGTH
from passwords import DEFAULT_ITERATIONS, derive_key, new_salt


class Base(DeclarativeBase):
    """The base of every table of the server."""


class User(Base):
    """Every account; the password rests as a salted slow hash (see passwords.py)."""

    __tablename__ = 'users'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), unique=True)
    last_login: Mapped[datetime.datetime | None]
    salt: Mapped[str | None]
    iterations: Mapped[int | None]
    password_key: Mapped[bytes | None]


class LoginHistory(Base):
    """One row per login: when, and from which address and port."""

    __tablename__ = 'login_history'
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'))
    time: Mapped[datetime.datetime]
    ip: Mapped[str]
    port: Mapped[int]
    user: Mapped[User] = relationship()


class ActiveUser(Base):
    """The users connected right now."""

    __tablename__ = 'active_users'
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'), unique=True)
    ip: Mapped[str]
    port: Mapped[int]
    login_time: Mapped[datetime.datetime]
    user: Mapped[User] = relationship()


class Contact(Base):
    """One entry of a user's contact list."""

    __tablename__ = 'contacts'
    __table_args__ = (UniqueConstraint('user_id', 'contact_id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'))
    contact_id: Mapped[int] = mapped_column(ForeignKey('users.id'))


class MessageCount(Base):
    """How many messages a user has sent and received."""

    __tablename__ = 'message_counts'
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id'), primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
    received: Mapped[int] = mapped_column(default=0)


def use_write_ahead_log(connection, _record):
    """Make SQLite commits cheap: the server commits every turn of its loop."""
    cursor = connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.close()


class ServerStorage:
    """The server's database. Each method is one transaction, safe to call from any thread."""

    def __init__(self, url):
        """Open (and create if needed) the database at a SQLAlchemy ``url``."""
        self.engine = create_engine(url)
        if self.engine.dialect.name == 'sqlite':
            event.listen(self.engine, 'connect', use_write_ahead_log)
        Base.metadata.create_all(self.engine)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        with self.session.begin() as session:
            # Whoever was connected when the server last stopped is not connected now.
            session.execute(delete(ActiveUser))

    def __contains__(self, name):
        """Tell whether ``name`` has ever logged in: ``'alice' in storage``."""
        with self.session() as session:
            return session.scalar(select(User.id).where(User.name == name)) is not None

    def user_login(self, name, ip, port):
        """Record that ``name`` logged in from ``ip:port``."""
        now = datetime.datetime.now()
        with self.session.begin() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                user = User(name=name, last_login=now)
                session.add(user)
                session.flush()         # gives the new user its id
            user.last_login = now
            session.add(LoginHistory(user=user, time=now, ip=ip, port=port))
            session.execute(delete(ActiveUser).where(ActiveUser.user_id == user.id))
            session.add(ActiveUser(user=user, ip=ip, port=port, login_time=now))

    def user_logout(self, name):
        """Record that ``name`` is no longer connected."""
        with self.session.begin() as session:
            user_id = select(User.id).where(User.name == name).scalar_subquery()
            session.execute(delete(ActiveUser).where(ActiveUser.user_id == user_id))

    def users_list(self):
        """Return ``[(name, last login)]`` of every user, by name."""
        with self.session() as session:
            return session.execute(select(User.name, User.last_login).order_by(User.name)).all()

    def active_users_list(self):
        """Return ``[(name, ip, port, login time)]`` of the users connected now."""
        with self.session() as session:
            query = (select(User.name, ActiveUser.ip, ActiveUser.port, ActiveUser.login_time)
                     .join(ActiveUser.user).order_by(User.name))
            return session.execute(query).all()

    def login_history(self, name=None):
        """Return ``[(name, time, ip, port)]`` of every login, or of ``name``'s, oldest first."""
        with self.session() as session:
            query = (select(User.name, LoginHistory.time, LoginHistory.ip, LoginHistory.port)
                     .join(LoginHistory.user).order_by(LoginHistory.id))
            if name is not None:
                query = query.where(User.name == name)
            return session.execute(query).all()

    def add_user(self, name, password, iterations=DEFAULT_ITERATIONS):
        """Create ``name`` with ``password``, or give an existing user a new password."""
        salt = new_salt()
        key = derive_key(password, salt, iterations)
        with self.session.begin() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                user = User(name=name)
                session.add(user)
            user.salt, user.iterations, user.password_key = salt, iterations, key

    def password_record(self, name):
        """Return ``(salt, iterations, key)`` of ``name``, or None for a user without one."""
        with self.session() as session:
            row = session.execute(select(User.salt, User.iterations, User.password_key)
                                  .where(User.name == name)).first()
        return tuple(row) if row is not None and row.password_key is not None else None

    def user_names(self):
        """Return the names of every user, sorted."""
        with self.session() as session:
            return list(session.scalars(select(User.name).order_by(User.name)))

    def contacts(self, name):
        """Return the names in ``name``'s contact list, sorted."""
        with self.session() as session:
            owner = select(User.id).where(User.name == name).scalar_subquery()
            query = (select(User.name).join(Contact, Contact.contact_id == User.id)
                     .where(Contact.user_id == owner).order_by(User.name))
            return list(session.scalars(query))

    def add_contact(self, name, contact):
        """Add ``contact`` to ``name``'s list; return False if either user is unknown."""
        with self.session.begin() as session:
            owner_id, contact_id = self._user_ids(session, name, contact)
            if owner_id is None or contact_id is None:
                return False
            exists = select(Contact.id).where(Contact.user_id == owner_id,
                                              Contact.contact_id == contact_id)
            if session.scalar(exists) is None:
                session.add(Contact(user_id=owner_id, contact_id=contact_id))
            return True

    def remove_contact(self, name, contact):
        """Remove ``contact`` from ``name``'s list; return False if it was not there."""
        with self.session.begin() as session:
            owner_id, contact_id = self._user_ids(session, name, contact)
            result = session.execute(delete(Contact).where(Contact.user_id == owner_id,
                                                           Contact.contact_id == contact_id))
            return result.rowcount > 0

    def add_message_counts(self, counts):
        """Add ``{name: (sent, received)}`` to the counters, all in one transaction."""
        with self.session.begin() as session:
            for name, (sent, received) in counts.items():
                user_id = session.scalar(select(User.id).where(User.name == name))
                if user_id is None:
                    continue
                row = session.get(MessageCount, user_id) or MessageCount(
                    user_id=user_id, sent=0, received=0)
                row.sent += sent
                row.received += received
                session.add(row)

    def message_stats(self):
        """Return ``[(name, last login, sent, received)]`` for every user, by name."""
        with self.session() as session:
            query = (select(User.name, User.last_login, MessageCount.sent, MessageCount.received)
                     .outerjoin(MessageCount).order_by(User.name))
            return [(name, when, sent or 0, received or 0)
                    for name, when, sent, received in session.execute(query)]

    @staticmethod
    def _user_ids(session, *names):
        return [session.scalar(select(User.id).where(User.name == name)) for name in names]

"""The client's database, through SQLAlchemy 2.x: known users, contacts, message history."""
import datetime

from sqlalchemy import String, create_engine, delete, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from constants import MAX_NAME_LENGTH


class Base(DeclarativeBase):
    """The base of every table of the client."""


class KnownUser(Base):
    """A user the server knows, as of the last ``get_users``."""

    __tablename__ = 'known_users'
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), primary_key=True)


class Contact(Base):
    """A name in this user's contact list."""

    __tablename__ = 'contacts'
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), primary_key=True)


class Message(Base):
    """One message sent or received; ``peer`` is the other side (or ``#all``)."""

    __tablename__ = 'messages'
    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[datetime.datetime]
    peer: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    sender: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    outgoing: Mapped[bool]
    text: Mapped[str]


class ClientStorage:
    """One user's database. Each method is one transaction, safe to call from any thread."""

    def __init__(self, url):
        """Open (and create if needed) the database at a SQLAlchemy ``url``."""
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def set_known_users(self, names):
        """Replace the list of known users."""
        self._replace(KnownUser, names)

    def known_users(self):
        """Return the known users' names, sorted."""
        return self._names(KnownUser)

    def set_contacts(self, names):
        """Replace the contact list with the server's."""
        self._replace(Contact, names)

    def add_contact(self, name):
        """Add ``name`` to the contacts."""
        with self.session.begin() as session:
            session.merge(Contact(name=name))

    def remove_contact(self, name):
        """Remove ``name`` from the contacts."""
        with self.session.begin() as session:
            session.execute(delete(Contact).where(Contact.name == name))

    def contacts(self):
        """Return the contacts' names, sorted."""
        return self._names(Contact)

    def save_message(self, peer, sender, outgoing, text):
        """Keep one message of the conversation with ``peer``."""
        with self.session.begin() as session:
            session.add(Message(time=datetime.datetime.now(), peer=peer, sender=sender,
                                outgoing=outgoing, text=text))

    def history(self, peer=None):
        """Return ``[(time, sender, peer, text)]``, oldest first: all, or with ``peer``."""
        with self.session() as session:
            query = select(Message.time, Message.sender, Message.peer, Message.text)
            if peer is not None:
                query = query.where(Message.peer == peer)
            return session.execute(query.order_by(Message.id)).all()

    def _replace(self, table, names):
        with self.session.begin() as session:
            session.execute(delete(table))
            session.add_all(table(name=name) for name in set(names))

    def _names(self, table):
        with self.session() as session:
            return list(session.scalars(select(table.name).order_by(table.name)))

"""The nodes' news over PostgreSQL's LISTEN/NOTIFY, on a connection the loop selects on.

When several servers share one PostgreSQL database, each commit that stores messages or
events also notifies the channel ``jim`` with what changed (``messages`` or ``events``),
never the data: every node then reads the rows after its own cursors. A node that misses a
notification reads them anyway at its next poll (once a second); one whose connection is
lost reopens it and catches up from its cursors.

The same connection holds an advisory lock that makes one node the leader (the one that
declares the silent nodes dead): if the leader dies, its connection closes, the lock is
free, and another node takes it.
"""
from __future__ import annotations

import logging

import psycopg
from sqlalchemy.engine import make_url

from jim_server.storage import CHANNEL

logger = logging.getLogger(__name__)
LEADER_LOCK = 0x4A494D          # the advisory lock of the leader ('JIM')


class BusError(Exception):
    """The listening connection failed; open the bus again later."""


class Bus:
    """A listening connection to the PostgreSQL database at ``url`` (SQLAlchemy's URL),
    called ``name`` there."""

    def __init__(self, url: str, name: str = 'jim-server') -> None:
        self.dsn = make_url(url).set(drivername='postgresql') \
            .render_as_string(hide_password=False)
        self.name = name                # its application_name, seen in pg_stat_activity
        self.connection: psycopg.Connection[tuple[object, ...]] | None = None
        self.leader = False

    def open(self) -> None:
        """Connect and listen; raise BusError if the database cannot be reached."""
        try:
            self.connection = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5,
                                              application_name=self.name)
            self.connection.execute(f'LISTEN {CHANNEL}')
        except psycopg.Error as err:
            self.close()
            raise BusError(f'cannot listen: {err}') from err
        self.leader = False

    def fileno(self) -> int:
        """The socket to select on for reading."""
        assert self.connection is not None
        return self.connection.fileno()

    def drain(self) -> dict[str, int]:
        """Read what arrived; return, per kind (messages, events), the last position
        notified. Never blocks."""
        assert self.connection is not None
        pgconn = self.connection.pgconn
        try:
            pgconn.consume_input()
        except psycopg.Error as err:
            raise BusError(f'the listening connection failed: {err}') from err
        news: dict[str, int] = {}
        while (note := pgconn.notifies()) is not None:
            kind, _, position = note.extra.decode('ascii', 'replace').partition(':')
            if position.isdigit():
                news[kind] = max(news.get(kind, 0), int(position))
        if pgconn.status != psycopg.pq.ConnStatus.OK:
            raise BusError('the listening connection is closed')
        return news

    def lead(self) -> bool:
        """Try to become (or stay) the leader; tell whether this node is."""
        if not self.leader and self.connection is not None:
            try:
                row = self.connection.execute('SELECT pg_try_advisory_lock(%s)',
                                              (LEADER_LOCK,)).fetchone()
            except psycopg.Error as err:
                raise BusError(f'cannot take the leader lock: {err}') from err
            self.leader = bool(row and row[0])
            if self.leader:
                logger.info('this node leads: it declares silent nodes dead')
        return self.leader

    def close(self) -> None:
        """Close the connection (the leader lock goes with it)."""
        if self.connection is not None:
            try:
                self.connection.close()
            except psycopg.Error:
                pass
        self.connection = None
        self.leader = False

"""SQLite's write-ahead log copied into the database file by a thread of its own.

SQLite checkpoints by itself at the end of the commit that takes the log past
``wal_autocheckpoint`` pages (1000 by default), in the thread that committed: the server's
loop, which then waits for the disk (up to 6 ms here, every 200 or so small turns). Instead, a
``Checkpointer`` copies the log a few times a second while the loop goes on (sqlite3 lets go
of the GIL while it works).

A checkpoint from another thread never waits for the writer, so under a steady stream of
commits it may never find the log wholly copied, and only then does SQLite start the log
again from its beginning. The commit's own checkpoint stays as a backstop, at
``BACKSTOP_PAGES`` (about 40 MB): the log stays bounded, and a commit pays for a
checkpoint ten times more rarely, and then mostly for what was copied already.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

logger = logging.getLogger(__name__)

BACKSTOP_PAGES = 10_000      # wal_autocheckpoint of the server's connections


class Checkpointer:
    """Checkpoint the SQLite database of ``engine`` every ``interval`` seconds, in a thread,
    until ``stop``."""

    def __init__(self, engine: Engine, interval: float = 0.2) -> None:
        self.engine = engine
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name='checkpoint', daemon=True)
        self.thread.start()

    def run(self) -> None:
        """Checkpoint until ``stop``. A failure (a full disk) is logged once and tried
        again each time; the backstop still bounds the log."""
        connection: PoolProxiedConnection | None = None
        failing = False
        while not self.stopping.wait(self.interval):
            try:
                connection = connection or self.engine.raw_connection()
                connection.cursor().execute('PRAGMA wal_checkpoint(PASSIVE)').fetchall()
            except Exception:  # pylint: disable=broad-except  # the next time may work
                if not failing:
                    logger.exception('cannot checkpoint the database')
                failing = True
                if connection is not None:
                    connection.invalidate()
                connection = None
                continue
            if failing:
                logger.info('checkpoints work again')
                failing = False
        if connection is not None:
            connection.close()

    def stop(self) -> None:
        """End the thread (the last connection to close copies what is left)."""
        self.stopping.set()
        self.thread.join()

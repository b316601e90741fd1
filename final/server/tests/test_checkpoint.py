"""SQLite's log is copied into the database by the checkpointer's thread; a commit copies it
only past the backstop, so the log stays bounded."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import logging
import time

from sqlalchemy import create_engine

from jim_server import storage as storage_module
from jim_server.checkpoint import BACKSTOP_PAGES, Checkpointer
from jim_server.storage import NewMessage, Storage


def wait_for(condition, timeout=10.0):
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.01)


def turn(count=40):
    """Return a turn of ``count`` messages to as many users."""
    return [NewMessage(1.0, 'alice', f'u{n}', 'x' * 200) for n in range(count)]


def test_the_log_reaches_the_database_file_without_a_commit_copying_it(tmp_path):
    storage = Storage(f'sqlite:///{tmp_path}/s.db')
    try:
        empty = (tmp_path / 's.db').stat().st_size
        for _ in range(50):                       # far fewer pages than the backstop
            storage.store(turn(), {})
        with storage.engine.connect() as connection:
            pages = connection.exec_driver_sql('PRAGMA wal_autocheckpoint').scalar()
        assert pages == BACKSTOP_PAGES
        wait_for(lambda: (tmp_path / 's.db').stat().st_size > empty + 400_000)
    finally:
        storage.close()


def test_the_log_stays_bounded_under_a_steady_stream_of_commits(tmp_path, monkeypatch):
    monkeypatch.setattr(storage_module, 'BACKSTOP_PAGES', 200)
    storage = Storage(f'sqlite:///{tmp_path}/s.db')
    log, largest = tmp_path / 's.db-wal', 0
    try:
        for _ in range(300):                      # about 30 MB of log without the backstop
            storage.store(turn(160), {})
            largest = max(largest, log.stat().st_size)
    finally:
        storage.close()
    assert largest < 4 << 20, largest


def test_a_failing_checkpoint_is_logged_once(caplog):
    engine = create_engine('sqlite:////proc/no-such-folder/s.db')      # cannot open
    attempts = []
    connect = engine.raw_connection

    def counted():
        attempts.append(1)
        return connect()

    engine.raw_connection = counted
    with caplog.at_level(logging.ERROR, logger='jim_server.checkpoint'):
        checkpointer = Checkpointer(engine, interval=0.001)
        try:
            wait_for(lambda: len(attempts) >= 5)
        finally:
            checkpointer.stop()
    assert [record.message for record in caplog.records] == ['cannot checkpoint the database']

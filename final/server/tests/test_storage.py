"""The database: accounts as SCRAM verifiers, positions and cursors, rooms, schema versions."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import sessionmaker

from jim.scram import ScramClient, ScramServer

from jim_server import storage as storage_module
from jim_server.storage import (SCHEMA_VERSION, NewMessage, SchemaVersion, Storage,
                                StorageError)

RELEASE_0_1_0 = Path(__file__).parent / 'data' / 'release-0.1.0.sql'


@pytest.fixture
def storage(tmp_path):
    """Return a storage on a fresh SQLite file with alice and bob."""
    store = Storage(f'sqlite:///{tmp_path}/s.db')
    for name in ('alice', 'bob'):
        store.add_user(name, f'{name}-pw', iterations=4096)
    yield store
    store.close()


def note(sender, to, words, client_id=None):
    """Return a message to store."""
    return NewMessage(1.0, sender, to, words, client_id=client_id)


def test_verifier_logs_in_and_holds_no_password(tmp_path):
    storage = Storage(f'sqlite:///{tmp_path}/p.db')
    storage.add_user('alice', 'пароль', iterations=4096)
    client, server = ScramClient('alice', 'пароль'), ScramServer()
    server.read_first(client.first_message())
    client.verify_server(server.finish(client.final_message(
        server.challenge(storage.verifier('alice')))))
    storage.close()
    assert 'пароль'.encode() not in b''.join(p.read_bytes() for p in tmp_path.glob('p.db*'))


def test_positions_increase_in_the_order_of_the_batch(storage):
    first = storage.store([note('alice', 'bob', 'one'), note('alice', '#all', 'two')], {})
    second = storage.store([note('bob', 'alice', 'three')], {})
    positions = [item.position for item in first + second]
    assert positions == sorted(positions) == list(range(1, 4))
    assert storage.last_position() == 3


def test_the_inbox_is_what_comes_after_the_cursor(storage):
    storage.store([note('alice', 'bob', 'direct'), note('alice', '#all', 'to all'),
                   note('bob', '#all', 'own'), note('alice', '#py', 'room, before'),
                   note('alice', 'carol', 'not for bob')], {})
    since = storage.join_room('bob', '#py')
    storage.store([note('alice', '#py', 'room, after')], {'bob': 1})
    account = storage.account('bob')
    assert (account.delivered, account.rooms) == (1, {'#py': since})
    inbox = storage.inbox('bob', account.delivered, account.rooms, limit=10)
    assert [item.text for item in inbox] == ['to all', 'room, after']
    assert [item.text for item in storage.inbox('bob', 0, {}, limit=1)] == ['direct']


def test_a_new_account_does_not_get_what_was_written_before_it(storage):
    storage.store([note('alice', '#all', 'old news')], {})
    storage.add_user('carol', 'pw', iterations=4096)
    account = storage.account('carol')
    assert storage.inbox('carol', account.delivered, account.rooms, limit=10) == []


def test_an_id_sent_again_is_stored_once(storage):
    first = storage.store([note('alice', 'bob', 'hi', 'm1'), note('bob', 'alice', 'hi', 'm1')],
                          {})
    assert [item.duplicate for item in first] == [False, False]   # ids are per sender
    again = storage.store([note('alice', 'bob', 'hi', 'm1'), note('alice', 'bob', 'new', 'm2'),
                           note('alice', 'bob', 'new', 'm2')], {})
    assert [(item.position, item.duplicate) for item in again] == \
        [(first[0].position, True), (3, False), (3, True)]
    assert storage.last_position() == 3
    only_again = storage.store([note('bob', 'alice', 'hi', 'm1')], {})
    assert [(item.position, item.duplicate) for item in only_again] == [(2, True)]
    assert storage.store([note('bob', 'alice', 'next')], {})[0].position == 4    # no gap


def test_a_turn_of_many_ids_sent_again_is_stored_once(storage):
    # More ids than one query asks about.
    batch = [note('alice', 'bob', str(n), f'id-{n}') for n in range(450)]
    assert [item.position for item in storage.store(batch, {})] == list(range(1, 451))
    again = storage.store(batch + [note('alice', 'bob', 'new', 'id-new')], {})
    assert [(item.position, item.duplicate) for item in again] == \
        [(n, True) for n in range(1, 451)] + [(451, False)]


def test_a_turn_that_fails_stores_nothing_and_the_next_one_works(storage):
    storage.store([note('alice', 'bob', 'one')], {})
    with storage.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.text = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
    with pytest.raises(StorageError, match='poisoned'):
        storage.store([note('alice', 'bob', 'two'), note('alice', 'bob', 'poison')],
                      {'bob': 1})
    assert storage.account('bob').delivered == 0              # the cursor did not move
    assert [item.position for item in storage.store([note('alice', 'bob', 'three')], {})] == [2]
    assert [item.text for item in storage.inbox('bob', 0, {}, 10)] == ['one', 'three']


def test_the_query_for_ids_sent_before_uses_their_index(storage):
    # pylint: disable=protected-access
    query = storage._sql.sent_before(3)
    with storage.engine.connect() as connection:
        plan = str(connection.exec_driver_sql(f'EXPLAIN QUERY PLAN {query}',
                                              ('alice', 'x') * 3).all())
    assert 'INDEX messages_sender_client_id' in plan and 'SCAN messages' not in plan, plan


def test_rooms_are_kept(storage):
    since = storage.join_room('alice', '#py')
    assert storage.join_room('alice', '#py') == since          # joining twice changes nothing
    storage.join_room('bob', '#py')
    assert storage.room_members('#py') == ['alice', 'bob']
    storage.leave_room('alice', '#py')
    assert storage.room_members('#py') == ['bob']
    assert storage.account('alice').rooms == {}


def test_the_secret_is_kept(storage, tmp_path):
    secret = storage.secret('unknown-names')
    storage.close()
    again = Storage(f'sqlite:///{tmp_path}/s.db')
    assert again.secret('unknown-names') == secret and len(secret) == 32
    assert again.secret('other') != secret
    again.close()


def test_every_query_of_a_login_and_a_delivery_uses_an_index(storage):
    storage.join_room('bob', '#py')
    with storage.engine.connect() as connection:
        for source in ('bob', '#all', '#py'):
            plan = connection.execute(text(
                'EXPLAIN QUERY PLAN SELECT id FROM messages WHERE "to" = :to AND id > 5 '
                'AND sender != :me ORDER BY id LIMIT 10'), {'to': source, 'me': 'bob'}).all()
            assert 'USING INDEX messages_to_id' in str(plan) or \
                'USING COVERING INDEX messages_to_id' in str(plan), plan
            assert 'SCAN messages' not in str(plan), plan


def test_a_failing_database_raises_storage_error(storage):
    storage.engine = create_engine('sqlite:////proc/no-such-folder/s.db')   # cannot open
    storage.session = sessionmaker(storage.engine)
    for call in (lambda: storage.store([note('alice', 'bob', 'x')], {}),
                 lambda: storage.add_contact('alice', 'bob'), lambda: storage.exists('bob'),
                 lambda: storage.inbox('bob', 0, {}, 10), lambda: storage.set_key('bob', 'k')):
        with pytest.raises(StorageError):
            call()


def test_newer_database_is_refused(tmp_path):
    url = f'sqlite:///{tmp_path}/new.db'
    store = Storage(url)
    with store.session.begin() as session:
        session.scalar(select(SchemaVersion)).version = SCHEMA_VERSION + 1
    store.close()
    with pytest.raises(RuntimeError, match='upgrade the server'):
        Storage(url)


def test_the_database_of_release_0_1_0_is_upgraded_and_loses_nothing(tmp_path):
    path = tmp_path / 'old.db'
    with sqlite3.connect(path) as connection:
        connection.executescript(RELEASE_0_1_0.read_text(encoding='utf-8'))
    storage = Storage(f'sqlite:///{path}')
    try:
        def mail(name):
            account = storage.account(name)
            return [item.text for item in storage.inbox(name, account.delivered,
                                                        account.rooms, 100)]
        # bob logged out before "missed by bob", and two messages were kept for him.
        assert mail('bob') == ['missed by bob', 'kept for bob 1', 'kept for bob 2']
        assert mail('carol') == ['kept for carol']
        assert mail('alice') == []
        assert storage.contacts('alice') == ['bob'] and storage.get_key('bob')
        assert storage.user_names() == ['alice', 'bob', 'carol']
        with storage.engine.connect() as connection:
            assert connection.scalar(select(SchemaVersion.version)) == SCHEMA_VERSION == 4
            tables = set(connection.scalars(text("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")))
        assert 'pending' not in tables
        ScramClient('bob', 'bob-pw')        # the verifiers are untouched: log in with them
        server = ScramServer()
        client = ScramClient('bob', 'bob-pw')
        server.read_first(client.first_message())
        client.verify_server(server.finish(client.final_message(
            server.challenge(storage.verifier('bob')))))
    finally:
        storage.close()


def test_version_1_database_is_upgraded(tmp_path):
    path = tmp_path / 'v1.db'
    with sqlite3.connect(path) as connection:          # release 0.1.0, back to version 1
        connection.executescript(RELEASE_0_1_0.read_text(encoding='utf-8'))
        connection.executescript('ALTER TABLE messages DROP COLUMN encoding;'
                                 'ALTER TABLE users DROP COLUMN last_seen;'
                                 'UPDATE schema_version SET version = 1;')
    storage = Storage(f'sqlite:///{path}')
    try:
        inbox = storage.inbox('carol', 0, {}, 100)
        assert [(item.text, item.encoding) for item in inbox][-1] == ('kept for carol', 'utf-8')
    finally:
        storage.close()


def test_a_conversation_s_pages_use_indexes(storage):
    with storage.engine.connect() as connection:
        for query, values in (
                ('SELECT id FROM messages WHERE "to" = :a AND sender = :b AND id < 99 '
                 'ORDER BY id DESC LIMIT 10', {'a': 'bob', 'b': 'alice'}),
                ('SELECT id FROM messages WHERE "to" = :a AND id < 99 AND id > 3 '
                 'ORDER BY id DESC LIMIT 10', {'a': '#py'})):
            plan = str(connection.execute(text('EXPLAIN QUERY PLAN ' + query), values).all())
            assert 'INDEX messages_to' in plan and 'SCAN messages' not in plan, plan
            assert 'TEMP B-TREE' not in plan, plan             # no sort: the index's order


def test_the_queries_of_a_login_use_indexes(storage):
    # The verifier, the account and its rooms, the watchers, the contacts: no full scan.
    # pylint: disable=protected-access
    queries = (storage_module._VERIFIER, storage_module._ACCOUNT, storage_module._WATCHERS,
               storage_module._CONTACTS)
    with storage.engine.connect() as connection:
        for query in queries:
            compiled = query.compile(dialect=storage.engine.dialect)
            plan = str(connection.exec_driver_sql(
                f'EXPLAIN QUERY PLAN {compiled}',
                tuple('bob' for _ in compiled.positiontup or ())).all())
            for table in ('users', 'contacts', 'room_members'):
                assert f'SCAN {table}' not in plan, (str(compiled), plan)

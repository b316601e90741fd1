"""The database: accounts as SCRAM verifiers, pending messages, schema versions."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import pytest
from sqlalchemy import select, text

from jim.scram import ScramClient, ScramServer

from jim_server.storage import SCHEMA_VERSION, SchemaVersion, Storage, StoredMessage


@pytest.fixture
def storage(tmp_path):
    """Return a storage on a fresh SQLite file."""
    store = Storage(f'sqlite:///{tmp_path}/s.db')
    yield store
    store.close()


def test_verifier_logs_in_and_holds_no_password(storage, tmp_path):
    storage.add_user('alice', 'пароль', iterations=4096)
    client, server = ScramClient('alice', 'пароль'), ScramServer()
    server.read_first(client.first_message())
    client.verify_server(server.finish(client.final_message(
        server.challenge(storage.verifier('alice')))))
    storage.close()
    assert 'пароль'.encode() not in b''.join(p.read_bytes() for p in tmp_path.glob('s.db*'))


def test_pending_messages_come_out_once_in_order(storage):
    storage.store_messages([StoredMessage(1.0, 'a', 'bob', 'one', ('bob',)),
                            StoredMessage(2.0, 'a', 'bob', 'two', ('bob',))])
    assert [m.text for m in storage.take_pending('bob')] == ['one', 'two']
    assert storage.take_pending('bob') == []


def test_newer_database_is_refused(tmp_path):
    url = f'sqlite:///{tmp_path}/new.db'
    store = Storage(url)
    with store.session.begin() as session:
        session.scalar(select(SchemaVersion)).version = SCHEMA_VERSION + 1
    store.close()
    with pytest.raises(RuntimeError, match='upgrade the server'):
        Storage(url)


def test_version_1_database_is_upgraded(tmp_path):
    url = f'sqlite:///{tmp_path}/old.db'
    store = Storage(url)
    store.store_messages([StoredMessage(1.0, 'a', 'b', 'kept from version 1')])
    with store.engine.begin() as connection:      # make it look like version 1
        connection.execute(text('ALTER TABLE messages DROP COLUMN encoding'))
        connection.execute(text('ALTER TABLE users DROP COLUMN last_seen'))
        connection.execute(text('UPDATE schema_version SET version = 1'))
    store.close()
    upgraded = Storage(url)
    try:
        assert [(m.text, m.encoding) for m in upgraded.history('a')] == \
            [('kept from version 1', 'utf-8')]
        with upgraded.session() as session:
            assert session.scalar(select(SchemaVersion)).version == SCHEMA_VERSION == 3
    finally:
        upgraded.close()


def test_missed_messages_to_all_since_the_last_logout(storage):
    storage.add_user('bob', 'pw', iterations=4096)
    storage.store_messages([StoredMessage(1.0, 'a', '#all', 'before')])
    assert storage.missed('bob') == []                 # never logged out: no replay
    storage.mark_seen('bob', 1.5)
    storage.store_messages([StoredMessage(2.0, 'a', '#all', 'while away'),
                            StoredMessage(3.0, 'bob', '#all', 'own'),
                            StoredMessage(4.0, 'a', 'carol', 'not for bob')])
    assert [m.text for m in storage.missed('bob')] == ['while away']

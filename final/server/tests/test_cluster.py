"""Several jim-server nodes on one PostgreSQL database make one messenger (issue 10).

Real nodes (processes) on loopback ports, a real PostgreSQL: a database of its own per test.
Without PostgreSQL these tests fail at once, saying so. ``JIM_CLUSTER_RUNS`` sets the runs of
the counting tests (``nox -s cluster`` runs many).
"""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest

from jim.constants import Action
from jim.messages import request
from jim_server.cluster import Cluster
from jim_server.storage import Storage, StorageError

from cluster import (Database, Node, PrivatePostgres, add_users, direct, log_in, next_msg,
                     next_presence, poll, reachable, users_online)

RUNS = int(os.environ.get('JIM_CLUSTER_RUNS', '2'))
USERS = ('alice', 'bob', 'carol', 'dave')


@pytest.fixture(scope='session')
def postgres():
    """Fail (not hang) at once when the PostgreSQL these tests need is not there."""
    why = reachable()
    if why:
        pytest.fail(f'PostgreSQL is not reachable ({why}); the cluster tests need it: start '
                    'it, or name one in JIM_TEST_POSTGRES')


@pytest.fixture
def cluster(postgres, tmp_path):  # pylint: disable=unused-argument  # needs postgres first
    """Yield a function that starts N nodes on a fresh database with USERS; stop them after."""
    made, databases = [], []

    def start(count, *flags, database=None):
        if database is None:
            database = Database()
            databases.append(database)
            add_users(database.url, *USERS)
        nodes = [Node(database.url, name, tmp_path, *flags).start()
                 for name in 'ABC'[:count]]
        made.extend(nodes)
        return nodes

    yield start
    for node in made:
        node.stop(signal.SIGKILL)
    for database in databases:
        database.drop()


def test_two_nodes_make_one_messenger(cluster):
    node_a, node_b = cluster(2)
    alice, bob, carol = log_in(node_a, 'alice'), log_in(node_b, 'bob'), log_in(node_b, 'carol')
    with alice, bob, carol:
        assert next_presence(alice)['user']['account_name'] in ('bob', 'carol')
        for number in range(50):
            assert alice.request(direct('bob', f'a->b {number}'))['response'] == 200
        assert [next_msg(bob)['message'] for _ in range(50)] == \
            [f'a->b {number}' for number in range(50)]
        assert bob.request(direct('alice', 'b->a'))['response'] == 200
        assert next_msg(alice)['message'] == 'b->a'
        assert carol.request(direct('#all', 'from B to all'))['response'] == 200
        assert (next_msg(alice)['message'], next_msg(bob)['message']) == ('from B to all',) * 2
        for conn in (alice, bob):
            assert conn.request(request(Action.JOIN, room='#py'))['response'] == 200
        assert alice.request(direct('#py', 'room across nodes'))['response'] == 200
        assert next_msg(bob)['message'] == 'room across nodes'
        assert users_online(alice) == ['alice', 'bob', 'carol'] == users_online(bob)
        assert alice.request(request(Action.ADD_CONTACT, user_id='carol'))['response'] == 200
        assert bob.request(request(Action.GET_CONTACTS))['contacts'] == []
        with pytest.raises(Exception, match='409'):
            log_in(node_a, 'bob')                         # one login per account
        carol.request(request(Action.QUIT))
        notice = poll(lambda: next_presence(alice))
        assert notice['user'] == {'account_name': 'carol', 'status': 'offline'}


def test_three_nodes(cluster):
    nodes = cluster(3)
    alice, bob, carol = (log_in(node, name) for node, name in zip(nodes, USERS))
    with alice, bob, carol:
        assert alice.request(direct('#all', 'hello, every node'))['response'] == 200
        assert next_msg(bob)['message'] == next_msg(carol)['message'] == 'hello, every node'
        assert carol.request(direct('alice', 'C to A'))['response'] == 200
        assert next_msg(alice)['message'] == 'C to A'
        assert users_online(bob) == ['alice', 'bob', 'carol']


@pytest.mark.parametrize('run', range(RUNS))
def test_a_login_during_a_flood_from_another_node_gets_everything_once(cluster, run):
    node_a, node_b = cluster(2)
    flood, count = [f'flood {run}.{number}' for number in range(1000)], [0]
    with log_in(node_a, 'alice') as alice:
        def send_all():
            for text in flood:
                alice.send(direct('bob', text))
                count[0] += 1
        sender = threading.Thread(target=send_all)
        sender.start()
        poll(lambda: count[0] >= 200 + 37 * run)          # bob logs in mid-flood
        with log_in(node_b, 'bob') as bob:
            got = [next_msg(bob)['message'] for _ in flood]
            sender.join(30)
            assert [alice.response()['response'] for _ in flood] == [200] * len(flood)
            assert got == flood                           # each once, in order
            bob.sock.settimeout(1.0)
            with pytest.raises(OSError):                  # and nothing more
                next_msg(bob)


@pytest.mark.parametrize('run', range(RUNS))
def test_messages_from_two_nodes_to_one_user_come_once_in_order(cluster, run):
    node_a, node_b = cluster(2)
    with log_in(node_a, 'bob') as bob, log_in(node_a, 'carol') as carol, \
            log_in(node_b, 'alice') as alice:
        senders = {'alice': alice, 'carol': carol}       # one on bob's node, one not
        threads = [threading.Thread(target=lambda c=conn, n=name: [
            c.send(direct('bob', f'{n} {run}.{number}')) for number in range(300)])
            for name, conn in senders.items()]
        for thread in threads:
            thread.start()
        got = [next_msg(bob) for _ in range(600)]
        for thread in threads:
            thread.join(30)
        positions = [item['position'] for item in got]
        assert positions == sorted(positions) and len(set(positions)) == 600
        for name in senders:
            assert [item['message'] for item in got if item['from'] == name] == \
                [f'{name} {run}.{number}' for number in range(300)]


def test_a_node_killed_under_traffic_loses_nothing_and_its_users_move(cluster):
    node_a, node_b = cluster(2)
    alice = log_in(node_a, 'alice')
    acked = []
    with log_in(node_b, 'bob') as bob, log_in(node_b, 'carol') as carol:
        for number in range(300):
            alice.send(direct('bob', f'before the kill {number}'))
        for number in range(150):                         # some answered, then the kill
            if alice.response()['response'] == 200:
                acked.append(f'before the kill {number}')
        node_a.stop(signal.SIGKILL)
        alice.close()
        got = []
        with pytest.raises(OSError):
            bob.sock.settimeout(5.0)
            while True:
                got.append(next_msg(bob)['message'])
        assert set(acked) <= set(got) and len(got) == len(set(got))
        killed = time.monotonic()
        notice = poll(lambda: next_presence(carol), timeout=15)
        assert notice['user'] == {'account_name': 'alice', 'status': 'offline'}
        again = poll(lambda: try_log_in(node_b, 'alice'), timeout=15)
        assert time.monotonic() - killed < 15
        again.close()


def try_log_in(node, name):
    """Log in, or None if refused (409 while the dead node still holds the user)."""
    try:
        return log_in(node, name)
    except Exception as err:  # pylint: disable=broad-except  # LoginError 409: not yet
        if '409' not in str(err):
            raise
        return None


def test_a_lost_listener_catches_up(cluster, tmp_path):
    node_a, node_b = cluster(2)
    with log_in(node_a, 'alice') as alice, log_in(node_b, 'bob') as bob:
        assert alice.request(direct('bob', 'before'))['response'] == 200
        assert next_msg(bob)['message'] == 'before'
        url = node_b.url.replace('postgresql+psycopg', 'postgresql')
        with psycopg.connect(url, autocommit=True) as admin:
            # This test's database only: another test's node may be called B too.
            killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = 'jim-bus B' "
                                   "AND datname = current_database()").fetchall()
        assert killed == [(True,)]
        texts = [f'after {number}' for number in range(20)]
        for text in texts:
            assert alice.request(direct('bob', text))['response'] == 200
        assert [next_msg(bob)['message'] for _ in texts] == texts
        poll(lambda: 'listening to the other nodes' in
             (tmp_path / 'node-B.log').read_text().split('trying again', 1)[-1],
             what='the listener reopened')


def test_a_database_restart_under_traffic(cluster):
    private = PrivatePostgres()
    try:
        database = Database(private.admin)
        add_users(database.url, *USERS)
        node_a, node_b = cluster(2, database=database)
        with log_in(node_a, 'alice') as alice, log_in(node_b, 'bob') as bob:
            assert alice.request(direct('bob', 'first'))['response'] == 200
            assert next_msg(bob)['message'] == 'first'
            private.stop()
            answer = alice.request(direct('bob', 'while it is down', 'down-1'))
            assert answer['response'] == 500                  # not stored: send it again
            private.start()
            restarted = time.monotonic()
            poll(lambda: alice.request(direct('bob', 'while it is down', 'down-1'))
                 ['response'] == 200, what='a message accepted again')
            assert next_msg(bob)['message'] == 'while it is down'
            assert time.monotonic() - restarted < 15
    finally:
        private.remove()


@pytest.mark.usefixtures('postgres')
def test_a_postgresql_database_of_release_0_1_0_is_upgraded():
    database = Database()
    try:
        dump = (Path(__file__).parent / 'data' / 'release-0.1.0.postgresql.sql').read_text()
        with psycopg.connect(database.dsn, autocommit=True) as connection:
            connection.execute(dump)
        storage = Storage(database.url)
        try:
            account = storage.account('bob')
            assert [item.text for item in storage.inbox('bob', account.delivered, {}, 10)] == \
                ['missed by bob', 'kept for bob 1', 'kept for bob 2']
            assert storage.contacts('alice') == ['bob'] and storage.get_key('bob')
            assert not storage.store([], {}) and storage.last_position() == 6
        finally:
            storage.close()
    finally:
        database.drop()


class DownDatabase:
    """Stands for a shared database that stopped answering."""

    cluster = True

    def messages_after(self, after, limit):
        """Fail, as a database that restarts does."""
        raise StorageError(f'cannot read after {after} ({limit})')


def test_news_that_cannot_be_read_wait_for_the_next_poll():
    # Were they tried again at once, the loop would commit and fail, and do nothing else,
    # for as long as the database is down.
    node = Cluster(DownDatabase(), 'a', time.time)
    node.notified('messages', 5)
    with pytest.raises(StorageError):
        node.messages_news([])
    assert not node.behind()
    node.poll()
    assert node.behind()

"""Offline delivery: a message to a user who is offline waits for their next login, in order."""
import time

import pytest

from wire import msg

pytestmark = pytest.mark.needs('offline', 'scram')


def test_messages_wait_for_the_next_login_in_order(server):
    with server.join('alice') as alice:
        for number in range(5):
            assert alice.request(msg('bob', f'while you were out {number}'))['response'] == 200
    with server.join('bob') as bob:
        texts = [bob.next_pushed()['message'] for _ in range(5)]
        assert texts == [f'while you were out {number}' for number in range(5)]
        assert bob.request({'action': 'get_users', 'time': time.time()})['response'] == 202
        assert bob.pushed_messages() == []              # delivered once, not twice


def test_messages_survive_a_restart(server):
    with server.join('alice') as alice:
        assert alice.request(msg('carol', 'before the restart'))['response'] == 200
    assert server.stop() == 0
    server.start()
    with server.join('carol') as carol:
        got = carol.next_pushed()
    assert (got['from'], got['message']) == ('alice', 'before the restart')


def test_unknown_user_still_gets_404(server):
    with server.join('alice') as alice:
        assert alice.request(msg('nobody', 'hello?'))['response'] == 404


def test_messages_to_all_missed_while_away_come_at_login(server):
    with server.join('bob') as bob:                    # bob has been here and left
        assert bob.request({'action': 'quit', 'time': time.time()})['response'] == 200
        assert bob.closed_by_server()
    with server.join('alice') as alice:
        assert alice.request(msg('#all', 'news while bob is away'))['response'] == 200
    with server.join('bob') as bob:
        got = bob.next_pushed()
    assert (got['from'], got['to'], got['message']) == ('alice', '#all', 'news while bob is away')

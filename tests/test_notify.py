"""The server announces to the others when a user comes or goes (presence with a status)."""
import time

import pytest

pytestmark = pytest.mark.needs('notify')


def test_others_hear_of_arrival_and_departure(server):
    with server.join('bob') as bob:
        with server.join('alice') as alice:
            notice = bob.next_pushed('presence')
            assert (notice['user']['account_name'], notice['user']['status']) == \
                ('alice', 'online')
            assert 'response' not in notice
            assert alice.request({'action': 'quit', 'time': time.time()})['response'] == 200
        notice = bob.next_pushed('presence')
        assert (notice['user']['account_name'], notice['user']['status']) == ('alice', 'offline')


def test_a_connection_that_never_said_presence_is_not_announced(server):
    with server.join('bob') as bob:
        server.connect().close()
        with server.join('alice'):
            notice = bob.next_pushed('presence')
        assert notice['user']['account_name'] == 'alice'

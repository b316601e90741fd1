"""A server with a database: users survive a restart; a known user who is offline gets 410."""
import time

import pytest

from wire import msg

pytestmark = pytest.mark.needs('storage')


def quit_message() -> dict:
    """Return a ``quit`` request stamped now."""
    return {'action': 'quit', 'time': time.time()}


def test_message_to_known_offline_user_gets_410(server):
    with server.join('bob') as bob:
        assert bob.request(quit_message())['response'] == 200
    with server.join('alice') as alice:
        response = alice.request(msg('bob', 'are you there?'))
        assert response['response'] == 410
        assert response['error']
        assert alice.request(msg('nobody', 'hello?'))['response'] == 404


def test_users_survive_a_restart(server):
    with server.join('bob') as bob:
        assert bob.request(quit_message())['response'] == 200
    assert server.stop() == 0
    server.start()
    with server.join('alice') as alice:
        assert alice.request(msg('bob', 'still remembered?'))['response'] == 410

"""Direct messages, unknown and absent users, name conflicts and quit."""
import time

import pytest

from wire import msg

pytestmark = pytest.mark.needs('direct')


def test_direct_message_reaches_only_its_recipient(server):
    with server.join('alice') as alice, server.join('bob') as bob, server.join('carol') as carol:
        assert alice.request(msg('bob', 'just for you'))['response'] == 200
        got = bob.next_pushed()
        assert (got['action'], got['from'], got['to'], got['message']) == \
            ('msg', 'alice', 'bob', 'just for you')
        # carol gets the next broadcast, not the direct message before it.
        assert alice.request(msg('#all', 'for everyone'))['response'] == 200
        assert carol.next_pushed()['message'] == 'for everyone'


def test_message_to_unknown_user_gets_404(server):
    with server.join('alice') as alice:
        response = alice.request(msg('nobody', 'hello?'))
    assert response['response'] == 404
    assert response['error']


def test_message_to_user_who_left_gets_404_or_410(server):
    with server.join('alice') as alice:
        with server.join('bob') as bob:
            assert bob.request({'action': 'quit', 'time': time.time()})['response'] == 200
        response = alice.request(msg('bob', 'are you there?'))
    if server.stage.has('offline'):
        assert response['response'] == 200        # kept for bob's next login
    else:
        assert response['response'] in (404, 410)


def test_name_in_use_gets_409(server):
    with server.join('alice'), server.connect() as impostor:
        response = server.introduce(impostor, 'alice')
    assert response['response'] == 409


def test_name_is_free_again_after_quit(server):
    alice = server.join('alice')
    assert alice.request({'action': 'quit', 'time': time.time()})['response'] == 200
    assert alice.closed_by_server()
    alice.close()
    with server.connect() as again:
        assert server.introduce(again, 'alice')['response'] == 200


def test_name_is_free_again_after_disconnect(server):
    server.join('alice').close()
    # The server learns of the close on its next read: poll until it has.
    deadline = time.monotonic() + 5
    while True:
        with server.connect() as again:
            code = server.introduce(again, 'alice')['response']
        if code != 409 or time.monotonic() > deadline:
            break
    assert code == 200


def test_message_to_self_is_delivered(server):
    with server.join('alice') as alice:
        assert alice.request(msg('alice', 'note to self'))['response'] == 200
        assert alice.next_pushed()['message'] == 'note to self'

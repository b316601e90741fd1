"""Rooms: join and leave #name; a room message reaches the members, and only them."""
import time

import pytest

from wire import msg

pytestmark = pytest.mark.needs('rooms')


def room(action: str, name: str) -> dict:
    """Return a ``join`` or ``leave`` request for the room ``name``."""
    return {'action': action, 'time': time.time(), 'room': name}


def test_room_message_reaches_members_only(server):
    with server.join('alice') as alice, server.join('bob') as bob, server.join('carol') as carol:
        for member in (alice, bob):
            assert member.request(room('join', '#python'))['response'] == 200
        assert alice.request(msg('#python', 'hello room'))['response'] == 200
        got = bob.next_pushed()
        assert (got['from'], got['to'], got['message']) == ('alice', '#python', 'hello room')
        assert alice.request(msg('#all', 'hello all'))['response'] == 200
        assert carol.next_pushed()['message'] == 'hello all'     # not the room message


def test_leaving_a_room_stops_its_messages(server):
    with server.join('alice') as alice, server.join('bob') as bob:
        for member in (alice, bob):
            member.request(room('join', '#go'))
        assert bob.request(room('leave', '#go'))['response'] == 200
        assert alice.request(msg('#go', 'anyone?'))['response'] == 200
        assert alice.request(msg('#all', 'marker'))['response'] == 200
        assert bob.next_pushed()['message'] == 'marker'


def test_writing_to_a_room_one_has_not_joined_is_forbidden(server):
    with server.join('alice') as alice:
        assert alice.request(msg('#secret', 'hi'))['response'] == 403


@pytest.mark.parametrize('name', ['python', '#', '#with space', '#' + 'x' * 26])
def test_bad_room_names_get_400(server, name):
    with server.join('alice') as alice:
        assert alice.request(room('join', name))['response'] == 400

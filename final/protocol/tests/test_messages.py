"""Checking requests and building messages."""
import math

import pytest

from jim.constants import Action, Status
from jim.messages import (Ack, ContactRequest, Msg, Presence, ProtocolError, RoomRequest,
                          SimpleRequest, ack, msg, parse_request, parse_response, presence,
                          request, response)


def test_presence_and_msg_parse_to_typed_requests():
    assert parse_request(presence('alice', 'away')) == Presence(
        pytest.approx(0, abs=1e10), 'alice', 'away')
    assert isinstance(parse_request(msg('#all', 'hi')), Msg)
    assert parse_request(msg('bob', 'hi')).to == 'bob'


def test_rooms_contacts_and_simple_requests():
    assert parse_request(request(Action.JOIN, room='#python')).room == '#python'
    assert isinstance(parse_request(request(Action.ADD_CONTACT, user_id='bob')),
                      ContactRequest)
    assert isinstance(parse_request(request(Action.GET_USERS)), SimpleRequest)
    assert isinstance(parse_request(request(Action.LEAVE, room='#a-b_c')), RoomRequest)


@pytest.mark.parametrize('message', [
    {}, {'action': 'dance', 'time': 1}, {'action': 5, 'time': 1}, {'action': 'quit'},
    {'action': 'quit', 'time': 'now'}, {'action': 'quit', 'time': True},
    {'action': 'quit', 'time': math.nan}, {'action': 'quit', 'time': math.inf},
    {'action': 'presence', 'time': 1}, {'action': 'presence', 'time': 1, 'user': 'x'},
    {'action': 'presence', 'time': 1, 'user': {'account_name': ''}},
    {'action': 'presence', 'time': 1, 'user': {'account_name': 'x' * 26}},
    {'action': 'presence', 'time': 1, 'user': {'account_name': '#room'}},
    {'action': 'presence', 'time': 1, 'user': {'account_name': 'a\nb'}},
    {'action': 'msg', 'time': 1, 'to': 'bob'},
    {'action': 'msg', 'time': 1, 'to': 'bob', 'message': 'я' * 501},
    {'action': 'msg', 'time': 1, 'to': '#bad room', 'message': 'x'},
    {'action': 'join', 'time': 1, 'room': 'python'},
    {'action': 'probe', 'time': 1},
    {'action': 'quit', 'time': 10 ** 400}, {'action': 'quit', 'time': -1e300},
    {'action': 'ack', 'time': 1}, {'action': 'ack', 'time': 1, 'position': -1},
    {'action': 'ack', 'time': 1, 'position': 2 ** 63},
    {'action': 'ack', 'time': 1, 'position': 1.5},
    {'action': 'msg', 'time': 1, 'to': 'bob', 'message': 'x', 'id': ''},
    {'action': 'msg', 'time': 1, 'to': 'bob', 'message': 'x', 'id': 7},
    {'action': 'msg', 'time': 1, 'to': 'bob', 'message': 'x', 'id': 'i' * 65},
    {'action': 'authenticate', 'time': 1, 'user': {'account_name': 'a'}, 'scram': 'n,,',
     'acks': 'yes'},
], ids=str)
def test_bad_requests_raise_400(message):
    with pytest.raises(ProtocolError) as caught:
        parse_request(message)
    assert caught.value.status == Status.BAD_REQUEST


def test_ack_and_message_ids():
    assert parse_request(ack(2 ** 63 - 1)) == Ack(pytest.approx(0, abs=1e10), 2 ** 63 - 1)
    assert parse_request(msg('bob', 'hi', message_id='c-1')).id == 'c-1'
    assert parse_request(msg('bob', 'hi')).id is None


def test_response_text_goes_to_alert_or_error():
    assert response(200, 'OK')['alert'] == 'OK'
    assert response(404, 'no')['error'] == 'no'
    assert response(202, 'list', users=['a'])['users'] == ['a']


@pytest.mark.parametrize('status', list(Status))
def test_every_status_builds_a_valid_response(status):
    assert parse_response(response(status, 'text')) == status


def test_bad_responses_are_refused():
    for bad in ({}, {'response': 299}, {'response': '200'}, {'response': 400, 'error': 5}):
        with pytest.raises(ProtocolError):
            parse_response(bad)

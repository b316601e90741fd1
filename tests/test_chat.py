"""The common chat: msg to "#all" reaches every other connected client."""
import pytest

from wire import msg, presence

pytestmark = pytest.mark.needs('chat')


def test_message_to_all_reaches_every_other_client(server):
    with server.join('alice') as alice, server.join('bob') as bob, server.join('carol') as carol:
        assert alice.request(msg('#all', 'Привет всем! {"x": 1}'))['response'] == 200
        for peer in (bob, carol):
            got = peer.next_pushed()
            assert got['action'] == 'msg'
            assert got['from'] == 'alice'
            assert got['to'] == '#all'
            assert got['message'] == 'Привет всем! {"x": 1}'
            assert 'response' not in got
        # The sender does not get its own message back: its next object is its next response.
        assert alice.request(presence('alice'))['response'] == 200
        assert alice.pushed_messages() == [], 'the sender got its own message back'


def test_sender_is_set_by_the_server(server):
    with server.join('alice') as alice, server.join('bob') as bob:
        response = alice.request(msg('#all', 'hi', sender='mallory'))
        if response['response'] == 200:
            assert bob.next_pushed()['from'] == 'alice'
        else:
            assert response['response'] in (400, 403)


def test_messages_arrive_in_order(server):
    with server.join('alice') as alice, server.join('bob') as bob:
        for number in range(50):
            alice.send(msg('#all', f'm{number}'))
        assert [alice.response()['response'] for _ in range(50)] == [200] * 50
        assert [bob.next_pushed()['message'] for _ in range(50)] == [f'm{n}' for n in range(50)]


def test_message_before_presence_is_refused(server):
    with server.connect() as conn:
        response = conn.request(msg('#all', 'who am I?'))
    assert response['response'] in (400, 401), response


@pytest.mark.parametrize('field', ['to', 'message', 'time'])
def test_message_missing_a_field_gets_400(server, field):
    with server.join('alice') as alice:
        message = msg('#all', 'hi')
        del message[field]
        assert alice.request(message)['response'] == 400


def test_message_text_not_a_string_gets_400(server):
    with server.join('alice') as alice:
        message = msg('#all', 'hi')
        message['message'] = ['not', 'text']
        assert alice.request(message)['response'] == 400


def test_message_over_500_characters_gets_400(server):
    with server.join('alice') as alice:
        assert alice.request(msg('#all', 'я' * 501))['response'] == 400


def test_message_of_500_characters_is_delivered(server):
    with server.join('alice') as alice, server.join('bob') as bob:
        assert alice.request(msg('#all', 'ы' * 250))['response'] == 200
        assert bob.next_pushed()['message'] == 'ы' * 250


def test_a_client_leaving_does_not_stop_the_chat(server):
    with server.join('alice') as alice, server.join('bob') as bob:
        server.join('carol').close()
        assert alice.request(msg('#all', 'still here'))['response'] == 200
        assert bob.next_pushed()['message'] == 'still here'

"""Bad input never stops the server: each case gets a 400 or a closed connection."""
import itertools
import json
import time

import pytest

from wire import POOL, JimConnection, msg, presence


def raw(obj) -> bytes:
    """Return ``obj`` as JSON bytes with a newline, unchecked."""
    return json.dumps(obj).encode() + b'\n'


NOW = time.time()
NAMES = itertools.count()
BAD_REQUESTS = {
    'malformed json': b'{"action": presence}\n',
    'not json at all': b'hello, server\n',
    'invalid utf-8': b'\xff\xfe\xfd\n',
    'json array': raw([1, 2, 3]),
    'json string': raw('presence'),
    'json null': raw(None),
    'empty object': raw({}),
    'unknown action': raw({'action': 'dance', 'time': NOW}),
    'action not a string': raw({'action': 5, 'time': NOW, 'user': {'account_name': 'a'}}),
    'missing time': raw({'action': 'presence', 'user': {'account_name': 'a'}}),
    'time is text': raw({'action': 'presence', 'time': 'now', 'user': {'account_name': 'a'}}),
    'time is true': raw({'action': 'presence', 'time': True, 'user': {'account_name': 'a'}}),
    'missing user': raw({'action': 'presence', 'time': NOW}),
    'user is text': raw({'action': 'presence', 'time': NOW, 'user': 'alice'}),
    'account name missing': raw({'action': 'presence', 'time': NOW, 'user': {}}),
    'account name a number': raw({'action': 'presence', 'time': NOW,
                                  'user': {'account_name': 42}}),
    'account name empty': raw({'action': 'presence', 'time': NOW, 'user': {'account_name': ''}}),
    'account name too long': raw(presence('x' * 26)),
}


@pytest.mark.parametrize('payload', BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_gets_400_and_server_goes_on(shared_server, payload):
    server = shared_server
    with server.session(f'user{next(NAMES) % POOL}') as conn:
        conn.send_raw(payload)
        response = conn.response()
    assert response['response'] == 400, response
    assert isinstance(response['error'], str) and response['error']
    server.assert_serving()
    assert 'Traceback' not in server.log()


@pytest.mark.needs('persistent')
@pytest.mark.parametrize('payload', BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_connection_goes_on_after_a_bad_line(shared_server, payload):
    name = f'user{next(NAMES) % POOL}'
    with shared_server.session(name) as conn:
        conn.send_raw(payload)
        assert conn.response()['response'] == 400
        assert conn.request(presence(name))['response'] == 200


def test_client_that_leaves_without_a_word(server):
    for _ in range(3):
        server.connect().close()
    server.assert_serving()


def test_client_that_vanishes_mid_message(server):
    conn = server.connect()
    conn.send_raw(raw(presence('alice'))[:20])
    conn.close()
    server.assert_serving()


@pytest.mark.parametrize('size', [100_000, 1_000_000])
def test_oversized_message_gets_400_or_a_closed_connection(server, size):
    message = presence('alice')
    message['user']['status'] = 'x' * size
    with server.connect() as conn:
        try:
            conn.send_raw(raw(message))
        except OSError:
            pass        # the server may close the connection before it has read everything
        response = conn.response_or_close()
    assert response is None or response['response'] == 400, response
    server.assert_serving()


@pytest.mark.needs('persistent')
def test_oversized_message_without_newline_is_cut_off(server):
    with server.connect() as conn:
        try:
            conn.send_raw(b'{"action": "presence", "junk": "' + b'x' * 100_000)
        except OSError:
            pass
        response = conn.response_or_close()
        assert response is None or response['response'] == 400, response
        assert conn.closed_by_server()
    server.assert_serving()


@pytest.mark.needs('concurrent')
def test_silent_client_does_not_block_others(server):
    with server.connect() as silent, server.connect() as half:
        half.send_raw(b'{"action": "pres')
        server.assert_serving()
        assert silent.sock.fileno() != -1


@pytest.mark.needs('concurrent')
def test_vanishing_client_does_not_disturb_a_connected_one(server):
    with server.join('alice') as alice:
        for _ in range(5):
            gone = server.connect()
            gone.send_raw(raw(presence('bob'))[:15])
            gone.close()
            assert alice.request(presence('alice'))['response'] == 200


@pytest.mark.needs('concurrent', 'chat')
def test_client_that_never_reads_is_dropped_and_others_go_on(server, stage):
    slow = JimConnection(server.address, receive_buffer=4096)
    assert server.introduce(slow, 'slowpoke')['response'] == 200
    text = 'ж' * 490
    sent = [f'{batch}.{number}' for batch in range(50) for number in range(100)]
    # 50 x 100 messages of 1 KB: more than the kernel buffers towards the slow client hold.
    with server.join('alice') as alice, server.join('bob') as bob:
        for batch in range(50):
            for number in range(100):
                alice.send(msg('#all', f'{batch}.{number} {text}'))
            assert [alice.response()['response'] for _ in range(100)] == [200] * 100
            got = [bob.next_pushed()['message'].split()[0] for _ in range(100)]
            assert got == [f'{batch}.{number}' for number in range(100)]
    if stage.has('paging'):
        # Its backlog waited in the database: once it reads, all of it comes, in order.
        assert [slow.next_pushed()['message'].split()[0] for _ in sent] == sent
    else:
        assert slow.closed_by_server()
    slow.close()
    server.assert_serving()

"""SCRAM-SHA-256 login over JIM: nothing before it, 402 for wrong or unknown, 409, no password."""
import base64
import time

import pytest

from wire import TEST_PASSWORD, msg, scram_login

pytestmark = pytest.mark.needs('scram')


def first_message(conn, name, nonce='abcdefghijklmnop'):
    """Send the SCRAM client-first message of ``name``; return the response."""
    return conn.request({'action': 'authenticate', 'time': time.time(),
                         'user': {'account_name': name}, 'scram': f'n,,n={name},r={nonce}'})


def test_nothing_but_authenticate_before_login(server):
    with server.connect() as conn:
        for request in (msg('#all', 'hi'), {'action': 'get_users', 'time': time.time()}):
            assert conn.request(request)['response'] == 401
        assert scram_login(conn, 'alice')['response'] == 200


def test_wrong_password_gets_402(server):
    with server.connect() as conn:
        assert scram_login(conn, 'alice', 'not it')['response'] == 402
        assert conn.request(msg('#all', 'hi'))['response'] == 401


def test_unknown_user_gets_a_challenge_and_402(server):
    with server.connect() as conn:
        assert first_message(conn, 'stranger')['response'] == 101
    with server.connect() as conn:
        assert scram_login(conn, 'stranger', TEST_PASSWORD)['response'] == 402


def test_second_login_gets_409(server):
    with server.join('alice'), server.connect() as again:
        assert scram_login(again, 'alice')['response'] == 409


def test_scram_user_must_match_the_account_name(server):
    with server.connect() as conn:
        response = conn.request({'action': 'authenticate', 'time': time.time(),
                                 'user': {'account_name': 'alice'},
                                 'scram': 'n,,n=bob,r=abcdefgh'})
    assert response['response'] == 400


@pytest.mark.parametrize('scram', ['', 'garbage', 'y,,n=alice,r=x', 'c=biws,r=x,p=AAAA'])
def test_malformed_scram_is_refused(server, scram):
    with server.connect() as conn:
        response = conn.request({'action': 'authenticate', 'time': time.time(),
                                 'user': {'account_name': 'alice'}, 'scram': scram})
    assert response['response'] in (400, 402)


def test_database_holds_no_password(server):
    server.join('alice').close()
    for path in server.database_files():
        data = path.read_bytes()
        assert TEST_PASSWORD.encode() not in data
        assert base64.b64encode(TEST_PASSWORD.encode()) not in data

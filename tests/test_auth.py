"""Authentication: challenge-response login; before it, nothing but authenticate is served."""
import hashlib
import hmac
import time

import pytest

from wire import TEST_PASSWORD, authenticate, msg, presence

pytestmark = pytest.mark.needs('auth')


def ask_challenge(conn, name):
    """Ask the server for the login challenge of ``name``."""
    return conn.request({'action': 'authenticate', 'time': time.time(),
                         'user': {'account_name': name}})


def send_proof(conn, name, proof):
    """Send the proof of knowing the password; return the response."""
    return conn.request({'action': 'authenticate', 'time': time.time(),
                         'user': {'account_name': name}, 'proof': proof})


def proof_for(challenge, password=TEST_PASSWORD):
    """Compute the proof that answers ``challenge`` (the L6 scheme)."""
    key = hashlib.pbkdf2_hmac('sha256', password.encode(), bytes.fromhex(challenge['salt']),
                              challenge['iterations'])
    return hmac.new(key, bytes.fromhex(challenge['nonce']), 'sha256').hexdigest()


@pytest.mark.parametrize('request_', [
    presence('alice'), msg('#all', 'hi'), {'action': 'get_contacts', 'time': 1.0},
    {'action': 'get_users', 'time': 1.0}, {'action': 'dance', 'time': 1.0}],
    ids=['presence', 'msg', 'get_contacts', 'get_users', 'unknown action'])
def test_anything_but_authenticate_gets_401_before_login(server, request_):
    with server.connect() as conn:
        response = conn.request(request_)
        assert response['response'] == 401, response
        assert authenticate(conn, 'alice')['response'] == 200


def test_challenge_carries_salt_iterations_and_a_fresh_nonce(server):
    with server.connect() as first, server.connect() as second:
        one, two = ask_challenge(first, 'alice'), ask_challenge(second, 'alice')
    assert one['response'] == two['response'] == 101
    assert one['salt'] == two['salt']
    assert isinstance(one['iterations'], int) and one['iterations'] > 0
    assert one['nonce'] != two['nonce'] and len(bytes.fromhex(one['nonce'])) >= 16


def test_wrong_password_gets_402(server):
    with server.connect() as conn:
        response = authenticate(conn, 'alice', 'not the password')
        assert response['response'] == 402
        assert conn.request(msg('#all', 'hi'))['response'] == 401


def test_unknown_user_looks_like_a_wrong_password(server):
    with server.connect() as conn:
        challenge = ask_challenge(conn, 'stranger')
        assert challenge['response'] == 101 and challenge['salt']
        response = send_proof(conn, 'stranger', proof_for(challenge))
    assert response['response'] == 402


def test_second_login_of_the_same_user_gets_409(server):
    with server.join('alice'), server.connect() as again:
        assert authenticate(again, 'alice')['response'] == 409


def test_proof_without_a_challenge_is_refused(server):
    with server.connect() as conn:
        response = send_proof(conn, 'alice', '00' * 32)
    assert response['response'] in (400, 402)


def test_a_proof_cannot_be_replayed(server):
    with server.connect() as first:
        challenge = ask_challenge(first, 'alice')
        proof = proof_for(challenge)
        assert send_proof(first, 'alice', proof)['response'] == 200
    with server.connect() as thief:
        ask_challenge(thief, 'alice')
        assert send_proof(thief, 'alice', proof)['response'] == 402


def test_a_challenge_is_used_once(server):
    with server.connect() as conn:
        challenge = ask_challenge(conn, 'alice')
        assert send_proof(conn, 'alice', '00' * 32)['response'] == 402
        assert send_proof(conn, 'alice', proof_for(challenge))['response'] in (400, 402)


@pytest.mark.parametrize('proof', [42, None, 'not hex', ''])
def test_malformed_proof_is_refused(server, proof):
    with server.connect() as conn:
        ask_challenge(conn, 'alice')
        response = send_proof(conn, 'alice', proof)
    assert response['response'] in (400, 402)


def test_presence_under_another_name_is_forbidden(server):
    with server.join('alice') as alice:
        assert alice.request(presence('bob'))['response'] == 403
        assert alice.request(presence('alice'))['response'] == 200


def test_database_holds_no_password(server):
    server.join('alice').close()
    for path in server.database_files():
        data = path.read_bytes()
        assert TEST_PASSWORD.encode() not in data
        assert TEST_PASSWORD.encode('utf-16-le') not in data


def test_no_log_holds_the_secrets_of_a_login(server):
    # A salt, a nonce and the proof for it are enough to try passwords offline.
    with server.connect() as conn:
        challenge = ask_challenge(conn, 'alice')
        proof = proof_for(challenge)
        assert send_proof(conn, 'alice', proof)['response'] == 200
    for path in [*server.workdir.glob('*.log*'), server.output]:
        text = path.read_text(encoding='utf-8', errors='replace')
        for name, secret in (('salt', challenge['salt']), ('nonce', challenge['nonce']),
                             ('proof', proof)):
            assert secret not in text, f'{path.name} holds the {name} of a login'

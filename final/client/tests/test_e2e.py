"""End-to-end encryption: keys, sealing and opening, and a run through a real server."""

import pytest

from jim.constants import E2E
from jim.messages import msg
from jim_client.connection import Connection
from jim_client.e2e import DecryptionError, KeyPair


def test_both_sides_derive_the_same_key():
    alice, bob = KeyPair.generate(), KeyPair.generate()
    sealed = alice.encrypt(bob.public, 'alice', 'bob', 'Привет, Боб')
    assert bob.decrypt(alice.public, 'alice', 'bob', sealed) == 'Привет, Боб'


def test_tampering_and_rerouting_are_detected():
    alice, bob, eve = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    sealed = alice.encrypt(bob.public, 'alice', 'bob', 'secret')
    with pytest.raises(DecryptionError):
        bob.decrypt(alice.public, 'eve', 'bob', sealed)           # names are bound
    with pytest.raises(DecryptionError):
        eve.decrypt(alice.public, 'alice', 'bob', sealed)         # not eve's
    flipped = sealed[:-4] + ('AAAA' if not sealed.endswith('AAAA') else 'BBBB')
    with pytest.raises(DecryptionError):
        bob.decrypt(alice.public, 'alice', 'bob', flipped)


def test_key_file_is_kept_and_private(tmp_path):
    path = tmp_path / 'keys' / 'alice.key'
    first = KeyPair.load_or_create(path)
    assert KeyPair.load_or_create(path).public == first.public
    assert path.stat().st_mode & 0o777 == 0o600


def test_server_relays_and_stores_only_ciphertext(address, tmp_path):
    keys = {'alice': KeyPair.generate(), 'bob': KeyPair.generate()}
    with Connection(*address) as alice, Connection(*address) as bob:
        for conn, name in ((alice, 'alice'), (bob, 'bob')):
            conn.login(name, 'pw')
            conn.publish_key(keys[name].public)
        bob_key = alice.public_key('bob')
        assert bob_key == keys['bob'].public
        sealed = keys['alice'].encrypt(bob_key, 'alice', 'bob', 'the plan is secret')
        assert alice.request(msg('bob', sealed, encoding=E2E))['response'] == 200
        got = bob.receive()
        assert got['encoding'] == E2E and 'plan' not in got['message']
        opened = keys['bob'].decrypt(bob.public_key('alice'), got['from'], 'bob',
                                     got['message'])
        assert opened == 'the plan is secret'
        assert alice.public_key('nobody') is None
    stored = b''.join(path.read_bytes() for path in tmp_path.glob('s.db*'))
    assert b'the plan' not in stored and b'is secret' not in stored

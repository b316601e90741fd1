"""The console's Session seals direct messages and opens them, through a real server."""
from jim.constants import E2E
from jim.messages import msg
from jim_client.connection import Connection
from jim_client.console import Session, show
from jim_client.e2e import KeyPair


def session(address, name, keys=True):
    """Log ``name`` in (password ``pw``); return the connection and a console Session."""
    conn = Connection(*address)
    conn.login(name, 'pw')
    pair = KeyPair.generate() if keys else None
    if pair:
        conn.publish_key(pair.public)
    return conn, Session(conn, pair)


def pump_until(conn, sess, wanted, limit=20):
    """Feed what arrives to the session until it produces ``wanted``; return the lines."""
    lines = []
    for _ in range(limit):
        lines += [show(item) for item in sess.receive(conn.receive())]
        if wanted in lines:
            break
    return lines


def test_direct_message_is_sealed_and_opened(address):
    alice, alice_session = session(address, 'alice')
    bob, bob_session = session(address, 'bob')
    with alice, bob:
        alice_session.send(msg('bob', 'Привет, только тебе'))
        pump_until(alice, alice_session, None, limit=2)        # key answer, then the 200
        lines = pump_until(bob, bob_session, 'alice [bob]: Привет, только тебе')
        assert lines[-1] == 'alice [bob]: Привет, только тебе'


def test_sealed_on_the_wire(address):
    alice, alice_session = session(address, 'alice')
    bob = Connection(*address)
    with alice, bob:
        bob.login('bob', 'pw')
        bob.publish_key(KeyPair.generate().public)
        alice_session.send(msg('bob', 'secret'))
        pump_until(alice, alice_session, None, limit=2)
        raw = bob.receive()
        assert raw['encoding'] == E2E and raw['message'] != 'secret'


def test_recipient_without_a_key_gets_plain_text(address, capsys):
    alice, alice_session = session(address, 'alice')
    carol = Connection(*address)
    with alice, carol:
        carol.login('carol', 'pw')
        alice_session.send(msg('carol', 'hello'))
        pump_until(alice, alice_session, None, limit=2)
        assert carol.receive()['message'] == 'hello'
    assert 'sent unencrypted' in capsys.readouterr().out


def test_requests_after_login_pass_over_messages_that_waited(address):
    alice, _ = session(address, 'alice')
    with alice:
        alice.send(msg('bob', 'waiting for bob'))
        assert alice.response()['response'] == 200
    bob = Connection(*address)
    with bob:
        bob.login('bob', 'pw')                     # the kept message arrives with the 200
        bob.publish_key(KeyPair.generate().public)
        assert bob.receive()['message'] == 'waiting for bob'


def test_what_is_sent_after_a_message_waiting_for_a_key_keeps_its_place(address):
    alice, alice_session = session(address, 'alice')
    bob, bob_session = session(address, 'bob')
    with alice, bob:
        alice_session.send(msg('bob', 'first, sealed'))       # waits for bob's key
        alice_session.send(msg('#all', 'second, to all'))
        alice_session.send(msg('bob', 'third, sealed'))
        pump_until(alice, alice_session, None, limit=4)        # the key, then three 200s
        lines = pump_until(bob, bob_session, 'alice [bob]: third, sealed')
        assert [line for line in lines if line.startswith('alice')] == [
            'alice [bob]: first, sealed', 'alice: second, to all', 'alice [bob]: third, sealed']

"""The console's Session seals direct messages and opens them, through a real server."""
import os
import pty
import subprocess
import sys
import threading
import time

from jim.constants import E2E, Action
from jim.messages import msg, request
from jim_client.connection import Connection
from jim_client.console import show
from jim_client.e2e import KeyPair
from jim_client.session import Session
from jim_client.trust import fingerprint


def session(address, name, keys=True):
    """Log ``name`` in (password ``pw``) with ``keys`` (a KeyPair, True for a new one, False
    for none); return the connection and a console Session."""
    conn = Connection(*address)
    conn.login(name, 'pw')
    pair = keys if isinstance(keys, KeyPair) else KeyPair.generate() if keys else None
    if pair:
        conn.publish_key(pair.public)
    sess = Session(name, pair)
    sess.attach(conn)
    return conn, sess


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


def history_of(conn, sess, other):
    """Ask the history with ``other``; return the page's messages once opened."""
    sess.send(request(Action.HISTORY, **{'with': other}))
    for _ in range(20):
        for item in sess.receive(conn.receive()):
            if 'messages' in item:
                return item['messages']
    raise AssertionError('no history came')


def test_history_is_readable_after_a_key_change(address):
    bob_keys = KeyPair.generate()
    bob, _ = session(address, 'bob', bob_keys)
    bob.close()
    for text in ('sealed with the first key', 'sealed with the second key'):
        alice, alice_session = session(address, 'alice')         # a new key pair each time
        with alice:
            alice_session.send(msg('bob', text))
            pump_until(alice, alice_session, None, limit=2)
            alice.request(request(Action.QUIT))
    bob, bob_session = session(address, 'bob', bob_keys)
    with bob:
        messages = history_of(bob, bob_session, 'alice')
    assert [m['message'] for m in messages] == ['sealed with the first key',
                                                'sealed with the second key']
    assert [m['position'] for m in messages] == sorted(m['position'] for m in messages)


def run_console(address, folder, *args):
    """Start ``jim-client`` as alice (password given); return it and the list of the lines it
    prints, filled as they come."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONUTF8='1')
    # It is ended by the caller. pylint: disable-next=consider-using-with
    console = subprocess.Popen(
        [sys.executable, '-m', 'jim_client', *map(str, address), '-n', 'alice', '--data-dir',
         str(folder), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    threading.Thread(target=lambda: lines.extend(console.stdout), daemon=True).start()
    type_line(console, 'pw')
    return console, lines


def type_line(console, line):
    """Type ``line`` into a running console client."""
    console.stdin.write(line + '\n')
    console.stdin.flush()


def poll(condition, timeout=10.0, message=None):
    """Wait until ``condition()`` is true; fail after ``timeout`` seconds (saying
    ``message``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message or 'timed out'
        time.sleep(0.02)


def test_the_console_catches_a_swapped_key_and_seals_nothing_for_it(address, proxy, tmp_path):
    bob, eve = KeyPair.generate(), KeyPair.generate()
    with Connection(*address) as bob_conn:
        bob_conn.login('bob', 'pw')
        bob_conn.publish_key(bob.public)
        console, lines = run_console(proxy.address, tmp_path)
        type_line(console, '@bob first, to the real bob')
        poll(lambda: len(proxy.sealed_to('bob')) == 1)          # bob's key, trusted on first use
        assert bob.decrypt(bob_conn.public_key('alice'), 'alice', 'bob',
                           proxy.sealed_to('bob')[0]['message']) == 'first, to the real bob'
        type_line(console, '/fingerprint bob')
        poll(lambda: any(f"bob's key fingerprint: {fingerprint(bob.public)} (accepted)" in line
                         for line in lines))
        proxy.swap = ('bob', eve.public)
        proxy.cut()                                             # a new connection, a new key
        poll(lambda: any("reconnected" in line for line in lines), message=lines)
        type_line(console, '@bob second, meant for bob only')
        poll(lambda: any("WARNING: bob's key has changed" in line for line in lines))
        warning = next(line for line in lines if 'WARNING' in line)
        assert fingerprint(eve.public) in warning and fingerprint(bob.public) in warning
        type_line(console, '/users')                            # a round trip: it had its turn
        poll(lambda: any('3 users' in line for line in lines))
        alice_public = bob_conn.public_key('alice')
        assert len(proxy.sealed_to('bob')) == 1                 # nothing sealed for eve's key
        assert not proxy.readable_by(eve, 'alice', alice_public, 'bob')
        type_line(console, '/trust bob')
        poll(lambda: proxy.readable_by(eve, 'alice', alice_public, 'bob') ==
             ['second, meant for bob only'])
        console.stdin.close()
        assert console.wait(15) == 0
    assert any("you accepted bob's new key" in line for line in lines), lines


def test_at_a_terminal_lines_can_be_edited_and_typed_again(address, tmp_path):
    main, terminal = pty.openpty()
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONUTF8='1', TERM='xterm')
    # It is ended below. pylint: disable-next=consider-using-with,subprocess-popen-preexec-fn
    console = subprocess.Popen(
        [sys.executable, '-m', 'jim_client', *map(str, address), '-n', 'alice', '--data-dir',
         str(tmp_path), '--no-e2e'], preexec_fn=lambda: os.login_tty(terminal), env=env)
    os.close(terminal)
    screen = []
    threading.Thread(target=read_all, args=(main, screen), daemon=True).start()
    with Connection(*address) as bob:
        bob.login('bob', 'pw')
        poll(lambda: 'Password:' in ''.join(screen))     # typed before, it would be dropped
        os.write(main, b'pw\r')
        poll(lambda: 'logged in as alice' in ''.join(screen), message=screen)
        os.write(main, b'helo\x7flo there\r')            # a typo, rubbed out
        os.write(main, b'\x1b[A\r')                     # the line before, again
        os.write(main, b'\x1b[A\x01\x1b[3~H\r')         # again, its first letter changed
        got = []
        while len(got) < 3:
            got += [item['message'] for item in [bob.receive()] if item['action'] == 'msg']
        assert got == ['hello there', 'hello there', 'Hello there']
        os.write(main, b'\x04')                         # end of input
        assert console.wait(15) == 0
    os.close(main)
    assert (tmp_path / 'console-history').read_text().split()[-2:] == ['Hello', 'there']


def read_all(descriptor, screen):
    """Keep what a terminal shows until it closes."""
    try:
        while data := os.read(descriptor, 4096):
            screen.append(data.decode('utf-8', 'replace'))
    except OSError:
        pass

"""The chat core without sockets: connections are plain objects, the database is in memory."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import pytest
from sqlalchemy.exc import OperationalError

from jim.framing import FramingError
from jim.messages import msg, presence, request
from jim.constants import Action
from jim.scram import ScramClient

from jim_server.chat import Chat, counted
from jim_server.settings import Limits
from jim_server.storage import Storage


class Conn:
    """A stand-in for the engine's connection."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f'Conn({self.name})'


@pytest.fixture
def chat():
    """Yield a Chat over an in-memory database with alice, bob and carol."""
    storage = Storage('sqlite://')
    for name in ('alice', 'bob', 'carol'):
        storage.add_user(name, f'{name}-pw', iterations=4096)
    yield Chat(storage, Limits(failed_logins=3))
    storage.close()


def turn(chat, conn, message):
    """Hand one message to the chat, commit, and return what it sends, by connection."""
    chat.receive(conn, message)
    out = {}
    for target, item in chat.commit():
        out.setdefault(target, []).append(item)
    return out


def log_in(chat, name, password=None, conn=None):
    """Run the SCRAM login of ``name`` through the chat; return its connection."""
    conn = conn or Conn(name)
    chat.connect(conn, '127.0.0.1')
    scram = ScramClient(name, password or f'{name}-pw')
    user = {'account_name': name}
    first = turn(chat, conn, request(Action.AUTHENTICATE, user=user,
                                     scram=scram.first_message()))[conn][0]
    if first['response'] != 101:
        return conn, [first]
    final = turn(chat, conn, request(Action.AUTHENTICATE, user=user,
                                     scram=scram.final_message(first['scram'])))
    return conn, final[conn]


def test_login_then_direct_message(chat):
    alice, replies = log_in(chat, 'alice')
    assert replies[0]['response'] == 200
    bob, _ = log_in(chat, 'bob')
    out = turn(chat, alice, msg('bob', 'hi'))
    assert out[alice][0]['response'] == 200
    assert (out[bob][0]['from'], out[bob][0]['message']) == ('alice', 'hi')


def test_others_hear_who_goes_but_not_at_shutdown(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    carol, _ = log_in(chat, 'carol')
    chat.disconnect(bob)
    out = dict.fromkeys((alice, carol), None)
    for target, item in chat.commit():
        out[target] = item
    assert out[alice] is out[carol]                   # one notice, encoded once
    assert (out[alice]['action'], out[alice]['user']) == \
        ('presence', {'account_name': 'bob', 'status': 'offline'})
    chat.stopping = True
    chat.disconnect(carol)
    assert not chat.commit()


def test_nothing_before_login(chat):
    conn = Conn('x')
    chat.connect(conn, '127.0.0.1')
    assert turn(chat, conn, msg('#all', 'hi'))[conn][0]['response'] == 401
    assert turn(chat, conn, presence('alice'))[conn][0]['response'] == 401


def test_wrong_password_then_throttled(chat):
    for _ in range(3):
        _, replies = log_in(chat, 'alice', 'guess', conn=Conn('a'))
        assert replies[0]['response'] == 402
    _, replies = log_in(chat, 'alice', conn=Conn('a'))      # right password, too late
    assert replies[0]['response'] == 429


def test_offline_message_waits_and_is_delivered_once(chat):
    alice, _ = log_in(chat, 'alice')
    assert turn(chat, alice, msg('bob', 'later'))[alice][0]['alert'] == 'kept for later'
    bob, replies = log_in(chat, 'bob')
    assert [r.get('message') for r in replies] == [None, 'later']
    chat.disconnect(bob)
    _, replies = log_in(chat, 'bob')
    assert len(replies) == 1


def test_acknowledgements_wait_for_the_commit(chat):
    alice, _ = log_in(chat, 'alice')
    chat.receive(alice, msg('#all', 'one'))
    assert chat.outbox and chat.to_store           # held until commit
    sent = chat.commit()
    assert sent[0][1]['response'] == 200 and not chat.to_store
    assert [m.text for m in chat.storage.history('alice')] == ['one']


def test_rooms(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    carol, _ = log_in(chat, 'carol')
    for conn in (alice, bob):
        turn(chat, conn, request(Action.JOIN, room='#py'))
    out = turn(chat, alice, msg('#py', 'room talk'))
    assert bob in out and carol not in out
    assert turn(chat, carol, msg('#py', 'me too'))[carol][0]['response'] == 403


def test_framing_errors_answer_400_and_fatal_ones_close(chat):
    conn = Conn('x')
    chat.connect(conn, '127.0.0.1')
    assert turn(chat, conn, FramingError('bad'))[conn][0]['response'] == 400
    turn(chat, conn, FramingError('too long', fatal=True))
    assert chat.to_close == [conn]


def test_second_login_conflicts(chat):
    log_in(chat, 'alice')
    _, replies = log_in(chat, 'alice', conn=Conn('again'))
    assert replies[0]['response'] == 409


def test_a_failed_commit_acknowledges_and_relays_nothing(chat, monkeypatch):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')

    def broken(_batch):
        raise OperationalError('INSERT', {}, Exception('disk full'))

    monkeypatch.setattr(chat.storage, 'store_messages', broken)
    chat.receive(bob, request(Action.GET_USERS))           # same turn, needs no storing
    out = turn(chat, alice, msg('bob', 'lost?'))
    assert [m['response'] for m in out[alice]] == [500]
    assert [m['response'] for m in out[bob]] == [202]      # answered, nothing relayed
    monkeypatch.undo()
    out = turn(chat, alice, msg('bob', 'again'))
    assert out[alice][0]['response'] == 200 and out[bob][0]['message'] == 'again'


def test_list_alerts_count_in_words():
    assert [counted(n, 'contact') for n in (0, 1, 2)] == ['0 contacts', '1 contact', '2 contacts']

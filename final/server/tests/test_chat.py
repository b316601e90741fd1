"""The chat core without sockets: connections are plain objects, the database is in memory.

``turn`` plays the engine: it hands the chat a message, commits, and "writes" everything the
turn gives (``Chat.written``), unless told that a connection's socket takes nothing.
"""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import json
import logging

import pytest

from jim.constants import Action
from jim.errors import FramingError
from jim.messages import ack, msg, presence, request
from jim.scram import ScramClient

from jim_server.chat import PAGE, Chat, counted
from jim_server.settings import Limits, Settings
from jim_server.storage import Storage, StorageError


class Conn:
    """A stand-in for the engine's connection."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f'Conn({self.name})'


def make_chat(storage, **limits):
    """Return a Chat over ``storage`` with these limits."""
    return Chat(storage, Settings(limits=Limits(**limits), iterations=4096))


@pytest.fixture
def storage():
    """Yield an in-memory database with alice, bob and carol."""
    store = Storage('sqlite://')
    for name in ('alice', 'bob', 'carol'):
        store.add_user(name, f'{name}-pw', iterations=4096)
    yield store
    store.close()


@pytest.fixture
def chat(storage):
    """Return a Chat over that database (3 failed logins allowed)."""
    return make_chat(storage, failed_logins=3)


def carry_out(chat, stuck=()):
    """Commit and write what the turn gives (but to ``stuck`` connections); return it decoded.

    Writing may give more (the next page of a backlog): that is carried out too.
    """
    out = {}
    while True:
        turn = chat.commit()
        for conn, data in turn.sends:
            out.setdefault(conn, []).extend(json.loads(line) for line in data.splitlines())
            if conn not in stuck:
                chat.written(conn, len(data))
        if not chat.busy and not chat.hungry:
            return out
        chat.refill()                  # the next turn


def turn(chat, conn, message, stuck=()):
    """Hand one message to the chat and carry out the turn."""
    chat.receive(conn, message)
    return carry_out(chat, stuck)


def log_in(chat, name, password=None, *,  # pylint: disable=too-many-arguments  # test knobs
           conn=None, address='127.0.0.1', acks=False, stuck=()):
    """Run the SCRAM login of ``name`` through the chat; return its connection and replies."""
    conn = conn or Conn(name)
    chat.connect(conn, address)
    scram = ScramClient(name, password or f'{name}-pw')
    user = {'account_name': name}
    first = turn(chat, conn, request(Action.AUTHENTICATE, user=user,
                                     scram=scram.first_message()))[conn][0]
    if first['response'] != 101:
        return conn, [first]
    final = turn(chat, conn, request(Action.AUTHENTICATE, user=user, acks=acks,
                                     scram=scram.final_message(first['scram'])), stuck)
    return conn, final[conn]


def texts(items):
    """Return the texts of the msg objects among ``items``."""
    return [item['message'] for item in items if item.get('action') == 'msg']


def test_login_then_direct_message_with_a_position(chat):
    alice, replies = log_in(chat, 'alice')
    assert replies[0]['response'] == 200
    bob, _ = log_in(chat, 'bob')
    out = turn(chat, alice, msg('bob', 'hi'))
    assert out[alice][0]['response'] == 200
    relayed = out[bob][0]
    assert (relayed['from'], relayed['message']) == ('alice', 'hi')
    assert relayed['position'] == out[alice][0]['position'] > 0


def test_others_hear_who_goes_but_not_at_shutdown(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    carol, _ = log_in(chat, 'carol')
    chat.disconnect(bob)
    sends = dict(chat.commit().sends)
    assert sends[alice] is sends[carol]                   # one notice, encoded once
    notice = json.loads(sends[alice])
    assert (notice['action'], notice['user']) == \
        ('presence', {'account_name': 'bob', 'status': 'offline'})
    chat.stop()
    chat.disconnect(carol)
    assert not chat.commit().sends


def test_nothing_before_login(chat):
    conn = Conn('x')
    chat.connect(conn, '127.0.0.1')
    assert turn(chat, conn, msg('#all', 'hi'))[conn][0]['response'] == 401
    assert turn(chat, conn, presence('alice'))[conn][0]['response'] == 401
    assert turn(chat, conn, ack(1))[conn][0]['response'] == 401


def test_wrong_passwords_throttle_that_address_only(chat):
    for _ in range(3):
        _, replies = log_in(chat, 'alice', 'guess', conn=Conn('a'), address='10.0.0.66')
        assert replies[0]['response'] == 402
    _, replies = log_in(chat, 'alice', conn=Conn('b'), address='10.0.0.66')
    assert replies[0]['response'] == 429                  # right password, too late
    _, replies = log_in(chat, 'alice', conn=Conn('c'), address='10.0.0.7')
    assert replies[0]['response'] == 200                  # the real user, elsewhere


def test_one_address_guessing_many_names_is_throttled(chat):
    for number in range(12):                             # 4 x failed_logins
        _, replies = log_in(chat, f'ghost{number}', 'guess', conn=Conn(number))
        assert replies[0]['response'] == 402
    _, replies = log_in(chat, 'alice', conn=Conn('late'))
    assert replies[0]['response'] == 429


def test_the_throttle_table_is_bounded(storage):
    chat = make_chat(storage, throttle_entries=10)
    for number in range(50):
        log_in(chat, 'alice', 'guess', conn=Conn(number), address=f'10.0.{number}.1')
        assert len(chat.throttle.failures) <= 10


def test_unknown_names_get_the_real_iteration_count_and_a_salt_kept_over_restarts(storage):
    def challenge(chat):
        conn = Conn('ghost')
        chat.connect(conn, '127.0.0.1')
        scram = ScramClient('ghost', 'x')
        reply = turn(chat, conn, request(Action.AUTHENTICATE, user={'account_name': 'ghost'},
                                         scram=scram.first_message()))[conn][0]
        fields = dict(part.split('=', 1) for part in reply['scram'].split(','))
        return fields['s'], fields['i']

    first = challenge(make_chat(storage))
    assert first == challenge(make_chat(storage))         # a new server, the same database
    assert first[1] == '4096'                             # as alice's account


def test_offline_message_waits_and_is_delivered_once(chat):
    alice, _ = log_in(chat, 'alice')
    assert turn(chat, alice, msg('bob', 'later'))[alice][0]['alert'] == 'kept for later'
    bob, replies = log_in(chat, 'bob')
    assert texts(replies) == ['later']
    chat.disconnect(bob)
    carry_out(chat)                                       # the cursor is stored
    _, replies = log_in(chat, 'bob')
    assert texts(replies) == []


def test_what_never_reached_the_socket_comes_again(chat):
    alice, _ = log_in(chat, 'alice')
    turn(chat, alice, msg('bob', 'one'))
    bob = Conn('bob')
    _, replies = log_in(chat, 'bob', conn=bob, stuck=[bob])     # queued, never written
    assert texts(replies) == ['one']
    chat.disconnect(bob)
    _, replies = log_in(chat, 'bob')
    assert texts(replies) == ['one']


def test_written_is_not_enough_for_a_client_that_acknowledges(chat):
    alice, _ = log_in(chat, 'alice')
    for text in ('one', 'two'):
        turn(chat, alice, msg('bob', text))
    bob, replies = log_in(chat, 'bob', acks=True)
    first, second = [item['position'] for item in replies if 'position' in item]
    assert turn(chat, bob, ack(first))[bob][0]['response'] == 200
    chat.disconnect(bob)
    carry_out(chat)
    _, replies = log_in(chat, 'bob', acks=True)
    assert texts(replies) == ['two'] and replies[-1]['position'] == second


def test_acknowledging_what_was_not_sent_is_a_bad_request(chat):
    bob, _ = log_in(chat, 'bob', acks=True)
    assert turn(chat, bob, ack(10 ** 6))[bob][0]['response'] == 400


def test_a_message_sent_again_with_its_id_is_stored_and_relayed_once(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    first = turn(chat, alice, msg('bob', 'hi', message_id='m-1'))
    again = turn(chat, alice, msg('bob', 'hi', message_id='m-1'))
    assert again[alice][0]['response'] == 200
    assert again[alice][0]['position'] == first[alice][0]['position']
    assert again[alice][0]['id'] == 'm-1'
    assert texts(first[bob]) == ['hi'] and bob not in again
    chat.receive(alice, msg('bob', 'x', message_id='m-2'))      # twice in one turn
    out = turn(chat, alice, msg('bob', 'x', message_id='m-2'))
    assert out[alice][0]['position'] == out[alice][1]['position']
    assert texts(out[bob]) == ['x']


def test_acknowledgements_wait_for_the_commit(chat):
    alice, _ = log_in(chat, 'alice')
    chat.receive(alice, msg('#all', 'one'))
    assert chat.busy and chat.storage.last_position() == 0     # held until commit
    sends = chat.commit().sends
    assert json.loads(sends[0][1])['response'] == 200
    assert chat.storage.last_position() == 1


def test_rooms_are_kept_and_pruned(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    carol, _ = log_in(chat, 'carol')
    for conn in (alice, bob):
        reply = turn(chat, conn, request(Action.JOIN, room='#py'))[conn][0]
    assert reply['members'] == ['alice', 'bob']
    out = turn(chat, alice, msg('#py', 'room talk'))
    assert bob in out and carol not in out
    assert turn(chat, carol, msg('#py', 'me too'))[carol][0]['response'] == 403
    chat.disconnect(bob)
    turn(chat, alice, msg('#py', 'while bob is away'))
    _, replies = log_in(chat, 'bob')                      # still a member, gets what he missed
    assert texts(replies) == ['while bob is away']
    assert turn(chat, carol, request(Action.LEAVE, room='#nowhere'))[carol][0]['response'] == 404
    assert '#nowhere' not in chat.rooms                   # leave never makes a room
    chat.disconnect(alice)
    chat.disconnect(chat.online['bob'])
    assert '#py' not in chat.rooms                        # nobody online in it


def test_framing_errors_answer_400_and_fatal_ones_close(chat):
    conn = Conn('x')
    chat.connect(conn, '127.0.0.1')
    assert turn(chat, conn, FramingError('bad'))[conn][0]['response'] == 400
    chat.receive(conn, FramingError('too long', fatal=True))
    assert chat.commit().close == [conn]


def test_second_login_conflicts(chat):
    log_in(chat, 'alice')
    _, replies = log_in(chat, 'alice', conn=Conn('again'))
    assert replies[0]['response'] == 409


def fail(*_args, **_kwargs):
    """Stand in for a storage method on a full disk."""
    raise StorageError('database or disk is full')


def test_a_failed_commit_acknowledges_and_relays_nothing(chat, monkeypatch):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    monkeypatch.setattr(chat.storage, 'store', fail)
    chat.receive(bob, request(Action.GET_USERS))           # same turn, needs no storing
    out = turn(chat, alice, msg('bob', 'lost?'))
    assert [m['response'] for m in out[alice]] == [500]
    assert [m['response'] for m in out[bob]] == [202]      # answered, nothing relayed
    monkeypatch.undo()
    out = turn(chat, alice, msg('bob', 'again'))
    assert out[alice][0]['response'] == 200 and out[bob][0]['message'] == 'again'


def test_cursors_that_cannot_be_stored_wait_for_the_next_tick(chat, monkeypatch):
    # Were they tried again at once, the loop would commit and fail, and do nothing else,
    # for as long as the database is down.
    alice, _ = log_in(chat, 'alice')
    log_in(chat, 'bob')
    turn(chat, alice, msg('bob', 'hi'))                    # bob's cursor moves
    chat.tick()
    monkeypatch.setattr(chat.storage, 'store', fail)
    chat.commit()
    assert not chat.busy
    monkeypatch.undo()
    chat.tick()
    assert chat.busy
    chat.commit()
    assert chat.storage.account('bob').delivered > 0


@pytest.mark.parametrize('method, message', [
    ('add_contact', request(Action.ADD_CONTACT, user_id='bob')),
    ('contacts', request(Action.GET_CONTACTS)),
    ('user_names', request(Action.GET_USERS)),
    ('set_key', request(Action.SET_KEY, key='a2V5')),
    ('get_key', request(Action.GET_KEY, user_id='bob')),
    ('join_room', request(Action.JOIN, room='#py')),
    ('exists', msg('nobody', 'hi')),
])
def test_any_storage_failure_is_that_request_s_500(chat, monkeypatch, method, message):
    alice, _ = log_in(chat, 'alice')
    monkeypatch.setattr(chat.storage, method, fail)
    assert turn(chat, alice, message)[alice][0]['response'] == 500
    monkeypatch.undo()
    assert turn(chat, alice, presence('alice'))[alice][0]['response'] == 200


def test_a_login_when_the_database_fails_is_500_and_can_be_tried_again(chat, monkeypatch):
    monkeypatch.setattr(chat.storage, 'account', fail)
    _, replies = log_in(chat, 'alice')
    assert replies[0]['response'] == 500 and 'alice' not in chat.online
    monkeypatch.undo()
    _, replies = log_in(chat, 'alice')
    assert replies[0]['response'] == 200


def test_a_bug_in_one_request_is_its_500_and_is_logged(chat, monkeypatch, caplog):
    alice, _ = log_in(chat, 'alice')
    monkeypatch.setattr(chat, '_change_contact', lambda *args: 1 / 0)
    with caplog.at_level(logging.ERROR):
        reply = turn(chat, alice, request(Action.ADD_CONTACT, user_id='bob'))[alice][0]
    assert (reply['response'], reply['error']) == (500, 'internal error')
    assert 'ZeroDivisionError' in caplog.text


def test_a_backlog_comes_in_pages_within_the_output_limit(storage):
    chat = make_chat(storage, max_output_bytes=8192)
    alice, _ = log_in(chat, 'alice')
    for number in range(300):
        chat.receive(alice, msg('bob', f'{number:03} ' + 'x' * 100))
    carry_out(chat)
    bob = Conn('bob')
    _, got = log_in(chat, 'bob', conn=bob, stuck=[bob])    # nothing is written yet
    got, turns = texts(got), 0
    while len(got) < 300 and turns < 100:
        session = chat.sessions[bob]
        assert session.unsent <= 8192
        chat.written(bob, session.unsent)                  # the socket takes what it has
        got += texts(carry_out(chat, stuck=[bob]).get(bob, []))
        turns += 1
    assert [text[:3] for text in got] == [f'{number:03}' for number in range(300)]
    assert turns > 5 and chat.sessions[bob].live


def test_a_backlog_longer_than_a_page_comes_whole(chat):
    alice, _ = log_in(chat, 'alice')
    for number in range(PAGE + 50):
        chat.receive(alice, msg('bob', str(number)))
    carry_out(chat)
    _, replies = log_in(chat, 'bob')
    assert texts(replies) == [str(number) for number in range(PAGE + 50)]


def test_a_live_reader_that_falls_behind_reads_the_rest_from_the_database(storage):
    chat = make_chat(storage, max_output_bytes=8192)
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    stream = []                                            # what bob's socket will carry
    for number in range(200):                              # bob's socket takes nothing
        stream += texts(turn(chat, alice, msg('bob', f'{number:03}'), stuck=[bob]).get(bob, []))
    assert not chat.sessions[bob].live and chat.sessions[bob].unsent <= 8192
    while len(stream) < 200:
        chat.written(bob, chat.sessions[bob].unsent)
        stream += texts(carry_out(chat).get(bob, []))
    assert stream == [f'{number:03}' for number in range(200)]


def test_list_alerts_count_in_words():
    assert [counted(n, 'contact') for n in (0, 1, 2)] == ['0 contacts', '1 contact', '2 contacts']


def history(chat, conn, other, **fields):
    """Ask for a page of the conversation with ``other``; return the response."""
    return turn(chat, conn, request(Action.HISTORY, **{'with': other}, **fields))[conn][0]


def test_history_comes_in_pages_of_what_the_user_may_see(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    carol, _ = log_in(chat, 'carol')
    for number in range(7):
        turn(chat, alice, msg('bob', f'a{number}'))
        turn(chat, bob, msg('alice', f'b{number}'))
    turn(chat, carol, msg('bob', 'not between alice and bob'))
    page = history(chat, bob, 'alice', limit=5)
    assert page['response'] == 202
    assert [m['message'] for m in page['messages']] == ['b4', 'a5', 'b5', 'a6', 'b6']
    older = history(chat, bob, 'alice', limit=5, before=page['messages'][0]['position'])
    assert [m['message'] for m in older['messages']] == ['a2', 'b2', 'a3', 'b3', 'a4']
    first = older['messages'][0]
    assert set(first) == {'action', 'time', 'from', 'to', 'encoding', 'message', 'position'}
    assert history(chat, bob, 'zed')['response'] == 404
    assert history(chat, bob, 'alice', limit=101)['response'] == 400


def test_a_room_s_history_starts_when_one_joined(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    turn(chat, alice, request(Action.JOIN, room='#py'))
    turn(chat, alice, msg('#py', 'before bob'))
    assert history(chat, bob, '#py')['response'] == 403
    turn(chat, bob, request(Action.JOIN, room='#py'))
    turn(chat, alice, msg('#py', 'after bob'))
    assert [m['message'] for m in history(chat, bob, '#py')['messages']] == ['after bob']
    assert [m['message'] for m in history(chat, alice, '#py')['messages']] == \
        ['before bob', 'after bob']


def test_an_old_key_is_still_handed_out_for_old_messages(chat):
    alice, _ = log_in(chat, 'alice')
    bob, _ = log_in(chat, 'bob')
    turn(chat, alice, request(Action.SET_KEY, key='b2xk'))
    old = turn(chat, alice, msg('bob', 'sealed with the old key'))[alice][0]['position']
    turn(chat, alice, request(Action.SET_KEY, key='bmV3'))
    assert turn(chat, bob, request(Action.GET_KEY, user_id='alice'))[bob][0]['key'] == 'bmV3'
    reply = turn(chat, bob, request(Action.GET_KEY, user_id='alice', position=old))[bob][0]
    assert (reply['key'], reply['position']) == ('b2xk', old)


def test_past_the_broadcast_limit_only_contacts_and_room_mates_hear_of_a_login(storage):
    for name in ('dave', 'erin'):
        storage.add_user(name, f'{name}-pw', iterations=4096)
    chat = make_chat(storage, presence_broadcast=2)
    bob, _ = log_in(chat, 'bob')
    carol, _ = log_in(chat, 'carol')
    dave, _ = log_in(chat, 'dave')                    # three online: past the limit
    turn(chat, bob, request(Action.ADD_CONTACT, user_id='alice'))
    turn(chat, carol, request(Action.JOIN, room='#py'))
    storage.join_room('alice', '#py')
    alice, scram = Conn('alice'), ScramClient('alice', 'alice-pw')
    chat.connect(alice, '127.0.0.1')
    user = {'account_name': 'alice'}
    first = turn(chat, alice, request(Action.AUTHENTICATE, user=user,
                                      scram=scram.first_message()))[alice][0]
    heard = turn(chat, alice, request(Action.AUTHENTICATE, user=user,
                                      scram=scram.final_message(first['scram'])))
    assert set(heard) == {alice, bob, carol}          # not dave
    chat.disconnect(alice)
    heard = carry_out(chat)
    assert set(heard) == {bob, carol}
    assert all(item['user'] == {'account_name': 'alice', 'status': 'offline'}
               for items in heard.values() for item in items)
    assert dave in chat.sessions


def test_a_backlog_takes_a_page_a_turn(chat):
    alice, _ = log_in(chat, 'alice')
    for number in range(3 * PAGE):
        chat.receive(alice, msg('bob', str(number)))
    carry_out(chat)
    bob = Conn('bob')
    _, replies = log_in(chat, 'bob', conn=bob, stuck=[bob])
    pages = [len(texts(replies))]
    while chat.sessions[bob].queued < chat.storage.last_position():
        chat.written(bob, chat.sessions[bob].unsent)      # all of it, at once
        chat.refill()
        pages.append(len(texts(json.loads(line) for _, data in chat.commit().sends
                               for line in data.splitlines())))
    assert max(pages) <= PAGE and sum(pages) == 3 * PAGE


def test_mail_read_at_login_goes_before_a_message_of_the_same_turn(chat):
    # Bob's mail waits; in one turn alice writes again and then bob logs in. He must get his
    # mail first: a client drops a position lower than one it has (a lost message, once).
    alice, _ = log_in(chat, 'alice')
    for text in ('one', 'two'):
        turn(chat, alice, msg('bob', text))
    bob, scram, user = Conn('bob'), ScramClient('bob', 'bob-pw'), {'account_name': 'bob'}
    chat.connect(bob, '127.0.0.1')
    first = turn(chat, bob, request(Action.AUTHENTICATE, user=user,
                                    scram=scram.first_message()))[bob][0]
    chat.receive(alice, msg('bob', 'three'))
    chat.receive(bob, request(Action.AUTHENTICATE, user=user, acks=True,
                              scram=scram.final_message(first['scram'])))
    relayed = [item for item in carry_out(chat)[bob] if item.get('action') == 'msg']
    assert [item['message'] for item in relayed] == ['one', 'two', 'three']
    assert [item['position'] for item in relayed] == \
        sorted(item['position'] for item in relayed)

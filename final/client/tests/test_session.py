"""The Session without a network: ids, what is sent again, what is shown once, acks, keys."""
from jim.constants import E2E, Action
from jim.messages import msg, request
from jim_client import session as session_module
from jim_client.e2e import KeyPair
from jim_client.session import Session
from jim_client.trust import TrustStore, fingerprint


class Recorder:
    """Stands for a connection: keeps what is sent."""

    server_id = ''
    server = 'chat.example:7777'        # where the user connected

    def __init__(self):
        self.sent = []

    def send(self, message):
        """Keep ``message``."""
        self.sent.append(message)


def pushed(position, text='hi'):
    """Return a msg as the server pushes it."""
    return {'action': 'msg', 'time': 1.0, 'from': 'bob', 'to': 'alice', 'encoding': 'utf-8',
            'message': text, 'position': position}


def ok():
    """Return a 200 response."""
    return {'response': 200, 'time': 1.0}


def attached():
    """Return a session without end-to-end keys, attached to a recorder."""
    session, conn = Session('alice', None), Recorder()
    session.attach(conn)
    return session, conn


def test_each_message_gets_an_id_of_its_own():
    session, conn = attached()
    session.send(msg('bob', 'one'))
    session.send(msg('bob', 'two'))
    ids = [message['id'] for message in conn.sent]
    assert len(set(ids)) == 2 and all(ids)


def test_what_was_not_answered_is_sent_again_with_the_same_id():
    session, first = attached()
    session.send(msg('bob', 'answered'))
    session.send(msg('bob', 'lost with the connection'))
    session.send(request(Action.GET_USERS))
    session.receive(ok())                                   # the first one's 200
    session.acknowledge(force=True)                         # nothing shown: no ack
    session.detach()
    session.send(msg('bob', 'typed while away'))
    second = Recorder()
    session.attach(second)
    assert [m.get('message') for m in second.sent] == \
        ['lost with the connection', None, 'typed while away']
    assert second.sent[0]['id'] == first.sent[1]['id']
    assert [m['message'] for m in session.unanswered()] == \
        ['lost with the connection', 'typed while away']


def test_a_message_sent_again_by_the_server_is_shown_once():
    session, _ = attached()
    assert [item['message'] for item in session.receive(pushed(5, 'first'))] == ['first']
    assert not session.receive(pushed(5, 'first'))
    assert not session.receive(pushed(4, 'older'))
    assert [item['message'] for item in session.receive(pushed(6, 'next'))] == ['next']


def test_acks_come_once_a_burst_is_shown(monkeypatch):
    monkeypatch.setattr(session_module, 'ACK_EVERY', 3)
    session, conn = attached()
    for position in (1, 2):
        session.receive(pushed(position))
        session.acknowledge()
    assert not conn.sent                                    # a burst: not yet
    session.receive(pushed(3))
    session.acknowledge()
    assert [(m['action'], m['position']) for m in conn.sent] == [('ack', 3)]
    session.receive(pushed(4))
    session.acknowledge(force=True)                         # the end of the burst
    assert conn.sent[-1]['position'] == 4
    session.acknowledge(force=True)
    assert len(conn.sent) == 2                              # nothing new: no ack


def test_nothing_is_acknowledged_before_it_is_handed_on():
    session, conn = attached()
    session.detach()                                        # no connection: no ack either
    session.receive(pushed(1))
    session.acknowledge(force=True)
    assert not conn.sent
    again = Recorder()
    session.attach(again)
    session.acknowledge(force=True)
    assert [(m['action'], m['position']) for m in again.sent] == [('ack', 1)]


def test_a_probe_is_answered_with_presence():
    session, conn = attached()
    assert not session.receive({'action': 'probe', 'time': 1.0})
    assert conn.sent[-1]['action'] == 'presence'
    assert conn.sent[-1]['user']['account_name'] == 'alice'


class KeyServer(Recorder):
    """Stands for a connection and answers get_key from ``keys``: {(user, position): key},
    position None for the current key (a missing one is 404); every other request gets 200."""

    def __init__(self, keys):
        super().__init__()
        self.keys = keys
        self.answered = 0

    def answer(self, session):
        """Answer every request not answered yet, in order; return what the session shows."""
        shown = []
        while self.answered < len(self.sent):
            asked = self.sent[self.answered]
            self.answered += 1
            if asked['action'] != 'get_key':
                shown += session.receive(ok())
                continue
            key = self.keys.get((asked['user_id'], asked.get('position')))
            shown += session.receive({'response': 202, 'time': 1.0, 'key': key} if key
                                     else {'response': 404, 'time': 1.0, 'error': 'no key'})
        return shown


def sealed(sender_keys, sender, to, text, position):
    """Return a sealed msg as the server pushes it (or puts it in a page of history)."""
    return {'action': 'msg', 'time': 1.0, 'from': sender, 'to': to, 'encoding': E2E,
            'message': sender_keys[0].encrypt(sender_keys[1], sender, to, text),
            'position': position}


def swapped_after_first_use(session, real, fake, server_id):
    """Let ``session`` seal a message for bob with his ``real`` key (from a server with id
    s1), then attach it to a server with ``server_id`` that gives ``fake`` for bob, and send
    him another; return the two servers and what the session showed."""
    first = KeyServer({('bob', None): real})
    first.server_id = 's1'
    session.attach(first)
    session.send(msg('bob', 'to the real bob'))
    first.answer(session)
    session.detach()
    swapped = KeyServer({('bob', None): fake})
    swapped.server_id = server_id
    session.attach(swapped)
    session.send(msg('bob', 'not for eve'))
    return first, swapped, swapped.answer(session)


def test_a_changed_key_is_reported_and_nothing_is_sealed_for_it_until_accepted(tmp_path):
    alice, bob, eve = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice, trust=tmp_path)
    first, swapped, events = swapped_after_first_use(session, bob.public, eve.public, 's1')
    assert first.sent[-1]['encoding'] == E2E
    assert [event['event'] for event in events] == ['key_changed']
    assert events[0]['fingerprint'] == fingerprint(eve.public)
    assert events[0]['accepted'] == [fingerprint(bob.public)]
    assert [m['action'] for m in swapped.sent] == ['get_key']          # nothing sealed
    assert [m['message'] for m in session.unanswered()] == ['not for eve']
    assert not session.wait_settled(0.01)
    assert session.trust('bob') and not session.trust('bob')
    assert swapped.sent[-1]['encoding'] == E2E                          # the user said so
    assert eve.decrypt(alice.public, 'alice', 'bob', swapped.sent[-1]['message']) == \
        'not for eve'
    assert TrustStore(tmp_path / 'alice@chat.example_7777.json').trusted('bob', eve.public)


def test_a_server_that_names_itself_anew_cannot_reset_what_is_trusted(tmp_path):
    alice, bob, eve = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice, trust=tmp_path)
    # 's2': as if its database were another one.
    _, swapped, events = swapped_after_first_use(session, bob.public, eve.public, 's2')
    assert [event['event'] for event in events] == ['key_changed']
    assert [m['action'] for m in swapped.sent] == ['get_key']          # nothing sealed


def test_the_name_a_server_gives_itself_never_leads_outside_the_data_folder(tmp_path):
    folder = tmp_path / 'data'
    session = Session('alice', None, bookmarks=folder / 'bookmarks', trust=folder / 'trust')
    conn = Recorder()
    conn.server_id = '/../../../outside'
    conn.server = '/../../../elsewhere:1'
    session.attach(conn)
    session.positions.handed_out(5)
    session.positions.shown_all()
    session.book.store.accept('bob', KeyPair.generate().public)
    made = [path for path in tmp_path.rglob('*') if path.is_file()]
    assert all(folder in path.parents for path in made), made


def test_what_was_held_goes_out_once_the_accepted_key_is_given_again():
    alice, bob, eve = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice, notice=lambda text: None)
    session.book.store.accept('bob', bob.public)
    swapped = KeyServer({('bob', None): eve.public})
    session.attach(swapped)
    session.send(msg('bob', 'held'))
    swapped.answer(session)
    session.detach()
    honest = KeyServer({('bob', None): bob.public})
    session.attach(honest)
    session.send(msg('bob', 'typed later'))
    honest.answer(session)
    assert [bob.decrypt(alice.public, 'alice', 'bob', m['message'])
            for m in honest.sent if m['action'] == 'msg'] == ['held', 'typed later']
    assert eve.public not in str(honest.sent)


def test_no_key_where_one_was_accepted_sends_nothing_readable():
    alice, bob = KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice, notice=lambda text: None)
    first = KeyServer({('bob', None): bob.public})
    session.attach(first)
    session.send(msg('bob', 'one'))
    first.answer(session)
    session.detach()
    keyless = KeyServer({})                                     # "bob has no key"
    session.attach(keyless)
    session.send(msg('bob', 'two'))
    events = keyless.answer(session)
    assert events[0]['event'] == 'key_changed' and events[0]['fingerprint'] is None
    assert [m['action'] for m in keyless.sent] == ['get_key']


def history_page(alice, old, new):
    """Return a page of alice's history with bob: two messages sealed while bob had ``old``
    (one of them alice's), one since he has had ``new``."""
    return [sealed((old, alice.public), 'bob', 'alice', 'old key', 3),
            sealed((alice, old.public), 'alice', 'bob', 'mine, old key', 4),
            sealed((new, alice.public), 'bob', 'alice', 'new key', 7)]


def page_of(session, conn, page):
    """Feed the session the answer to a history request; return what it shows at once."""
    session.send(request(Action.HISTORY, **{'with': 'bob'}))
    conn.answered = len(conn.sent)
    return session.receive({'response': 202, 'time': 1.0, 'messages': page})


def test_history_is_opened_with_the_key_each_message_was_sealed_with():
    alice, old, new = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice)
    conn = KeyServer({('bob', 3): old.public, ('bob', 4): old.public,
                      ('bob', 7): new.public})
    session.attach(conn)
    assert not page_of(session, conn, history_page(alice, old, new))
    event, answer = conn.answer(session)
    assert [(m['user_id'], m.get('position')) for m in conn.sent[1:]] == \
        [('bob', 3), ('bob', 7)]                              # 4 opens with 3's key
    assert [m['message'] for m in answer['messages']] == ['old key', 'mine, old key',
                                                          'new key']
    assert answer['request']['action'] == 'history'
    # The first key seen is trusted; the new one was never accepted.
    assert [bool(m.get('warning')) for m in answer['messages']] == [False, False, True]
    assert event['event'] == 'key_changed' and event['fingerprint'] == fingerprint(new.public)


def test_keys_accepted_before_open_history_without_asking():
    alice, old, new = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice)
    session.book.store.accept('bob', old.public)
    session.book.store.accept('bob', new.public)              # bob changed keys, accepted
    conn = KeyServer({})
    session.attach(conn)
    [answer] = page_of(session, conn, history_page(alice, old, new))
    assert [m['message'] for m in answer['messages']] == ['old key', 'mine, old key',
                                                          'new key']
    assert [m['action'] for m in conn.sent] == ['history']


def test_a_message_sealed_with_a_key_not_accepted_is_shown_with_a_warning():
    alice, bob, eve = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice)
    session.book.store.accept('bob', bob.public)
    conn = KeyServer({('bob', 5): eve.public})
    session.attach(conn)
    assert not session.receive(sealed((eve, alice.public), 'bob', 'alice', 'from "bob"', 5))
    event, shown = conn.answer(session)
    assert event['event'] == 'key_changed' and event['user'] == 'bob'
    assert shown['message'] == 'from "bob"' and 'not accepted' in shown['warning']


def test_a_fingerprint_is_shown_once_the_key_comes():
    alice, bob = KeyPair.generate(), KeyPair.generate()
    session = Session('alice', alice)
    conn = KeyServer({('bob', None): bob.public})
    session.attach(conn)
    session.ask_fingerprint('bob')
    [event] = conn.answer(session)
    assert event == {'event': 'fingerprint', 'user': 'bob', 'key': bob.public,
                     'fingerprint': fingerprint(bob.public), 'trusted': True}
    assert session.fingerprint == fingerprint(alice.public)


def test_what_the_server_did_not_confirm_is_told_as_it_was_typed():
    alice, bob = KeyPair.generate(), KeyPair.generate()
    session, conn = Session('alice', alice), Recorder()
    session.attach(conn)
    session.send(msg('bob', 'hello bob'))
    session.receive({'response': 202, 'time': 1.0, 'key': bob.public})    # the key only
    assert conn.sent[-1]['encoding'] == E2E                            # sealed on the wire
    assert [m['message'] for m in session.unanswered()] == ['hello bob']
    session.receive(ok())
    assert not session.unanswered()

"""The console client: typed lines, what arrives, and the order of what goes out."""
from jim.messages import msg
from jim_client.console import command, show
from jim_client.e2e import KeyPair
from jim_client.session import Session


def test_lines_become_requests():
    assert command('hello')['to'] == '#all'
    assert command('@bob psst')['to'] == 'bob'
    assert command('#py talk')['to'] == '#py'
    assert command('/join #py')['room'] == '#py'
    assert command('/add bob')['user_id'] == 'bob'
    assert [command('/quit'), command('/nonsense'), command('  ')] == ['quit', 'help', None]


def test_what_arrives_is_shown():
    assert show({'action': 'msg', 'from': 'bob', 'to': '#all', 'message': 'hi'}) == 'bob: hi'
    assert show({'action': 'msg', 'from': 'bob', 'to': 'alice', 'message': 'x'}) == \
        'bob [alice]: x'
    assert show({'response': 404, 'error': 'no such user'}) == '404: no such user'
    assert show({'response': 202, 'alert': '2 users', 'users': ['a', 'b']}) == '2 users: a, b'
    assert show({'response': 200, 'alert': 'OK'}) is None
    assert show({'action': 'presence', 'user': {'account_name': 'bob', 'status': 'offline'}}) \
        == '(bob is offline)'


class Recorder:
    """Stands for a connection: keeps what is sent."""

    name = 'alice'

    server_id = ''
    server = 'localhost:7777'

    def __init__(self):
        self.sent = []

    def send(self, message):
        """Keep ``message``."""
        self.sent.append(message)


def test_quit_goes_out_ahead_of_what_waits_for_a_key():
    conn = Recorder()
    session = Session('alice', KeyPair.generate())
    session.attach(conn)
    session.send(msg('bob', 'waits for the key'))
    session.send(msg('#all', 'waits behind it'))
    assert not session.wait_settled(0.01)
    session.leave()
    assert [m['action'] for m in conn.sent] == ['get_key', 'quit']


def test_history_trust_and_fingerprint_commands():
    older = command('/history bob 5')
    assert (older['action'], older['with'], older['limit']) == ('history', 'bob', 5)
    assert command('/history #py')['limit'] == 20
    assert command('/history bob 1000')['limit'] == 100
    assert [command('/history bob many'), command('/history'), command('/trust')] == \
        ['help', 'help', 'help']
    assert command('/trust bob') == ('trust', 'bob')
    assert command('/fingerprint') == ('fingerprint', '')
    assert command('/fingerprint bob') == ('fingerprint', 'bob')


def test_history_events_and_warnings_are_shown():
    page = {'response': 202, 'alert': '2 messages', 'request': {'with': 'bob'}, 'messages': [
        {'from': 'bob', 'to': 'alice', 'message': 'hi', 'time': 0.0},
        {'from': 'alice', 'to': 'bob', 'message': 'hello', 'time': 60.0,
         'warning': 'sealed with a key of bob that you have not accepted'}]}
    lines = show(page).splitlines()
    assert lines[0] == '--- 2 last messages with bob ---' and lines[-1] == '---'
    assert lines[1].endswith(' bob [alice]: hi') and lines[1][:4].isdigit()
    assert lines[2].endswith('hello (WARNING: sealed with a key of bob that you have not '
                             'accepted)')
    assert show({**page, 'messages': []}) == '(no messages with bob)'
    changed = show({'event': 'key_changed', 'user': 'bob', 'accepted': ['aaaa'],
                    'fingerprint': 'bbbb'})
    assert 'WARNING' in changed and 'aaaa' in changed and 'bbbb' in changed
    assert '/trust bob' in changed
    assert 'has no key' in show({'event': 'key_changed', 'user': 'bob', 'accepted': ['a'],
                                 'fingerprint': None})
    assert show({'event': 'fingerprint', 'user': 'bob', 'fingerprint': 'cccc',
                 'trusted': True}) == "(bob's key fingerprint: cccc (accepted))"

"""The console client: typed lines, what arrives, and the order of what goes out."""
from jim.messages import msg
from jim_client.console import Session, command, show
from jim_client.e2e import KeyPair


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

    def __init__(self):
        self.sent = []

    def send(self, message):
        """Keep ``message``."""
        self.sent.append(message)


def test_quit_goes_out_ahead_of_what_waits_for_a_key():
    conn = Recorder()
    session = Session(conn, KeyPair.generate())
    session.send(msg('bob', 'waits for the key'))
    session.send(msg('#all', 'waits behind it'))
    assert not session.wait_settled(0.01)
    session.leave()
    assert [m['action'] for m in conn.sent] == ['get_key', 'quit']

"""The console client's reading of typed lines and showing of what arrives."""
from jim_client.console import command, show


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

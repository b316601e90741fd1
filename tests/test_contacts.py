"""Contact lists on the wire: get_users, get_contacts, add_contact, del_contact."""
import time

import pytest

pytestmark = pytest.mark.needs('contacts')


def request(action: str, user_id: str | None = None) -> dict:
    """Return a contacts request, with ``user_id`` when given."""
    message = {'action': action, 'time': time.time()}
    if user_id is not None:
        message['user_id'] = user_id
    return message


def test_users_lists_everyone_known(server):
    with server.join('alice') as alice, server.join('bob'):
        response = alice.request(request('get_users'))
    assert response['response'] == 202
    assert {'alice', 'bob'} <= set(response['users'])


def test_contact_list_round_trip(server):
    with server.join('bob'), server.join('alice') as alice:
        assert alice.request(request('get_contacts'))['contacts'] == []
        assert alice.request(request('add_contact', 'bob'))['response'] == 200
        response = alice.request(request('get_contacts'))
        assert (response['response'], response['contacts']) == (202, ['bob'])
        assert alice.request(request('del_contact', 'bob'))['response'] == 200
        assert alice.request(request('get_contacts'))['contacts'] == []
        assert alice.request(request('del_contact', 'bob'))['response'] == 404


def test_unknown_contact_gets_404(server):
    with server.join('alice') as alice:
        assert alice.request(request('add_contact', 'nobody'))['response'] == 404


@pytest.mark.parametrize('bad', [None, 42, '', 'x' * 26])
def test_bad_user_id_gets_400(server, bad):
    with server.join('alice') as alice:
        message = request('add_contact')
        if bad is not None:
            message['user_id'] = bad
        assert alice.request(message)['response'] == 400


def test_contact_requests_need_presence_first(server):
    with server.connect() as conn:
        assert conn.request(request('get_contacts'))['response'] in (400, 401)

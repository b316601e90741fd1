"""presence: the request every stage answers."""
import time

import pytest

from wire import presence


def test_presence_is_answered_with_200(server):
    with server.session('alice') as conn:
        response = conn.request(presence('alice'))
    assert response['response'] == 200
    assert isinstance(response['time'], (int, float))
    assert abs(response['time'] - time.time()) < 60
    assert 'action' not in response
    assert isinstance(response.get('alert', ''), str)


def test_cyrillic_account_name_is_accepted(server):
    with server.session('Алиса') as conn:
        assert conn.request(presence('Алиса'))['response'] == 200


def test_many_clients_one_after_another(server):
    for number in range(20):
        with server.session(f'user{number}') as conn:
            assert conn.request(presence(f'user{number}'))['response'] == 200


@pytest.mark.needs('persistent')
def test_several_requests_on_one_connection(server):
    with server.session('alice') as conn:
        assert conn.request(presence('alice'))['response'] == 200
        for _ in range(3):
            # A second presence from the same user is a status update, still 200.
            assert conn.request(presence('alice'))['response'] == 200

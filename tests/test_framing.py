"""Framing: one read is not one message (DESIGN.md, "Framing")."""
import json

import pytest

from wire import presence

pytestmark = pytest.mark.needs('framing', 'persistent')


def encoded(name: str) -> bytes:
    """Return a presence of ``name`` as the bytes a client sends."""
    return json.dumps(presence(name), ensure_ascii=False).encode()


def test_several_messages_in_one_write(server):
    with server.session('alice') as conn:
        conn.send_raw(b''.join(encoded('alice') + b'\n' for _ in range(5)))
        for _ in range(5):
            assert conn.response()['response'] == 200


def test_objects_without_newline_between_them(server):
    with server.session('alice') as conn:
        conn.send_raw(encoded('alice') + encoded('alice') + b'\r\n  ' + encoded('alice'))
        for _ in range(3):
            assert conn.response()['response'] == 200


def test_one_message_across_many_writes(server):
    data = encoded('Алиса') + b'\n'
    with server.session('Алиса') as conn:
        for index in range(len(data)):
            conn.send_raw(data[index:index + 1])
            if index == len(data) // 2:
                # Another client's full round trip: the server has surely read the first half.
                server.assert_serving()
        assert conn.response()['response'] == 200


def test_multibyte_character_split_between_writes(server):
    data = encoded('Алиса') + b'\n'
    cut = data.index('Алиса'.encode()) + 1
    with server.session('Алиса') as conn:
        conn.send_raw(data[:cut])
        server.assert_serving()
        conn.send_raw(data[cut:])
        assert conn.response()['response'] == 200


def test_braces_and_quotes_inside_strings(server):
    message = presence('alice')
    message['user']['status'] = 'a } tricky { "status" \\ here'
    with server.session('alice') as conn:
        conn.send_raw(json.dumps(message).encode())
        assert conn.response()['response'] == 200


def test_garbage_between_objects_is_answered_and_skipped(server):
    with server.session('alice') as conn:
        conn.send_raw(encoded('alice') + b'\nnot json\n' + encoded('alice') + b'\n')
        codes = [conn.response()['response'] for _ in range(3)]
    assert codes == [200, 400, 200]

"""Arbitrary bytes and arbitrary message shapes: no exception escapes, every reply is valid."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jim.constants import Action
from jim.framing import Decoder
from jim.messages import parse_response

from jim_server.chat import Chat
from jim_server.settings import Settings
from jim_server.storage import Storage


@pytest.fixture(scope='module')
def chat():
    """Yield a Chat over an in-memory database with alice."""
    storage = Storage('sqlite://')
    storage.add_user('alice', 'pw', iterations=4096)
    yield Chat(storage, Settings(iterations=4096))
    storage.close()


def check_outputs(chat):
    """Commit; check every output is one valid response or pushed message, encoded."""
    for _, data in chat.commit().sends:
        (message,) = Decoder().feed(data)
        if 'response' in message:
            parse_response(message)
        else:
            assert message['action'] in ('msg', 'presence', 'probe')


values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text()
                      | st.sampled_from(['\ud800', 10 ** 400, 2 ** 63, -1]),
                      lambda inner: st.lists(inner, max_size=3) |
                      st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
shapes = st.fixed_dictionaries(
    {'action': st.sampled_from([str(a) for a in Action]) | values},
    optional={'time': values, 'user': st.fixed_dictionaries(
        {}, optional={'account_name': st.sampled_from(['alice', 'bob', '']) | values,
                      'status': values}),
        'to': st.sampled_from(['#all', 'alice', '#room', 'nobody']) | values,
        'message': values, 'room': values, 'user_id': values, 'scram': values,
        'position': values, 'id': values, 'acks': values, 'key': values})


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(shapes, max_size=6))
def test_any_shape_gets_a_valid_reply(chat, messages):
    conn = object()
    chat.connect(conn, '127.0.0.1')
    try:
        for message in messages:
            chat.receive(conn, message)
        check_outputs(chat)
    finally:
        chat.disconnect(conn)
        chat.commit()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(1, 64))
def test_any_bytes_get_valid_replies(chat, data, size):
    conn, decoder = object(), Decoder(max_bytes=200)
    chat.connect(conn, '127.0.0.1')
    try:
        for start in range(0, len(data), size):
            for item in decoder.feed(data[start:start + size]):
                chat.receive(conn, item)
        check_outputs(chat)
    finally:
        chat.disconnect(conn)
        chat.commit()

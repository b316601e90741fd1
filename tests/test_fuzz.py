"""A black-box fuzzer: whatever a client sends, the server answers it or closes, and goes on.

Requests are built from every action of the JIM dialect used anywhere in the repository, whatever
the stage under test supports (an action it does not know must get 400 too), then mutated:
fields missing or of the wrong type, lone surrogates, numbers no float holds (also as raw JSON
text that ``json.dumps`` never writes), deep nesting, long strings, NUL and control characters,
unknown fields. Each example is sent before login and after it, while a second client is online
to receive what is relayed. After each example the reply is a JIM response or a closed
connection, the server still runs, and a newcomer is served.

``--fuzz-examples N`` sets how many examples run (``nox -s fuzz`` runs 20,000 per server).
"""
from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import subprocess
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wire import POOL, JimConnection

# Examples come from another loopback address before login, as an attacker's would: a throttle
# of failed logins per address must not shut out the suite's own clients on 127.0.0.1.
HOSTILE_ADDRESS = '127.0.0.2'
RECEIVER = 'observer'          # the second client, online to receive relays
MAX_EXTRA_FIELDS = 2           # unknown fields added to a request
MAX_LINES = 3                  # lines sent in one example
EXIT_WAIT = 1.0                # seconds a failing server has to exit before it counts as up
LOG_TAIL = 4000                # characters of a stopped server's output shown
# Over the limits: a msg's 500 characters, an object's 640 and 4096 bytes (the stages'), and,
# rarely (a stage's reader may take half a second of CPU time on it), 65536 bytes.
LONG_TEXTS = ['x' * 501, 'ж' * 700, 'x' * 5000]
HUGE_TEXT = 'x' * 70_000
DEPTHS = [100, 3000]                                     # nesting of arrays and objects
HUGE_ONE_IN = 100                                        # values over 64 KB: one in so many


@dataclasses.dataclass(frozen=True)
class Raw:
    """JSON text sent as it is: what ``json.dumps`` will not write (``1e999``, ``NaN``...)."""

    text: str


RAW_NUMBERS = [Raw(text) for text in ('1e999', '-1e400', '1e-400', 'NaN', 'Infinity',
                                      '-Infinity', '9' * 400, '-' + '9' * 400,
                                      '0.' + '0' * 400 + '1', '1' + '0' * 5000)]
DEEP = [Raw('[' * n + ']' * n) for n in DEPTHS] + [Raw('{"a": ' * n + '0' + '}' * n)
                                                   for n in DEPTHS]
HUGE = [HUGE_TEXT, Raw('[' * len(HUGE_TEXT) + ']' * len(HUGE_TEXT))]

# Well-formed values.
NAMES = st.sampled_from(['alice', 'bob', 'carol', 'Алиса', RECEIVER, 'stranger'])
USERS = st.sampled_from([RECEIVER, 'alice', 'stranger'])       # online, known, unknown
RECIPIENTS = st.sampled_from(['#all', RECEIVER, 'stranger', '#room'])
ROOMS = st.sampled_from(['#all', '#room', '#lobby'])
TEXTS = st.text(st.characters(exclude_categories=['Cs']), max_size=20)   # no codec: fast
HEX = st.binary(min_size=32, max_size=32).map(bytes.hex)
BASE64 = st.binary(min_size=32, max_size=32).map(lambda data: base64.b64encode(data).decode())
SCRAM = (st.builds(lambda name, nonce: f'n,,n={name},r={nonce}', NAMES, BASE64)
         | st.builds(lambda nonce, proof: f'c=biws,r={nonce},p={proof}', BASE64, BASE64) | TEXTS)
IDS = st.uuids().map(str) | st.integers(min_value=0, max_value=2**31)
POSITIONS = st.integers(min_value=0, max_value=10**6)
USER = {'account_name': NAMES}

# Every request of the dialect: the course's (Q1 L3 to Q2 L6) and final/'s. A nested dict is
# a nested object whose fields are mutated in their turn.
REQUEST_FIELDS = [
    {'action': st.just('presence'), 'type': st.just('status'),
     'user': {'account_name': NAMES, 'status': TEXTS}},
    {'action': st.just('msg'), 'to': st.just('#all'), 'encoding': st.just('utf-8'),
     'message': TEXTS},
    {'action': st.just('msg'), 'to': USERS, 'from': NAMES, 'encoding': st.just('utf-8'),
     'message': TEXTS},
    {'action': st.just('msg'), 'to': ROOMS, 'encoding': st.just('utf-8'), 'message': TEXTS},
    {'action': st.just('msg'), 'to': RECIPIENTS, 'encoding': st.just('utf-8'),
     'message': TEXTS, 'id': IDS},                            # final/: an id for retries
    {'action': st.just('quit')},
    {'action': st.just('authenticate'), 'user': USER},        # Q2 L6: asks for a challenge
    {'action': st.just('authenticate'), 'user': USER, 'proof': HEX},     # Q2 L6: answers it
    {'action': st.just('authenticate'), 'user': USER, 'scram': SCRAM},   # final/: SCRAM
    {'action': st.just('join'), 'room': ROOMS},
    {'action': st.just('leave'), 'room': ROOMS},
    {'action': st.just('get_contacts')},
    {'action': st.just('get_users')},
    {'action': st.just('add_contact'), 'user_id': NAMES},
    {'action': st.just('del_contact'), 'user_id': NAMES},
    {'action': st.just('set_key'), 'key': BASE64},
    {'action': st.just('get_key'), 'user_id': NAMES},
    {'action': st.just('ack'), 'position': POSITIONS},                   # final/
    {'action': st.just('history'), 'with': NAMES, 'before': POSITIONS,   # final/
     'limit': st.integers(0, 100)},
    {'action': st.just('probe')},                             # the server's own action
    {'action': st.just('dance')},                             # nobody's
]
SHAPES = [{**fields, 'time': st.floats(min_value=1e9, max_value=2e9)} for fields in REQUEST_FIELDS]

# Hostile values.
SURROGATES = st.text(st.characters(categories=['Cs']), min_size=1, max_size=3)
STRINGS = st.one_of(
    SURROGATES,
    st.builds(str.__add__, NAMES, SURROGATES),
    st.text(st.characters(exclude_categories=[]), max_size=30),      # surrogates included
    st.text(st.characters(max_codepoint=0x1f), min_size=1, max_size=5),   # NUL, controls
    st.sampled_from(LONG_TEXTS))
# Numbers no float or 64-bit integer holds, some as JSON text json.dumps will not write.
OUT_OF_RANGE = st.sampled_from(RAW_NUMBERS + [2**63, -2**63 - 1, 2**64, 10**30, -10**30])
NUMBERS = st.one_of(OUT_OF_RANGE, st.integers(), st.floats())
SCALARS = st.one_of(STRINGS, NUMBERS, st.sampled_from([None, True, False, *DEEP]))
COMMON = st.one_of(SCALARS, SCALARS, SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(STRINGS, SCALARS, max_size=2))
HOSTILE = st.sampled_from([False] * (HUGE_ONE_IN - 1) + [True]).flatmap(
    lambda huge: st.sampled_from(HUGE) if huge else COMMON)
FIELD_NAMES = st.sampled_from(sorted({name for shape in SHAPES for name in shape} |
                                     {'account_name', 'status'})) | STRINGS
# What becomes of one field: mostly kept well-formed, else tainted (a surrogate or a control
# character added to its text, a number out of range in its place), hostile, or left out. The
# action is mostly kept: without it nothing else of the request is looked at.
FATES = st.sampled_from(['kept'] * 6 + ['tainted'] * 2 + ['hostile', 'missing'])
ACTION_FATES = st.sampled_from(['kept'] * 9 + ['hostile'])
TAINTS = st.one_of(SURROGATES, SURROGATES, st.text(st.characters(max_codepoint=0x1f),
                                                   min_size=1, max_size=3))


@st.composite
def mutated(draw: st.DrawFn, shape: dict, extra_fields: int = MAX_EXTRA_FIELDS) -> dict:
    """Return an object of ``shape`` with each field kept, tainted, made hostile or left out."""
    message = {}
    for name, valid in shape.items():
        fate = draw(ACTION_FATES if name == 'action' else FATES)
        if isinstance(valid, dict) and fate in ('kept', 'tainted'):
            message[name] = draw(mutated(valid, extra_fields=0))
        elif fate == 'kept':
            message[name] = draw(valid)
        elif fate == 'tainted':
            value = draw(valid)
            message[name] = value + draw(TAINTS) if isinstance(value, str) else draw(OUT_OF_RANGE)
        elif fate == 'hostile':
            message[name] = draw(HOSTILE)
    for _ in range(draw(st.integers(0, extra_fields))):
        message[draw(FIELD_NAMES)] = draw(HOSTILE)
    return message


def to_json(value: object, ascii_only: bool) -> str:
    """Write ``value`` as JSON, Raw parts as they are."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return '{' + ', '.join(f'{json.dumps(key, ensure_ascii=ascii_only)}: '
                               f'{to_json(item, ascii_only)}'
                               for key, item in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(to_json(item, ascii_only) for item in value) + ']'
    return json.dumps(value, ensure_ascii=ascii_only)


REQUESTS = st.sampled_from(SHAPES).flatmap(mutated)
ASCII_ONLY = st.sampled_from([True, True, True, False])
# Mostly requests; now and then any JSON value at all (an array, a number, a string...).
VALUES = st.one_of(*[REQUESTS] * 9, HOSTILE)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """Return one line to send: mostly a mutated request, sometimes any JSON value at all.

    Mostly written with ``ensure_ascii``, where a lone surrogate is the escape ``\\ud800``;
    without it, the bytes ED A0 80, which are not UTF-8.
    """
    value = draw(VALUES)
    text = to_json(value, ascii_only=draw(ASCII_ONLY))
    return text.encode('utf-8', 'surrogatepass') + b'\n'


class Target:
    """The server under fuzzing, the receiver of relays, and fresh logins for examples."""

    def __init__(self, server):
        self.server = server
        self.receiver: JimConnection | None = None
        self.logins = itertools.count()

    def ready(self) -> None:
        """Restart the server if an example stopped it (that example has failed already);
        put the receiver online."""
        if self.server.process is None or self.server.process.poll() is not None:
            self.server.start()
            self.close()
        if self.receiver is None and self.server.stage.has('concurrent'):
            self.receiver = self.server.join(RECEIVER)

    def drain(self) -> None:
        """Read what was relayed to the receiver, so that its socket never fills up."""
        if self.receiver is None:
            return
        self.receiver.sock.setblocking(False)
        try:
            while self.receiver.sock.recv(65536):
                pass
            self.close()                # closed by the server: a new receiver next time
        except BlockingIOError:
            self.receiver.sock.settimeout(self.receiver.timeout)
        except OSError:
            self.close()

    def assert_running(self) -> None:
        """Fail if the server stops within a moment; say how it ended."""
        assert self.server.process is not None
        try:
            code = self.server.process.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            return
        raise AssertionError(f'the server stopped with {code}:\n{self.server.log()[-LOG_TAIL:]}')

    def logged_in(self) -> JimConnection:
        """Return a new connection, logged in (names rotate: a logout may still be on its way)."""
        return self.server.join(f'user{next(self.logins) % POOL}')

    def close(self) -> None:
        """Close the receiver."""
        if self.receiver is not None:
            self.receiver.close()
            self.receiver = None


# pytest hands each fixture to the functions that name it. pylint: disable=redefined-outer-name
@pytest.fixture(scope='module')
def target(shared_server):
    """One server for every example."""
    fuzzed = Target(shared_server)
    yield fuzzed
    fuzzed.close()


# What the fuzzer found, each of which stopped a lesson's server, kept as regression examples.
RELAYED_SURROGATE = (b'{"action": "msg", "to": "#all", "encoding": "utf-8", "message": "\\ud800", '
                     b'"time": 1000000000.0}\n')                      # Q1 L7 on: relayed
ECHOED_SURROGATE = (b'{"action": "msg", "to": "#all\\ud800", "encoding": "utf-8", '
                    b'"message": "", "time": 1000000000.0}\n')        # Q1 L8 on: in a 404
STORED_SURROGATE = (b'{"action": "presence", "type": "status", "user": {"account_name": '
                    b'"alice\\ud800", "status": ""}, "time": 1000000000.0}\n')   # Q2 L3 on: stored
LOOKED_UP_SURROGATE = (b'{"action": "add_contact", "user_id": "alice\\ud800", '
                       b'"time": 1000000000.0}\n')                     # Q2 L4 on: queried
# And what issue 8 reported: a surrogate name in authenticate (Q2 L6), a time too large.
LOGIN_SURROGATE = (b'{"action": "authenticate", "time": 1000000000.0, '
                   b'"user": {"account_name": "\\ud800"}}\n')
INFINITE_TIME = b'{"action": "presence", "time": 1e999, "user": {"account_name": "alice"}}\n'


def exchange(conn: JimConnection, payload: bytes) -> dict | None:
    """Send ``payload``; return the response, or None if the server closed the connection."""
    try:
        conn.send_raw(payload)
    except OSError:
        pass            # closed before all was sent: what the server said may still be there
    return conn.response_or_close()


def assert_response_or_close(reply: dict | None) -> None:
    """Fail unless ``reply`` is a closed connection (None) or a response with a valid code."""
    if reply is not None:
        code = reply['response']
        assert isinstance(code, int) and not isinstance(code, bool), reply
        assert 100 <= code <= 599, reply


def send_lines(connect: Callable[[], JimConnection], lines: list[bytes],
               persistent: bool) -> None:
    """Send each line and check its reply, on one connection while the server keeps it open.

    After a close, and for servers that answer one request per connection, the next line goes
    on a new connection.
    """
    conn = None
    try:
        for line in lines:
            conn = conn or connect()
            reply = exchange(conn, line)
            assert_response_or_close(reply)
            if reply is None or not persistent:
                conn.close()
                conn = None
    finally:
        if conn is not None:
            conn.close()


@given(lines=st.lists(payloads(), min_size=1, max_size=MAX_LINES))
@example(lines=[RELAYED_SURROGATE])
@example(lines=[ECHOED_SURROGATE])
@example(lines=[STORED_SURROGATE])
@example(lines=[LOOKED_UP_SURROGATE])
@example(lines=[LOGIN_SURROGATE])
@example(lines=[INFINITE_TIME])
def test_any_line_gets_a_response_or_a_close_and_the_server_goes_on(target, lines):
    target.ready()
    persistent = target.server.stage.has('persistent')
    failure = None
    try:
        send_lines(lambda: target.server.connect(source=HOSTILE_ADDRESS), lines, persistent)
        if persistent:
            send_lines(target.logged_in, lines, persistent)
        target.drain()
        target.server.assert_serving()
    except (OSError, AssertionError) as error:
        failure = error
    if failure is not None:
        # A stopped server fails here, however far the example got: hypothesis tells failures
        # apart by where they are raised (and what they were raised during).
        target.assert_running()
        raise failure

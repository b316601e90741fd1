"""What a stage's README shows is what its server does: the exchanges and log lines in it.

A README shows exchanges in its code blocks, one message per line (a long one goes on over
indented lines), as ``WHO → {json}`` for what a client sends and ``server → [WHO] {json}`` for
what the server sends (to WHO, or to whoever sent the last request). This test replays every
exchange of the README against the stage's server, in order, and compares each answer:

* **parties**: each WHO is a connection; ``client`` is an anonymous one. A named party whose
  first request is not ``presence`` or ``authenticate`` is logged in before the replay (the
  README shows it connected already). Without ``persistent``, each request gets a connection.
* **what the README takes as given** is made true first: every user of a ``users`` list in an
  answer has logged in once, and the contacts of a party's first ``contacts`` answer are its
  contacts. A pushed ``presence`` about a user who is no party (Q2 L5: alice comes and goes)
  is caused by the test: that user logs in for ``online`` and quits for ``offline``.
* ``...`` in a request stands for fields as in the last request of that action in the README
  (or a well-formed default); in an answer, for fields not shown. A ``proof`` is computed from
  the last challenge, with the test password.
* fields that differ from run to run (VARYING) must be there with the same type; every other
  field must be equal, and an answer without ``...`` must have no other field.

Log lines in code blocks (``2026-11-25 10:00:00,123 DEBUG ...``) must be in the server's log
once a user has logged in, but for their time.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import re
import time

import pytest

from wire import challenge_proof, msg, presence

# About the repository's READMEs: not run against a student's folder (nox -s check).
pytestmark = pytest.mark.repository

ELIDED = '...'
# Fields whose value changes from run to run: the time of a message, the random salt and
# nonce of a challenge, and the iteration count (the suite's accounts use fewer, for speed).
VARYING = {'time', 'salt', 'nonce', 'iterations'}
FENCE = re.compile(r'^(?P<indent> *)(?P<ticks>`{3,})[\w-]*\s*$')
EXCHANGE = re.compile(r'^(?P<who>[\w#]+)\s*→\s*(?:(?P<to>[\w#]+)\s+)?(?P<rest>\{.*)$')
LOG_LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<rest>(?:DEBUG|INFO|WARNING|'
                      r'ERROR|CRITICAL) .*)$')


@dataclasses.dataclass
class Event:
    """One line of an exchange: a request of a party, or a message of the server to one."""

    line: int
    who: str
    to: str | None
    message: dict

    @property
    def is_request(self) -> bool:
        """Tell whether a client sends it."""
        return self.who != 'server'

    def where(self) -> str:
        """Return where the README shows it, for failure messages."""
        target = f' {self.to}' if self.to else ''
        return f'README line {self.line}: {self.who} →{target} {json.dumps(self.message)}'


def code_blocks(text: str) -> list[tuple[int, list[str]]]:
    """Return the fenced code blocks of Markdown: (number of their first line, their lines)."""
    blocks, lines, number = [], text.splitlines(), 0
    while number < len(lines):
        start = FENCE.match(lines[number])
        number += 1
        if not start:
            continue
        indent, body, first = len(start['indent']), [], number + 1
        while number < len(lines) and lines[number].strip() != start['ticks']:
            body.append(lines[number][indent:])
            number += 1
        number += 1
        blocks.append((first, body))
    return blocks


def object_end(text: str) -> int:
    """Return the index past the JSON-like object that starts ``text``, or -1 if it goes on."""
    depth, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == '\\', char != '"')
        elif char == '"':
            in_string = True
        elif char in '{[':
            depth += 1
        elif char in '}]':
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def with_elisions(text: str) -> dict:
    """Parse a README object, each ``...`` outside strings turned into an ``"...": true`` field."""
    out, in_string, escaped, index = [], False, False, 0
    while index < len(text):
        char = text[index]
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == '\\', char != '"')
        elif char == '"':
            in_string = True
        elif text.startswith(ELIDED, index):
            out.append(f'"{ELIDED}": true')
            index += len(ELIDED)
            continue
        out.append(char)
        index += 1
    return json.loads(''.join(out))


def exchanges(text: str) -> list[Event]:
    """Return every exchange line of the README's code blocks, in order."""
    events = []
    for first, lines in code_blocks(text):
        number = 0
        while number < len(lines):
            found = EXCHANGE.match(lines[number].strip())
            start, number = first + number, number + 1
            if not found:
                continue
            body = found['rest']
            while object_end(body) == -1 and number < len(lines):
                body += ' ' + lines[number].strip()
                number += 1
            end = object_end(body)
            assert end != -1, f'README line {start}: the object does not end'
            events.append(Event(start, found['who'], found['to'], with_elisions(body[:end])))
    return events


def log_lines(text: str) -> list[tuple[int, str]]:
    """Return the log lines of the README's code blocks: (line number, all but the time)."""
    return [(first + offset, found['rest'])
            for first, lines in code_blocks(text) for offset, line in enumerate(lines)
            if (found := LOG_LINE.match(line.strip()))]


def merged(default: dict, given: dict) -> dict:
    """Return ``given`` completed, where it has ``...``, by the fields of ``default``."""
    if not given.get(ELIDED):
        return given
    result = copy.deepcopy(default)
    for key, value in given.items():
        if key == ELIDED:
            continue
        base = result.get(key)
        result[key] = merged(base, value) if isinstance(base, dict) and \
            isinstance(value, dict) else value
    return result


def kind(value: object) -> str:
    """Return the JSON type of a value (numbers are one type)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    return 'number' if isinstance(value, (int, float)) else type(value).__name__


def differences(shown: object, got: object, path: str = '') -> list[str]:
    """Return how ``got`` differs from what the README shows (empty when it does not)."""
    if isinstance(shown, dict) and isinstance(got, dict):
        found = []
        keys = set(shown) - {ELIDED}
        if not shown.get(ELIDED) and set(got) - keys:
            found.append(f'{path or "the answer"} has fields the README does not show: '
                         f'{sorted(set(got) - keys)}')
        for key in sorted(keys):
            where = f'{path}.{key}' if path else key
            if key not in got:
                found.append(f'{where} is missing')
            elif key in VARYING:
                if kind(got[key]) != kind(shown[key]):
                    found.append(f'{where} is a {kind(got[key])}, the README shows a '
                                 f'{kind(shown[key])}')
            else:
                found += differences(shown[key], got[key], where)
        return found
    if isinstance(shown, list) and isinstance(got, list) and len(shown) == len(got):
        return [item for index, pair in enumerate(zip(shown, got))
                for item in differences(*pair, f'{path}[{index}]')]
    return [] if shown == got else [f'{path or "the answer"} is {got!r}, the README shows '
                                    f'{shown!r}']


class Replay:
    """The state of one README's replay against a server: its parties' connections."""

    def __init__(self, server, events: list[Event]):
        self.server = server
        self.events = events
        self.connections: dict = {}
        self.extras: dict = {}            # users brought in for a presence notice
        self.challenges: dict = {}        # the last 101 answer on each connection
        self.last: dict = {}              # the last complete request of each action
        self.requester: str | None = None

    def parties(self) -> list[str]:
        """Return the named parties, in the order they appear."""
        names = [name for event in self.events for name in (event.who, event.to)
                 if name and name not in ('server', 'client')]
        return list(dict.fromkeys(names))

    def first_actions(self) -> dict[str, str]:
        """Return the action of each party's first request."""
        firsts: dict[str, str] = {}
        for event in self.events:
            if event.is_request:
                firsts.setdefault(event.who, event.message.get('action', ''))
        return firsts

    def prepare(self) -> None:
        """Make true what the README takes as given, then log in the parties shown connected."""
        users = [name for event in self.events if not event.is_request
                 for name in event.message.get('users', [])]
        firsts = self.first_actions()
        joining = [party for party in self.parties()
                   if firsts.get(party) not in ('presence', 'authenticate')]
        for name in dict.fromkeys(users):
            if name not in joining:
                with self.server.join(name) as conn:
                    assert conn.request({'action': 'quit', 'time': time.time()})['response'] \
                        == 200
        for party in joining:
            self.connections[party] = self.server.join(party)
        given: dict[str, list] = {}
        for event in self.events:
            target = event.to or self.owner_before(event)
            if not event.is_request and 'contacts' in event.message and target in joining:
                given.setdefault(target, event.message['contacts'])
        for party, contacts in given.items():
            for contact in contacts:
                answer = self.connections[party].request(
                    {'action': 'add_contact', 'time': time.time(), 'user_id': contact})
                assert answer['response'] == 200, (party, contact, answer)

    def owner_before(self, event: Event) -> str | None:
        """Return who sent the last request before ``event`` in the README."""
        owner = None
        for other in self.events:
            if other is event:
                return owner
            if other.is_request:
                owner = other.who
        return owner

    def complete(self, event: Event) -> dict:
        """Return the request to send: elided fields filled in, a proof computed."""
        message = event.message
        action = message.get('action')
        if message.get(ELIDED):
            default = self.last.get(action) or (
                presence(message.get('user', {}).get('account_name', event.who))
                if action == 'presence' else msg(message.get('to', '#all'), 'hello'))
            message = merged(default, message)
        self.last[action] = message
        if 'proof' in message:
            message = {**message, 'proof': challenge_proof(self.challenges[event.who])}
        return message

    def send(self, event: Event) -> None:
        """Send a party's request, on its connection (a new one where the stage closes each)."""
        conn = self.connections.get(event.who)
        if conn is None or not self.server.stage.has('persistent'):
            conn = self.connections[event.who] = self.server.connect()
            conn.user = event.who
        conn.send(self.complete(event))
        self.requester = event.who

    def caused_notice(self, event: Event) -> None:
        """Log a user in or out when the README shows a notice about them (see the docstring)."""
        user = event.message.get('user', {}).get('account_name')
        if event.message.get('action') != 'presence' or user in self.parties():
            return
        status = event.message['user'].get('status')
        if status == 'online' and user not in self.extras:
            self.extras[user] = self.server.join(user)
        elif status == 'offline' and user in self.extras:
            gone = self.extras.pop(user)
            assert gone.request({'action': 'quit', 'time': time.time()})['response'] == 200
            gone.close()

    def expect(self, event: Event) -> None:
        """Receive what the server sends the target of ``event`` and compare it."""
        target = event.to or self.requester
        conn = self.connections[target]
        shown = event.message
        if 'response' in shown:
            try:
                got = conn.response()
            except (ConnectionError, TimeoutError) as err:
                pytest.fail(f'{event.where()}\nno answer came: {err}')
            if got.get('response') == 101:
                self.challenges[target] = got
            found = differences(shown, got)
            assert not found, f'{event.where()}\nthe server sent {got}\n' + '\n'.join(found)
            return
        self.caused_notice(event)
        candidates = []
        while not candidates or differences(shown, candidates[-1]):
            try:
                candidates.append(conn.next_pushed(shown.get('action', 'msg')))
            except TimeoutError:
                pytest.fail(f'{event.where()}\nnothing like it came; the server pushed '
                            f'{candidates}')

    def run(self) -> None:
        """Replay every event."""
        self.prepare()
        for event in self.events:
            if event.is_request:
                self.send(event)
            else:
                self.expect(event)

    def close(self) -> None:
        """Close every connection."""
        for conn in [*self.connections.values(), *self.extras.values()]:
            conn.close()


def readme_text(stage) -> str:
    """Return the stage's README."""
    return (stage.directory / 'README.md').read_text(encoding='utf-8')


def test_readme_exchanges_are_what_the_server_says(stage, server):
    replay = Replay(server, exchanges(readme_text(stage)))
    try:
        replay.run()
    finally:
        replay.close()


def test_readme_log_lines_are_what_the_server_writes(stage, request):
    shown = log_lines(readme_text(stage))
    if not shown:
        return                      # nothing shown, nothing to compare: no server started
    server = request.getfixturevalue('server')
    with server.join('alice'):
        pass
    written = [line for path in sorted(server.workdir.glob('*.log'))
               for line in path.read_text(encoding='utf-8').splitlines()]
    for number, rest in shown:
        assert any(line.endswith(' ' + rest) for line in written), \
            f'README line {number} shows a log line the server does not write: {rest}\n' \
            f'it wrote:\n' + '\n'.join(written[-20:])


def test_readme_says_how_to_run_without_a_window(stage):
    # The suite starts a GUI stage's server with --no-gui; a student without a display needs
    # it too (Q2 L5's README lacked it).
    flags = [part for part in stage.run['server'] if part.startswith('--no-')]
    readme = readme_text(stage)
    assert all(flag in readme for flag in flags), f'the README does not mention {flags}'


def test_the_parser_reads_every_form_the_readmes_use():
    text = '\n'.join([
        'Text.', '', '   ```', '   alice → {"action": "msg", "time": 1.0, "to": "bob",',
        '            "message": "a } { \\" ..."}', '   server → bob   {"action": "msg",',
        '                   "from": "alice", ...}   (then more)', '   carol → {"action":',
        '      "presence", ..., "user": {"account_name": "alice", ...}}', '   ```', '',
        '```', '2026-11-25 10:00:00,123 DEBUG    decorators f() called', 'server → {"a": 1}',
        '```'])
    events = exchanges(text)
    assert [(e.line, e.who, e.to) for e in events] == [(4, 'alice', None), (6, 'server', 'bob'),
                                                       (8, 'carol', None), (14, 'server', None)]
    assert events[0].message['message'] == 'a } { " ...'
    assert events[1].message == {'action': 'msg', 'from': 'alice', ELIDED: True}
    assert events[2].message['user'] == {'account_name': 'alice', ELIDED: True}
    assert log_lines(text) == [(13, 'DEBUG    decorators f() called')]
    completed = merged(presence('x'), events[2].message)
    assert completed['user']['account_name'] == 'alice' and completed['type'] == 'status'


def test_the_comparison_tells_each_difference():
    shown = {'response': 404, 'time': 1.5, 'error': 'carol is not connected'}
    assert differences(shown, {'response': 404, 'time': 2, 'error': 'carol is not connected'}) \
        == []
    assert differences(shown, {'response': 404, 'time': '2', 'error': 'no',
                               'extra': 1}) == [
        "the answer has fields the README does not show: ['extra']",
        "error is 'no', the README shows 'carol is not connected'",
        'time is a str, the README shows a number']
    assert differences({'a': 1, ELIDED: True}, {'a': 1, 'b': 2}) == []
    assert differences({'users': ['a', 'b']}, {'users': ['b', 'a']}) == [
        "users[0] is 'b', the README shows 'a'", "users[1] is 'a', the README shows 'b'"]

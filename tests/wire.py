"""A minimal JIM peer for the black-box suite: raw bytes out, decoded objects in.

It is written independently of every stage's code, so that a stage cannot pass by sharing a
bug with its own tests.
"""
from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import itertools
import json
import os
import socket
import time

# How long a test waits for each answer. tools/tests/test_check.py shortens it with
# JIM_REPLY_TIMEOUT for servers it broke on purpose, whose answers never come.
TIMEOUT = float(os.environ.get('JIM_REPLY_TIMEOUT', '5'))

# Stages with authentication: every account the suite may log in as, all with one password.
TEST_PASSWORD = 'correct horse battery staple'
POOL = 50
TEST_USERS = (['alice', 'bob', 'carol', 'observer', 'slowpoke', 'Алиса'] +
              [f'probe{n}' for n in range(POOL)] + [f'user{n}' for n in range(POOL)])


# What every connection sent and received, oldest first, for the report of `nox -s check`
# (checkreport.py): (connection, event, text), event being 'sent', 'received', 'closed' or
# 'nothing'. The report clears it before each test and reads it when one fails.
TRANSCRIPT: collections.deque = collections.deque(maxlen=200)
TRANSCRIPT_TEXT = 300          # characters kept of each object
CONNECTIONS = itertools.count(1)


def record(conn: 'JimConnection', event: str, text: str = '') -> None:
    """Add one event of ``conn`` to the transcript, long text cut short."""
    if len(text) > TRANSCRIPT_TEXT:
        text = f'{text[:TRANSCRIPT_TEXT]}... ({len(text)} characters in all)'
    TRANSCRIPT.append((conn.label, event, text))


def presence(name: str) -> dict:
    """Return a well-formed presence for ``name``."""
    return {'action': 'presence', 'time': time.time(), 'type': 'status',
            'user': {'account_name': name, 'status': 'here'}}


def msg(to: str, text: str, sender: str | None = None) -> dict:
    """Return a msg to ``to`` (a user or ``#all``)."""
    message = {'action': 'msg', 'time': time.time(), 'to': to,
               'encoding': 'utf-8', 'message': text}
    if sender is not None:
        message['from'] = sender
    return message


def free_port() -> int:
    """Return a TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def authenticate(conn: 'JimConnection', name: str, password: str = TEST_PASSWORD) -> dict:
    """Log in by challenge-response; return the last response (200 when logged in).

    The server answers the name with 101 and a salt, an iteration count and a nonce; the
    client proves it knows the password with HMAC-SHA256(PBKDF2(password, salt), nonce).
    """
    user = {'account_name': name}
    challenge = conn.request({'action': 'authenticate', 'time': time.time(), 'user': user})
    if challenge['response'] != 101:
        return challenge
    return conn.request({'action': 'authenticate', 'time': time.time(), 'user': user,
                         'proof': challenge_proof(challenge, password)})


def challenge_proof(challenge: dict, password: str = TEST_PASSWORD) -> str:
    """Return the proof that answers a 101 challenge: HMAC-SHA256(PBKDF2 key, nonce), in hex."""
    key = hashlib.pbkdf2_hmac('sha256', password.encode(), bytes.fromhex(challenge['salt']),
                              challenge['iterations'])
    return hmac.new(key, bytes.fromhex(challenge['nonce']), 'sha256').hexdigest()


def scram_login(conn: 'JimConnection', name: str, password: str = TEST_PASSWORD) -> dict:
    """Log in with SCRAM-SHA-256 (RFC 5802, 7677); return the last response (200 when in).

    Each SCRAM message rides in the ``scram`` field of ``authenticate`` and of the 101 and
    200 responses. The server's signature is checked too.
    """
    user = {'account_name': name}
    first_bare = f'n={name.replace("=", "=3D").replace(",", "=2C")},' \
                 f'r={base64.b64encode(os.urandom(18)).decode()}'
    first = conn.request({'action': 'authenticate', 'time': time.time(), 'user': user,
                          'scram': 'n,,' + first_bare})
    if first['response'] != 101:
        return first
    fields = dict(part.split('=', 1) for part in first['scram'].split(','))
    salted = hashlib.pbkdf2_hmac('sha256', password.encode(), base64.b64decode(fields['s']),
                                 int(fields['i']))
    client_key = hmac.new(salted, b'Client Key', 'sha256').digest()
    without_proof = f'c=biws,r={fields["r"]}'
    auth_message = f'{first_bare},{first["scram"]},{without_proof}'.encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, 'sha256').digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    final = conn.request({'action': 'authenticate', 'time': time.time(), 'user': user,
                          'scram': f'{without_proof},p={proof}'})
    if final['response'] == 200:
        server_key = hmac.new(salted, b'Server Key', 'sha256').digest()
        expected = hmac.new(server_key, auth_message, 'sha256').digest()
        assert final['scram'] == 'v=' + base64.b64encode(expected).decode(), final
    return final


class JimConnection:
    """One TCP connection to a server under test."""

    def __init__(self, address: tuple[str, int], timeout: float = TIMEOUT,
                 receive_buffer: int | None = None, source: str | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:      # takes effect only before connecting
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if source is not None:              # another loopback address, such as 127.0.0.2
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.number = next(CONNECTIONS)
        self.user = ''                 # the name it was introduced with, for the transcript
        self.buffer = ''
        self.decoder = json.JSONDecoder()
        self.pushed: list[dict] = []   # messages that arrived while waiting for a response

    @property
    def label(self) -> str:
        """Return how the transcript names this connection: its user's name and number."""
        return f'{self.user} (connection {self.number})' if self.user else \
            f'connection {self.number}'

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def __enter__(self) -> JimConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, message: dict) -> None:
        """Send one object, newline-terminated."""
        self.send_raw(json.dumps(message, ensure_ascii=False).encode() + b'\n')

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are."""
        record(self, 'sent', data.decode('utf-8', 'backslashreplace').rstrip('\n'))
        self.sock.sendall(data)

    def _next_buffered(self) -> dict | None:
        text = self.buffer.lstrip()
        if not text:
            return None
        try:
            obj, end = self.decoder.raw_decode(text)
        except json.JSONDecodeError:
            return None          # incomplete: wait for more bytes
        self.buffer = text[end:]
        record(self, 'received', json.dumps(obj, ensure_ascii=False))
        assert isinstance(obj, dict), f'server sent a non-object: {obj!r}'
        return obj

    def receive(self) -> dict:
        """Return the next object from the server; fail after the timeout or on EOF."""
        deadline = time.monotonic() + self.timeout
        raw = b''
        while (obj := self._next_buffered()) is None:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                self.sock.settimeout(remaining)
                chunk = self.sock.recv(65536)
            except TimeoutError:
                record(self, 'nothing', f'no complete object within {self.timeout} s'
                       + (f'; unfinished: {self.buffer}' if self.buffer else ''))
                raise TimeoutError(f'no complete object within {self.timeout} s: '
                                   f'{self.buffer!r}') from None
            except OSError as err:
                record(self, 'closed', str(err))
                raise
            if not chunk:
                record(self, 'closed', f'unread: {self.buffer}' if self.buffer else '')
                raise ConnectionError(f'server closed the connection; unread: {self.buffer!r}')
            raw += chunk
            try:
                self.buffer += raw.decode('utf-8')
                raw = b''
            except UnicodeDecodeError:
                continue     # a character split across reads
        return obj

    def response(self) -> dict:
        """Return the next response, keeping pushed messages in ``self.pushed``."""
        while 'response' not in (obj := self.receive()):
            self.pushed.append(obj)
        return obj

    def request(self, message: dict) -> dict:
        """Send ``message`` and return the response to it."""
        self.send(message)
        return self.response()

    def next_pushed(self, action: str = 'msg') -> dict:
        """Return the next pushed message with ``action``, passing over other pushed ones.

        Stages that announce who comes and goes push presence notices between messages; a
        test of messages is not about those.
        """
        while True:
            obj = self.pushed.pop(0) if self.pushed else self.receive()
            assert 'response' not in obj, f'expected a pushed message, got {obj}'
            if obj.get('action') == action:
                return obj

    def pushed_messages(self) -> list[dict]:
        """Return the pushed ``msg`` objects kept while waiting for responses."""
        return [obj for obj in self.pushed if obj.get('action') == 'msg']

    def response_or_close(self) -> dict | None:
        """Return the next response, or None if the server closed or reset the connection.

        Silence is neither: a server that neither answers nor closes fails with TimeoutError.
        """
        try:
            return self.response()
        except TimeoutError:
            raise
        except OSError:          # ConnectionError included
            return None

    def closed_by_server(self) -> bool:
        """Tell whether the server closes the connection within the timeout (data is skipped)."""
        self.sock.settimeout(self.timeout)
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return True

"""SCRAM-SHA-256 (RFC 5802, RFC 7677) login as two state machines, without I/O.

The server stores a ``Verifier``: the salt, the iteration count, ``StoredKey`` and
``ServerKey``. None of them lets anyone log in: a client must prove it knows ``ClientKey``,
which only the password yields, and ``StoredKey`` is a hash of it. The client checks the
server's signature in turn, so a server without the verifier cannot pretend to be the real one.

In JIM each SCRAM message rides in the ``scram`` field of ``authenticate`` (client) and of the
101 and 200 responses (server).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import unicodedata

DEFAULT_ITERATIONS = 100_000
MIN_ITERATIONS = 4096           # RFC 7677's minimum
MAX_ITERATIONS = 10_000_000     # a client refuses a server asking for more
_GS2_HEADER = 'n,,'             # no channel binding, no authorisation identity


class ScramError(ValueError):
    """A SCRAM message that is malformed, or a proof or signature that does not match."""


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode('ascii')


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ScramError('bad base64') from None


def _salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    # RFC 5802 asks for SASLprep; NFKC is its core for ordinary passwords.
    normalised = unicodedata.normalize('NFKC', password).encode('utf-8')
    return hashlib.pbkdf2_hmac('sha256', normalised, salt, iterations)


def _attributes(message: str, expected: str) -> dict[str, str]:
    """Split ``a=1,b=2`` and check that the keys come in the ``expected`` order."""
    try:
        pairs = [part.split('=', 1) for part in message.split(',')]
        values = dict(pairs)
    except ValueError:
        raise ScramError('malformed SCRAM message') from None
    if [key for key, _ in pairs[:len(expected)]] != list(expected):
        raise ScramError(f'expected the attributes {", ".join(expected)}')
    return values


def escape_username(name: str) -> str:
    """Escape ``=`` and ``,`` in a user name, as SCRAM requires."""
    return name.replace('=', '=3D').replace(',', '=2C')


def unescape_username(name: str) -> str:
    """Undo ``escape_username``."""
    if '=' in name.replace('=3D', '').replace('=2C', ''):
        raise ScramError('badly escaped user name')
    return name.replace('=2C', ',').replace('=3D', '=')


@dataclasses.dataclass(frozen=True)
class Verifier:
    """What the server keeps of a password: not enough to log in with."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def make_verifier(password: str, iterations: int = DEFAULT_ITERATIONS,
                  salt: bytes | None = None) -> Verifier:
    """Derive the server's record of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = _salted_password(password, salt, iterations)
    client_key = _hmac(salted, b'Client Key')
    return Verifier(salt, iterations, hashlib.sha256(client_key).digest(),
                    _hmac(salted, b'Server Key'))


def fake_verifier(username: str, secret: bytes, iterations: int) -> Verifier:
    """Return a verifier for a name without an account: it looks like a real one and no
    proof matches it.

    Its salt comes from ``secret`` and the name, so it is the same at every login attempt
    and after a restart (keep ``secret``); ``iterations`` should be what real accounts get.
    Otherwise the challenge would tell an attacker which names have accounts.
    """
    salt = _hmac(secret, username.encode('utf-8'))[:16]
    return Verifier(salt, iterations, secrets.token_bytes(32), secrets.token_bytes(32))


class ScramClient:
    """The client's side: ``first_message``, then ``final_message``, then ``verify_server``."""

    def __init__(self, username: str, password: str, nonce: str | None = None) -> None:
        self.username = username
        self.password = password
        self.nonce = nonce or secrets.token_urlsafe(18)
        self._first_bare = f'n={escape_username(username)},r={self.nonce}'
        self._server_signature: bytes | None = None

    def first_message(self) -> str:
        """Return client-first-message."""
        return _GS2_HEADER + self._first_bare

    def final_message(self, server_first: str) -> str:
        """Check server-first-message and return client-final-message with the proof."""
        values = _attributes(server_first, 'rsi')
        nonce, salt = values['r'], _unb64(values['s'])
        try:
            iterations = int(values['i'])
        except ValueError:
            raise ScramError('the iteration count is not a number') from None
        if not nonce.startswith(self.nonce) or len(nonce) == len(self.nonce):
            raise ScramError("the server's nonce does not extend ours")
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise ScramError(f'the server asks for {iterations} iterations')
        salted = _salted_password(self.password, salt, iterations)
        client_key = _hmac(salted, b'Client Key')
        without_proof = f'c={_b64(_GS2_HEADER.encode())},r={nonce}'
        auth_message = f'{self._first_bare},{server_first},{without_proof}'.encode('utf-8')
        signature = _hmac(hashlib.sha256(client_key).digest(), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self._server_signature = _hmac(_hmac(salted, b'Server Key'), auth_message)
        return f'{without_proof},p={_b64(proof)}'

    def verify_server(self, server_final: str) -> None:
        """Check server-final-message; raise ScramError unless the server knew our verifier."""
        if self._server_signature is None:
            raise ScramError('no final message was sent')
        values = _attributes(server_final, 'v')
        if not hmac.compare_digest(_unb64(values['v']), self._server_signature):
            raise ScramError("the server's signature is wrong")


class ScramServer:
    """The server's side for one login.

    Call ``read_first`` with client-first-message, then ``challenge`` with the account's
    verifier (``fake_verifier`` for an unknown name) and send what it returns; then
    ``finish`` with client-final-message, and send what it returns. A verifier is used once.
    """

    def __init__(self, nonce: str | None = None) -> None:
        self.username = ''
        self._nonce_part = nonce or secrets.token_urlsafe(18)
        self._first_bare = ''
        self._nonce = ''
        self._server_first = ''
        self._verifier: Verifier | None = None

    def read_first(self, client_first: str) -> str:
        """Read client-first-message; return the user name it names."""
        if not client_first.startswith(_GS2_HEADER):
            raise ScramError('channel binding and authorisation identities are not supported')
        self._first_bare = client_first[len(_GS2_HEADER):]
        values = _attributes(self._first_bare, 'nr')
        self.username = unescape_username(values['n'])
        if not values['r']:
            raise ScramError('empty client nonce')
        self._nonce = values['r'] + self._nonce_part
        return self.username

    def challenge(self, verifier: Verifier) -> str:
        """Return server-first-message for ``verifier``."""
        if not self._first_bare:
            raise ScramError('read the client-first-message first')
        self._verifier = verifier
        self._server_first = (f'r={self._nonce},s={_b64(self._verifier.salt)},'
                              f'i={self._verifier.iterations}')
        return self._server_first

    def finish(self, client_final: str) -> str:
        """Check client-final-message; return server-final-message, or raise ScramError."""
        if self._verifier is None:
            raise ScramError('no challenge was sent')
        values = _attributes(client_final, 'cr')
        if values['c'] != _b64(_GS2_HEADER.encode()) or values['r'] != self._nonce:
            raise ScramError('channel binding or nonce mismatch')
        if 'p' not in values or not client_final.endswith(f',p={values["p"]}'):
            raise ScramError('no proof')
        without_proof = client_final[:-len(f',p={values["p"]}')]
        auth_message = f'{self._first_bare},{self._server_first},{without_proof}'.encode()
        signature = _hmac(self._verifier.stored_key, auth_message)
        proof = _unb64(values['p'])
        if len(proof) != len(signature):
            raise ScramError('wrong proof')
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(),
                                   self._verifier.stored_key):
            raise ScramError('wrong proof')
        server_key, self._verifier = self._verifier.server_key, None   # one use
        return f'v={_b64(_hmac(server_key, auth_message))}'

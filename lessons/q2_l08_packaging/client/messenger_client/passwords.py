"""Passwords: salted slow hashes at rest, and a challenge-response proof on the wire.

The server stores ``key = PBKDF2-HMAC-SHA256(password, salt, iterations)`` with a random salt
per user. To log in, the server sends the salt, the iteration count and a fresh random nonce;
the client derives the same key from the password and answers ``HMAC-SHA256(key, nonce)``.
The password never leaves the client, and a proof is worthless for any other nonce.
"""
import hashlib
import hmac
import secrets

DEFAULT_ITERATIONS = 600_000     # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
SALT_BYTES = 16
NONCE_BYTES = 32


def new_salt():
    """Return a random salt, as hex."""
    return secrets.token_hex(SALT_BYTES)


def new_nonce():
    """Return a random one-time challenge, as hex."""
    return secrets.token_hex(NONCE_BYTES)


def derive_key(password, salt, iterations):
    """Return the slow salted hash of ``password`` (what the server stores)."""
    return hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), bytes.fromhex(salt),
                               iterations)


def make_proof(key, nonce):
    """Return the answer to the challenge ``nonce`` (hex) for ``key``, as hex."""
    return hmac.new(key, bytes.fromhex(nonce), hashlib.sha256).hexdigest()


def check_proof(key, nonce, proof):
    """Tell whether ``proof`` answers ``nonce`` for ``key``, in constant time."""
    if not isinstance(proof, str):
        return False
    return hmac.compare_digest(make_proof(key, nonce).encode(), proof.encode())

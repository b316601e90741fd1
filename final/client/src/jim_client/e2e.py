"""End-to-end encryption of direct messages: X25519, HKDF-SHA256 and AES-256-GCM.

Each user has a key pair; the public half travels through the server (``set_key`` and
``get_key``), the private half never leaves the user's machine. Two users derive the same
secret from their own private key and the other's public key, so the server relays and
stores ciphertext it cannot read. The names of sender and recipient are bound to each
ciphertext, so it cannot be passed off as coming from someone else.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class DecryptionError(ValueError):
    """A ciphertext that does not open with these keys (tampered, or not for us)."""


class KeyPair:
    """One user's X25519 key pair."""

    def __init__(self, private: X25519PrivateKey) -> None:
        self.private = private

    @classmethod
    def generate(cls) -> KeyPair:
        """Return a fresh key pair."""
        return cls(X25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> KeyPair:
        """Read the key pair at ``path``, or create it there (readable by its owner only)."""
        if path.exists():
            return cls(X25519PrivateKey.from_private_bytes(path.read_bytes()))
        pair = cls.generate()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, 'wb') as file:
            file.write(pair.private.private_bytes(serialization.Encoding.Raw,
                                                  serialization.PrivateFormat.Raw,
                                                  serialization.NoEncryption()))
        return pair

    @property
    def public(self) -> str:
        """The public key, base64, as ``set_key`` publishes it."""
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode('ascii')

    def _cipher(self, their_public: str) -> AESGCM:
        shared = self.private.exchange(
            X25519PublicKey.from_public_bytes(base64.b64decode(their_public)))
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b'jim end-to-end v1').derive(shared)
        return AESGCM(key)

    def encrypt(self, their_public: str, sender: str, recipient: str, text: str) -> str:
        """Return ``text`` for ``recipient`` only, as base64."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(their_public).encrypt(nonce, text.encode('utf-8'),
                                                    f'{sender}>{recipient}'.encode('utf-8'))
        return base64.b64encode(nonce + sealed).decode('ascii')

    def decrypt(self, their_public: str, sender: str, recipient: str, blob: str) -> str:
        """Return the text of a ciphertext from ``sender`` to ``recipient``."""
        try:
            data = base64.b64decode(blob, validate=True)
            plain = self._cipher(their_public).decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], f'{sender}>{recipient}'.encode('utf-8'))
        except (ValueError, InvalidTag):
            raise DecryptionError(f'a message from {sender} does not decrypt') from None
        return plain.decode('utf-8')

"""Which public keys a user has accepted for each other user: trust on first use (TOFU).

The server hands out public keys, so a server (or whoever owns its database) could hand out
a key of its own instead of bob's and read what is sealed for him. A ``TrustStore`` remembers
the first key seen for each user and every key the user has accepted since; a different key
is reported (``Verdict.CHANGED``), and nothing is sealed with it until the user accepts it
(``accept``). Fingerprints let two people compare keys another way (in person, by phone).

No I/O but the store's own small JSON file: the Session asks it, the console and the window
only show what it says.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import json
from pathlib import Path

from jim_client.settings import write_json


def fingerprint(key: str) -> str:
    """Return the SHA-256 of a base64 public key's raw bytes, as 16 groups of 4 hex digits."""
    digest = hashlib.sha256(base64.b64decode(key)).hexdigest()
    return ' '.join(digest[at:at + 4] for at in range(0, len(digest), 4))


class Verdict(enum.Enum):
    """What a key the server gave means for a user."""

    NEW = 'new'              # nothing was known of the user: the key is now trusted
    TRUSTED = 'trusted'      # a key accepted before
    CHANGED = 'changed'      # another key than the accepted ones (or none where one was)


class TrustStore:
    """The keys accepted for each user, kept (with a ``path``) in a file of its owner's only.

    A user who goes back to a key accepted before (two devices, say) is trusted; one who has
    no key any more, where a key was accepted, is a change too: a server that said "bob has
    no key" would have his next message sent readable.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.accepted: dict[str, list[str]] = {}
        if path is not None and path.exists():
            data = json.loads(path.read_text(encoding='utf-8'))
            self.accepted = {str(user): [str(key) for key in keys]
                             for user, keys in data.get('accepted', {}).items()}

    def verdict(self, user: str, key: str | None) -> Verdict:
        """Tell what ``key`` (None: the server says ``user`` has none) means, changing
        nothing."""
        keys = self.accepted.get(user)
        if not keys:
            return Verdict.NEW if key is not None else Verdict.TRUSTED
        return Verdict.TRUSTED if key in keys else Verdict.CHANGED

    def check(self, user: str, key: str | None) -> Verdict:
        """Tell what ``key`` means; a first key seen is remembered and trusted from now on."""
        verdict = self.verdict(user, key)
        if verdict is Verdict.NEW:
            self.accept(user, key)
        return verdict

    def trusted(self, user: str, key: str) -> bool:
        """Tell whether ``key`` is one of ``user``'s accepted keys."""
        return key in self.accepted.get(user, ())

    def known(self, user: str) -> list[str]:
        """Return the keys accepted for ``user``, the latest last."""
        return list(self.accepted.get(user, ()))

    def accept(self, user: str, key: str | None) -> None:
        """Accept ``key`` for ``user`` (None: accept that they have no key: forget them)."""
        if key is None:
            self.accepted.pop(user, None)
        else:
            keys = self.accepted.setdefault(user, [])
            if key in keys:
                keys.remove(key)
            keys.append(key)
        self.save()

    def save(self) -> None:
        """Write the store to its file (if it has one), whole or not at all."""
        if self.path is not None:
            write_json(self.path, {'accepted': self.accepted})

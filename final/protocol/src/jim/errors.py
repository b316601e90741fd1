"""Errors of the JIM exchange, split by who is at fault (as h11 does).

A ``RemoteProtocolError`` is the peer's fault: a server answers it with its ``status``, a
client reports that the server misbehaved. A ``LocalProtocolError`` is ours: we were about to
send something the protocol forbids, which is a bug to log, not an answer to give.
"""
from __future__ import annotations

from jim.constants import Status


class ProtocolError(Exception):
    """Something in the exchange breaks the rules of JIM."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the rules; ``status`` is the answer a server gives (400 by default)."""

    def __init__(self, text: str, status: Status = Status.BAD_REQUEST) -> None:
        super().__init__(text)
        self.status = status


class LocalProtocolError(ProtocolError):
    """We were about to break the rules: a bug of this program or of its caller."""


class FramingError(RemoteProtocolError):
    """A piece of the stream that is not a JSON object of UTF-8 text.

    ``fatal`` means the stream cannot be resynchronised: the connection must be closed.
    """

    def __init__(self, text: str, fatal: bool = False) -> None:
        super().__init__(text)
        self.fatal = fatal

"""Every limit of the server, each a named setting with a sane default."""
from __future__ import annotations

import dataclasses

from jim.constants import MAX_MESSAGE_BYTES


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one connection, or one address, may use."""

    max_message_bytes: int = MAX_MESSAGE_BYTES   # one incoming object
    max_output_bytes: int = 4 * 1024 * 1024      # queued for a client that reads slowly
    connections_per_address: int = 256
    requests_per_second: float = 200.0           # sustained, per connection
    request_burst: int = 1000                    # requests a connection may send at once
    failed_logins: int = 5                       # per account and per address ...
    failed_login_window: float = 60.0            # ... within this many seconds


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where the server listens, and what each client may use there."""

    host: str = '127.0.0.1'
    port: int = 7777
    limits: Limits = dataclasses.field(default_factory=Limits)

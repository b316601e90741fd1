"""Every limit of the server, each a named setting with a sane default and a flag.

``jim-server`` makes one command-line flag of each ``Limits`` field (``max_output_bytes``
is ``--max-output-bytes``), with the field's ``help`` as its help text.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from jim.constants import MAX_MESSAGE_BYTES
from jim.scram import DEFAULT_ITERATIONS


def _limit(default: Any, text: str) -> Any:
    """Return a field of Limits: its default and the help text of its flag."""
    return dataclasses.field(  # pylint: disable=invalid-field-call  # called in Limits
        default=default, metadata={'help': text})


@dataclasses.dataclass(frozen=True)
class Limits:  # pylint: disable=too-many-instance-attributes  # one field per limit
    """What one connection, one address, or everyone together may use."""

    max_message_bytes: int = _limit(MAX_MESSAGE_BYTES, 'bytes of one incoming object')
    max_output_bytes: int = _limit(
        4 * 1024 * 1024, 'bytes queued for one client; past it a backlog waits in the database '
        'and other output cuts the client off')
    max_connections: int = _limit(10_000, 'open connections in all')
    connections_per_address: int = _limit(
        256, 'open connections from one address (IPv6: one /64 network)')
    requests_per_second: float = _limit(200.0, 'sustained requests from one address')
    request_burst: int = _limit(1000, 'requests one address may send at once')
    failed_logins: int = _limit(
        5, 'failed logins per account and address, and per address (x4), within the window')
    failed_login_window: float = _limit(60.0, 'seconds a failed login is counted')
    throttle_entries: int = _limit(100_000, 'accounts and addresses the login throttle '
                                   'remembers at once')
    handshake_timeout: float = _limit(10.0, 'seconds a TLS handshake may take')
    login_timeout: float = _limit(30.0, 'seconds a connection may stay without logging in')
    idle_timeout: float = _limit(
        300.0, 'seconds a logged-in client may stay silent; it is probed at half of it')
    stall_timeout: float = _limit(60.0, 'seconds a client may leave its output unread')
    node_timeout: float = _limit(
        10.0, 'seconds after which a node of a cluster that stopped beating is declared '
        'dead and its users offline')
    presence_broadcast: int = _limit(
        100, 'users online up to which everyone hears who comes and goes; past it only '
        'contacts and room-mates do (get_users tells anyone)')


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where the server listens, and what each client may use there.

    ``iterations`` is the PBKDF2 count of new passwords, and of the challenge that a name
    without an account gets (so that it looks like a real one). ``node`` names the server
    among others that share a PostgreSQL database.
    """

    host: str = '127.0.0.1'
    port: int = 7777
    limits: Limits = dataclasses.field(default_factory=Limits)
    iterations: int = DEFAULT_ITERATIONS
    node: str = ''                      # this node's name in a cluster (host:port if empty)

    @property
    def node_id(self) -> str:
        """This node's name: ``node``, or where it listens."""
        return self.node or f'{self.host}:{self.port}'

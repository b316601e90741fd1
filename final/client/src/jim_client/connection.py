"""A blocking connection to a JIM server: log in with SCRAM, send, receive."""
from __future__ import annotations

import collections
import socket
import ssl
from typing import Any

from jim.constants import Action, Status
from jim.errors import FramingError, RemoteProtocolError
from jim.framing import Decoder, encode
from jim.messages import parse_response, request
from jim.scram import ScramClient, ScramError

TIMEOUT = 10.0


class LoginError(Exception):
    """The server refused the login; ``status`` says why (402, 409, 429...)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f'{status}: {text}')
        self.status = status


class Connection:
    """One connection to a server. ``receive`` returns responses and pushed messages alike."""

    def __init__(self, host: str, port: int, timeout: float | None = TIMEOUT,
                 tls: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:                  # verifies the certificate and the host name
            try:
                sock = tls.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        self.decoder = Decoder()
        self.pending: collections.deque[dict[str, Any]] = collections.deque()
        self.name = ''
        self.server_id = ''             # the server's database, as its welcome names it
        self.server = f'{host}:{port}'  # where the user connected

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, message: dict[str, Any]) -> None:
        """Send one message."""
        self.sock.sendall(encode(message))

    def _read(self) -> None:
        """Wait for more bytes and queue the objects they complete."""
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError('the server closed the connection')
        for item in self.decoder.feed(data):
            if isinstance(item, FramingError):
                raise RemoteProtocolError(f'the server sent garbage: {item}')
            self.pending.append(item)

    def receive(self) -> dict[str, Any]:
        """Return the next object from the server; raise ConnectionError when it is gone."""
        while not self.pending:
            self._read()
        return self.pending.popleft()

    def response(self) -> dict[str, Any]:
        """Return the next response; pushed messages stay queued for ``receive``."""
        while True:
            for index, item in enumerate(self.pending):
                if 'response' in item:
                    del self.pending[index]
                    return item
            self._read()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send ``message`` and return the response to it."""
        self.send(message)
        response = self.response()
        parse_response(response)
        return response

    def login(self, name: str, password: str, acks: bool = False) -> None:
        """Log in with SCRAM-SHA-256; raise LoginError if refused, ScramError if the server
        is not the one that holds our verifier.

        ``acks``: we will acknowledge what we handle (``ack``), so the server must keep each
        message until we do.
        """
        scram = ScramClient(name, password)
        user = {'account_name': name}
        first = self.request(request(Action.AUTHENTICATE, user=user,
                                     scram=scram.first_message()))
        if first['response'] != Status.CHALLENGE:
            raise LoginError(first['response'], first.get('error', ''))
        final = self.request(request(Action.AUTHENTICATE, user=user, acks=acks,
                                     scram=scram.final_message(first['scram'])))
        if final['response'] != Status.OK:
            raise LoginError(final['response'], final.get('error', ''))
        scram.verify_server(final['scram'])
        self.name = name
        self.server_id = str(final.get('server', ''))

    def publish_key(self, public_key: str) -> None:
        """Publish our public key for end-to-end encryption."""
        reply = self.request(request(Action.SET_KEY, key=public_key))
        if reply['response'] != Status.OK:
            raise RemoteProtocolError(reply.get('error', 'key refused'))

    def public_key(self, name: str) -> str | None:
        """Return ``name``'s public key, or None if they have published none."""
        reply = self.request(request(Action.GET_KEY, user_id=name))
        return reply['key'] if reply['response'] == Status.ACCEPTED else None


__all__ = ['Connection', 'LoginError', 'ScramError']

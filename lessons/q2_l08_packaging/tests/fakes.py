"""A stand-in for a connected socket, so that helpers are tested without a network."""


class FakeSocket:
    """Records what is sent and hands out prepared bytes on ``recv``."""

    def __init__(self, incoming=b''):
        self.incoming = incoming
        self.sent = b''

    def recv(self, size):
        """Return up to ``size`` of the prepared bytes."""
        data, self.incoming = self.incoming[:size], self.incoming[size:]
        return data

    def sendall(self, data):
        """Remember ``data`` as sent."""
        self.sent += data

"""JIM server: one thread serves many clients with ``select``; ``#all`` and direct messages.

Run: ``python server.py -p 7777 -a 127.0.0.1`` (defaults: port 7777, every address).
"""
import argparse
import dataclasses
import logging
import os
import select
import signal
import socket
import time

import server_log_config

from cli import port_number
from constants import (ACCEPT_PAUSE, ACCOUNT_NAME, ACTION, ALL, BAD_REQUEST, CONFLICT,
                       DEFAULT_LISTEN_ADDRESS, DEFAULT_PORT, MAX_CLIENTS, MAX_CONNECTIONS,
                       MAX_PENDING_OUTPUT, MESSAGE, MSG, NOT_FOUND, OK, PRESENCE, QUIT,
                       SERVER_ERROR, TO, USER)
from descriptors import Port
from metaclasses import ServerVerifier
from protocol import (MessageReader, ProtocolError, check_chat_message, check_presence,
                      encode_message, make_chat_message, make_response, receive_messages)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Client:
    """One connected client: its socket, its unfinished input, its unsent output and, after
    presence, its name."""

    sock: socket.socket
    address: tuple
    reader: MessageReader = dataclasses.field(default_factory=MessageReader)
    name: str = None
    outbox: bytearray = dataclasses.field(default_factory=bytearray)


def parse_args(argv=None):
    """Read the command line: ``-p PORT`` and ``-a ADDRESS``."""
    parser = argparse.ArgumentParser(description='JIM messenger server.')
    parser.add_argument('-p', '--port', type=port_number, default=DEFAULT_PORT,
                        help=f'TCP port to listen on (default: {DEFAULT_PORT})')
    parser.add_argument('-a', '--address', default=DEFAULT_LISTEN_ADDRESS,
                        help='address to listen on (default: every address)')
    return parser.parse_args(argv)


def handle_message(message, sender, clients):
    """Decide what one request does; no sockets involved.

    Return ``(response, deliveries)``: the answer for ``sender`` and a list of
    ``(client, message)`` pairs to relay to other clients.
    """
    action = message.get(ACTION)
    try:
        if action == PRESENCE:
            check_presence(message)
            name = message[USER][ACCOUNT_NAME]
            if any(client.name == name for client in clients if client is not sender):
                return make_response(CONFLICT, f'the name {name} is in use'), []
            sender.name = name
            return make_response(OK, 'OK'), []
        if action == QUIT:
            return make_response(OK, 'Bye'), []
        if action == MSG:
            if sender.name is None:
                return make_response(BAD_REQUEST, 'send presence first'), []
            check_chat_message(message)
            return route_chat_message(message, sender, clients)
    except ProtocolError as err:
        return make_response(BAD_REQUEST, str(err)), []
    return make_response(BAD_REQUEST, 'unknown or missing action'), []


def route_chat_message(message, sender, clients):
    """Return the answer to a checked ``msg`` and its deliveries: to ``#all`` or to one user."""
    to = message[TO]
    relayed = make_chat_message(sender.name, to, message[MESSAGE])
    if to == ALL:
        recipients = [client for client in clients if client is not sender and client.name]
    else:
        recipients = [client for client in clients if client.name == to]
        if not recipients:
            return make_response(NOT_FOUND, f'{to} is not connected'), []
    return make_response(OK, 'OK'), [(client, relayed) for client in recipients]


class Server(metaclass=ServerVerifier):
    """The chat server: a listening TCP socket and its clients, served with ``select``.

    ``ServerVerifier`` checks the code of this class when it is created: it must use a
    TCP/IPv4 socket and may never call ``connect``. ``Port`` rejects a port out of range.
    """

    port = Port()

    def __init__(self, address, port):
        self.address = address
        self.port = port
        self.listener = None
        self.clients = {}           # each connected socket and its Client

    def listen(self):
        """Open the listening socket."""
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((self.address, self.port))
        self.listener.listen(MAX_CONNECTIONS)
        logger.info('Listening on %s:%s', self.address or '*', self.port)

    def connected_clients(self):
        """Return every connected client."""
        return list(self.clients.values())

    def serve_forever(self):
        """Serve every client from this one thread, until interrupted."""
        resume_at = 0           # after a failed accept (see accept): when to accept again
        while True:
            pause = resume_at - time.monotonic()
            to_read = list(self.clients) if pause > 0 else [self.listener, *self.clients]
            to_write = [sock for sock, client in self.clients.items() if client.outbox]
            # Wait until a socket can be read (a new connection, for the listener) or can take
            # more of a client's output; only those are touched, so no call blocks.
            readable, writable, _ = select.select(to_read, to_write, [],
                                                  pause if pause > 0 else None)
            for sock in readable:
                if sock is self.listener:
                    if not self.accept():
                        resume_at = time.monotonic() + ACCEPT_PAUSE
                elif sock in self.clients:      # not dropped earlier in this turn
                    self.read(self.clients[sock])
            for sock in writable:
                if sock in self.clients:
                    self.write(self.clients[sock])

    def close(self):
        """Disconnect every client and stop listening."""
        for client in self.connected_clients():
            self.disconnect(client, 'server stopping')
        if self.listener is not None:
            self.listener.close()

    def accept(self):
        """Take a new connection and add it to the clients; return False if none could be taken."""
        try:
            sock, address = self.listener.accept()
        except OSError as err:
            # Out of file descriptors (EMFILE) the client stays in the backlog and select would
            # report it again at once: the caller stops watching the listener for a moment.
            logger.error('Cannot accept a connection (%s); trying again in %s s', err,
                         ACCEPT_PAUSE)
            return False
        if len(self.clients) >= MAX_CLIENTS:
            logger.warning('%s: refused: %d clients already', address, len(self.clients))
            sock.close()
            return True
        sock.setblocking(False)     # a send takes what fits now; the rest waits in the outbox
        self.clients[sock] = Client(sock, address)
        logger.info('%s: connected', address)
        return True

    def read(self, client):
        """Read what ``client`` sent and answer every complete request in it."""
        try:
            items = receive_messages(client.sock, client.reader)
        except BlockingIOError:
            return          # nothing to read after all
        except OSError as err:
            self.disconnect(client, f'gone ({err})')
            return
        for item in items:
            if isinstance(item, ProtocolError):
                logger.warning('%s: bad request: %s', client.address, item)
                self.send(client, make_response(BAD_REQUEST, str(item)))
                continue
            logger.debug('%s: received %s', client.address, item)
            try:
                response, deliveries = handle_message(item, client, self.connected_clients())
            except Exception:  # a bug costs this answer, not the server
                logger.exception('%s: cannot answer %s', client.address, item)
                response, deliveries = make_response(SERVER_ERROR, 'server error'), []
            self.send(client, response)
            for recipient, message in deliveries:
                self.send(recipient, message)
            if item.get(ACTION) == QUIT:
                self.disconnect(client, 'quit')
                return
        if client.reader.broken:
            self.disconnect(client, 'the stream cannot be read further')

    def send(self, client, message):
        """Queue ``message`` for ``client`` and send what its socket takes now.

        A client that does not read lets its outbox grow: past MAX_PENDING_OUTPUT it is
        dropped, so that it costs the server bounded memory and stalls nobody.
        """
        if client.sock.fileno() == -1:
            return          # already disconnected
        client.outbox += encode_message(message)
        self.write(client)
        if len(client.outbox) > MAX_PENDING_OUTPUT:
            self.disconnect(client, 'does not read what it is sent')

    def write(self, client):
        """Send as much of ``client``'s outbox as its socket takes without waiting."""
        try:
            sent = client.sock.send(client.outbox)
        except BlockingIOError:
            return          # the socket's buffer is full: select tells when it has room
        except OSError as err:
            self.disconnect(client, f'cannot be sent to ({err})')
            return
        del client.outbox[:sent]

    def disconnect(self, client, reason):
        """Forget ``client`` and close its connection."""
        if client.sock.fileno() == -1:
            return          # already disconnected
        del self.clients[client.sock]
        client.sock.close()
        logger.info('%s: disconnected: %s', client.address, reason)


def stop_on_sigterm():
    """Make SIGTERM stop the server the way Ctrl+C does."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


def main(argv=None):
    """Serve clients until Ctrl+C or SIGTERM."""
    args = parse_args(argv)
    os.umask(0o077)         # the log and every file made after it: for their owner's eyes only
    server_log_config.configure()
    stop_on_sigterm()
    try:
        server = Server(args.address, args.port)
    except (TypeError, ValueError) as err:
        logger.critical('%s', err)
        return 2
    try:
        server.listen()
        server.serve_forever()
    except OSError as err:
        logger.critical('Cannot listen on %s:%s: %s', args.address, args.port, err)
        return 1
    except KeyboardInterrupt:
        logger.info('Server stopped')
    finally:
        server.close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

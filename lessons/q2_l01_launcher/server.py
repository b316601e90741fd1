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


def serve(listener):
    """Serve every client of ``listener`` from this one thread, until interrupted."""
    clients = {}            # each connected socket and its Client
    resume_at = 0           # after a failed accept (see accept): when to accept again
    try:
        while True:
            pause = resume_at - time.monotonic()
            to_read = list(clients) if pause > 0 else [listener, *clients]
            to_write = [sock for sock, client in clients.items() if client.outbox]
            # Wait until a socket can be read (a new connection, for the listener) or can take
            # more of a client's output; only those are touched, so no call blocks.
            readable, writable, _ = select.select(to_read, to_write, [],
                                                  pause if pause > 0 else None)
            for sock in readable:
                if sock is listener:
                    if not accept(clients, listener):
                        resume_at = time.monotonic() + ACCEPT_PAUSE
                elif sock in clients:       # not dropped earlier in this turn
                    read(clients, clients[sock])
            for sock in writable:
                if sock in clients:
                    write(clients, clients[sock])
    finally:
        for client in list(clients.values()):
            disconnect(clients, client, 'server stopping')


def accept(clients, listener):
    """Take a new connection and add it to ``clients``; return False if none could be taken."""
    try:
        sock, address = listener.accept()
    except OSError as err:
        # Out of file descriptors (EMFILE) the client stays in the backlog and select would
        # report it again at once: the caller stops watching the listener for a moment.
        logger.error('Cannot accept a connection (%s); trying again in %s s', err, ACCEPT_PAUSE)
        return False
    if len(clients) >= MAX_CLIENTS:
        logger.warning('%s: refused: %d clients already', address, len(clients))
        sock.close()
        return True
    sock.setblocking(False)     # a send takes what fits now; the rest waits in the outbox
    clients[sock] = Client(sock, address)
    logger.info('%s: connected', address)
    return True


def read(clients, client):
    """Read what ``client`` sent and answer every complete request in it."""
    try:
        items = receive_messages(client.sock, client.reader)
    except BlockingIOError:
        return          # nothing to read after all
    except OSError as err:
        disconnect(clients, client, f'gone ({err})')
        return
    for item in items:
        if isinstance(item, ProtocolError):
            logger.warning('%s: bad request: %s', client.address, item)
            send(clients, client, make_response(BAD_REQUEST, str(item)))
            continue
        logger.debug('%s: received %s', client.address, item)
        try:
            response, deliveries = handle_message(item, client, list(clients.values()))
        except Exception:  # a bug costs this answer, not the server
            logger.exception('%s: cannot answer %s', client.address, item)
            response, deliveries = make_response(SERVER_ERROR, 'server error'), []
        send(clients, client, response)
        for recipient, message in deliveries:
            send(clients, recipient, message)
        if item.get(ACTION) == QUIT:
            disconnect(clients, client, 'quit')
            return
    if client.reader.broken:
        disconnect(clients, client, 'the stream cannot be read further')


def send(clients, client, message):
    """Queue ``message`` for ``client`` and send what its socket takes now.

    A client that does not read lets its outbox grow: past MAX_PENDING_OUTPUT it is dropped,
    so that it costs the server bounded memory and stalls nobody.
    """
    if client.sock.fileno() == -1:
        return          # already disconnected
    client.outbox += encode_message(message)
    write(clients, client)
    if len(client.outbox) > MAX_PENDING_OUTPUT:
        disconnect(clients, client, 'does not read what it is sent')


def write(clients, client):
    """Send as much of ``client``'s outbox as its socket takes without waiting."""
    try:
        sent = client.sock.send(client.outbox)
    except BlockingIOError:
        return          # the socket's buffer is full: select tells when it has room
    except OSError as err:
        disconnect(clients, client, f'cannot be sent to ({err})')
        return
    del client.outbox[:sent]


def disconnect(clients, client, reason):
    """Forget ``client`` and close its connection."""
    if client.sock.fileno() == -1:
        return          # already disconnected
    del clients[client.sock]
    client.sock.close()
    logger.info('%s: disconnected: %s', client.address, reason)


def make_listening_socket(address, port):
    """Return a TCP socket listening on ``address:port``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(MAX_CONNECTIONS)
    return sock


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
        with make_listening_socket(args.address, args.port) as listener:
            logger.info('Listening on %s:%s', args.address or '*', args.port)
            serve(listener)
    except OSError as err:
        logger.critical('Cannot listen on %s:%s: %s', args.address, args.port, err)
        return 1
    except KeyboardInterrupt:
        logger.info('Server stopped')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

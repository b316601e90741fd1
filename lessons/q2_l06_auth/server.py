"""JIM server: one thread serves many clients with ``select``; ``#all`` and direct messages.

Run: ``python server.py -p 7777 -a 127.0.0.1`` (defaults: port 7777, every address). Users and
their logins are kept in a SQLite database in the working directory (``--db``),
``server_<folder>.db``: each file a stage writes there carries its folder's name.
The server shows its window unless ``--no-gui`` is given; the window's settings are saved in
``server_<folder>.ini`` in the working directory and are the defaults of the next start.
"""
import argparse
import dataclasses
import functools
import getpass
import hmac
import logging
import os
import secrets
import select
import signal
import socket
import sys
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

import server_log_config

from cli import port_number
from constants import (ACCEPTED, ACCEPT_PAUSE, ACCOUNT_NAME, ACTION, ADD_CONTACT, ALL,
                       AUTHENTICATE, BAD_REQUEST, CHALLENGE, CONFLICT, CONTACTS,
                       DEFAULT_LISTEN_ADDRESS, DEFAULT_PORT, DEL_CONTACT, FORBIDDEN, GET_CONTACTS,
                       GET_USERS, GONE, ITERATIONS, MAX_CLIENTS, MAX_CONNECTIONS,
                       MAX_PENDING_OUTPUT, MESSAGE, MSG, NONCE, NOT_FOUND, OK, PRESENCE, PROOF,
                       QUIT, RESPONSE, SALT, SERVER_DB, SERVER_ERROR, SERVER_SETTINGS, TIME, TO,
                       UNAUTHORIZED, USER, USERS, WRONG_CREDENTIALS)
from decorators import hide_secrets
from descriptors import Port
from metaclasses import ServerVerifier
from passwords import DEFAULT_ITERATIONS, SALT_BYTES, check_proof, new_nonce
from protocol import (MessageReader, ProtocolError, check_account_name, check_chat_message,
                      check_contact_request, check_field, check_presence, encode_message,
                      make_chat_message, make_presence, make_response, receive_messages)
from server_console import console_loop
from server_settings import load_settings
from server_storage import ServerStorage

logger = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Client:
    """One connected client: its socket, its unfinished input, its unsent output and, once
    logged in, its name."""

    sock: socket.socket
    address: tuple
    reader: MessageReader = dataclasses.field(default_factory=MessageReader)
    name: str = None
    challenge: tuple = None          # (name, nonce) between the two steps of authenticate
    outbox: bytearray = dataclasses.field(default_factory=bytearray)


# Unknown names get a salt that looks real and stays the same, so that a challenge does not
# tell whether an account exists.
UNKNOWN_USER_SECRET = secrets.token_bytes(16)


def parse_args(argv=None, saved=None):
    """Read the command line; ``saved`` settings (from the window) replace the defaults."""
    saved = saved or {}
    parser = argparse.ArgumentParser(description='JIM messenger server.')
    parser.add_argument('-p', '--port', type=port_number,
                        default=int(saved.get('port', DEFAULT_PORT)),
                        help=f'TCP port to listen on (default: {DEFAULT_PORT})')
    parser.add_argument('-a', '--address', default=saved.get('address', DEFAULT_LISTEN_ADDRESS),
                        help='address to listen on (default: every address)')
    parser.add_argument('--db', default=saved.get('db', SERVER_DB),
                        help=f'SQLite database file (default: {SERVER_DB} in this directory)')
    parser.add_argument('--no-gui', action='store_true',
                        help='run without the window (with a console when in a terminal)')
    parser.add_argument('--add-user', nargs='+', metavar='NAME',
                        help='create accounts (or set new passwords) and exit; the passwords '
                             'are asked for, or read one per line when stdin is not a terminal')
    parser.add_argument('--iterations', type=int, default=DEFAULT_ITERATIONS,
                        help='PBKDF2 iterations for --add-user (default: %(default)s)')
    return parser.parse_args(argv)


def display_available():
    """Tell whether Qt can show a window here (a display, or a platform chosen explicitly)."""
    if sys.platform in ('win32', 'darwin') or os.environ.get('QT_QPA_PLATFORM'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def login_required(handler):
    """Let ``handler(message, sender, ...)`` run for a logged-in ``sender`` only; else 401."""
    @functools.wraps(handler)
    def wrapper(message, sender, *args):
        if sender.name is None:
            return make_response(UNAUTHORIZED, 'log in first'), []
        return handler(message, sender, *args)
    return wrapper


def handle_message(message, sender, clients, storage):
    """Decide what one request does; no sockets involved.

    ``storage`` knows the users and their contacts. Return ``(response, deliveries)``: the
    answer for ``sender`` and a list of ``(client, message)`` pairs to relay to other clients.
    """
    action = message.get(ACTION)
    try:
        if action == AUTHENTICATE:
            return authenticate(message, sender, clients, storage), []
        if action == QUIT:
            return make_response(OK, 'Bye'), []
        return handle_request(message, sender, clients, storage)
    except ProtocolError as err:
        return make_response(BAD_REQUEST, str(err)), []


@login_required
def handle_request(message, sender, clients, storage):
    """Answer a logged-in client's request."""
    action = message.get(ACTION)
    if action == PRESENCE:
        check_presence(message)
        if message[USER][ACCOUNT_NAME] != sender.name:
            return make_response(FORBIDDEN, f'you are logged in as {sender.name}'), []
        return make_response(OK, 'OK'), []
    if action == MSG:
        check_chat_message(message)
        return route_chat_message(message, sender, clients, storage)
    if action in (GET_CONTACTS, GET_USERS, ADD_CONTACT, DEL_CONTACT):
        return handle_contacts(message, sender.name, storage), []
    return make_response(BAD_REQUEST, 'unknown or missing action'), []


def authenticate(message, sender, clients, storage):
    """Log in in two steps: a name gets a challenge (101); the proof gets 200, 402 or 409."""
    check_field(message, TIME, (int, float))
    name = check_field(check_field(message, USER, dict), ACCOUNT_NAME, str)
    check_account_name(name)
    if sender.name is not None:
        return make_response(BAD_REQUEST, f'already logged in as {sender.name}')
    record = storage.password_record(name)
    if PROOF not in message:
        salt, iterations, _ = record or (unknown_user_salt(name), DEFAULT_ITERATIONS, None)
        sender.challenge = (name, new_nonce())
        return {**make_response(CHALLENGE, 'prove that you know the password'),
                SALT: salt, ITERATIONS: iterations, NONCE: sender.challenge[1]}
    challenge, sender.challenge = sender.challenge, None      # a challenge is used once
    if challenge is None or challenge[0] != name:
        return make_response(BAD_REQUEST, 'ask for a challenge first')
    if record is None or not check_proof(record[2], challenge[1], message[PROOF]):
        return make_response(WRONG_CREDENTIALS, 'wrong name or password')
    if any(client.name == name for client in clients):
        return make_response(CONFLICT, f'{name} is already logged in')
    sender.name = name
    return make_response(OK, f'Welcome, {name}')


def unknown_user_salt(name):
    """Return the stable salt shown for a name that has no account."""
    return hmac.new(UNKNOWN_USER_SECRET, name.encode(), 'sha256').hexdigest()[:2 * SALT_BYTES]


def route_chat_message(message, sender, clients, storage):
    """Return the answer to a checked ``msg`` and its deliveries: to ``#all`` or to one user."""
    to = message[TO]
    relayed = make_chat_message(sender.name, to, message[MESSAGE])
    if to == ALL:
        recipients = [client for client in clients if client is not sender and client.name]
    else:
        recipients = [client for client in clients if client.name == to]
        if not recipients and to in storage:
            return make_response(GONE, f'{to} is offline'), []
        if not recipients:
            return make_response(NOT_FOUND, f'there is no user {to}'), []
    return make_response(OK, 'OK'), [(client, relayed) for client in recipients]


def handle_contacts(message, name, storage):
    """Answer ``name``'s ``get_contacts``, ``get_users``, ``add_contact`` or ``del_contact``."""
    action = message[ACTION]
    if action == GET_CONTACTS:
        contacts = storage.contacts(name)
        return {**make_response(ACCEPTED, f'{len(contacts)} contacts'), CONTACTS: contacts}
    if action == GET_USERS:
        users = storage.user_names()
        return {**make_response(ACCEPTED, f'{len(users)} users'), USERS: users}
    other = check_contact_request(message)
    if action == ADD_CONTACT:
        if other == name:
            return make_response(BAD_REQUEST, 'you cannot be your own contact')
        if not storage.add_contact(name, other):
            return make_response(NOT_FOUND, f'there is no user {other}')
        return make_response(OK, f'{other} added')
    if not storage.remove_contact(name, other):
        return make_response(NOT_FOUND, f'{other} is not in your contacts')
    return make_response(OK, f'{other} removed')


class Server(metaclass=ServerVerifier):
    """The chat server: a listening TCP socket and its clients, served with ``select``.

    ``ServerVerifier`` checks the code of this class when it is created: it must use a
    TCP/IPv4 socket and may never call ``connect``. ``Port`` rejects a port out of range.
    """

    port = Port()

    def __init__(self, address, port, storage):
        self.address = address
        self.port = port
        self.storage = storage
        self.message_counts = {}          # name: [sent, received], written once per loop turn
        self.on_change = None             # called when a user comes or goes (the window)
        self.listener = None
        self.clients = {}           # each connected socket and its Client
        # ``stop`` may be called from another thread: a byte on this pair wakes the select.
        self.waker, self.wakeup = socket.socketpair()
        self.waker.setblocking(False)           # signal.set_wakeup_fd needs it

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
        """Serve every client from this one thread, until interrupted or stopped."""
        resume_at = 0           # after a failed accept (see accept): when to accept again
        while True:
            pause = resume_at - time.monotonic()
            to_read = [self.wakeup, *self.clients]
            if self.listener is not None and pause <= 0:
                to_read.append(self.listener)
            to_write = [sock for sock, client in self.clients.items() if client.outbox]
            # Wait until a socket can be read (a new connection, for the listener) or can take
            # more of a client's output; only those are touched, so no call blocks.
            readable, writable, _ = select.select(to_read, to_write, [],
                                                  pause if pause > 0 else None)
            for sock in readable:
                if sock is self.wakeup:
                    return
                if sock is self.listener:
                    if not self.accept():
                        resume_at = time.monotonic() + ACCEPT_PAUSE
                elif sock in self.clients:      # not dropped earlier in this turn
                    self.read(self.clients[sock])
            for sock in writable:
                if sock in self.clients:
                    self.write(self.clients[sock])
            self.save_message_counts()

    def stop(self):
        """Make ``serve_forever`` return; safe to call from any thread."""
        try:
            self.waker.send(b'x')
        except BlockingIOError:
            pass                # the pair is full of bytes: the loop is woken already

    def close(self):
        """Disconnect every client and stop listening."""
        for client in self.connected_clients():
            self.disconnect(client, 'server stopping')
        self.waker.close()
        self.wakeup.close()
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
            logger.debug('%s: received %s', client.address, hide_secrets(item))
            previous_name = client.name
            try:
                response, deliveries = handle_message(item, client, self.connected_clients(),
                                                      self.storage)
                if item.get(ACTION) == AUTHENTICATE and response[RESPONSE] == OK:
                    self.record_login(client, previous_name)
            except Exception:  # a bug or a failing database costs this answer, not the server
                logger.exception('%s: cannot answer %s', client.address, hide_secrets(item))
                client.name = previous_name     # logged in only once the database knows it
                response, deliveries = make_response(SERVER_ERROR, 'server error'), []
            if item.get(ACTION) == MSG and response[RESPONSE] == OK:
                self.count_message(client.name, [recipient.name for recipient, _ in deliveries])
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
        if client.name is not None:
            try:
                self.storage.user_logout(client.name)
            except SQLAlchemyError:
                logger.exception('%s: the logout of %s is not stored', client.address,
                                 client.name)
            self.notify(client, 'offline')
        logger.info('%s: disconnected: %s', client.address, reason)

    def record_login(self, client, previous_name):
        """Store a successful presence; a client that changed its name logs the old one out."""
        if previous_name not in (None, client.name):
            self.storage.user_logout(previous_name)
        ip, port = client.address[:2]
        self.storage.user_login(client.name, ip, port)
        self.notify(client, 'online')

    def count_message(self, sender, recipients):
        """Count one message sent by ``sender`` and received by each of ``recipients``."""
        self.message_counts.setdefault(sender, [0, 0])[0] += 1
        for name in recipients:
            self.message_counts.setdefault(name, [0, 0])[1] += 1

    def save_message_counts(self):
        """Write the counts of this loop turn in one transaction, not one per message."""
        if self.message_counts:
            try:
                self.storage.add_message_counts(self.message_counts)
            except SQLAlchemyError:      # statistics: better lost than retried every turn
                logger.exception('Message counts not stored: %s', self.message_counts)
            self.message_counts = {}

    def notify(self, client, status):
        """Tell the window, if any, and every other client that ``client`` came or went."""
        if self.on_change is not None:
            self.on_change()
        notice = make_presence(client.name, status)
        for other in self.connected_clients():
            if other is not client and other.name is not None:
                self.send(other, notice)


def stop_on_signals(server):
    """Make SIGTERM and Ctrl+C stop the server between two turns of its loop.

    Raising KeyboardInterrupt in the handler, as the stages before this one do, could cut a
    database transaction in half; ``stop`` only wakes the loop, which then returns.

    Python runs a handler between two bytecodes, so a signal that comes just as the loop
    enters ``select`` would be handled only after the next event. With ``set_wakeup_fd``
    Python also writes a byte to the loop's wake-up pair the moment the signal comes.
    """
    def stop(signum, frame):
        server.stop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    signal.set_wakeup_fd(server.waker.fileno())


def read_password(name, lines):
    """Return ``name``'s new password: asked twice at a terminal, else the next line."""
    if sys.stdin.isatty():
        password = getpass.getpass(f'Password for {name}: ')
        if getpass.getpass('Again: ') != password:
            raise ValueError('the two passwords differ')
    else:
        password = next(lines, '').rstrip('\r\n')
    if not password:
        raise ValueError(f'no password for {name}')
    return password


def add_users(storage, names, iterations, lines):
    """Create each account of ``names`` (or set its new password); return an exit code."""
    try:
        for name in names:
            check_account_name(name)
            storage.add_user(name, read_password(name, lines), iterations)
            print(f'{name}: password set')
    except (ProtocolError, ValueError) as err:
        print(f'Error: {err}', file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    """Serve clients until the window closes, ``exit``, Ctrl+C or SIGTERM."""
    os.umask(0o077)         # the log and every file made after it: for their owner's eyes only
    server_log_config.configure()
    args = parse_args(argv, load_settings(SERVER_SETTINGS))
    if args.add_user:
        return add_users(ServerStorage(f'sqlite:///{args.db}'), args.add_user, args.iterations,
                         iter(sys.stdin))
    if not args.no_gui and not display_available():
        logger.critical('No display for the window: run with --no-gui')
        return 2
    try:
        server = Server(args.address, args.port, ServerStorage(f'sqlite:///{args.db}'))
    except (TypeError, ValueError) as err:
        logger.critical('%s', err)
        return 2
    stop_on_signals(server)
    try:
        server.listen()
        if not args.no_gui:
            import server_gui  # pylint: disable=import-outside-toplevel  # PyQt5 only if shown
            server_gui.run(server, SERVER_SETTINGS)
        else:
            if sys.stdin.isatty():
                threading.Thread(target=console_loop, daemon=True,
                                 args=(server.storage, sys.stdin, server.stop)).start()
            server.serve_forever()
        logger.info('Server stopped')
    except OSError as err:
        logger.critical('Cannot listen on %s:%s: %s', args.address, args.port, err)
        return 1
    finally:
        server.close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

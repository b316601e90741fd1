"""JIM client: a receiving thread prints the chat while an input thread sends what is typed.

Run: ``python client.py 127.0.0.1 7777 -n alice`` (the port defaults to 7777). Type a line to
send it to everyone, ``@bob text`` to send it to bob alone, ``/quit`` (or Ctrl+D) to leave.
"""
import argparse
import logging
import os
import socket
import sys
import threading

import client_log_config

from cli import port_number
from constants import (ALERT, ALL, CONNECTION_TIMEOUT, DEFAULT_PORT, ERROR, FROM, MESSAGE,
                       OK, RESPONSE, TO)
from protocol import (MessageReader, ProtocolError, check_response, make_chat_message,
                      make_presence, make_quit, receive_messages, send_message)

logger = logging.getLogger(__name__)

HELP = '''Commands:
  text          send text to everyone (#all)
  @name text    send text to one user
  /help         show this help
  /quit         leave (Ctrl+D does the same)'''


def parse_args(argv=None):
    """Read the command line: ``ADDRESS [PORT]`` and ``-n NAME``."""
    parser = argparse.ArgumentParser(description='JIM messenger client.')
    parser.add_argument('address', help='server address, for example 127.0.0.1')
    parser.add_argument('port', nargs='?', type=port_number, default=DEFAULT_PORT,
                        help=f'server port (default: {DEFAULT_PORT})')
    parser.add_argument('-n', '--name', help='account name (asked for when not given)')
    return parser.parse_args(argv)


def describe_response(response):
    """Return one line telling what a server response says."""
    code = check_response(response)
    text = response.get(ALERT if code < 400 else ERROR, '')
    return f'{code}: {text}'


def describe_message(message):
    """Return one line showing a chat message: ``sender: text``, or ``sender (to you): text``."""
    to_whom = '' if message.get(TO) == ALL else ' (to you)'
    return f'{message.get(FROM, "?")}{to_whom}: {message.get(MESSAGE, "")}'


def parse_command(line, name):
    """Turn one typed line into the message to send: None for an empty line, 'quit', 'help'."""
    text = line.strip()
    if not text:
        return None
    if text in ('/quit', '/help'):
        return text[1:]
    if text.startswith('@'):
        to, _, text = text[1:].partition(' ')
        return make_chat_message(name, to, text.strip())
    return make_chat_message(name, ALL, text)


class Inbox:
    """What the server has sent and this client has not handled yet."""

    def __init__(self, sock):
        self.sock = sock
        self.reader = MessageReader()
        self.pending = []

    def next_message(self):
        """Return the next message from the server, reading only when none is pending."""
        while not self.pending:
            self.pending.extend(receive_messages(self.sock, self.reader))
        item = self.pending.pop(0)
        if isinstance(item, ProtocolError):
            raise item
        return item

    def next_response(self):
        """Return the next response; print the chat messages that arrive before it."""
        while RESPONSE not in (message := self.next_message()):
            print(describe_message(message))
        return message


def receive_loop(inbox):
    """Print chat messages and refused requests until the connection ends (receiving thread)."""
    try:
        while True:
            message = inbox.next_message()
            if RESPONSE not in message:
                print(describe_message(message), flush=True)
            elif message[RESPONSE] != OK:
                print(describe_response(message), flush=True)
    except (OSError, ProtocolError) as err:
        logger.info('Receiving ended: %s', err)


def input_loop(sock, name, lines):
    """Send what the user types until ``/quit`` or end of input, then ``quit`` (input thread)."""
    try:
        for line in lines:
            command = parse_command(line, name)
            if command == 'quit':
                break
            if command == 'help':
                print(HELP)
            elif command is not None:
                send_message(sock, command)
        send_message(sock, make_quit())
    except OSError as err:
        logger.info('Sending ended: %s', err)


def run_threads(*targets):
    """Run each ``(function, args)`` in a daemon thread; return as soon as one of them ends."""
    finished = threading.Event()

    def run(function, args):
        try:
            function(*args)
        finally:
            finished.set()

    threads = [threading.Thread(target=run, args=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    finished.wait()
    return threads


def main(argv=None):
    """Introduce ourselves, then send and receive at once; exit 0 unless something failed."""
    args = parse_args(argv)
    os.umask(0o077)         # the log and every file made after it: for their owner's eyes only
    client_log_config.configure()
    name = args.name or input('Your name: ').strip()
    try:
        with socket.create_connection((args.address, args.port),
                                      timeout=CONNECTION_TIMEOUT) as sock:
            logger.info('Connected to %s:%s as %s', args.address, args.port, name)
            inbox = Inbox(sock)
            send_message(sock, make_presence(name))
            response = inbox.next_response()
            logger.info('Server answered %s', response)
            print(describe_response(response), flush=True)
            if response[RESPONSE] != OK:
                return 1
            sock.settimeout(None)     # the receiving thread waits as long as the chat is quiet
            threads = run_threads((receive_loop, (inbox,)),
                                  (input_loop, (sock, name, sys.stdin)))
            # After quit the server answers and closes: let the receiver print what is left.
            threads[0].join(CONNECTION_TIMEOUT)
    except (KeyboardInterrupt, EOFError):
        print('Bye')
    except (OSError, ProtocolError) as err:
        logger.error('Talking to %s:%s failed: %s', args.address, args.port, err)
        print(f'Error talking to {args.address}:{args.port}: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

"""JIM client: joins the common chat to send what is typed, or to print what others send.

Run: ``python client.py 127.0.0.1 7777 -n alice -m send`` (the port defaults to 7777;
``-m listen``, the default, prints messages instead).
"""
import argparse
import logging
import os
import socket
import sys

import client_log_config

from cli import port_number
from constants import (ALERT, ALL, CONNECTION_TIMEOUT, DEFAULT_PORT, ERROR, FROM, MESSAGE,
                       OK, RESPONSE)
from protocol import (MessageReader, ProtocolError, check_response, make_chat_message,
                      make_presence, receive_messages, send_message)

logger = logging.getLogger(__name__)


def parse_args(argv=None):
    """Read the command line: ``ADDRESS [PORT]``, ``-n NAME`` and ``-m MODE``."""
    parser = argparse.ArgumentParser(description='JIM messenger client.')
    parser.add_argument('address', help='server address, for example 127.0.0.1')
    parser.add_argument('port', nargs='?', type=port_number, default=DEFAULT_PORT,
                        help=f'server port (default: {DEFAULT_PORT})')
    parser.add_argument('-n', '--name', default='guest', help='account name (default: guest)')
    parser.add_argument('-m', '--mode', choices=('listen', 'send'), default='listen',
                        help='listen: print the chat; send: send each line typed to the chat '
                             '(default: listen)')
    return parser.parse_args(argv)


def describe_response(response):
    """Return one line telling what a server response says."""
    code = check_response(response)
    text = response.get(ALERT if code < 400 else ERROR, '')
    return f'{code}: {text}'


def describe_message(message):
    """Return one line showing a chat message, as ``sender: text``."""
    return f'{message.get(FROM, "?")}: {message.get(MESSAGE, "")}'


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


def send_lines(sock, inbox, name, lines):
    """Send each non-empty line to ``#all``; report what the server refuses."""
    for line in lines:
        text = line.rstrip('\n')
        if not text:
            continue
        send_message(sock, make_chat_message(name, ALL, text))
        response = inbox.next_response()
        logger.info('Sent %r: %s', text, response)
        if response[RESPONSE] != OK:
            print(describe_response(response))


def listen(inbox):
    """Print every chat message until the server closes the connection."""
    while True:
        print(describe_message(inbox.next_message()), flush=True)


def main(argv=None):
    """Introduce ourselves, then send or listen; exit 0 unless something failed."""
    args = parse_args(argv)
    os.umask(0o077)         # the log and every file made after it: for their owner's eyes only
    client_log_config.configure()
    try:
        with socket.create_connection((args.address, args.port),
                                      timeout=CONNECTION_TIMEOUT) as sock:
            logger.info('Connected to %s:%s as %s', args.address, args.port, args.name)
            inbox = Inbox(sock)
            send_message(sock, make_presence(args.name))
            response = inbox.next_response()
            logger.info('Server answered %s', response)
            print(describe_response(response), flush=True)
            if response[RESPONSE] != OK:
                return 1
            if args.mode == 'send':
                send_lines(sock, inbox, args.name, sys.stdin)
            else:
                sock.settimeout(None)     # a listener waits as long as the chat is quiet
                listen(inbox)
    except KeyboardInterrupt:
        print('Bye')
    except (OSError, ProtocolError) as err:
        logger.error('Talking to %s:%s failed: %s', args.address, args.port, err)
        print(f'Error talking to {args.address}:{args.port}: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

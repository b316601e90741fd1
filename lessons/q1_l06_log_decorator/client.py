"""JIM client: sends ``presence`` and prints the server's answer.

Run: ``python client.py 127.0.0.1 7777`` (the port defaults to 7777).
"""
import argparse
import logging
import os
import socket
import sys

import client_log_config

from cli import port_number
from constants import ALERT, CONNECTION_TIMEOUT, DEFAULT_PORT, ERROR, OK
from protocol import ProtocolError, check_response, get_message, make_presence, send_message

logger = logging.getLogger(__name__)


def parse_args(argv=None):
    """Read the command line: ``ADDRESS [PORT]`` and ``-n NAME``."""
    parser = argparse.ArgumentParser(description='JIM messenger client.')
    parser.add_argument('address', help='server address, for example 127.0.0.1')
    parser.add_argument('port', nargs='?', type=port_number, default=DEFAULT_PORT,
                        help=f'server port (default: {DEFAULT_PORT})')
    parser.add_argument('-n', '--name', default='guest', help='account name (default: guest)')
    return parser.parse_args(argv)


def describe_response(response):
    """Return one line telling what a server response says."""
    code = check_response(response)
    text = response.get(ALERT if code < 400 else ERROR, '')
    return f'{code}: {text}'


def main(argv=None):
    """Send ``presence``, print the answer; exit 0 on 200, 1 otherwise."""
    args = parse_args(argv)
    os.umask(0o077)         # the log and every file made after it: for their owner's eyes only
    client_log_config.configure()
    try:
        with socket.create_connection((args.address, args.port),
                                      timeout=CONNECTION_TIMEOUT) as sock:
            logger.info('Connected to %s:%s as %s', args.address, args.port, args.name)
            send_message(sock, make_presence(args.name))
            response = get_message(sock)
            logger.info('Server answered %s', response)
        print(describe_response(response))
    except (OSError, ProtocolError) as err:
        logger.error('Talking to %s:%s failed: %s', args.address, args.port, err)
        print(f'Error talking to {args.address}:{args.port}: {err}', file=sys.stderr)
        return 1
    return 0 if response['response'] == OK else 1


if __name__ == '__main__':
    raise SystemExit(main())

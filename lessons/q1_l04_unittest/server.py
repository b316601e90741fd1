"""JIM server: answers one ``presence`` per connection.

Run: ``python server.py -p 7777 -a 127.0.0.1`` (defaults: port 7777, every address).
"""
import argparse
import signal
import socket
import time
import traceback

from cli import port_number
from constants import (ACCEPT_PAUSE, ACTION, BAD_REQUEST, CONNECTION_TIMEOUT,
                       DEFAULT_LISTEN_ADDRESS, DEFAULT_PORT, MAX_CONNECTIONS, OK, PRESENCE,
                       SERVER_ERROR)
from protocol import ProtocolError, check_presence, get_message, make_response, send_message


def parse_args(argv=None):
    """Read the command line: ``-p PORT`` and ``-a ADDRESS``."""
    parser = argparse.ArgumentParser(description='JIM messenger server.')
    parser.add_argument('-p', '--port', type=port_number, default=DEFAULT_PORT,
                        help=f'TCP port to listen on (default: {DEFAULT_PORT})')
    parser.add_argument('-a', '--address', default=DEFAULT_LISTEN_ADDRESS,
                        help='address to listen on (default: every address)')
    return parser.parse_args(argv)


def handle_message(message):
    """Return the response to one request; no sockets involved."""
    if message.get(ACTION) != PRESENCE:
        return make_response(BAD_REQUEST, 'unknown or missing action')
    try:
        check_presence(message)
    except ProtocolError as err:
        return make_response(BAD_REQUEST, str(err))
    return make_response(OK, 'OK')


def serve_client(client, address):
    """Read one request from ``client``, answer it and print what happened."""
    try:
        message = get_message(client)
    except ProtocolError as err:
        response = make_response(BAD_REQUEST, str(err))
    except (ConnectionError, OSError) as err:
        print(f'{address}: no request ({err})')
        return
    else:
        try:
            response = handle_message(message)
        except Exception:  # a bug costs this answer, not the server
            traceback.print_exc()
            response = make_response(SERVER_ERROR, 'server error')
    print(f'{address}: answered {response}')
    try:
        send_message(client, response)
    except OSError as err:
        print(f'{address}: could not answer ({err})')


def accept_client(listener):
    """Return the next connection and its address from ``listener``.

    Out of file descriptors (EMFILE) ``accept`` fails while the client waits in the backlog:
    wait a moment and try again, rather than stop or try again at once.
    """
    while True:
        try:
            return listener.accept()
        except OSError as err:
            print(f'Cannot accept a connection ({err}); trying again in {ACCEPT_PAUSE} s')
            time.sleep(ACCEPT_PAUSE)


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
    """Serve clients one after another until Ctrl+C or SIGTERM."""
    args = parse_args(argv)
    stop_on_sigterm()
    try:
        with make_listening_socket(args.address, args.port) as server:
            print(f'Listening on {args.address or "*"}:{args.port}')
            while True:
                client, address = accept_client(server)
                with client:
                    client.settimeout(CONNECTION_TIMEOUT)
                    serve_client(client, address)
    except KeyboardInterrupt:
        print('Server stopped')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

"""JIM messages: building, checking, encoding and decoding them, and the socket helpers.

Everything except ``send_message`` and ``get_message`` works on plain values, so it is
tested without a network.
"""
import json
import time

from constants import (ACCOUNT_NAME, ACTION, ALERT, ENCODING, ERROR, MAX_NAME_LENGTH,
                       MAX_PACKAGE_LENGTH, PRESENCE, RESPONSE, STATUS, TIME, TYPE, USER)


class ProtocolError(ValueError):
    """Raised for bytes or objects that are not a valid JIM message."""


def encode_message(message):
    """Return the bytes of one message on the wire: a JSON object and a newline."""
    return json.dumps(message, ensure_ascii=False).encode(ENCODING) + b'\n'


def decode_message(data):
    """Return the JSON object that ``data`` holds; raise ProtocolError if it holds none."""
    if len(data) > MAX_PACKAGE_LENGTH:
        raise ProtocolError(f'message longer than {MAX_PACKAGE_LENGTH} bytes')
    try:
        message = json.loads(data.decode(ENCODING))
        # JSON may hold what cannot be sent on: a lone surrogate ("\ud800") is no UTF-8, and
        # 1e999 (infinity) or NaN is no number. Encoding the object again finds both.
        json.dumps(message, ensure_ascii=False, allow_nan=False).encode(ENCODING)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ProtocolError(f'malformed JSON: {err}') from None
    if not isinstance(message, dict):
        raise ProtocolError('a message must be a JSON object')
    return message


def send_message(sock, message):
    """Send one message over a connected socket."""
    sock.sendall(encode_message(message))


def get_message(sock):
    """Receive one message with a single read.

    One read is one message only while messages are small and each side waits for the
    other's answer; lesson 7 replaces this with a reader of a byte stream.
    """
    data = sock.recv(MAX_PACKAGE_LENGTH + 1)
    if not data:
        raise ConnectionError('the peer closed the connection')
    return decode_message(data)


def make_presence(account_name, status='Yep, I am here!'):
    """Return a ``presence`` message announcing ``account_name``."""
    return {
        ACTION: PRESENCE,
        TIME: time.time(),
        TYPE: STATUS,
        USER: {ACCOUNT_NAME: account_name, STATUS: status},
    }


def make_response(code, text=None):
    """Return a response with ``code`` and its text (``alert`` below 400, ``error`` from it)."""
    response = {RESPONSE: code, TIME: time.time()}
    if text is not None:
        response[ALERT if code < 400 else ERROR] = text
    return response


def check_field(message, name, kind):
    """Return ``message[name]``; raise ProtocolError if it is missing or not of ``kind``."""
    if name not in message:
        raise ProtocolError(f'missing field "{name}"')
    value = message[name]
    # bool is a subclass of int, but true is not a time.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProtocolError(f'field "{name}" has the wrong type')
    return value


def check_account_name(name):
    """Raise ProtocolError unless ``name`` is a usable account name."""
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ProtocolError(f'an account name has 1 to {MAX_NAME_LENGTH} characters')


def check_presence(message):
    """Raise ProtocolError unless ``message`` is a well-formed ``presence``."""
    check_field(message, TIME, (int, float))
    user = check_field(message, USER, dict)
    check_account_name(check_field(user, ACCOUNT_NAME, str))


def check_response(message):
    """Return the code of a response; raise ProtocolError if ``message`` is not one."""
    code = check_field(message, RESPONSE, int)
    if not 100 <= code <= 599:
        raise ProtocolError(f'response code {code} is out of range')
    return code

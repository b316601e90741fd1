"""JIM messages: building, checking, encoding and decoding them, and the socket helpers.

Everything except ``send_message`` and ``receive_messages`` works on plain values, so it is
tested without a network.
"""
import json
import time

from constants import (ACCOUNT_NAME, ACTION, ALERT, BUFFER_SIZE, ENCODING, ERROR, FROM,
                       MAX_MESSAGE_LENGTH, MAX_NAME_LENGTH, MAX_PACKAGE_LENGTH, MESSAGE,
                       MESSAGE_ENCODING, MSG, PRESENCE, RESPONSE, STATUS, TIME, TO, TYPE, USER)
from decorators import log

JSON_DECODER = json.JSONDecoder()


class ProtocolError(ValueError):
    """Raised for bytes or objects that are not a valid JIM message."""


@log
def encode_message(message):
    """Return the bytes of one message on the wire: a JSON object and a newline."""
    return json.dumps(message, ensure_ascii=False).encode(ENCODING) + b'\n'


@log
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


@log
def send_message(sock, message):
    """Send one message over a connected socket."""
    sock.sendall(encode_message(message))


class MessageReader:
    """Cuts a byte stream into JIM messages: bytes in, messages out, no socket in sight.

    A read may hold several objects, part of one, or one object's end and the next one's
    start; objects may or may not be separated by whitespace or newlines. ``feed`` returns
    each complete message as a dict and each bad line as a ProtocolError: a line that does not
    start with a whole JSON object is skipped up to its newline. Bytes that grow past the
    limit without making a message cannot be skipped safely: the reader becomes ``broken``
    and the connection must be closed.
    """

    def __init__(self, limit=MAX_PACKAGE_LENGTH):
        self.buffer = b''
        self.limit = limit
        self.broken = False

    def feed(self, data):
        """Add received bytes; return the messages (or errors) they complete."""
        if self.broken:
            return []
        # 'surrogateescape' turns a character cut between two reads, or bytes that are no
        # UTF-8, into placeholders that encode back to the same bytes; decode_message refuses
        # the latter.
        text = (self.buffer + data).decode(ENCODING, 'surrogateescape').lstrip()
        items = []
        while text:
            try:
                if not text.startswith('{'):
                    raise ValueError('not an object')
                _, end = JSON_DECODER.raw_decode(text)     # where the first object ends
            except (ValueError, RecursionError):
                end = text.find('\n') + 1
                if not end:
                    break       # an object not finished yet (or a bad line without its end)
            try:
                items.append(decode_message(text[:end].encode(ENCODING, 'surrogateescape')))
            except ProtocolError as err:
                items.append(err)
            text = text[end:].lstrip()
        self.buffer = text.encode(ENCODING, 'surrogateescape')
        if len(self.buffer) > self.limit:
            self.broken = True
            items.append(ProtocolError(f'message longer than {self.limit} bytes'))
        return items


def receive_messages(sock, reader):
    """Read once from ``sock``; return what ``reader`` makes of it (see MessageReader.feed)."""
    data = sock.recv(BUFFER_SIZE)
    if not data:
        raise ConnectionError('the peer closed the connection')
    return reader.feed(data)


@log
def make_presence(account_name, status='Yep, I am here!'):
    """Return a ``presence`` message announcing ``account_name``."""
    return {
        ACTION: PRESENCE,
        TIME: time.time(),
        TYPE: STATUS,
        USER: {ACCOUNT_NAME: account_name, STATUS: status},
    }


@log
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


@log
def check_presence(message):
    """Raise ProtocolError unless ``message`` is a well-formed ``presence``."""
    check_field(message, TIME, (int, float))
    user = check_field(message, USER, dict)
    check_account_name(check_field(user, ACCOUNT_NAME, str))


@log
def make_chat_message(sender, to, text):
    """Return a ``msg`` from ``sender`` to ``to`` (an account name or ``#all``)."""
    return {ACTION: MSG, TIME: time.time(), FROM: sender, TO: to,
            MESSAGE_ENCODING: ENCODING, MESSAGE: text}


@log
def check_chat_message(message):
    """Raise ProtocolError unless ``message`` is a well-formed ``msg``."""
    check_field(message, TIME, (int, float))
    check_field(message, TO, str)
    text = check_field(message, MESSAGE, str)
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ProtocolError(f'a message has at most {MAX_MESSAGE_LENGTH} characters')


@log
def check_response(message):
    """Return the code of a response; raise ProtocolError if ``message`` is not one."""
    code = check_field(message, RESPONSE, int)
    if not 100 <= code <= 599:
        raise ProtocolError(f'response code {code} is out of range')
    return code

"""JIM messages: checking what arrives, building what is sent.

``parse_request`` turns a decoded object into a typed request or raises
``RemoteProtocolError`` with the status code and text to answer with. Builders return plain
dicts for ``encode``.

The requests are plain slotted dataclasses, not frozen ones: a server builds one for each
message, and a frozen dataclass takes four times as long to build. Treat them as read-only.
"""
from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Union

from jim.constants import (E2E, MAX_CIPHERTEXT_LENGTH, MAX_HISTORY, MAX_ID_LENGTH,
                           MAX_KEY_LENGTH, MAX_NAME_LENGTH, MAX_POSITION, MAX_ROOM_LENGTH,
                           MAX_TEXT_LENGTH, MAX_TIME, PLAIN, Action, Status)
from jim.errors import LocalProtocolError, ProtocolError, RemoteProtocolError

_ROOM = re.compile(rf'#[\w-]{{1,{MAX_ROOM_LENGTH}}}')


def response(status: Status | int, text: str | None = None, **fields: Any) -> dict[str, Any]:
    """Return a response: ``alert`` text below 400, ``error`` text from 400, and ``time``."""
    message: dict[str, Any] = {'response': int(status), 'time': time.time()}
    if text is not None:
        message['alert' if status < 400 else 'error'] = text
    message.update(fields)
    return message


def error_response(error: RemoteProtocolError) -> dict[str, Any]:
    """Return the response that answers ``error``."""
    return response(error.status, str(error))


def field(message: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """Return ``message[name]``; raise RemoteProtocolError if it is missing or of another type.

    ``True`` is not a number here, and a number must be finite.
    """
    if name not in message:
        raise RemoteProtocolError(f'missing field "{name}"')
    value = message[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RemoteProtocolError(f'field "{name}" has the wrong type')
    if isinstance(value, float) and not math.isfinite(value):
        raise RemoteProtocolError(f'field "{name}" is not a finite number')
    return value


def timestamp(message: Mapping[str, Any]) -> float:
    """Return the ``time`` of ``message`` as a float: a number of at most ``MAX_TIME``."""
    value = message.get('time')
    if isinstance(value, float) and -MAX_TIME <= value <= MAX_TIME:    # the common case, fast
        return value
    value = field(message, 'time', (int, float))
    if not -MAX_TIME <= value <= MAX_TIME:
        raise RemoteProtocolError(f'field "time" is out of range (at most {MAX_TIME:.0f})')
    return float(value)


def position(message: Mapping[str, Any], name: str) -> int:
    """Return ``message[name]`` if it is a message position: an integer, 0 to MAX_POSITION."""
    value = field(message, name, int)
    if not 0 <= value <= MAX_POSITION:
        raise RemoteProtocolError(f'field "{name}" is not a position (0 to {MAX_POSITION})')
    return int(value)


def account_name(value: Any) -> str:
    """Return ``value`` if it is a usable account name; raise RemoteProtocolError otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH \
            or value.startswith('#') or not value.isprintable():
        raise RemoteProtocolError(f'an account name has 1 to {MAX_NAME_LENGTH} printable '
                                  "characters and does not start with '#'")
    return value


def room_name(value: Any) -> str:
    """Return ``value`` if it is a room name (``#`` and 1-25 letters, digits, _ or -)."""
    if not isinstance(value, str) or not _ROOM.fullmatch(value):
        raise RemoteProtocolError(f'a room is # and 1 to {MAX_ROOM_LENGTH} letters, digits, _ '
                                  'or -')
    return value


@dataclasses.dataclass(slots=True)
class Presence:
    """A user's status (``user.status``)."""

    time: float
    account_name: str
    status: str


@dataclasses.dataclass(slots=True)
class Msg:
    """A message to a user or to a room (``#name``).

    ``encoding`` is ``utf-8``, or ``x25519-aes256gcm`` for a direct message that only its
    recipient can read (``text`` is then the base64 ciphertext, opaque to the server).
    ``id`` is the sender's own id for it, if any: a server stores a message sent again with the
    same id only once.
    """

    time: float
    to: str
    text: str
    encoding: str = PLAIN
    id: str | None = None


@dataclasses.dataclass(slots=True)
class Authenticate:
    """One step of the SCRAM login: ``scram`` carries the SCRAM message.

    ``acks`` (``"acks": true`` in the request that completes the login) says that the client
    acknowledges what it handles: the server then forgets a message only once it is acked.
    """

    time: float
    account_name: str
    scram: str
    acks: bool = False


@dataclasses.dataclass(slots=True)
class RoomRequest:
    """``join`` or ``leave`` a room."""

    time: float
    action: Action
    room: str


@dataclasses.dataclass(slots=True)
class ContactRequest:
    """``add_contact`` or ``del_contact`` (``user_id`` is the other user)."""

    time: float
    action: Action
    user_id: str


@dataclasses.dataclass(slots=True)
class KeyRequest:
    """``set_key`` (publish one's public key) or ``get_key`` (ask for ``user_id``'s: the one
    they have now, or the one they had at message ``position``)."""

    time: float
    action: Action
    user_id: str = ''
    key: str = ''
    position: int | None = None


@dataclasses.dataclass(slots=True)
class History:
    """A page of the conversation ``with`` a user or a room: at most ``limit`` messages, the
    newest before position ``before`` (None: the newest of all)."""

    time: float
    with_: str
    before: int | None
    limit: int


@dataclasses.dataclass(slots=True)
class Ack:
    """The client has handled every message pushed to it up to ``position``, inclusive."""

    time: float
    position: int


@dataclasses.dataclass(slots=True)
class SimpleRequest:
    """A request with no fields of its own: ``quit``, ``get_contacts``, ``get_users``."""

    time: float
    action: Action


Request = Union[Presence, Msg, Authenticate, RoomRequest, ContactRequest, KeyRequest, Ack,
                History, SimpleRequest]


_ACTIONS = {str(action): action for action in Action}


def parse_request(message: Mapping[str, Any]) -> Request:
    """Check a decoded object and return it as a typed request."""
    name = message.get('action')
    action = _ACTIONS.get(name) if isinstance(name, str) else None
    if action is None:
        field(message, 'action', str)         # a precise error if it is missing or not text
        raise RemoteProtocolError('unknown action')
    when = timestamp(message)
    parse = _PARSERS.get(action)
    if parse is None:
        raise RemoteProtocolError(f'{action} is not a request a client sends')
    return parse(message, when, action)


def _user(message: Mapping[str, Any], when: float, action: Action) -> Presence | Authenticate:
    user = field(message, 'user', dict)
    name = account_name(field(user, 'account_name', str))
    if action is Action.AUTHENTICATE:
        acks = message.get('acks', False)
        if not isinstance(acks, bool):
            raise RemoteProtocolError('field "acks" is true or false')
        return Authenticate(when, name, field(message, 'scram', str), acks)
    status = user.get('status', '')
    if not isinstance(status, str) or len(status) > MAX_TEXT_LENGTH:
        raise RemoteProtocolError(f'field "status" is text of at most {MAX_TEXT_LENGTH} '
                                  'characters')
    return Presence(when, name, status)


def _msg(message: Mapping[str, Any], when: float, _action: Action) -> Msg:
    # The checks of field() inline: this is the request of the hot path.
    to, text = message.get('to'), message.get('message')
    if not isinstance(to, str):
        to = field(message, 'to', str)
    if not isinstance(text, str):
        text = field(message, 'message', str)
    if to[:1] == '#':
        room_name(to)
    else:
        account_name(to)
    encoding = message.get('encoding', PLAIN)
    if encoding == E2E:
        if to.startswith('#') or len(text) > MAX_CIPHERTEXT_LENGTH:
            raise RemoteProtocolError('end-to-end encryption is for direct messages of at most '
                                      f'{MAX_CIPHERTEXT_LENGTH} base64 characters')
    elif encoding != PLAIN:
        raise RemoteProtocolError(f'encoding is {PLAIN} or {E2E}')
    elif len(text) > MAX_TEXT_LENGTH:
        raise RemoteProtocolError(f'a message has at most {MAX_TEXT_LENGTH} characters')
    client_id = message.get('id')
    if client_id is not None and (not isinstance(client_id, str)
                                  or not 0 < len(client_id) <= MAX_ID_LENGTH):
        raise RemoteProtocolError(f'field "id" is text of 1 to {MAX_ID_LENGTH} characters')
    return Msg(when, to, text, encoding, client_id)


def _room(message: Mapping[str, Any], when: float, action: Action) -> RoomRequest:
    return RoomRequest(when, action, room_name(field(message, 'room', str)))


def _contact(message: Mapping[str, Any], when: float, action: Action) -> ContactRequest:
    return ContactRequest(when, action, account_name(field(message, 'user_id', str)))


def _key(message: Mapping[str, Any], when: float, action: Action) -> KeyRequest:
    if action is Action.GET_KEY:
        at = position(message, 'position') if 'position' in message else None
        return KeyRequest(when, action, user_id=account_name(field(message, 'user_id', str)),
                          position=at)
    key = field(message, 'key', str)
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise RemoteProtocolError(f'a key has 1 to {MAX_KEY_LENGTH} base64 characters')
    return KeyRequest(when, action, key=key)


def _ack(message: Mapping[str, Any], when: float, _action: Action) -> Ack:
    return Ack(when, position(message, 'position'))


def _history(message: Mapping[str, Any], when: float, _action: Action) -> History:
    other = field(message, 'with', str)
    if other.startswith('#'):
        room_name(other)
    else:
        account_name(other)
    before = position(message, 'before') if message.get('before') is not None else None
    limit = field(message, 'limit', int) if 'limit' in message else MAX_HISTORY
    if not 0 < limit <= MAX_HISTORY:
        raise RemoteProtocolError(f'field "limit" is 1 to {MAX_HISTORY}')
    return History(when, other, before, limit)


def _simple(_message: Mapping[str, Any], when: float, action: Action) -> SimpleRequest:
    return SimpleRequest(when, action)


# What each action a client may send is checked by; other actions are the server's own.
_PARSERS: dict[Action, Callable[[Mapping[str, Any], float, Action], Request]] = {
    Action.PRESENCE: _user, Action.AUTHENTICATE: _user, Action.MSG: _msg,
    Action.JOIN: _room, Action.LEAVE: _room,
    Action.ADD_CONTACT: _contact, Action.DEL_CONTACT: _contact,
    Action.SET_KEY: _key, Action.GET_KEY: _key, Action.ACK: _ack, Action.HISTORY: _history,
    Action.QUIT: _simple, Action.GET_CONTACTS: _simple, Action.GET_USERS: _simple,
}


def parse_response(message: Mapping[str, Any]) -> Status:
    """Check that ``message`` is a response and return its status."""
    code = field(message, 'response', int)
    try:
        status = Status(code)
    except ValueError:
        raise RemoteProtocolError(f'unknown response code {code}') from None
    text_field = 'alert' if status < 400 else 'error'
    if not isinstance(message.get(text_field, ''), str):
        raise RemoteProtocolError(f'field "{text_field}" must be text')
    return status


def request(action: Action, **fields: Any) -> dict[str, Any]:
    """Return a request with ``action``, ``time`` and ``fields``."""
    return {'action': str(action), 'time': time.time(), **fields}


def presence(name: str, status: str = 'online') -> dict[str, Any]:
    """Return a presence of ``name`` with a status text."""
    return request(Action.PRESENCE, type='status',
                   user={'account_name': name, 'status': status})


def msg(to: str, text: str, sender: str | None = None, encoding: str = PLAIN,
        message_id: str | None = None) -> dict[str, Any]:
    """Return a msg to a user or a ``#room``; the server fills ``from`` when it relays it.

    ``message_id`` is the sender's own id for it (``id``), which makes sending it again safe.
    """
    message = request(Action.MSG, to=to, encoding=encoding, message=text)
    if sender is not None:
        message['from'] = sender
    if message_id is not None:
        message['id'] = message_id
    return message


def ack(last: int) -> dict[str, Any]:
    """Return an ack of every pushed message up to position ``last``."""
    return request(Action.ACK, position=last)


__all__ = ['Ack', 'Authenticate', 'ContactRequest', 'History', 'KeyRequest',
           'LocalProtocolError', 'Msg', 'Presence', 'ProtocolError', 'RemoteProtocolError',
           'Request', 'RoomRequest', 'SimpleRequest', 'account_name', 'ack', 'error_response',
           'field', 'msg', 'parse_request', 'parse_response', 'position', 'presence', 'request',
           'response', 'room_name', 'timestamp']

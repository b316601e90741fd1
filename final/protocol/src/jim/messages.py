"""JIM messages: checking what arrives, building what is sent.

``parse_request`` turns a decoded object into a typed request or raises ``ProtocolError``
with the status code and text to answer with. Builders return plain dicts for ``encode``.
"""
from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Union

from jim.constants import (E2E, MAX_CIPHERTEXT_LENGTH, MAX_KEY_LENGTH, MAX_NAME_LENGTH,
                           MAX_ROOM_LENGTH, MAX_TEXT_LENGTH, PLAIN, Action, Status)

_ROOM = re.compile(rf'#[\w-]{{1,{MAX_ROOM_LENGTH}}}')


class ProtocolError(ValueError):
    """A request that cannot be served; ``status`` and the text make the answer."""

    def __init__(self, text: str, status: Status = Status.BAD_REQUEST) -> None:
        super().__init__(text)
        self.status = status


def response(status: Status | int, text: str | None = None, **fields: Any) -> dict[str, Any]:
    """Return a response: ``alert`` text below 400, ``error`` text from 400, and ``time``."""
    message: dict[str, Any] = {'response': int(status), 'time': time.time()}
    if text is not None:
        message['alert' if status < 400 else 'error'] = text
    message.update(fields)
    return message


def error_response(error: ProtocolError) -> dict[str, Any]:
    """Return the response that answers ``error``."""
    return response(error.status, str(error))


def field(message: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """Return ``message[name]``; raise ProtocolError if it is missing or of another type.

    ``True`` is not a number here, and a number must be finite.
    """
    if name not in message:
        raise ProtocolError(f'missing field "{name}"')
    value = message[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProtocolError(f'field "{name}" has the wrong type')
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError(f'field "{name}" is not a finite number')
    return value


def account_name(value: Any) -> str:
    """Return ``value`` if it is a usable account name; raise ProtocolError otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH \
            or value.startswith('#') or any(not char.isprintable() for char in value):
        raise ProtocolError(f'an account name has 1 to {MAX_NAME_LENGTH} printable '
                            "characters and does not start with '#'")
    return value


def room_name(value: Any) -> str:
    """Return ``value`` if it is a room name (``#`` and 1-25 letters, digits, _ or -)."""
    if not isinstance(value, str) or not _ROOM.fullmatch(value):
        raise ProtocolError(f'a room is # and 1 to {MAX_ROOM_LENGTH} letters, digits, _ or -')
    return value


@dataclasses.dataclass(frozen=True)
class Presence:
    """A user's status (``user.status``)."""

    time: float
    account_name: str
    status: str


@dataclasses.dataclass(frozen=True)
class Msg:
    """A message to a user or to a room (``#name``).

    ``encoding`` is ``utf-8``, or ``x25519-aes256gcm`` for a direct message that only its
    recipient can read (``text`` is then the base64 ciphertext, opaque to the server).
    """

    time: float
    to: str
    text: str
    encoding: str = PLAIN


@dataclasses.dataclass(frozen=True)
class Authenticate:
    """One step of the SCRAM login: ``scram`` carries the SCRAM message."""

    time: float
    account_name: str
    scram: str


@dataclasses.dataclass(frozen=True)
class RoomRequest:
    """``join`` or ``leave`` a room."""

    time: float
    action: Action
    room: str


@dataclasses.dataclass(frozen=True)
class ContactRequest:
    """``add_contact`` or ``del_contact`` (``user_id`` is the other user)."""

    time: float
    action: Action
    user_id: str


@dataclasses.dataclass(frozen=True)
class KeyRequest:
    """``set_key`` (publish one's public key) or ``get_key`` (ask for ``user_id``'s)."""

    time: float
    action: Action
    user_id: str = ''
    key: str = ''


@dataclasses.dataclass(frozen=True)
class SimpleRequest:
    """A request with no fields of its own: ``quit``, ``get_contacts``, ``get_users``."""

    time: float
    action: Action


Request = Union[Presence, Msg, Authenticate, RoomRequest, ContactRequest, KeyRequest,
                SimpleRequest]


def parse_request(message: Mapping[str, Any]) -> Request:
    """Check a decoded object and return it as a typed request."""
    try:
        action = Action(field(message, 'action', str))
    except ValueError:
        raise ProtocolError('unknown action') from None
    when = float(field(message, 'time', (int, float)))
    parse = _PARSERS.get(action)
    if parse is None:
        raise ProtocolError(f'{action} is not a request a client sends')
    return parse(message, when, action)


def _user(message: Mapping[str, Any], when: float, action: Action) -> Presence | Authenticate:
    user = field(message, 'user', dict)
    name = account_name(field(user, 'account_name', str))
    if action is Action.AUTHENTICATE:
        return Authenticate(when, name, field(message, 'scram', str))
    status = user.get('status', '')
    if not isinstance(status, str) or len(status) > MAX_TEXT_LENGTH:
        raise ProtocolError('field "status" must be text')
    return Presence(when, name, status)


def _msg(message: Mapping[str, Any], when: float, _action: Action) -> Msg:
    to = field(message, 'to', str)
    if to.startswith('#'):
        room_name(to)
    else:
        account_name(to)
    text = field(message, 'message', str)
    encoding = message.get('encoding', PLAIN)
    if encoding == E2E:
        if to.startswith('#') or len(text) > MAX_CIPHERTEXT_LENGTH:
            raise ProtocolError('end-to-end encryption is for direct messages of at most '
                                f'{MAX_CIPHERTEXT_LENGTH} base64 characters')
    elif encoding != PLAIN:
        raise ProtocolError(f'encoding is {PLAIN} or {E2E}')
    elif len(text) > MAX_TEXT_LENGTH:
        raise ProtocolError(f'a message has at most {MAX_TEXT_LENGTH} characters')
    return Msg(when, to, text, encoding)


def _room(message: Mapping[str, Any], when: float, action: Action) -> RoomRequest:
    return RoomRequest(when, action, room_name(field(message, 'room', str)))


def _contact(message: Mapping[str, Any], when: float, action: Action) -> ContactRequest:
    return ContactRequest(when, action, account_name(field(message, 'user_id', str)))


def _key(message: Mapping[str, Any], when: float, action: Action) -> KeyRequest:
    if action is Action.GET_KEY:
        return KeyRequest(when, action, user_id=account_name(field(message, 'user_id', str)))
    key = field(message, 'key', str)
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ProtocolError(f'a key has 1 to {MAX_KEY_LENGTH} base64 characters')
    return KeyRequest(when, action, key=key)


def _simple(_message: Mapping[str, Any], when: float, action: Action) -> SimpleRequest:
    return SimpleRequest(when, action)


# What each action a client may send is checked by; other actions are the server's own.
_PARSERS: dict[Action, Callable[[Mapping[str, Any], float, Action], Request]] = {
    Action.PRESENCE: _user, Action.AUTHENTICATE: _user, Action.MSG: _msg,
    Action.JOIN: _room, Action.LEAVE: _room,
    Action.ADD_CONTACT: _contact, Action.DEL_CONTACT: _contact,
    Action.SET_KEY: _key, Action.GET_KEY: _key,
    Action.QUIT: _simple, Action.GET_CONTACTS: _simple, Action.GET_USERS: _simple,
}


def parse_response(message: Mapping[str, Any]) -> Status:
    """Check that ``message`` is a response and return its status."""
    code = field(message, 'response', int)
    try:
        status = Status(code)
    except ValueError:
        raise ProtocolError(f'unknown response code {code}') from None
    text_field = 'alert' if status < 400 else 'error'
    if not isinstance(message.get(text_field, ''), str):
        raise ProtocolError(f'field "{text_field}" must be text')
    return status


def request(action: Action, **fields: Any) -> dict[str, Any]:
    """Return a request with ``action``, ``time`` and ``fields``."""
    return {'action': str(action), 'time': time.time(), **fields}


def presence(name: str, status: str = 'online') -> dict[str, Any]:
    """Return a presence of ``name`` with a status text."""
    return request(Action.PRESENCE, type='status',
                   user={'account_name': name, 'status': status})


def msg(to: str, text: str, sender: str | None = None,
        encoding: str = PLAIN) -> dict[str, Any]:
    """Return a msg to a user or a ``#room``; the server fills ``from`` when it relays it."""
    message = request(Action.MSG, to=to, encoding=encoding, message=text)
    if sender is not None:
        message['from'] = sender
    return message

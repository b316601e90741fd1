"""Framing: cutting a byte stream into JSON objects, and writing objects as bytes.

On the wire each object is UTF-8 JSON followed by ``\\n``; a reader also accepts objects with
no newline between them. A TCP read may hold several objects, part of one, or the end of one
and the start of the next, so ``Decoder`` keeps what it has not used yet.

Most input is one object per line: the decoder tries each line as a whole first (fast, in
C), and only scans braces (outside strings) when a line is not one object.

JSON is read and written by orjson, which is five to ten times faster than the standard
library here and strict where JIM must be: every object that comes out is text a program
can store and send on, since ``NaN``, ``Infinity``, numbers a double cannot hold and lone
UTF-16 surrogates (``"\\ud800"``, which JSON allows but UTF-8 cannot carry) are framing
errors, checked here once.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from jim.constants import MAX_MESSAGE_BYTES
from jim.errors import FramingError, LocalProtocolError

_WHITESPACE = re.compile(rb'[ \t\r\n]*')
_SPECIAL = re.compile(rb'["\\{}]')


def encode(message: Mapping[str, Any]) -> bytes:
    """Return the bytes of ``message`` on the wire: compact UTF-8 JSON and a newline.

    Raise ``LocalProtocolError`` for what JIM cannot carry (a lone surrogate, an integer
    beyond 64 bits, a value that is not JSON): sending it would be our bug, not the peer's.
    A float that is not finite is written as ``null``.
    """
    try:
        return orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError as err:
        raise LocalProtocolError(f'cannot encode {type(message).__name__}: {err}') from None


def _parse(data: bytes, max_bytes: int) -> dict[str, Any] | FramingError:
    """Return the JSON object in ``data`` (one object's bytes), or the error it holds."""
    if len(data) > max_bytes:
        return FramingError(f'message longer than {max_bytes} bytes')
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        return FramingError(f'malformed JSON: {err}')
    if not isinstance(value, dict):
        return FramingError('a message must be a JSON object')
    return value


class Decoder:
    """Turns received bytes into messages (dicts) and errors (``FramingError``).

    >>> decoder = Decoder()
    >>> decoder.feed(b'{"action": "presence"}{"act')
    [{'action': 'presence'}]
    >>> decoder.feed(b'ion": "quit"}\\n')
    [{'action': 'quit'}]
    """

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.broken = False
        self._buffer = b''
        # Where the brace scan of the unfinished object stopped, and its state there.
        self._scanned = 0
        self._depth = 0
        self._in_string = False

    @property
    def pending(self) -> int:
        """How many received bytes wait for the rest of their object."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[dict[str, Any] | FramingError]:
        """Add received bytes; return what they complete, in order.

        After a fatal error the decoder is ``broken`` and returns nothing more.
        """
        if self.broken:
            return []
        buffer = self._buffer + data if self._buffer else data
        items: list[dict[str, Any] | FramingError] = []
        position = 0
        while True:
            match = _WHITESPACE.match(buffer, position)
            position = match.end() if match else position
            if position >= len(buffer):
                break
            if buffer[position] != 0x7B:              # not '{': skip the line
                newline = buffer.find(b'\n', position)
                if newline == -1:
                    if len(buffer) - position > self.max_bytes:
                        return self._fail(items, 'garbage longer than the message limit')
                    break
                items.append(FramingError('a message must be a JSON object'))
                position = newline + 1
                continue
            if not self._scanned:
                newline = buffer.find(b'\n', position)
                if newline != -1:
                    parsed = _parse(buffer[position:newline], self.max_bytes)
                    if isinstance(parsed, dict):
                        items.append(parsed)
                        position = newline + 1
                        continue
            end = self._object_end(buffer, position)
            if end == -1:
                if len(buffer) - position > self.max_bytes:
                    return self._fail(items, f'message longer than {self.max_bytes} bytes')
                break
            items.append(_parse(buffer[position:end], self.max_bytes))
            position = end
        self._buffer = buffer[position:]
        return items

    def _object_end(self, buffer: bytes, start: int) -> int:
        """Return the index just past the object at ``start``, or -1 if it is not complete.

        The scan resumes where the previous call stopped, so a large object arriving in
        many reads is scanned once.
        """
        depth, in_string = self._depth, self._in_string
        index = start + self._scanned
        while (match := _SPECIAL.search(buffer, index)) is not None:
            char, index = buffer[match.start()], match.start() + 1
            if char == 0x5C:                            # backslash: skip what it escapes
                if index >= len(buffer):
                    index -= 1                          # look at it again with more bytes
                    break
                index += 1
            elif char == 0x22:                          # quote
                in_string = not in_string
            elif not in_string:
                depth += 1 if char == 0x7B else -1
                if depth == 0:
                    self._scanned, self._depth, self._in_string = 0, 0, False
                    return index
        self._scanned, self._depth, self._in_string = index - start, depth, in_string
        return -1

    def _fail(self, items: list[dict[str, Any] | FramingError],
              text: str) -> list[dict[str, Any] | FramingError]:
        self.broken = True
        self._buffer = b''
        items.append(FramingError(text, fatal=True))
        return items

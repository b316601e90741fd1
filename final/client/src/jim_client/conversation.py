"""One conversation as a client shows it: history pages and live messages merged by position.

No Qt and no sockets: the window keeps a ``Conversation`` per peer and draws what
``entries`` returns. Every stored message has a position, so a message that comes both live
and in a page of history is kept once, and the order is the server's. What the user sent and
the server has not stored yet has no position: it is kept by its id, after the stored ones,
until the server's answer gives it its place.
"""
from __future__ import annotations

import dataclasses
import enum
import time
from typing import Any


class State(enum.Enum):
    """Where a message the user sent stands."""

    SENT = 'sent'          # the server stored it (200)
    WAITING = 'waiting'    # not answered yet
    FAILED = 'failed'      # an error answer, or not confirmed in time


@dataclasses.dataclass
class Entry:
    """A message in a conversation; ``state`` is None for a message of someone else."""

    sender: str
    text: str
    time: float
    position: int | None = None
    id: str | None = None
    state: State | None = None
    warning: str = ''              # e.g. sealed with a key the user has not accepted
    error: str = ''                # why it failed


def peer_of(item: dict[str, Any], me: str) -> str:
    """Return the conversation a msg belongs to: its room, or the other user."""
    to, sender = str(item.get('to', '')), str(item.get('from', ''))
    if to.startswith('#'):
        return to
    return to if sender == me else sender


def entry_of(item: dict[str, Any], me: str) -> Entry:
    """Return a pushed msg, or one of a history page, as an entry."""
    sender = str(item.get('from', '?'))
    position = item.get('position')
    return Entry(sender, str(item.get('message', '')), float(item.get('time') or time.time()),
                 position if isinstance(position, int) else None,
                 state=State.SENT if sender == me else None,
                 warning=str(item.get('warning', '')))


class Conversation:
    """The messages of one conversation that the client has, and how far back it has them."""

    def __init__(self) -> None:
        self.stored: dict[int, Entry] = {}       # by position
        self.unstored: dict[str, Entry] = {}     # the user's own, by id, until stored
        self.requested = False                  # the last page was asked for
        self.complete = False                   # the server has nothing older
        self.loading = False                    # a page was asked for and has not come
        self.unread = 0

    def entries(self) -> list[Entry]:
        """Return every message, stored ones by position, then the unstored in sent order."""
        return [self.stored[at] for at in sorted(self.stored)] + list(self.unstored.values())

    @property
    def oldest(self) -> int | None:
        """The position of the oldest stored message the client has (``before`` of the
        next page)."""
        return min(self.stored, default=None)

    def add(self, entry: Entry) -> bool:
        """Add a message; False if it is there already (same position, or same id)."""
        if entry.position is not None:
            if entry.position in self.stored:
                return False
            self.stored[entry.position] = entry
            return True
        if entry.id is None or entry.id in self.unstored:
            return False
        self.unstored[entry.id] = entry
        return True

    def merge(self, page: list[Entry], limit: int) -> int:
        """Add a page of history (``limit`` asked for); return how many were new.

        A page shorter than asked for is the start of the conversation.
        """
        self.loading = False
        if len(page) < limit:
            self.complete = True
        return sum(self.add(entry) for entry in page)

    def stored_as(self, message_id: str, position: int | None) -> Entry | None:
        """The user's message ``message_id`` is stored at ``position``: mark it sent."""
        entry = self.unstored.pop(message_id, None)
        if entry is None:
            return None
        entry.state, entry.error = State.SENT, ''
        if position is None:
            self.unstored[message_id] = entry
        elif position not in self.stored:
            entry.position = position
            self.stored[position] = entry
        return entry

    def failed(self, message_id: str, error: str) -> Entry | None:
        """The user's message ``message_id`` failed (``error`` says why)."""
        entry = self.unstored.get(message_id)
        if entry is not None:
            entry.state, entry.error = State.FAILED, error
        return entry

    def waiting(self, message_id: str) -> Entry | None:
        """The user's message ``message_id`` is sent again: it waits for its answer."""
        entry = self.unstored.get(message_id)
        if entry is not None:
            entry.state, entry.error = State.WAITING, ''
        return entry

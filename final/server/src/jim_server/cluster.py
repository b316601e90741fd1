"""This node's place among the servers that share one database, without I/O of its own.

On PostgreSQL several ``jim-server`` nodes make one messenger. What they share lives in the
database: who is logged in where (one login per account, ``claim``), which nodes are alive
(``beat``; the leader ``bury``-s the silent ones and their users go offline), and the
positions of messages and events, which every node reads after its own cursors
(``messages_news``, ``events_news``), told to look by the bus (``bus.py``) or by its
once-a-second ``poll``.

On SQLite there is one node: nothing is shared, and every call here answers at once.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from jim_server.storage import Storage, StorageError, StoredMessage

logger = logging.getLogger(__name__)
PAGE = 1000                     # rows read from the others' news at a time


class Cluster:
    """What this node (``node``) knows of the others, and tells them."""

    def __init__(self, storage: Storage, node: str, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.node = node
        self.clock = clock              # the time nodes agree on (seconds since the epoch)
        self.shared = storage.cluster
        self.messages = 0               # the position up to which messages were seen
        self.events = 0                 # and events
        self.own: set[int] = set()      # positions this node stored, not yet seen in order
        self.heard: dict[str, int] = {}     # what the bus told of (and 'poll': read anyway)
        self.elsewhere: set[str] = set()    # who is logged in on the other nodes
        self.unreleased: set[str] = set()   # logouts the database could not record yet

    def start(self) -> None:
        """Join the cluster: follow the others from their last positions."""
        if self.shared:
            self.messages, self.events = self.storage.start_node(self.node, self.clock())
            self.elsewhere = set(self.storage.online())

    def claim(self, name: str) -> bool:
        """Record that ``name`` logs in here; False if they are logged in on any node."""
        if not self.shared:
            return True
        self.release_pending()
        return name not in self.unreleased and self.storage.claim(name, self.node)

    def release(self, name: str) -> None:
        """Record that ``name`` left; if the database fails, try again every second."""
        if not self.shared:
            return
        try:
            self.storage.release(name, self.node)
        except StorageError:
            logger.exception('cannot record that %s left: trying again', name)
            self.unreleased.add(name)

    def release_pending(self) -> None:
        """Record the logouts that failed before."""
        for name in list(self.unreleased):
            try:
                self.storage.release(name, self.node)
            except StorageError:
                return
            self.unreleased.discard(name)

    def online(self, here: Iterable[str]) -> list[str]:
        """Return who is logged in, on this node (``here``) and the others."""
        return sorted(self.elsewhere.union(here))

    def beat(self, leader: bool, silence: float) -> None:
        """Once a second: say this node is alive; as the leader, declare dead the nodes
        silent for ``silence`` seconds (their users' offline events follow in the news)."""
        if not self.shared:
            return
        now = self.clock()
        self.storage.beat(self.node, now)
        self.release_pending()
        if leader:
            buried = self.storage.bury(now - silence)
            if buried:
                logger.warning('a node stopped beating: %d users released', len(buried))

    def stop(self) -> None:
        """Leave the cluster (the users here have been released)."""
        if self.shared:
            self.storage.stop_node(self.node)

    def notified(self, kind: str, position: int) -> None:
        """The bus says ``kind`` (messages, events) was stored up to ``position``."""
        self.heard[kind] = max(self.heard.get(kind, 0), position)

    def poll(self) -> None:
        """Once a second: read the news even if no notification came (one may be lost)."""
        self.heard['poll'] = self.heard['poll events'] = 1

    def behind(self) -> bool:
        """Tell whether there are messages to read (and relay at the next commit)."""
        return self.shared and (self.heard.get('messages', 0) > self.messages
                                or 'poll' in self.heard)

    def messages_news(self, own: list[int]) -> tuple[list[StoredMessage],
                                                     list[StoredMessage]]:
        """Return the other nodes' messages not seen yet, split around this turn's own
        ``positions`` (a run): those before them must go out first, in order. Raise
        StorageError if the database fails."""
        if not self.shared:
            return [], []
        self.own.update(own)
        if not self.behind() and (not own or self.messages >= own[0] - 1):
            if own and self.messages == own[0] - 1:
                self._seen(own[-1])          # nobody else stored in between: no query
            return [], []
        self.heard.pop('poll', None)
        others: list[StoredMessage] = []
        while True:
            try:
                page = self.storage.messages_after(self.messages, PAGE)
            except StorageError:
                self.heard.pop('messages', None)     # read again at the next poll, not now
                raise
            others += [item for item in page if item.position not in self.own]
            if page:
                self._seen(page[-1].position)
            if not own or self.messages >= own[0] - 1 or len(page) < PAGE:
                break
        first = own[0] if own else None
        return ([item for item in others if first is None or item.position < first],
                [item for item in others if first is not None and item.position > first])

    def events_news(self) -> list[tuple[int, str, str, str]]:
        """Return the events of the other nodes not seen yet (position, name, status,
        node). Raise StorageError if the database fails."""
        if not self.shared or (self.heard.get('events', 0) <= self.events
                               and 'poll events' not in self.heard):
            return []
        self.heard.pop('poll events', None)
        events = self.storage.events_after(self.events, PAGE)
        if events:
            self.events = events[-1][0]
        events = [event for event in events if event[3] != self.node]
        for _position, name, status, _node in events:
            (self.elsewhere.add if status == 'online' else self.elsewhere.discard)(name)
        return events

    def _seen(self, position: int) -> None:
        """Messages up to ``position`` are seen: forget the own ones up to it."""
        self.messages = position
        self.own = {own for own in self.own if own > position}

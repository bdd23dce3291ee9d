"""The event log: everything observable that happens in the simulated network, in order.

Each `Event` has a sequence number (a cursor), the clock time, the account (and the sandbox it
belongs to, if any), a kind (`message.created`,
`message.status`, `message.received`, `webhook.attempt`, `call.*` ...) and a flat `data`
mapping. Waiters find events that happened before they started (they pass the cursor they have
seen), so waiting is race-free. The log keeps the newest `capacity` events.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Event", "EventLog"]


@dataclass(slots=True, eq=False)
class Event:
    """Written once by `EventLog.emit` and only read after (not frozen: a frozen dataclass pays
    for every field it sets, and the log makes one per simulated happening)."""

    seq: int
    at: int
    kind: str
    provider: str | None
    account_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    sandbox: str | None = None

    def matches(self, filters: dict[str, str]) -> bool:
        """Equality on `kind`, `provider`, `account` or any data field; numbers match with or
        without their leading `+`; `kind` may end in `*` to match a prefix (`message.*`)."""
        for key, wanted in filters.items():
            if key == "kind":
                actual: Any = self.kind
                if wanted.endswith("*"):
                    if not self.kind.startswith(wanted[:-1]):
                        return False
                    continue
            elif key == "provider":
                actual = self.provider
            elif key == "account":
                actual = self.account_id
            elif key == "sandbox":
                actual = self.sandbox
            else:
                actual = self.data.get(key)
            if actual is None:
                return False
            text = str(actual)
            if text != wanted and text.lstrip("+") != wanted.lstrip("+"):
                return False
        return True


class EventLog:
    def __init__(self, now: Callable[[], int], capacity: int = 200_000) -> None:
        self._now = now
        self._events: deque[Event] = deque(maxlen=capacity)
        self._next_seq = 1
        self._waiters: set[asyncio.Event] = set()
        self.listeners: list[Callable[[Event], None]] = []
        self.sandbox_of: Callable[[str | None], str | None] = lambda account_id: None

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def emit(self, kind: str, provider: str | None = None, account_id: str | None = None, **data: Any) -> Event:
        return self.record(kind, provider, account_id, data)

    def record(self, kind: str, provider: str | None, account_id: str | None, data: dict[str, Any], at: int | None = None) -> Event:
        """`emit` with the data as one mapping (which the event keeps), at `at` (default now)."""
        event = Event(self._next_seq, self._now() if at is None else at, kind, provider, account_id, data, self.sandbox_of(account_id))
        self._next_seq += 1
        self._events.append(event)
        for waiter in self._waiters:
            waiter.set()
        for listener in self.listeners:
            listener(event)
        return event

    def since(self, after: int = 0, limit: int | None = None) -> list[Event]:
        """Events with a sequence number above `after`, oldest first."""
        if not self._events:
            return []
        first = self._events[0].seq
        start = max(0, after + 1 - first)
        end = len(self._events) if limit is None else min(len(self._events), start + limit)
        return [self._events[i] for i in range(start, end)]

    def find(self, filters: dict[str, str], after: int = 0) -> Event | None:
        for event in self.since(after):
            if event.matches(filters):
                return event
        return None

    async def wait_for(self, filters: dict[str, str], after: int = 0, timeout: float = 10.0) -> Event | None:
        """The first event after `after` that matches, waiting up to `timeout` seconds of real time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            seen = after
            while True:
                waiter.clear()
                for event in self.since(seen):
                    if event.matches(filters):
                        return event
                seen = max(seen, self.last_seq)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                try:
                    await asyncio.wait_for(waiter.wait(), remaining)
                except TimeoutError:
                    return None
        finally:
            self._waiters.discard(waiter)

    async def follow(self, after: int = 0):
        """Every event after `after`, then each new one as it happens (for streaming)."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            seen = after
            while True:
                waiter.clear()
                for event in self.since(seen):
                    seen = event.seq
                    yield event
                await waiter.wait()
        finally:
            self._waiters.discard(waiter)

    def clear(self) -> None:
        self._events.clear()
        for waiter in self._waiters:
            waiter.set()

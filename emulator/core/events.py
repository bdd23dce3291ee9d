"""The event log: everything observable that happens in the simulated network, in order.

Each `Event` has a sequence number (a cursor), the clock time, the account (and the sandbox it
belongs to, if any), a kind (`message.created`, `message.status`, `message.received`,
`webhook.attempt`, `call.*` ...) and a flat `data` mapping. The log keeps the newest `capacity`
events.

Waiting and streaming cost nothing per stored event. The log indexes events by kind,
provider, account, sandbox and the scalar fields of their data, so a wait (`wait_for`) or a
filtered page (`matching`) looks at the candidates of its most selective filter only, from
its cursor on (found by bisection), never at the whole log. A field is indexed from the first
time a wait, a stream or a filtered page names it (that first look builds its index from the
events in the log, once), and from then on as each event is recorded, resets included: an
emulator that nobody waits on (a load test, most of a test suite's sends) pays nothing per
event for indexes, and one whose tests wait by `id` indexes that field and not the others.
A wait that finds nothing yet is registered under that same filter: a new event is offered only to the waits registered under
one of its own keys (plus those filtering on a kind prefix or on nothing), not to all of them.
Waiters find events that happened before they started (they pass the cursor they have seen),
and a wait registers with no pause between its last look and its registration, so waiting is
race-free. A stream (`follow`) reads the log from its cursor in batches; a filtered stream waits
for its next event as a wait does, the others wake on one shared signal; after a batch a stream
rests a moment before the next (it goes on at once only after a full batch, to work off a
backlog), so a burst of events costs each stream one write per rest, not one per event, however
long its previous write took.

Streams of every event (no filter) share one `Broadcast`: each event is rendered once, its bytes
appended to one buffer, and such a stream (`follow_rendered`) holds only a cursor into it: a
wake-up costs it one slice of that buffer and one write, however many events it carries (the same
bytes object when several streams are at the same place). A stream whose cursor is older than the
buffer (a replay with `after`) renders its batches itself until it has caught up.
"""

from __future__ import annotations

import asyncio
import heapq
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import islice
from operator import attrgetter
from typing import Any, AsyncIterator, Callable, Coroutine, Iterable

from .models import Message

__all__ = ["Broadcast", "Event", "EventLog", "MessageEvent", "TooBusy"]

_SEQ = attrgetter("seq")
_FIELDS = ("kind", "provider", "account", "sandbox")  # filter names that are not data fields
SCAN_CHUNK = 2000  # candidates one wait examines before letting other work in
BUILD_CHUNK = 5000  # events a wait's build of an index reads before letting other work in (see `EventLog._build`)


class TooBusy(Exception):
    """Too many waits or streams are open at once in this process."""


class Closed(Exception):
    """The log was closed (the process is stopping): it serves no wait any more."""


_CLOSED = object()  # what a closed log settles the futures of its waits with


class _NotBuilt(Exception):
    """The index of `name` has not been built yet (see `EventLog._built`)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _key(value: Any) -> str | None:
    """The index key of a field's value (what a filter must equal, `+` of numbers aside), or
    None when no filter can match it (absent, or not a scalar)."""
    if value is None:
        return None
    if type(value) is str:
        return value.lstrip("+")
    if isinstance(value, (str, int, float)):
        return str(value).lstrip("+")
    return None


def _key_of(event: Event, name: str) -> str | None:
    """The index key of the event's field `name` (see `_key`)."""
    if name == "kind":
        return event.kind
    if name == "provider":
        return event.provider
    if name == "account":
        return _key(event.account_id)
    if name == "sandbox":
        return _key(event.sandbox)
    return _key(event.data_field(name))


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

    def data_field(self, name: str) -> Any:
        """The data field `name` (None when absent)."""
        return self.data.get(name)

    def index_key(self, name: str) -> str | None:
        """The key of this event in the index of the field `name` (see `_key`)."""
        return _key_of(self, name)

    def matches(self, filters: dict[str, str]) -> bool:
        """Equality on `kind`, `provider`, `account`, `sandbox` or any scalar data field;
        numbers match with or without their leading `+`; `kind` may end in `*` to match a
        prefix (`message.*`)."""
        for name, wanted in filters.items():
            if name == "kind":
                actual: Any = self.kind
                if wanted.endswith("*"):
                    if not self.kind.startswith(wanted[:-1]):
                        return False
                    continue
            elif name == "provider":
                actual = self.provider
            elif name == "account":
                actual = self.account_id
            elif name == "sandbox":
                actual = self.sandbox
            else:
                actual = self.data_field(name)
            key = _key(actual)
            if key is None or key != wanted.lstrip("+"):
                return False
        return True


class MessageEvent(Event):
    """An event about a message (`message.created`, `message.status`, `message.received`). It
    keeps the message and the status of the moment, and makes its `data` (`id`, `direction`,
    `status`, `from`, `to`) only when something reads it: the message's other fields never
    change, so that is the mapping the event would have copied. Not copying it saves a mapping
    per event, three per message sent, which the log keeps for as long as the event (up to its
    capacity: some 35 MB in a full log)."""

    __slots__ = ("message", "status")

    def __init__(self, seq: int, at: int, kind: str, message: Message, status: str, sandbox: str | None) -> None:
        self.seq = seq
        self.at = at
        self.kind = kind
        self.provider = message.provider
        self.account_id = message.account_id
        self.sandbox = sandbox
        self.message = message
        self.status = status

    @property  # type: ignore[override]
    def data(self) -> dict[str, Any]:
        message = self.message
        return {"id": message.id, "direction": message.direction, "status": self.status, "from": message.sender, "to": message.recipient}

    def data_field(self, name: str) -> Any:
        if name == "status":
            return self.status
        getter = _MESSAGE_FIELDS.get(name)
        return getter(self.message) if getter is not None else None

    def index_key(self, name: str) -> str | None:
        # `_key_of` without its turns: every event of a message is indexed by each indexed field
        if name == "id":
            return self.message.id.lstrip("+")
        if name == "kind":
            return self.kind
        if name == "to":
            return self.message.recipient.lstrip("+")
        if name == "status":
            return self.status.lstrip("+")
        return _key_of(self, name)


def _group(events: Iterable[Event], name: str, groups: dict[str, _Postings]) -> None:
    """Add each event, in order, to the postings of its key in the index of the field `name`."""
    for event in events:
        key = event.index_key(name)
        if key is not None:
            postings = groups.get(key)
            if postings is None:
                postings = groups[key] = _Postings()
            postings.events.append(event)


_MESSAGE_FIELDS = {"id": attrgetter("id"), "direction": attrgetter("direction"), "from": attrgetter("sender"), "to": attrgetter("recipient")}


class _Postings:
    """The events that share one key, oldest first; the first `dead` have left the log."""

    __slots__ = ("events", "dead", "waiters")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.dead = 0
        self.waiters: dict[_Waiter, None] | None = None

    def live(self) -> int:
        return len(self.events) - self.dead

    def after(self, seq: int) -> int:
        """Index of the first live event after `seq`."""
        return bisect_right(self.events, seq, lo=self.dead, key=_SEQ)


class _Waiter:
    __slots__ = ("filters", "future", "postings", "table", "key", "prefix")

    def __init__(self, filters: dict[str, str], future: asyncio.Future) -> None:
        self.filters = filters
        self.future = future
        self.postings: _Postings | None = None
        self.table: dict[str, _Postings] | None = None
        self.key: str | None = None
        self.prefix: str | None = None


class EventLog:
    max_waits = 2000  # concurrent waits per process (`TooBusy` beyond)
    max_streams = 1000  # concurrent streams per process
    stream_rest = 0.25  # seconds a stream rests after a batch before it looks again
    stream_batch = 500  # events per batch a stream writes at once
    max_indexed_fields = 16  # data fields that get an index (see `_index`)

    def __init__(self, now: Callable[[], int], capacity: int = 200_000) -> None:
        self._now = now
        self._capacity = capacity
        self._log: list[Event] = []
        self._dead = 0  # events at the head of _log that have left it
        self._next_seq = 1
        self._indexed: dict[str, dict[str, _Postings]] = {}  # field -> its index, once asked for (kept by clear)
        self._building: dict[str, asyncio.Future] = {}  # field -> the build under way for a wait (`_build`)
        self._fields: dict[str, dict[str, _Postings]] = {name: {} for name in _FIELDS}
        self._data: dict[str, dict[str, _Postings]] = {}
        self._watched: dict[_Postings, tuple[dict[str, _Postings], str]] = {}  # postings waits hang on
        self._prefix_waiters: dict[str, dict[_Waiter, None]] = {}
        self._open_waiters: dict[_Waiter, None] = {}  # waits whose filters index nothing
        self._news: asyncio.Future | None = None  # resolved at the next event, for streams
        self.closed = False  # set by close(): every stream and wait ends, and every later one at once
        self.waits = 0
        self.streams = 0
        self._streams_started = 0
        self.examined = 0  # candidates looked at by waits and filtered pages (for tests)
        self.listeners: list[Callable[[Event], None]] = []
        self._broadcasts: dict[Callable[[Event], bytes], Broadcast] = {}
        self.sandbox_of: Callable[[str | None], str | None] = lambda account_id: None

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def __len__(self) -> int:
        return len(self._log) - self._dead

    # -- writing -------------------------------------------------------------------------
    def emit(self, kind: str, provider: str | None = None, account_id: str | None = None, **data: Any) -> Event:
        return self.record(kind, provider, account_id, data)

    def record(self, kind: str, provider: str | None, account_id: str | None, data: dict[str, Any], at: int | None = None) -> Event:
        """`emit` with the data as one mapping (which the event keeps), at `at` (default now)."""
        return self._append(Event(self._next_seq, self._now() if at is None else at, kind, provider, account_id, data, self.sandbox_of(account_id)))

    def record_message(self, kind: str, message: Message, at: int) -> Event:
        """An event about `message`, in its status of now, at `at` (see `MessageEvent`)."""
        return self._append(MessageEvent(self._next_seq, at, kind, message, message.status, self.sandbox_of(message.account_id)))

    def _append(self, event: Event) -> Event:
        self._next_seq += 1
        if len(self._log) - self._dead >= self._capacity:
            self._forget_oldest()
        self._log.append(event)
        offered: list[_Postings] | None = None
        for name, table in self._indexed.items():
            key = event.index_key(name)
            if key is None:
                continue
            postings = table.get(key)
            if postings is None:
                postings = table[key] = _Postings()
            postings.events.append(event)
            if postings.waiters:
                if offered is None:
                    offered = []
                offered.append(postings)
        if offered is not None or self._prefix_waiters or self._open_waiters:
            self._offer(event, offered or ())
        if self._news is not None:
            if not self._news.done():
                self._news.set_result(None)
            self._news = None
        for listener in self.listeners:
            listener(event)
        return event

    def _index(self, name: str) -> dict[str, _Postings] | None:
        """The index of the field `name`: built from the events in the log the first time it is
        asked for, then kept up to date by `record` (and emptied, not dropped, by `clear`).
        None for a data field beyond the first `max_indexed_fields` that filters named (each
        costs every event a look): filters on it are checked on the candidates of the others."""
        table = self._indexed.get(name)
        if table is None:
            if not self._room_for(name):
                return None
            table = self._indexed[name] = self._fields[name] if name in _FIELDS else self._data.setdefault(name, {})
            groups: dict[str, _Postings] = {}
            _group(self._log[self._dead:], name, groups)  # one pass, in order: each list comes out sorted
            table.update(groups)
        return table

    def _all_indexed(self, filters: dict[str, str]) -> bool:
        """Whether every field the filters name has its index already."""
        indexed = self._indexed
        for name in filters:
            if name not in indexed:
                return False
        return True

    def _room_for(self, name: str) -> bool:
        """Whether the field `name`, not indexed yet, may get an index: the event's own fields
        always, data fields until `max_indexed_fields` of them have one."""
        return name in _FIELDS or len(self._data) < self.max_indexed_fields

    def _built(self, name: str) -> dict[str, _Postings] | None:
        """The index of `name` if it is built (None for a field that may not have one); raises
        `_NotBuilt` if it would have to be built first."""
        table = self._indexed.get(name)
        if table is None and self._room_for(name):
            raise _NotBuilt(name)
        return table

    async def _build_for(self, filters: dict[str, str], waiting: bool) -> None:
        """Build, in turns (`_build`), the indexes a look for `filters` would build at once, and
        with `waiting` those a wait hung on them uses too (every field but a kind prefix)."""
        if self._all_indexed(filters):  # a test suite's waits after the first: nothing to build
            return
        while True:
            try:
                self._candidates(filters, self._built)
                break
            except _NotBuilt as missing:
                await self._build(missing.name)
                if missing.name not in self._indexed:  # cleared meanwhile: the look builds from the new log
                    break
        if waiting:
            for name, wanted in filters.items():
                if not (name == "kind" and wanted.endswith("*")):
                    await self._build(name)

    async def _build(self, name: str) -> None:
        """Make sure the field `name` has its index (if it may have one), built for a wait or a
        stream: the events already in the log are read `BUILD_CHUNK` at a time with other work
        let in between (the synchronous build, `_index`, reads them all at once: 200,000 events
        held every request up for some 150 ms). Events added meanwhile are read too, and the
        index starts being kept by `record` at the moment it is complete; those that left the
        log meanwhile are left out. A clear meanwhile ends the build (the next reader builds from
        the new log). Waits that name the same field share one build."""
        if name in self._indexed or not self._room_for(name):
            return
        if len(self) <= BUILD_CHUNK:
            self._index(name)
            return
        under_way = self._building.get(name)
        if under_way is not None:
            await asyncio.shield(under_way)
            return
        done = self._building[name] = asyncio.get_running_loop().create_future()
        try:
            await self._build_in_turns(name)
        finally:
            del self._building[name]
            done.set_result(None)

    async def _build_in_turns(self, name: str) -> None:
        log = self._log
        groups: dict[str, _Postings] = {}
        read: list[Event] = []  # in order, to find those that leave the log before the end
        seen = 0
        while True:
            if self._log is not log:  # cleared
                return
            start = bisect_right(log, seen, lo=self._dead, key=_SEQ)
            chunk = log[start:start + BUILD_CHUNK]
            _group(chunk, name, groups)
            read += chunk
            if chunk:
                seen = chunk[-1].seq
            if start + len(chunk) >= len(log):
                break
            await asyncio.sleep(0)
        # Complete: what follows runs without a pause, so `record` keeps the index from here on.
        if name in self._indexed or not self._room_for(name):
            return  # a reader built it at once meanwhile, or the data fields that get one are taken
        first_live = log[self._dead].seq if self._dead < len(log) else self._next_seq
        for event in read:  # those that left the log meanwhile are the first read, and the first of their keys
            if event.seq >= first_live:
                break
            key = event.index_key(name)
            if key is not None:
                postings = groups[key]
                postings.events[postings.dead] = None  # type: ignore[call-overload]
                postings.dead += 1
                if postings.dead == len(postings.events):
                    del groups[key]
        table = self._fields[name] if name in _FIELDS else self._data.setdefault(name, {})
        table.update(groups)
        self._indexed[name] = table

    def _forget_oldest(self) -> None:
        """Let the oldest event go. Its places in the log and in its postings are emptied at once,
        so that each event is freed as it leaves, one at a time: the dead heads of the lists are
        cut off in bulk later, and freeing a hundred thousand events there at once held up every
        request for tens of milliseconds."""
        oldest = self._log[self._dead]
        self._log[self._dead] = None  # type: ignore[call-overload]  # readers start at _dead
        self._dead += 1
        if self._dead > 1024 and self._dead * 2 > len(self._log):
            del self._log[:self._dead]
            self._dead = 0
        for name, table in self._indexed.items():
            key = oldest.index_key(name)
            if key is None:
                continue
            postings = table[key]
            postings.events[postings.dead] = None  # type: ignore[call-overload]  # it is the oldest there too
            postings.dead += 1
            if postings.dead == len(postings.events):
                if postings.waiters:
                    postings.events.clear()
                    postings.dead = 0
                else:
                    del table[key]
            elif postings.dead > 32 and postings.dead * 2 > len(postings.events):
                del postings.events[:postings.dead]
                postings.dead = 0

    def clear(self) -> None:
        """Forget every event (the sequence goes on); waits and streams keep waiting."""
        self._log = []
        self._dead = 0
        self._fields = {name: {} for name in _FIELDS}
        self._data = {}
        self._indexed = {name: self._fields[name] if name in _FIELDS else self._data.setdefault(name, {}) for name in self._indexed}
        watched, self._watched = self._watched, {}
        for postings in watched:
            postings.events.clear()
            postings.dead = 0
            for waiter in list(postings.waiters or ()):
                self._unregister(waiter)
                self._register(waiter)
        for broadcast in self._broadcasts.values():
            broadcast.restart()

    # -- reading -------------------------------------------------------------------------
    def since(self, after: int = 0, limit: int | None = None) -> list[Event]:
        """Events with a sequence number above `after`, oldest first."""
        start = bisect_right(self._log, after, lo=self._dead, key=_SEQ)
        end = len(self._log) if limit is None else min(len(self._log), start + limit)
        return self._log[start:end]

    def _candidates(self, filters: dict[str, str], index: Callable[[str], dict[str, _Postings] | None] | None = None) -> list[_Postings] | None:
        """The fewest posting lists that hold every event the filters can match (None: the
        whole log, when no filter narrows it). Fields with an index are looked at first, and no
        new index (a pass over the log) is built once the candidates are a hundredth of the log.
        `index` gives a field's index (`_index` by default, which builds it at once)."""
        index = index or self._index
        best: list[_Postings] | None = None
        best_size = -1
        indexed = self._indexed
        items: Iterable[tuple[str, str]] = filters.items()
        if not self._all_indexed(filters):  # the fields with an index first
            items = sorted(items, key=lambda item: item[0] not in indexed)
        for name, wanted in items:
            if best is not None and best_size * 100 <= len(self) and name not in indexed:
                break
            if name == "kind" and wanted.endswith("*"):
                prefix = wanted[:-1]
                if not prefix:
                    continue
                lists = [postings for kind, postings in index("kind").items() if kind.startswith(prefix)]  # type: ignore[union-attr]
            else:
                table = index(name)
                if table is None:
                    continue
                postings = table.get(wanted.lstrip("+"))
                lists = [postings] if postings is not None else []
            size = sum(postings.live() for postings in lists)
            if best is None or size < best_size:
                best, best_size = lists, size
                if size == 0:
                    break
        return best

    def _scan(self, filters: dict[str, str], after: int, upto: int, budget: int | None) -> tuple[Event | None, int]:
        """The first event in (`after`, `upto`] that matches, looking at `budget` candidates
        at most; else None and the sequence number up to which all were looked at."""
        lists = self._candidates(filters)
        if lists is None:
            start = bisect_right(self._log, after, lo=self._dead, key=_SEQ)
            found: Iterable[Event] = self._log[start:] if budget is None else self._log[start:start + budget]
        elif len(lists) == 1:
            postings = lists[0]
            start = postings.after(after)
            found = postings.events[start:] if budget is None else postings.events[start:start + budget]
        else:
            slices = []
            for postings in lists:
                start = postings.after(after)
                slices.append(postings.events[start:] if budget is None else postings.events[start:start + budget])
            found = heapq.merge(*slices, key=_SEQ)
        looked = 0
        for event in found if budget is None else islice(found, budget):
            if event.seq > upto:
                break
            looked += 1
            if event.matches(filters):
                self.examined += looked
                return event, event.seq
            if looked == budget:
                self.examined += looked
                return None, event.seq
        self.examined += looked
        return None, upto

    def find(self, filters: dict[str, str], after: int = 0) -> Event | None:
        """The first event after `after` that matches (looking only at the candidates)."""
        return self._scan(filters, after, self.last_seq, None)[0]

    async def matching_in_turns(self, filters: dict[str, str], after: int = 0, limit: int | None = None) -> list[Event]:
        """`matching`, after building the indexes it needs a chunk of the log at a time (as a wait
        does), so that the first filtered page that names a field holds nobody else up."""
        await self._build_for(filters, waiting=False)
        return self.matching(filters, after, limit)

    def matching(self, filters: dict[str, str], after: int = 0, limit: int | None = None) -> list[Event]:
        """Up to `limit` events after `after` that match, oldest first."""
        if not filters:
            return self.since(after, limit)
        found: list[Event] = []
        upto = self.last_seq
        while limit is None or len(found) < limit:
            event, after = self._scan(filters, after, upto, None)
            if event is None:
                break
            found.append(event)
        return found

    # -- waiting -------------------------------------------------------------------------
    async def wait_for(self, filters: dict[str, str], after: int = 0, timeout: float = 10.0,
                       gone: Callable[[], Coroutine[Any, Any, Any]] | None = None) -> Event | None:
        """The first event after `after` that matches, waiting up to `timeout` seconds of real
        time, or until `gone()` returns (the client left): that watch runs as a task only while
        the wait has to wait, so a wait whose event has already happened costs no task. Raises
        `TooBusy` when `max_waits` waits are open, `Closed` once the log is closed."""
        if self.closed:
            raise Closed("the emulator is shutting down")
        if self.waits >= self.max_waits:
            raise TooBusy(f"{self.waits} waits are open; at most {self.max_waits} at once")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.waits += 1
        waiter: _Waiter | None = None
        timer = None
        watch: asyncio.Future | None = None
        try:
            # The indexes the look and the wait below use, built without holding up the rest (the
            # wait is hung on them right after the last look, with no pause between).
            await self._build_for(filters, waiting=timeout > 0)
            if self.closed:
                raise Closed("the emulator is shutting down")
            seen = after
            while seen < self.last_seq:  # what already happened, a chunk at a time
                upto = self.last_seq
                while seen < upto:
                    event, seen = self._scan(filters, seen, upto, SCAN_CHUNK)
                    if event is not None:
                        return event
                    if seen < upto:
                        await asyncio.sleep(0)
            # no pause since the last look: every later event is offered to this waiter
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            waiter = _Waiter(filters, loop.create_future())
            self._register(waiter)
            timer = loop.call_later(remaining, _settle, waiter.future, None)
            if gone is not None:
                watch = asyncio.ensure_future(gone())
                watch.add_done_callback(lambda _: _settle(waiter.future, None))
            found = await waiter.future
            if found is _CLOSED:
                raise Closed("the emulator is shutting down")
            return found
        finally:
            self.waits -= 1
            if watch is not None:
                watch.cancel()
            if timer is not None:
                timer.cancel()
            if waiter is not None:
                self._unregister(waiter)

    def _register(self, waiter: _Waiter) -> None:
        """Hang the waiter on the key of its most selective filter (or its kind prefix)."""
        best: tuple[int, dict[str, _Postings], str] | None = None
        prefix = None
        for name, wanted in waiter.filters.items():
            if name == "kind" and wanted.endswith("*"):
                if wanted[:-1]:
                    prefix = wanted[:-1]
                continue
            table = self._index(name)
            if table is None:
                continue
            key = wanted.lstrip("+")
            postings = table.get(key)
            size = postings.live() if postings is not None else 0
            if best is None or size < best[0]:
                best = (size, table, key)
        if best is not None:
            _, table, key = best
            postings = table.get(key)
            if postings is None:
                postings = table[key] = _Postings()
            if not postings.waiters:
                postings.waiters = {}
                self._watched[postings] = (table, key)
            postings.waiters[waiter] = None
            waiter.postings, waiter.table, waiter.key = postings, table, key
        elif prefix is not None:
            self._prefix_waiters.setdefault(prefix, {})[waiter] = None
            waiter.prefix = prefix
        else:
            self._open_waiters[waiter] = None

    def _unregister(self, waiter: _Waiter) -> None:
        postings = waiter.postings
        if postings is not None:
            waiter.postings = None
            if postings.waiters is not None:
                postings.waiters.pop(waiter, None)
                if not postings.waiters:
                    postings.waiters = None
                    self._watched.pop(postings, None)
                    if postings.live() == 0 and waiter.table is not None and waiter.table.get(waiter.key) is postings:
                        del waiter.table[waiter.key]
        elif waiter.prefix is not None:
            waiters = self._prefix_waiters.get(waiter.prefix)
            if waiters is not None:
                waiters.pop(waiter, None)
                if not waiters:
                    del self._prefix_waiters[waiter.prefix]
        else:
            self._open_waiters.pop(waiter, None)

    def _offer(self, event: Event, offered: Iterable[_Postings]) -> None:
        """Settle the waits that this new event is the first match of."""
        settled: list[_Waiter] = []
        for postings in offered:
            for waiter in postings.waiters or ():
                if not waiter.future.done() and event.matches(waiter.filters):
                    settled.append(waiter)
        for prefix, waiters in self._prefix_waiters.items():
            if event.kind.startswith(prefix):
                for waiter in waiters:
                    if not waiter.future.done() and event.matches(waiter.filters):
                        settled.append(waiter)
        for waiter in self._open_waiters:
            if not waiter.future.done() and event.matches(waiter.filters):
                settled.append(waiter)
        for waiter in settled:
            _settle(waiter.future, event)
            self._unregister(waiter)

    def waiters(self) -> int:
        """Waits registered for new events (for tests: none after they all end)."""
        return sum(len(postings.waiters or ()) for postings in self._watched) + sum(
            len(waiters) for waiters in self._prefix_waiters.values()) + len(self._open_waiters)

    # -- streaming -----------------------------------------------------------------------
    def _next_event(self) -> asyncio.Future:
        if self._news is None:
            self._news = asyncio.get_running_loop().create_future()
        return self._news

    def _open_stream(self) -> float:
        """Count one more stream in (`streams`; the caller counts it out) and give its rest:
        rests of different lengths (0.5 to 1.5 times stream_rest, spread by the golden ratio),
        so that streams woken by one event do not stay in step and write all at once."""
        self.streams += 1
        self._streams_started += 1
        return self.stream_rest * (0.5 + (self._streams_started * 0.6180339887) % 1.0)

    def close(self) -> None:
        """End every stream and every wait now (a wait raises `Closed`), and every one started
        later at its start: at shutdown, so that the server waits neither for stream clients that
        never hang up nor for waits of up to five minutes."""
        self.closed = True
        if self._news is not None:
            if not self._news.done():
                self._news.set_result(None)
            self._news = None
        registered = [*(waiter for postings in self._watched for waiter in postings.waiters or ()),
                      *(waiter for waiters in self._prefix_waiters.values() for waiter in waiters), *self._open_waiters]
        for waiter in registered:
            _settle(waiter.future, _CLOSED)

    async def follow(self, after: int | None = None, filters: dict[str, str] | None = None) -> AsyncIterator[list[Event]]:
        """Batches of the events after `after` (None: from now) that match `filters`, then of
        each new one as it happens. Counts as one of `max_streams` while it runs (check
        `streams` before starting one)."""
        rest = self._open_stream()
        try:
            if filters:  # the indexes its looks and its waits use, built without holding up the rest
                await self._build_for(filters, waiting=True)
            seen = self.last_seq if after is None else after
            while not self.closed:
                upto = self.last_seq
                if seen < upto:
                    if filters:
                        batch = []
                        while seen < upto and len(batch) < self.stream_batch:
                            event, seen = self._scan(filters, seen, upto, SCAN_CHUNK)
                            if event is not None:
                                batch.append(event)
                            elif seen < upto:
                                await asyncio.sleep(0)
                    else:
                        batch = self.since(seen, self.stream_batch)
                        seen = batch[-1].seq if batch else upto
                    if batch:
                        yield batch
                    if seen < upto:  # a full batch: more was there already (a backlog)
                        await asyncio.sleep(0)
                        continue
                    await asyncio.sleep(rest)
                    continue
                if not filters:
                    await asyncio.shield(self._next_event())
                    continue
                # no pause since the last look: like a wait, woken only by an event that matches
                waiter = _Waiter(filters, asyncio.get_running_loop().create_future())
                self._register(waiter)
                try:
                    await waiter.future
                finally:
                    self._unregister(waiter)
        finally:
            self.streams -= 1

    def broadcast(self, render: Callable[[Event], bytes]) -> Broadcast:
        """The one shared buffer of every event rendered by `render` (made at the first call)."""
        broadcast = self._broadcasts.get(render)
        if broadcast is None:
            broadcast = self._broadcasts[render] = Broadcast(self, render)
        return broadcast

    async def follow_rendered(self, render: Callable[[Event], bytes], after: int | None = None,
                              filters: dict[str, str] | None = None) -> AsyncIterator[bytes]:
        """`follow`, each batch as the joined bytes of its events rendered by `render`. Without
        filters, from the shared `Broadcast` of `render` once the stream's cursor is in it: one
        slice per batch, no work per event."""
        if filters:
            async for batch in self.follow(after, filters):
                yield b"".join([render(event) for event in batch])
            return
        broadcast = self.broadcast(render)
        rest = self._open_stream()
        try:
            if filters:  # the indexes its looks and its waits use, built without holding up the rest
                await self._build_for(filters, waiting=True)
            seen = self.last_seq if after is None else after
            while not self.closed:
                upto = self.last_seq
                if seen < upto:
                    end = min(upto, seen + self.stream_batch)
                    chunk = broadcast.read(seen, end)
                    if chunk is None:  # older than the shared buffer: render up to its start here
                        start = min(end, broadcast.start)
                        batch = self.since(seen, start - seen)
                        batch = batch[:bisect_right(batch, start, key=_SEQ)]
                        parts = [render(event) for event in batch]
                        tail = broadcast.read(start, end) if start < end else None
                        if tail is None:
                            end = start
                        else:
                            parts.append(tail)
                        chunk = b"".join(parts)
                    seen = end
                    if chunk:
                        yield chunk
                    if seen < upto:  # a full batch: more was there already (a backlog)
                        await asyncio.sleep(0)
                        continue
                    await asyncio.sleep(rest)
                    continue
                await asyncio.shield(self._next_event())
        finally:
            self.streams -= 1


class Broadcast:
    """Every event since the buffer's start rendered once into one shared buffer, for the
    streams that take every event: they keep a cursor each and read slices.

    Rendering is lazy (the first stream to read past the rendered end renders what is new), so
    an emulator with no such stream renders nothing. The buffer keeps about `limit` bytes: when
    it grows past twice that, its older half goes (a stream behind it renders its own batches).
    """

    def __init__(self, log: EventLog, render: Callable[[Event], bytes], limit: int = 2 << 20) -> None:
        self._log = log
        self._render = render
        self._limit = limit
        self.renders = 0  # events rendered (for tests: once each, whatever the number of streams)
        self.slices = 0  # bytes objects made for readers (one per distinct batch)
        self.restart()

    def restart(self) -> None:
        """Start empty at the log's end (after a clear: forgotten events are not sent)."""
        self._base = self._log.last_seq  # the cursor at offset 0 of the buffer
        self._buffer = bytearray()
        self._ends: list[int] = []  # _ends[i]: the offset just after event base + 1 + i
        self._last: tuple[int, int, bytes] | None = None

    @property
    def start(self) -> int:
        """The oldest cursor the buffer can be read from."""
        return self._base

    def _offset(self, cursor: int) -> int:
        return self._ends[cursor - self._base - 1] if cursor > self._base else 0

    def _catch_up(self, upto: int) -> None:
        rendered = self._base + len(self._ends)
        if rendered >= upto:
            return
        buffer, ends, render = self._buffer, self._ends, self._render
        base = self._base
        for event in self._log.since(rendered, upto - rendered):
            if event.seq > upto:
                break
            while base + len(ends) < event.seq - 1:  # forgotten events: nothing to send
                ends.append(len(buffer))
            buffer += render(event)
            ends.append(len(buffer))
            self.renders += 1
        while base + len(ends) < upto:
            ends.append(len(buffer))
        if len(buffer) > 2 * self._limit:
            keep = len(ends) // 2
            cut = ends[len(ends) - keep - 1]
            del buffer[:cut]
            self._ends = [end - cut for end in ends[len(ends) - keep:]]
            self._base += len(ends) - keep
            self._last = None

    def read(self, cursor: int, end: int) -> bytes | None:
        """The bytes of the events in (`cursor`, `end`], or None when `cursor` is older than the
        buffer (the caller renders those events itself)."""
        if cursor < self._base:
            return None
        last = self._last
        if last is not None and last[0] == cursor and last[1] == end:
            return last[2]
        if cursor - (self._base + len(self._ends)) > self._log.stream_batch:
            # nobody read the events between (no stream of everything was open): start here
            # rather than render them; a stream still behind renders its own batches
            self._base, self._buffer, self._ends = cursor, bytearray(), []
        self._catch_up(end)
        if cursor < self._base:  # the catch-up trimmed past it
            return None
        with memoryview(self._buffer) as view:
            chunk = bytes(view[self._offset(cursor):self._offset(end)])
        self.slices += 1
        self._last = (cursor, end, chunk)
        return chunk


def _settle(future: asyncio.Future, result: Any) -> None:
    if not future.done():
        future.set_result(result)

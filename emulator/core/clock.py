"""Clocks and the scheduler of timed events.

Everything in the emulator asks a clock for the time; nothing else reads the wall clock. Times
are integers of microseconds since the Unix epoch, and `stamp()` hands out strictly increasing
ones, so records created in the same instant (common under a virtual clock) still have a total
order.

- `RealClock` follows the wall clock; simulated delays are divided by `time_scale`, so a webhook
  retry the provider makes after an hour can happen here after a second. A background task
  (`run`) fires due events.
- `VirtualClock` stands still until `advance()` or `set()` moves it; then every due event fires
  in time order, each seeing the clock at its own due time. Some of what an event sets off is
  asynchronous (a webhook attempt runs as a task, and only when it settles is its retry
  scheduled): `run_to()` moves time one due instant at a time and lets that work settle before
  going on, so one advance of N seconds does exactly what N advances of one second do.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache, partial
from typing import Any, Awaitable, Callable

__all__ = [
    "Clock", "RealClock", "VirtualClock", "ScheduledEvent", "Lane", "Run", "MICROS", "create_clock", "utc", "utc_text", "micros_of",
    "wall_time", "EARLIEST_TIME", "LATEST_TIME", "MAX_DELAY_SECONDS", "TIME_RANGE_TEXT", "TimeOutOfRange", "check_time",
]

MICROS = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# The valid range of clock values. Every time the emulator may compute (a clock value plus the
# longest delay anything schedules: `MAX_DELAY_SECONDS` for outcome rules, days for webhook
# retries, a year for a number's billing period) must stay a time that `datetime` can write,
# which ends with the year 9999: the virtual clock stops at 9000-01-01, leaving centuries of room.
EARLIEST_TIME = 0  # 1970-01-01T00:00:00Z
LATEST_TIME = 221_845_392_000_000_000  # 9000-01-01T00:00:00Z
TIME_RANGE_TEXT = "from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z"
MAX_DELAY_SECONDS = 366 * 86400  # the longest delay a rule may ask for (outcome and call rules)


class TimeOutOfRange(ValueError):
    """A clock value outside `EARLIEST_TIME`..`LATEST_TIME` (or not a whole number at all)."""


def check_time(value: object, what: str = "time") -> int:
    """`value` as a clock value (integer microseconds since the epoch) within the valid range;
    raises `TimeOutOfRange` (a ValueError) naming `what` otherwise. Everything that sets the
    clock or schedules at an absolute time asks this first: the control API, the command line,
    a restored snapshot, a message's send time."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TimeOutOfRange(f"{what} must be whole microseconds since the epoch, got {value!r}")
    if not EARLIEST_TIME <= value <= LATEST_TIME:
        raise TimeOutOfRange(f"{what} must lie {TIME_RANGE_TEXT}")
    return value


def utc(micros: int) -> datetime:
    """A clock value as an aware UTC datetime (exact to the microsecond)."""
    return _EPOCH + timedelta(microseconds=micros)


@lru_cache(maxsize=256)
def _second_text(seconds: int, pattern: str) -> str:
    return utc(seconds * MICROS).strftime(pattern)


def utc_text(micros: int, pattern: str, fraction: int = 6) -> str:
    """A clock value written in UTC: `pattern` (strftime, down to the second), then a dot and the
    first `fraction` digits of the microseconds (nothing when `fraction` is 0). The text of each
    second is cached: the stamps of a busy second share it."""
    seconds, micros_part = divmod(micros, MICROS)
    text = _second_text(seconds, pattern)
    if fraction:
        return f"{text}.{micros_part:06d}"[: len(text) + 1 + fraction]
    return text


def wall_time() -> datetime:
    """The real world's time, for what lies outside the simulation (TLS certificate validity);
    everything simulated asks a `Clock` instead."""
    return datetime.now(timezone.utc)


def micros_of(moment: datetime) -> int:
    """An aware datetime as a clock value (microseconds since the epoch)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * MICROS + delta.microseconds


@dataclass(slots=True)
class ScheduledEvent:
    due: int
    seq: int
    callback: Callable[[], Any]
    cancelled: bool = False
    batch: bool = False  # a lane's turn: the callback takes a budget and returns how many items it fired

    def cancel(self) -> None:
        self.cancelled = True


class Lane:
    """Items that fall due in the order they are added, behind one scheduled event.

    Most timed work comes in runs with a fixed delay (every message's `sent` half a second after
    its creation): their due times never decrease, so a FIFO holds them and only its head needs
    a place in the clock's heap. When the head falls due, `fire(due, item)` is called for every
    item due by then. An item due before the last one queued (a restored message, a clock set
    back) is scheduled on its own instead. `Clock.clear` empties every lane.

    The due times and the items are kept in two queues side by side, not as a pair each: a pair
    would be one more object per item for the collector to visit, and it would point at an item
    (a message) that is no longer in the processor's cache by the time the item is queued for its
    next step.
    """

    def __init__(self, clock: Clock, fire: Callable[[int, Any], None]) -> None:
        self.clock = clock
        self.fire = fire
        self.dues: deque[int] = deque()
        self.items: deque[Any] = deque()
        self._event: ScheduledEvent | None = None
        self._turning = False  # inside `_turn` (which re-arms the lane's event when it ends)
        clock._lanes.append(self)

    def add(self, due: int, item: Any) -> None:
        dues = self.dues
        if dues and due < dues[-1]:
            self.clock._push(due, partial(self.fire, due, item))
            return
        dues.append(due)
        self.items.append(item)
        if self._event is None:
            self._event = self.clock._push(due, self._turn, batch=True)

    def _turn(self, budget: int | None = None) -> int:
        """Fire the items due by now (at most `budget` of them); the rest wait for the next turn."""
        dues, items, fire = self.dues, self.items, self.fire
        now = max(self.clock.now(), dues[0])  # the head is due (even if the wall clock stepped back)
        fired = 0
        self._turning = True
        try:
            while dues and dues[0] <= now and fired != budget:
                fire(dues.popleft(), items.popleft())
                fired += 1
        finally:
            self._turning = False
        self._event = self.clock._push(dues[0], self._turn, batch=True) if dues else None
        return fired

    def forget(self, dead: Callable[[Any], bool]) -> int:
        """Drop the items `dead` picks (with their due times); returns how many are left. The
        lane's turn moves to its new head's due time (during a turn, the turn's end sees to it:
        the queues are changed in place)."""
        kept = [(due, item) for due, item in zip(self.dues, self.items) if not dead(item)]
        if len(kept) == len(self.items):
            return len(kept)
        self.dues.clear()
        self.dues.extend(due for due, _ in kept)
        self.items.clear()
        self.items.extend(item for _, item in kept)
        event = self._event
        if not self._turning and event is not None and (not kept or kept[0][0] != event.due):
            event.cancel()
            self._event = self.clock._push(kept[0][0], self._turn, batch=True) if kept else None
        return len(kept)

    def clear(self) -> None:
        self.dues.clear()
        self.items.clear()
        self._event = None


class Clock:
    """Common part: the event heap, unique stamps, delay scaling."""

    virtual = False

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._heap: list[tuple[int, int, ScheduledEvent]] = []  # (due, seq, event): compared as plain tuples
        self._seq = itertools.count()
        self._last_stamp = 0
        self._lanes: list[Lane] = []

    def now(self) -> int:
        raise NotImplementedError

    def stamp(self) -> int:
        """A timestamp for a new record: now, but strictly after every stamp handed out before."""
        value = max(self.now(), self._last_stamp + 1)
        self._last_stamp = value
        return value

    def schedule(self, delay_seconds: float, callback: Callable[[], None]) -> ScheduledEvent:
        """Run `callback` after `delay_seconds` of simulated time."""
        return self._push(self.now() + self.span(delay_seconds), callback)

    def schedule_at(self, due: int, callback: Callable[[], None]) -> ScheduledEvent:
        """Run `callback` at the instant `due` (now, if that has passed)."""
        return self._push(max(due, self.now()), callback)

    def span(self, seconds: float) -> int:
        """Microseconds of this clock's time that `seconds` of simulated time take."""
        return int(max(0.0, seconds) / self.time_scale * MICROS)

    def _push(self, due: int, callback: Callable[[], Any], batch: bool = False) -> ScheduledEvent:
        event = ScheduledEvent(due, next(self._seq), callback, False, batch)
        earliest = not self._heap or due < self._heap[0][0]
        heapq.heappush(self._heap, (due, event.seq, event))
        if earliest:  # the waiting loop only needs waking when the next due time moved closer
            self._wake()
        return event

    def _wake(self) -> None:
        pass

    def pending(self) -> int:
        """Callbacks still to fire (each item of a lane counts)."""
        return sum(1 for _, _, event in self._heap if not event.cancelled and not event.batch) + sum(len(lane.items) for lane in self._lanes)

    def next_due(self) -> int | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _fire_due(self, until: int, on_each: Callable[[int], None] | None = None, budget: int | None = None) -> int:
        """Fire what is due by `until`, in time order: everything, or about `budget` callbacks
        (a callback that starts within the budget runs whole; a lane stops at the budget)."""
        fired = 0
        while budget is None or fired < budget:
            due = self.next_due()
            if due is None or due > until:
                return fired
            _, _, event = heapq.heappop(self._heap)
            if on_each is not None:
                on_each(event.due)
            if event.batch:
                fired += event.callback(None if budget is None else budget - fired)
            else:
                event.callback()
                fired += 1
        return fired

    def clear(self) -> None:
        for _, _, event in self._heap:
            event.cancelled = True
        self._heap.clear()
        for lane in self._lanes:
            lane.clear()


class RealClock(Clock):
    """Due events fire from one event-loop timer set for the earliest of them: no task wakes up
    per event, and a burst of due events fires in one go. The timer fires at most once per
    `resolution` seconds: under load, when something falls due every few microseconds, the
    events of each few milliseconds fire together instead of one timer per event (an event may
    fire up to `resolution` late; its records are stamped when it fires).

    One turn of the event loop fires at most `batch` of them; what is left fires in the next
    turn, after the requests that arrived meanwhile have been read. Every request in flight
    waits for a turn's work, so a long one would show in every connection's latency at once: a
    send's status changes take about 5 us each, and under a load of sends at 16 connections a
    tick fired some 70 of them, a hundred or more one tick in a hundred."""

    batch = 32  # due events (each lane item counts) fired in one turn of the event loop

    def __init__(self, time_scale: float = 1.0, resolution: float = 0.002) -> None:
        super().__init__(time_scale)
        self.resolution = resolution
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Handle | None = None
        self._timer_when = 0.0  # loop time the timer fires at
        self._last_tick = float("-inf")  # loop time the last tick began

    def now(self) -> int:
        return time.time_ns() // 1000

    def _wake(self) -> None:
        if self._loop is not None:
            self._arm()

    def _arm(self) -> None:
        due = self.next_due()
        if due is None or self._loop is None:
            return
        loop_now = self._loop.time()
        when = max(loop_now + (due - self.now()) / MICROS, self._last_tick + self.resolution)
        if self._timer is not None:
            if self._timer_when <= when:
                return  # the armed timer comes first; it fires what is due and arms again
            self._timer.cancel()
        self._timer_when = when
        self._timer = self._loop.call_at(when, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._loop is not None:
            self._last_tick = self._loop.time()
        now = self.now()
        if self._fire_due(now, budget=self.batch) >= self.batch and self._loop is not None:
            due = self.next_due()
            if due is not None and due <= now:  # more is due: go on in the loop's next turn
                if self._timer is not None:  # armed meanwhile (a lane's next turn woke the clock)
                    self._timer.cancel()
                self._timer_when = self._last_tick
                self._timer = self._loop.call_soon(self._tick)
                return
        self._arm()

    async def run(self) -> None:
        """Fire events when they fall due; runs until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._arm()
        try:
            await asyncio.Event().wait()
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None
            self._loop = None


@dataclass(frozen=True, slots=True)
class Run:
    """What `VirtualClock.run_to` did: `fired` callbacks (each lane item counts), and whether it
    reached its target (`complete`) or stopped at `now` because the work set off there did not
    settle within the real time it was given."""

    fired: int
    now: int
    complete: bool


Settle = Callable[[float], Awaitable[bool]]  # wait up to n real seconds for set-off work; True if it settled


class VirtualClock(Clock):
    virtual = True

    def __init__(self, start: int, time_scale: float = 1.0) -> None:
        super().__init__(time_scale)
        self._now = start

    def now(self) -> int:
        return self._now

    def _move_to(self, instant: int) -> None:
        self._now = max(self._now, instant)

    def advance(self, seconds: float) -> int:
        """Move time forward, firing every event that falls due on the way; returns how many."""
        if seconds < 0:
            raise ValueError("cannot advance by a negative amount")
        return self.set(self._now + int(seconds * MICROS))

    def set(self, instant: int) -> int:
        if instant < self._now:
            raise ValueError("the virtual clock cannot go back")
        fired = self._fire_due(instant, self._move_to)
        self._now = instant
        return fired

    async def run_to(self, instant: int, settle: Settle, budget: float) -> Run:
        """Move to `instant` one due time at a time: fire everything due at that instant, then
        `await settle(seconds_left)` so that what it set off (webhook attempts, and the retries
        they schedule when they settle) happens at that instant too, before time goes on. The
        work already under way at the start settles first, at the current time.

        `budget` bounds the whole move in real seconds: when the work of one instant has not
        settled by then, the clock stays at that instant (everything due up to it has fired)
        and the run says it is not `complete`; moving again later goes on from there."""
        if instant < self._now:
            raise ValueError("the virtual clock cannot go back")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        fired = 0
        while True:
            if not await settle(max(0.0, deadline - loop.time())):
                return Run(fired, self._now, False)
            due = self.next_due()
            if due is None or due > instant:
                break
            if loop.time() > deadline:  # work that keeps scheduling more at one instant
                return Run(fired, self._now, False)
            fired += self._fire_due(due, self._move_to)
        self._now = instant
        return Run(fired, instant, True)

    async def run(self) -> None:
        """Nothing fires on its own under a virtual clock; kept for a uniform lifespan."""
        await asyncio.Event().wait()


def create_clock(kind: str, time_scale: float, start: int | None) -> Clock:
    if kind == "virtual":
        return VirtualClock(check_time(start, "the clock's start") if start is not None else time.time_ns() // 1000, time_scale)
    if kind == "real":
        return RealClock(time_scale)
    raise ValueError(f"unknown clock {kind!r}: use 'real' or 'virtual'")

"""Time in a shared world. Every copy of the world must see the same time at the same entry, so
no copy reads the wall clock on its own:

- `LogClock`, the real clock of a shared world: it stands at the time of the last entry applied
  (the wall time of the process that appended it, never going back). Applying an entry first
  fires everything due by its time, as the real clock's timer would have; while the log is
  quiet, the process holding the ticker's lease appends ticks (`Replica`) so that what falls due
  still fires, a few milliseconds late at most.
- The virtual clock stays a `VirtualClock`; it moves only by clock-move entries, which fire what
  falls due on the way (`Replica.move_clock`).
"""

from __future__ import annotations

import asyncio
import time

from ..core.clock import Clock

__all__ = ["LogClock", "wall_micros"]


def wall_micros() -> int:
    return time.time_ns() // 1000


class LogClock(Clock):
    virtual = False

    def __init__(self, start: int, time_scale: float = 1.0) -> None:
        super().__init__(time_scale)
        self._now = start

    def now(self) -> int:
        return self._now

    def reach(self, instant: int) -> int:
        """Move to `instant` (never back) and fire everything due by then; returns how many fired."""
        if instant > self._now:
            self._now = instant
        return self._fire_due(self._now)

    async def run(self) -> None:
        """Nothing fires on its own: entries move this clock (see `Replica`)."""
        await asyncio.Event().wait()

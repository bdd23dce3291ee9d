"""Virtual and real clocks: unique stamps, ordered firing, scaling, cancellation."""

import asyncio

import pytest

from emulator.core.clock import (
    EARLIEST_TIME, LATEST_TIME, MAX_DELAY_SECONDS, MICROS, Lane, RealClock, TimeOutOfRange, VirtualClock, check_time, create_clock, utc,
    utc_text,
)

START = 1_767_225_600 * MICROS


def test_stamps_are_strictly_increasing_under_a_standing_clock():
    clock = VirtualClock(START)
    stamps = [clock.stamp() for _ in range(5)]
    assert stamps == [START, START + 1, START + 2, START + 3, START + 4]


def test_advance_fires_due_events_in_time_order_at_their_own_time():
    clock = VirtualClock(START)
    seen = []
    clock.schedule(2, lambda: seen.append(("b", clock.now())))
    clock.schedule(1, lambda: seen.append(("a", clock.now())))
    clock.schedule(5, lambda: seen.append(("c", clock.now())))
    assert clock.advance(2) == 2
    assert seen == [("a", START + MICROS), ("b", START + 2 * MICROS)]
    assert clock.now() == START + 2 * MICROS
    assert clock.pending() == 1
    clock.advance(10)
    assert [name for name, _ in seen] == ["a", "b", "c"]


def test_events_scheduled_while_advancing_fire_in_the_same_advance():
    clock = VirtualClock(START)
    seen = []
    clock.schedule(1, lambda: clock.schedule(1, lambda: seen.append(clock.now())))
    clock.advance(3)
    assert seen == [START + 2 * MICROS]


def test_cancelled_events_do_not_fire_and_clear_drops_all():
    clock = VirtualClock(START)
    seen = []
    event = clock.schedule(1, lambda: seen.append("x"))
    event.cancel()
    clock.schedule(1, lambda: seen.append("y"))
    clock.advance(1)
    assert seen == ["y"]
    clock.schedule(1, lambda: seen.append("z"))
    clock.clear()
    clock.advance(5)
    assert seen == ["y"]


def test_virtual_clock_refuses_to_go_back():
    clock = VirtualClock(START)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(START - 1)


def test_time_scale_divides_delays():
    clock = VirtualClock(START, time_scale=100)
    event = clock.schedule(300, lambda: None)
    assert event.due == START + 3 * MICROS


async def test_real_clock_fires_events_in_the_background():
    clock = RealClock(time_scale=1000)
    fired = asyncio.Event()
    task = asyncio.create_task(clock.run())
    try:
        clock.schedule(5, fired.set)  # 5 simulated seconds = 5 ms
        await asyncio.wait_for(fired.wait(), 2)
    finally:
        task.cancel()
    assert fired.is_set()


def test_create_clock_rejects_unknown_kind():
    with pytest.raises(ValueError):
        create_clock("sundial", 1.0, None)
    assert create_clock("virtual", 1.0, START).now() == START


@pytest.mark.parametrize("micros", [0, 1, 999_999, 1_000_000, 1_767_225_600_123_456, -1, -1_500_000, 4_102_444_799_999_999])
def test_utc_text_writes_the_same_as_strftime(micros):
    moment = utc(micros)
    assert utc_text(micros, "%Y-%m-%dT%H:%M:%S") == moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert utc_text(micros, "%Y-%m-%d %H:%M:%S", 3) == moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    assert utc_text(micros, "%Y-%m-%d %H:%M:%S", 0) == moment.strftime("%Y-%m-%d %H:%M:%S")


def test_a_lane_fires_its_items_in_order_each_at_its_due_time():
    clock = VirtualClock(start=0)
    seen = []
    lane = Lane(clock, lambda due, item: seen.append((clock.now(), due, item)))
    for due, item in ((10, "a"), (10, "b"), (25, "c")):
        lane.add(due, item)
    assert clock.pending() == 3
    assert clock.set(10) == 2  # both items of the turn count
    assert seen == [(10, 10, "a"), (10, 10, "b")]
    assert clock.set(30) == 1 and seen[-1] == (25, 25, "c")
    assert clock.pending() == 0


def test_a_lane_that_forgets_its_head_waits_for_its_new_head():
    clock = VirtualClock(start=0)
    seen = []
    lane = Lane(clock, lambda due, item: seen.append((clock.now(), item)))
    for due, item in ((10, "dead"), (20, "alive"), (30, "dead too")):
        lane.add(due, item)
    assert lane.forget(lambda item: item.startswith("dead")) == 1
    assert clock.pending() == 1
    assert clock.set(15) == 0 and seen == []  # not at the old head's time
    assert clock.set(40) == 1 and seen == [(20, "alive")]
    assert lane.forget(lambda item: True) == 0 and clock.pending() == 0


def test_a_lane_forgetting_during_its_own_turn_keeps_one_turn_at_the_right_time():
    clock = VirtualClock(start=0)
    seen = []

    def fire(due, item):
        seen.append((clock.now(), item))
        if item == "first":  # what a status change's listener might do
            lane.forget(lambda other: other in ("second", "third"))

    lane = Lane(clock, fire)
    for due, item in ((10, "first"), (10, "second"), (20, "third"), (30, "fourth")):
        lane.add(due, item)
    assert clock.set(25) == 1 and seen == [(10, "first")]
    assert clock.pending() == 1  # one turn armed, for the new head
    assert clock.set(40) == 1 and seen[-1] == (30, "fourth")


def test_a_lane_item_due_before_the_last_one_is_scheduled_alone():
    clock = VirtualClock(start=0)
    seen = []
    lane = Lane(clock, lambda due, item: seen.append((clock.now(), item)))
    lane.add(50, "late")
    lane.add(20, "early")  # out of order: does not wait behind "late"
    clock.schedule(0.00003, lambda: seen.append((clock.now(), "event")))  # due at 30
    clock.set(100)
    assert seen == [(20, "early"), (30, "event"), (50, "late")]


def test_clearing_the_clock_empties_its_lanes_and_they_work_after():
    clock = VirtualClock(start=0)
    seen = []
    lane = Lane(clock, lambda due, item: seen.append(item))
    lane.add(10, "old")
    clock.clear()
    assert clock.pending() == 0
    lane.add(20, "new")
    clock.set(30)
    assert seen == ["new"]


async def test_real_clock_fires_lane_items_in_the_background():
    clock = RealClock(resolution=0.001)
    seen = []
    done = asyncio.Event()

    def fire(due, item):
        seen.append(item)
        if item == 4:
            done.set()

    lane = Lane(clock, fire)
    task = asyncio.create_task(clock.run())
    try:
        for item in range(5):
            lane.add(clock.now() + 1000 * item, item)  # one every millisecond
        await asyncio.wait_for(done.wait(), 2)
    finally:
        task.cancel()
    assert seen == [0, 1, 2, 3, 4]


async def test_a_real_clock_fires_a_burst_over_several_turns_of_the_loop():
    """A burst of due work (the status changes of a bulk send) is fired `batch` items a turn:
    what else the loop has to do (requests) runs in between, instead of waiting for all of it."""
    clock = RealClock(resolution=0.001)
    total = 10 * clock.batch
    seen: list[int] = []
    done = asyncio.Event()

    def fire(due, item):
        seen.append(item)
        if item == total - 1:
            done.set()

    lane = Lane(clock, fire)
    loop = asyncio.get_running_loop()
    between: list[int] = []  # how many had fired each time other work got the loop

    def other_work():
        between.append(len(seen))
        if not done.is_set():
            loop.call_soon(other_work)

    task = asyncio.create_task(clock.run())
    try:
        await asyncio.sleep(0)
        now = clock.now()
        for item in range(total):
            lane.add(now, item)
        loop.call_soon(other_work)
        await asyncio.wait_for(done.wait(), 2)
    finally:
        task.cancel()
    assert seen == list(range(total))
    turns = sorted({count for count in between if 0 < count < total})
    assert len(turns) >= 9 and all(count % clock.batch == 0 for count in turns)
    assert clock.pending() == 0


def test_a_lane_turn_fires_its_head_even_when_the_wall_clock_stepped_back():
    class SteppedBack(RealClock):
        def now(self):
            return 50  # behind the due time the turn was started for

    clock = SteppedBack()
    seen = []
    lane = Lane(clock, lambda due, item: seen.append(item))
    lane.add(100, "a")
    lane.add(200, "b")
    assert clock._fire_due(100) == 1  # one turn, no spinning until the wall clock catches up
    assert seen == ["a"] and clock.pending() == 1


class Pending:
    """Asynchronous follow-up work, like webhook attempts: each piece runs as a task and, when it
    finishes, may schedule more on the clock. `settle` waits for the tasks, as `Outbox.drain` does."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def start(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def settle(self, seconds: float) -> bool:
        if not self.tasks:
            return True
        done, pending = await asyncio.wait(set(self.tasks), timeout=seconds)
        return not pending and not self.tasks


async def test_run_to_lets_the_work_set_off_at_each_instant_settle_before_moving_on():
    """A retry scheduled only when an attempt finishes still falls within the same move."""
    clock = VirtualClock(START)
    work = Pending()
    seen = []

    async def attempt(number: int) -> None:
        await asyncio.sleep(0)  # the attempt takes a little real time
        seen.append((number, (clock.now() - START) / MICROS))
        if number < 4:
            clock.schedule(300, lambda: work.start(attempt(number + 1)))

    clock.schedule(1, lambda: work.start(attempt(1)))
    run = await clock.run_to(START + 3600 * MICROS, work.settle, budget=5)
    assert seen == [(1, 1.0), (2, 301.0), (3, 601.0), (4, 901.0)]
    assert (run.fired, run.now, run.complete) == (4, START + 3600 * MICROS, True)
    assert clock.now() == START + 3600 * MICROS


async def test_run_to_in_pieces_fires_the_same_as_in_one_go():
    async def history(pieces: list[int]) -> tuple[list, int]:
        clock = VirtualClock(START)
        work = Pending()
        seen = []

        async def attempt(name: str, left: int) -> None:
            await asyncio.sleep(0)
            seen.append((name, clock.now()))
            if left:
                clock.schedule(7, lambda: work.start(attempt(name, left - 1)))

        clock.schedule(1, lambda: work.start(attempt("a", 5)))
        clock.schedule(2, lambda: work.start(attempt("b", 3)))
        fired = 0
        for piece in pieces:
            fired += (await clock.run_to(clock.now() + piece * MICROS, work.settle, budget=5)).fired
        return seen, fired

    assert await history([60]) == await history([1] * 60) == await history([5, 0, 13, 42])


async def test_run_to_stops_where_the_work_does_not_settle_in_time():
    clock = VirtualClock(START)
    never = asyncio.Event()
    work = Pending()
    clock.schedule(2, lambda: work.start(never.wait()))
    clock.schedule(5, lambda: None)
    run = await clock.run_to(START + 10 * MICROS, work.settle, budget=0.05)
    assert (run.fired, run.now, run.complete) == (1, START + 2 * MICROS, False)
    assert clock.now() == START + 2 * MICROS and clock.pending() == 1
    never.set()
    run = await clock.run_to(START + 10 * MICROS, work.settle, budget=5)
    assert (run.fired, run.now, run.complete) == (1, START + 10 * MICROS, True)


async def test_run_to_bounds_work_that_keeps_scheduling_at_one_instant():
    """Follow-up work that always schedules more for the same instant (a retry without delay)
    cannot hold the move for longer than its budget."""
    clock = VirtualClock(START)
    work = Pending()

    async def attempt() -> None:
        await asyncio.sleep(0)
        clock.schedule(0, lambda: work.start(attempt()))

    clock.schedule(1, lambda: work.start(attempt()))
    run = await clock.run_to(START + 10 * MICROS, work.settle, budget=0.05)
    assert not run.complete and run.now == START + MICROS and run.fired > 1


async def test_run_to_refuses_to_go_back():
    clock = VirtualClock(START)

    async def settled(seconds: float) -> bool:
        return True

    with pytest.raises(ValueError):
        await clock.run_to(START - 1, settled, budget=1)


@pytest.mark.parametrize("value", [-1, LATEST_TIME + 1, 10**30, 1e30, float("nan"), "2026", None, True, 1.5])
def test_check_time_refuses_values_outside_the_valid_range(value):
    with pytest.raises(TimeOutOfRange) as refused:
        check_time(value, "clock.now")
    assert "clock.now" in str(refused.value)
    if value is not None:  # None: start now
        with pytest.raises(TimeOutOfRange):
            create_clock("virtual", 1.0, value)


def test_every_time_the_emulator_may_compute_from_the_valid_range_can_be_written():
    """The latest clock value plus the longest delay a rule may ask, a year of billing period
    and the day after a date are all still times `datetime` can write (it ends with 9999)."""
    assert check_time(EARLIEST_TIME) == 0 and check_time(LATEST_TIME) == LATEST_TIME
    assert utc_text(LATEST_TIME, "%Y-%m-%dT%H:%M:%S") == "9000-01-01T00:00:00.000000"
    horizon = LATEST_TIME + (MAX_DELAY_SECONDS + 2 * 366 * 86400) * MICROS
    assert utc(horizon).year == 9003
    clock = VirtualClock(LATEST_TIME - MICROS)
    fired = []
    clock.schedule(MAX_DELAY_SECONDS, lambda: fired.append(clock.now()))
    clock.set(LATEST_TIME)
    assert fired == [] and clock.pending() == 1


def test_a_lane_keeps_no_object_of_its_own_per_item():
    """Items queue without a pair each: the collector has nothing more to visit per queued item."""
    import gc

    clock = VirtualClock(start=0)
    lane = Lane(clock, lambda due, item: None)
    items = [object() for _ in range(1000)]
    gc.collect()
    before = len(gc.get_objects())
    for due, item in enumerate(items):
        lane.add(10 + due, item)
    assert len(gc.get_objects()) - before < 10  # a scheduled event for the head, not 1,000 pairs
    assert clock.set(2000) == 1000

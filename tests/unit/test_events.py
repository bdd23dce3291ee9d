"""The event log (`emulator/core/events.py`): waits and filtered pages look at the candidates of
their most selective filter, never the whole log; a new event is offered only to the waits it
can satisfy; waits are race-free and leave nothing registered behind; streams start where asked
and stay within the log."""

from __future__ import annotations

import asyncio
import gc

import pytest

from emulator.core import events as events_module
from emulator.core.events import Broadcast, Closed, Event, EventLog, MessageEvent, TooBusy
from emulator.core.models import OUTBOUND, new_message

FILL = 20_000


def filled(count: int = FILL, capacity: int = 200_000) -> EventLog:
    log = EventLog(lambda: 0, capacity)
    for index in range(count):
        log.emit("message.created", "elks", f"acct{index % 10}", id=f"m{index}", to=f"+4670{index:07d}", status="created")
    return log


def test_a_wait_for_a_present_event_looks_at_its_own_candidates_only():
    log = filled()
    wanted = f"m{FILL - 5}"
    log.examined = 0
    event = asyncio.run(log.wait_for({"id": wanted, "kind": "message.created"}, after=0, timeout=0))
    assert event is not None and event.data["id"] == wanted
    assert log.examined == 1  # the old scan looked at 19,996 events


def test_a_wait_that_matches_nothing_looks_at_nothing():
    log = filled()
    log.examined = 0
    assert asyncio.run(log.wait_for({"kind": "message.*", "to": "+46799999999"}, after=0, timeout=0)) is None
    assert log.examined == 0


def test_numbers_match_with_or_without_their_plus_through_the_index():
    log = filled(100)
    assert log.find({"to": "46700000042"}).data["id"] == "m42"
    assert log.find({"to": "+46700000042"}).data["id"] == "m42"


def test_a_kind_prefix_merges_the_kinds_in_order():
    log = EventLog(lambda: 0)
    log.emit("message.created", "elks", "a", id="x")
    log.emit("call.created", "elks", "a", id="x")
    log.emit("message.status", "elks", "a", id="y", status="delivered")
    log.emit("message.status", "elks", "a", id="x", status="delivered")
    log.examined = 0
    found = log.matching({"kind": "message.*", "status": "delivered"})
    assert [event.data["id"] for event in found] == ["y", "x"]
    assert log.examined == 2  # the two status events: the smallest candidate list
    assert [e.seq for e in log.matching({"kind": "message.*"}, after=1)] == [3, 4]


def test_a_new_event_is_offered_only_to_waits_it_can_satisfy(monkeypatch):
    calls = []
    original = Event.matches
    monkeypatch.setattr(Event, "matches", lambda self, filters: calls.append(self.seq) or original(self, filters))

    async def scenario():
        log = filled(1000)
        waits = [asyncio.ensure_future(log.wait_for({"id": f"never{index}"}, timeout=5)) for index in range(500)]
        target = asyncio.ensure_future(log.wait_for({"id": "soon", "status": "delivered"}, timeout=5))
        await asyncio.sleep(0)
        assert log.waiters() == 501
        calls.clear()
        for index in range(200):
            log.emit("message.status", "elks", "acct1", id=f"other{index}", status="delivered")
        log.emit("message.status", "elks", "acct1", id="soon", status="sent")
        log.emit("message.status", "elks", "acct1", id="soon", status="delivered")
        event = await target
        assert event.data == {"id": "soon", "status": "delivered"}
        assert len(calls) == 2  # only the two events of message "soon" were matched against a wait
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        assert log.waiters() == 0 and log.waits == 0

    asyncio.run(scenario())


def test_a_wait_finds_an_event_that_happened_while_it_looked():
    async def scenario():
        log = filled(10_000)
        # one account's events are many candidates: the wait looks at them in chunks, letting
        # the emitter in between; the event emitted meanwhile must still be found
        wait = asyncio.ensure_future(log.wait_for({"account": "acct3", "status": "sent"}, after=0, timeout=5))
        await asyncio.sleep(0)
        log.emit("message.status", "elks", "acct3", id="late", status="sent")
        event = await wait
        assert event.data["id"] == "late"

    asyncio.run(scenario())


def test_a_wait_ends_when_its_client_leaves():
    async def scenario():
        log = filled(10)
        left = asyncio.get_running_loop().create_future()
        watches = []

        async def gone():
            watches.append(asyncio.current_task())
            await left

        wait = asyncio.ensure_future(log.wait_for({"id": "never"}, timeout=300, gone=gone))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert log.waiters() == 1 and len(watches) == 1
        left.set_result(None)
        assert await asyncio.wait_for(wait, 1) is None
        assert log.waiters() == 0 and log.waits == 0

    asyncio.run(scenario())


def test_a_wait_whose_event_has_happened_watches_no_client_and_a_finished_wait_stops_watching():
    async def scenario():
        log = filled(10)
        watches = []

        async def gone():
            watches.append(asyncio.current_task())
            await asyncio.sleep(300)

        found = await log.wait_for({"kind": "message.created"}, timeout=5, gone=gone)
        assert found is not None and watches == []  # answered at once: no task was started to watch
        wait = asyncio.ensure_future(log.wait_for({"id": "later"}, after=log.last_seq, timeout=5, gone=gone))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(watches) == 1 and not watches[0].done()
        log.emit("message.created", "elks", "acct1", id="later")
        assert (await asyncio.wait_for(wait, 1)).data["id"] == "later"
        await asyncio.sleep(0)
        assert watches[0].cancelled()  # the watch ends with the wait

    asyncio.run(scenario())


def test_too_many_waits_are_refused():
    async def scenario():
        log = filled(10)
        log.max_waits = 3
        waits = [asyncio.ensure_future(log.wait_for({"id": "never"}, timeout=5)) for _ in range(3)]
        await asyncio.sleep(0)
        with pytest.raises(TooBusy):
            await log.wait_for({"id": "never"}, timeout=5)
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        assert await log.wait_for({"id": "m3"}, timeout=0) is not None

    asyncio.run(scenario())


def test_waits_survive_a_clear_and_match_what_comes_after():
    async def scenario():
        log = filled(100)
        wait = asyncio.ensure_future(log.wait_for({"id": "m5", "status": "delivered"}, after=log.last_seq, timeout=5))
        await asyncio.sleep(0)
        log.clear()
        log.emit("message.status", "elks", "acct5", id="m5", status="delivered")
        assert (await wait).data["status"] == "delivered"

    asyncio.run(scenario())


def test_the_index_forgets_what_leaves_the_log():
    log = EventLog(lambda: 0, 1_000)
    log.find({"account": "acct0"})  # indexed from the start: kept up to date as events come and go
    for index in range(5_000):
        log.emit("message.created", "elks", f"acct{index % 10}", id=f"m{index}", to=f"+4670{index:07d}", status="created")
    assert len(log) == 1_000
    assert log.find({"id": "m10"}) is None
    assert log.find({"id": "m4500"}).data["id"] == "m4500"
    assert len(log._data["id"]) == 1_000  # one key per retained message, not 5,000
    assert sum(postings.live() for postings in log._fields["account"].values()) == 1_000
    assert all(len(postings.events) <= 2 * postings.live() + 33 for postings in log._fields["account"].values())
    assert [event.seq for event in log.since(4_990)] == list(range(4_991, 5_001))


def test_an_event_that_leaves_the_log_is_freed_as_it_leaves():
    """Each forgotten event is let go as it leaves, from the log and from its indexes alike:
    cutting a list's dead head once freed a hundred thousand events at one time, a pause every
    request in flight waited for."""
    import weakref

    class Payload:
        pass

    log = EventLog(lambda: 0, 100)
    log.find({"account": "acct0"})  # an index holds the events too
    payload = Payload()
    log.emit("message.created", "elks", "acct0", id="first", payload=payload)
    gone = weakref.ref(payload)
    del payload
    for index in range(100):
        log.emit("message.created", "elks", "acct0", id=f"m{index}")
    assert log.find({"id": "first"}) is None
    assert gone() is None  # freed as it left, not when a thousand more have left
    assert len(log) == 100 and [event.seq for event in log.since(99)] == [100, 101]


def test_a_stream_without_a_cursor_starts_from_now():
    async def scenario():
        log = filled(1000)
        stream = log.follow(None)
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        log.emit("message.created", "elks", "a", id="new")
        batch = await asyncio.wait_for(first, 1)
        assert [event.data["id"] for event in batch] == ["new"]
        await stream.aclose()
        assert log.streams == 0

    asyncio.run(scenario())


def test_a_filtered_stream_is_woken_only_by_its_events():
    async def scenario():
        log = filled(10)
        stream = log.follow(None, {"sandbox": "sb1"})
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        assert log.waiters() == 1
        for index in range(100):
            log.emit("message.created", "elks", "a", id=f"x{index}")
        await asyncio.sleep(0)
        assert not first.done()
        log.sandbox_of = lambda account: "sb1" if account == "b" else None
        log.emit("message.created", "elks", "b", id="mine")
        batch = await asyncio.wait_for(first, 1)
        assert [event.data["id"] for event in batch] == ["mine"]
        await stream.aclose()
        assert log.waiters() == 0 and log.streams == 0

    asyncio.run(scenario())


def _counting_render(counts: dict[str, int]):
    def render(event: Event) -> bytes:
        counts["renders"] += 1
        return f"{event.seq}:{event.data.get('id')};".encode()
    return render


def test_streams_of_everything_render_each_event_once_and_write_once_per_batch():
    """50 streams of every event, 300 events in bursts: each event is rendered once (not once
    per stream), each stream gets every event in order, and a stream makes one bytes object
    per batch it writes (never one per event)."""
    async def scenario():
        log = filled(100)
        log.stream_rest = 0.01
        counts = {"renders": 0}
        render = _counting_render(counts)
        streams = [log.follow_rendered(render, None) for _ in range(50)]
        received: list[list[bytes]] = [[] for _ in streams]

        async def read(index: int, stream) -> None:
            async for chunk in stream:
                received[index].append(chunk)

        readers = [asyncio.ensure_future(read(index, stream)) for index, stream in enumerate(streams)]
        await asyncio.sleep(0)
        first = log.last_seq
        for burst in range(3):
            for index in range(100):
                log.emit("message.created", "elks", "a", id=f"b{burst}-{index}")
            await asyncio.sleep(0.03)
        expected = b"".join(f"{seq}:{event.data['id']};".encode() for seq, event in ((e.seq, e) for e in log.since(first)))
        for _ in range(200):
            if all(b"".join(chunks) == expected for chunks in received):
                break
            await asyncio.sleep(0.01)
        assert all(b"".join(chunks) == expected for chunks in received)
        assert counts["renders"] == 300  # once per event: 50 streams of the old kind rendered 15,000
        writes = sum(len(chunks) for chunks in received)
        assert writes <= 50 * 6  # one write per stream per burst, give or take a rest
        assert log.broadcast(render).slices <= writes
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        assert log.streams == 0

    asyncio.run(scenario())


def test_a_replaying_stream_of_everything_catches_up_then_shares_the_buffer():
    """A stream with a cursor older than the shared buffer renders its own replay, then reads
    the shared buffer like the others; a clear sends nothing it forgot."""
    async def scenario():
        log = filled(0)
        log.stream_rest = 0.01
        counts = {"renders": 0}
        render = _counting_render(counts)
        for index in range(5):
            log.emit("message.created", "elks", "a", id=f"early{index}")
        live = log.follow_rendered(render, None)  # the shared buffer starts at seq 5
        live_next = asyncio.ensure_future(live.__anext__())
        await asyncio.sleep(0)
        log.emit("message.created", "elks", "a", id="late")
        assert await asyncio.wait_for(live_next, 1) == b"6:late;"
        assert counts["renders"] == 1
        replay = log.follow_rendered(render, 0)
        early = b"".join(f"{seq}:early{seq - 1};".encode() for seq in range(1, 6))
        assert await asyncio.wait_for(replay.__anext__(), 1) == early + b"6:late;"
        assert counts["renders"] == 6  # its own replay of 5; seq 6 came from the shared buffer
        log.emit("message.created", "elks", "a", id="next")
        assert await asyncio.wait_for(replay.__anext__(), 1) == b"7:next;"
        assert await asyncio.wait_for(live.__anext__(), 1) == b"7:next;"
        assert counts["renders"] == 7
        log.emit("message.created", "elks", "a", id="forgotten")
        log.clear()
        log.emit("message.created", "elks", "a", id="after-clear")
        assert await asyncio.wait_for(live.__anext__(), 1) == b"9:after-clear;"
        await live.aclose()
        await replay.aclose()
        assert log.streams == 0

    asyncio.run(scenario())


def test_a_small_shared_buffer_trims_its_head_and_every_stream_still_gets_every_event():
    async def scenario():
        log = EventLog(lambda: 0)
        log.stream_rest = 0.001
        render = lambda event: f"{event.seq};".encode()  # noqa: E731
        broadcast = log._broadcasts[render] = Broadcast(log, render, limit=200)
        received: list[list[bytes]] = [[] for _ in range(5)]

        async def read(index: int) -> None:
            async for chunk in log.follow_rendered(render, None):
                received[index].append(chunk)

        readers = [asyncio.ensure_future(read(index)) for index in range(5)]
        await asyncio.sleep(0)
        for count in range(3000):
            log.emit("message.created")
            if count % 37 == 0:
                await asyncio.sleep(0)
        expected = b"".join(f"{seq};".encode() for seq in range(1, 3001))
        for _ in range(300):
            if all(b"".join(chunks) == expected for chunks in received):
                break
            await asyncio.sleep(0.005)
        assert all(b"".join(chunks) == expected for chunks in received)
        assert broadcast.start > 2000  # the head went, more than once
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        assert log.streams == 0

    asyncio.run(scenario())


def test_closing_the_log_ends_every_stream_and_wait_and_every_later_one():
    """At shutdown: a stream of everything, a filtered one and a rendered one, each waiting for
    news, and a wait end at once; a stream or a wait opened afterwards ends at its start; nothing
    stays counted or registered."""
    async def scenario():
        log = filled(10)
        streams = [log.follow(None), log.follow(None, {"sandbox": "sb1"}), log.follow_rendered(lambda event: b"x", None)]
        pending = [asyncio.ensure_future(stream.__anext__()) for stream in streams]
        wait = asyncio.ensure_future(log.wait_for({"kind": "never"}, log.last_seq, 300))
        await asyncio.sleep(0)
        assert log.streams == 3 and log.waits == 1 and not any(future.done() for future in pending)
        log.close()
        for future in pending:
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(future, 1)
        with pytest.raises(Closed, match="shutting down"):
            await asyncio.wait_for(wait, 1)
        later = log.follow(None)
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(later.__anext__(), 1)
        with pytest.raises(Closed):
            await log.wait_for({"kind": "message.created"}, log.last_seq, 300)
        assert log.streams == 0 and log.waits == 0 and log.waiters() == 0

    asyncio.run(scenario())


def _postings(log: EventLog) -> int:
    return sum(len(table) for table in log._fields.values()) + sum(len(table) for table in log._data.values())


def test_events_nobody_filters_on_are_not_indexed():
    log = filled(1_000)
    assert _postings(log) == 0  # recording an event costs no index work until a filter needs one


def test_events_leaving_a_full_log_cost_no_index_work_until_a_filter_needs_one(monkeypatch):
    log = filled(100, capacity=100)
    looked = []
    monkeypatch.setattr(Event, "index_key", lambda event, name: looked.append(event))
    for index in range(100, 1_100):
        log.emit("message.created", "elks", "acct1", id=f"m{index}")
    assert looked == [] and len(log) == 100 and log.since(0)[0].data["id"] == "m1000"


def test_an_index_is_built_at_its_first_use_then_kept_as_events_come_and_a_clear_goes():
    log = filled(1_000, capacity=800)  # the 200 oldest have left the log
    assert log.find({"id": "m100"}) is None
    assert log.find({"id": "m900"}).data["id"] == "m900"
    assert set(log._data) == {"id"} and len(log._data["id"]) == 800  # only the field asked for
    log.emit("message.status", "elks", "acct1", id="m900", status="delivered")
    assert [e.kind for e in log.matching({"id": "m900"})] == ["message.created", "message.status"]
    assert log.matching({"status": "delivered", "account": "acct1"})[0].data["id"] == "m900"
    log.clear()
    log.emit("message.status", "elks", "acct2", id="m7", status="sent")
    assert len(log._data["id"]) == 1 and log.find({"id": "m7"}).data["status"] == "sent"

    async def wait_then_emit() -> Event | None:
        wait = asyncio.ensure_future(log.wait_for({"to": "+46700000001"}, after=log.last_seq, timeout=5))
        await asyncio.sleep(0)
        log.emit("message.created", "elks", "acct3", id="m8", to="+46700000001")
        return await wait

    assert asyncio.run(wait_then_emit()).data["id"] == "m8"


def test_filters_on_more_fields_than_are_indexed_still_match():
    log = filled(100)
    log.max_indexed_fields = 1
    assert log.find({"id": "m5"}).data["id"] == "m5"
    assert log.find({"to": "+46700000007"}).data["id"] == "m7"  # no index for `to`: the log is scanned
    assert "to" not in log._data
    assert log.find({"to": "+46700000009", "kind": "message.created"}).data["id"] == "m9"

    async def wait_then_emit() -> Event | None:
        wait = asyncio.ensure_future(log.wait_for({"to": "+46700000123"}, after=log.last_seq, timeout=5))
        await asyncio.sleep(0)
        log.emit("message.created", "elks", "acct3", id="m8", to="+46700000123")
        return await wait

    assert asyncio.run(wait_then_emit()).data["id"] == "m8"


def test_a_message_event_shows_the_message_as_it_was_then_and_keeps_no_mapping_of_its_own():
    log = EventLog(lambda: 0)
    message = new_message(id="m1", provider="elks", account_id="acct1", direction=OUTBOUND, sender="ElkCo",
                          recipient="+46700000123", text="Hi", encoding="gsm", parts=1, cost=3500, created=1, status="created")
    created = log.record_message("message.created", message, 1)
    message.status = "sent"
    sent = log.record_message("message.status", message, 2)
    assert isinstance(created, MessageEvent) and (created.seq, created.at, created.provider, created.account_id) == (1, 1, "elks", "acct1")
    assert created.data == {"id": "m1", "direction": "outbound", "status": "created", "from": "ElkCo", "to": "+46700000123"}
    assert sent.data["status"] == "sent"
    assert not any(isinstance(referent, dict) for referent in gc.get_referents(created))
    assert log.find({"status": "created"}) is created and log.find({"to": "46700000123", "status": "sent"}) is sent
    assert created.matches({"from": "ElkCo", "kind": "message.*"}) and not created.matches({"text": "Hi"})


@pytest.mark.parametrize("name", ["id", "kind", "to", "from", "status", "direction", "provider", "account", "sandbox", "text", "nothing"])
def test_a_message_event_has_the_index_keys_of_an_event_with_the_same_data(name):
    message = new_message(id="m1", provider="elks", account_id="acct1", direction=OUTBOUND, sender="+46700000999",
                          recipient="+46700000123", text="Hi", encoding="gsm", parts=1, cost=3500, created=1, status="sent")
    quick = MessageEvent(1, 1, "message.status", message, "sent", "sb1")
    plain = Event(1, 1, "message.status", "elks", "acct1", quick.data, "sb1")
    assert quick.index_key(name) == plain.index_key(name)
    assert quick.index_key(name) is not None or name in ("text", "nothing")


def index_of(log: EventLog, name: str) -> dict[str, list[int]]:
    """The index of `name` as the live sequence numbers under each key."""
    table = log._indexed[name]
    return {key: [event.seq for event in postings.events[postings.dead:]] for key, postings in table.items() if postings.live()}


def test_a_wait_builds_a_new_index_in_turns_letting_other_work_in(monkeypatch):
    monkeypatch.setattr(events_module, "BUILD_CHUNK", 1000)
    log = filled(20_000, capacity=15_000)  # the 5,000 oldest have left the log
    turns = []

    async def scenario():
        async def meanwhile():  # other requests: each turn of the loop, one event (and one leaves)
            for index in range(1_000):
                turns.append("id" in log._indexed)
                log.emit("message.status", "elks", "acct1", id=f"m{19_000 + index % 1_000}", status="sent")
                await asyncio.sleep(0)

        other = asyncio.create_task(meanwhile())
        await asyncio.sleep(0)
        found = await log.wait_for({"id": "m19500", "status": "sent"}, after=0, timeout=5)
        await other
        return found

    found = asyncio.run(scenario())
    assert found is not None and found.data == {"id": "m19500", "status": "sent"}
    assert turns.count(False) >= 10  # the other work ran while the index was being built (15 chunks of 1,000)
    # The indexes built in turns are what a build at once gives for the log as it is now, and the
    # log goes on keeping them (events added while they were built are in, those gone are out).
    built = {name: index_of(log, name) for name in ("id", "status")}
    again = filled(0)
    again._log, again._dead, again._next_seq = list(log._log), log._dead, log._next_seq
    assert built == {name: index_of(again, name) for name in ("id", "status") if again._index(name) is not None}
    log.emit("message.status", "elks", "acct1", id="m19500", status="delivered")
    assert [e.data["status"] for e in log.matching({"id": "m19500"})][-2:] == ["sent", "delivered"]
    oldest = log.since(0)[0].data["id"]  # m6001: 1,001 more events came, as many left
    assert oldest in log._indexed["id"] and "m5000" not in log._indexed["id"]  # m5000 was in the log when the build began


def test_a_clear_during_a_build_in_turns_ends_it_and_the_wait_still_answers(monkeypatch):
    monkeypatch.setattr(events_module, "BUILD_CHUNK", 500)
    log = filled(10_000)

    async def scenario():
        wait = asyncio.create_task(log.wait_for({"to": "46700000001"}, after=log.last_seq, timeout=5))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert "to" in log._building  # under way
        log.clear()
        log.emit("message.created", "elks", "acct1", id="new", to="+46700000001")
        return await wait

    found = asyncio.run(scenario())
    assert found is not None and found.data["id"] == "new"
    assert not log._building and index_of(log, "to") == {"46700000001": [found.seq]}


def test_a_wait_builds_the_indexes_its_look_needs_and_if_it_waits_those_it_hangs_on(monkeypatch):
    monkeypatch.setattr(events_module, "BUILD_CHUNK", 1000)
    log = filled(20_000)
    assert asyncio.run(log.wait_for({"id": "m5"}, timeout=0)).data["id"] == "m5"
    assert asyncio.run(log.wait_for({"id": "nothing", "kind": "message.status"}, timeout=0)) is None
    assert set(log._indexed) == {"id"}  # no event has the id: the kind was not worth an index
    assert asyncio.run(log.wait_for({"id": "nothing", "status": "sent"}, timeout=0.01)) is None
    assert set(log._indexed) == {"id", "status"}  # a wait that waits hangs on its most selective field


def test_a_filtered_page_builds_its_index_in_turns_too(monkeypatch):
    monkeypatch.setattr(events_module, "BUILD_CHUNK", 1000)
    log = filled(20_000)
    turns = []

    async def scenario():
        async def meanwhile():
            for _ in range(100):
                turns.append("to" in log._indexed)
                await asyncio.sleep(0)

        other = asyncio.create_task(meanwhile())
        await asyncio.sleep(0)
        page = await log.matching_in_turns({"to": "+46700012345"}, after=0, limit=10)
        await other
        return page

    page = asyncio.run(scenario())
    assert [event.data["id"] for event in page] == ["m12345"] == [event.data["id"] for event in log.matching({"to": "46700012345"})]
    assert turns.count(False) >= 10

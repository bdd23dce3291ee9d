"""One move of the virtual clock does what many short moves do: every status change, webhook
attempt and retry due within it happens in order, at its own due time, with the same `fired`
count, and the retry schedules are the providers' (46elks: every 5 minutes for 6 hours; seven.io:
+1 min, +5 min, +30 min, +1 h, then every 2 h, 14 attempts in all)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings, strategies as st

from emulator.core.clock import MICROS
from emulator.seven.routes import RETRY_DELAYS
from support import ELKS_AUTH, SEVEN_JSON, VIRTUAL_START, Emulator, Receiver, make_engine, running_emulator

ELKS_DELAYS = (300.0,) * 72  # 46elks' policy here: 73 attempts, 5 minutes apart, over 6 hours


async def _elks_sms_to_failing_receiver(emulator: Emulator) -> str:
    emulator.receiver.statuses = [500]
    response = await emulator.client.post(
        "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi", "whendelivered": "http://hooks.test/dlr"}, auth=ELKS_AUTH
    )
    assert response.status_code == 200
    return response.json()["id"]


async def _seven_sms_to_failing_hook(emulator: Emulator) -> str:
    emulator.receiver.statuses = [500]
    hook = await emulator.client.post("/api/hooks", data={"target_url": "http://hooks.test/seven", "event_type": "dlr"}, headers=SEVEN_JSON)
    assert hook.status_code == 200
    response = await emulator.client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=SEVEN_JSON)
    return response.json()["messages"][0]["id"]


async def _moves(emulator: Emulator, pieces: list[float]) -> int:
    """Advance by each piece in turn, as a client would: real time passes between its calls, so
    the webhook work already set off has finished before the next one."""
    fired = 0
    for seconds in pieces:
        response = await emulator.client.post("/_emulator/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text
        fired += response.json()["fired"]
        assert await emulator.engine.outbox.drain()
    return fired


async def _world(emulator: Emulator) -> dict[str, Any]:
    deliveries = (await emulator.client.get("/_emulator/webhooks", params={"limit": 100})).json()["data"]
    events = (await emulator.client.get("/_emulator/events", params={"limit": 1000})).json()["data"]
    messages = (await emulator.client.get("/_emulator/messages", params={"limit": 100})).json()["data"]
    return {
        "deliveries": [(d["id"], d["event"], d["state"], [(a["number"], a["at"], a["status"]) for a in d["attempts"]]) for d in deliveries],
        "events": [(e["seq"], e["at"], e["kind"], e["data"]) for e in events],
        "messages": [(m["id"], m["status"], m["history"]) for m in messages],
        "now": (await emulator.client.get("/_emulator/clock")).json()["now"],
    }


async def _run(start, pieces: list[float]) -> tuple[dict[str, Any], int]:
    async with running_emulator(make_engine(), Receiver()) as emulator:
        await start(emulator)
        fired = await _moves(emulator, pieces)
        return await _world(emulator), fired


def _seconds(iso_text: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp() * MICROS - VIRTUAL_START) / MICROS


async def test_one_long_advance_retries_a_46elks_report_like_many_short_ones():
    """Before: one 7-hour advance made 2 attempts and left the report pending."""
    (whole, fired_whole), (split, fired_split) = await asyncio.gather(
        _run(_elks_sms_to_failing_receiver, [7 * 3600]), _run(_elks_sms_to_failing_receiver, [300] * 84)
    )
    assert whole == split and fired_whole == fired_split
    assert len(whole["deliveries"]) == 2  # the `sent` report and the `delivered` one
    first_attempts = []
    for _, event, state, attempts in whole["deliveries"]:
        assert event == "sms.status" and state == "failed" and len(attempts) == len(ELKS_DELAYS) + 1 == 73
        times = [_seconds(at) for _, at, _ in attempts]
        assert [later - earlier for earlier, later in zip(times, times[1:])] == list(ELKS_DELAYS)
        assert {status for _, _, status in attempts} == {500}
        first_attempts.append(times[0])
    assert sorted(first_attempts) == [0.5, 1.0]  # `sent` half a second after creation, `delivered` at one second
    assert whole["now"] == split["now"] == "2026-01-01T07:00:00.000000Z"


async def test_one_long_advance_retries_a_seven_hook_like_many_short_ones():
    day = 24 * 3600
    (whole, fired_whole), (split, fired_split) = await asyncio.gather(
        _run(_seven_sms_to_failing_hook, [day]), _run(_seven_sms_to_failing_hook, [900] * 96)
    )
    assert whole == split and fired_whole == fired_split
    assert whole["deliveries"]
    for _, _, state, attempts in whole["deliveries"]:
        assert state == "failed" and len(attempts) == len(RETRY_DELAYS) + 1 == 14
        times = [_seconds(at) for _, at, _ in attempts]
        assert tuple(later - earlier for earlier, later in zip(times, times[1:])) == RETRY_DELAYS
        assert RETRY_DELAYS[:5] == (60, 300, 1800, 3600, 7200)  # the documented first steps


async def test_attempts_are_stamped_at_their_due_times_and_the_events_come_in_order(emulator, client):
    message_id = await _elks_sms_to_failing_receiver(emulator)
    response = await client.post("/_emulator/clock/advance", json={"seconds": 3600})
    assert response.status_code == 200 and response.json()["now"] == "2026-01-01T01:00:00.000000Z"
    events = (await client.get("/_emulator/events", params={"limit": 1000})).json()["data"]
    times = [event["at"] for event in events]
    assert times == sorted(times)
    by_report: dict[str, list[float]] = {}
    for event in events:
        if event["kind"] == "webhook.attempt":
            by_report.setdefault(event["data"]["id"], []).append(_seconds(event["at"]))
    assert sorted(by_report.values()) == [  # 00:00:00.5, 00:05:00.5 ... 00:55:00.5 and 00:00:01 ... 00:55:01
        [0.5 + 300 * k for k in range(12)], [1.0 + 300 * k for k in range(12)],
    ]
    assert (await client.get(f"/a1/SMS/{message_id}", auth=ELKS_AUTH)).json()["status"] == "delivered"


async def test_set_moves_the_same_way_as_advance(emulator, client):
    await _elks_sms_to_failing_receiver(emulator)
    response = await client.post("/_emulator/clock/set", json={"time": "2026-01-01T07:00:00Z"})
    assert response.status_code == 200
    deliveries = (await client.get("/_emulator/webhooks")).json()["data"]
    assert [(d["state"], len(d["attempts"])) for d in deliveries] == [("failed", 73), ("failed", 73)]


class Held:
    """A receiver that answers 500, but only once `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await self.release.wait()
        return httpx.Response(500)


async def test_a_receiver_that_keeps_the_clock_waiting_gets_a_clear_answer():
    """Time does not run ahead of a webhook attempt that has not settled: the advance stops at
    the attempt's due time and says so (504), and a later advance goes on from there."""
    receiver = Held()
    async with running_emulator(make_engine(), receiver) as emulator:
        client = emulator.client
        emulator.engine.clock_move_budget = 0.2
        await _elks_sms_to_failing_receiver(emulator)
        stalled = await client.post("/_emulator/clock/advance", json={"seconds": 600})
        assert stalled.status_code == 504
        body = stalled.json()
        assert body["error"]["type"] == "ClockStalled"
        assert (body["now"], body["target"], body["fired"]) == ("2026-01-01T00:00:00.500000Z", "2026-01-01T00:10:00.000000Z", 1)
        message = body["error"]["message"]
        assert "http://hooks.test/dlr" in message and "599.5 s short of 2026-01-01T00:10:00.000000Z" in message and "Advance again" in message
        assert emulator.engine.clock.now() == VIRTUAL_START + MICROS // 2  # where the `sent` report fell due
        receiver.release.set()
        emulator.engine.clock_move_budget = 10
        again = await client.post("/_emulator/clock/advance", json={"seconds": 599.5})
        assert again.status_code == 200 and again.json()["now"] == "2026-01-01T00:10:00.000000Z"
        attempts = [a for d in (await client.get("/_emulator/webhooks")).json()["data"] for a in d["attempts"]]
        assert sorted(_seconds(a["at"]) for a in attempts) == [0.5, 1.0, 300.5, 301.0]


# -- splitting an advance changes nothing ---------------------------------------------------

class ByUrl:
    """Answers by URL, so that concurrent attempts get the same answers in any order:
    `/s<code>` always answers <code>; `/flaky<k>` fails the first k attempts of each report."""

    def __init__(self) -> None:
        self.seen: dict[bytes, int] = {}

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        path = request.url.path
        if path.startswith("/flaky"):
            count = self.seen[body] = self.seen.get(body, 0) + 1
            return httpx.Response(500 if count <= int(path[6:]) else 200)
        return httpx.Response(int(path[2:]))


ENDPOINTS = ["/s200", "/s204", "/s404", "/s500", "/s503", "/flaky1", "/flaky3"]
RECIPIENTS = {"elks": ["+46700000123", "+46700000404", "+46700000408"], "seven": ["+4917612345678", "+4915700000404"]}

send_step = st.tuples(
    st.sampled_from(["elks", "seven"]), st.integers(0, 2), st.sampled_from(ENDPOINTS), st.integers(0, 400)
)


async def _scenario(sends: list[tuple[str, int, str, int]], pieces: list[float]) -> tuple[list, int]:
    engine = make_engine()
    receiver = ByUrl()
    async with running_emulator(engine, receiver) as emulator:
        client = emulator.client
        hooked: set[str] = set()
        for sent, (provider, which, endpoint, wait) in enumerate(sends):
            to = RECIPIENTS[provider][which % len(RECIPIENTS[provider])]
            url = f"http://hooks.test{endpoint}"
            if provider == "elks":
                response = await client.post("/a1/SMS", data={"from": "ElkCo", "to": to, "message": "hi", "whendelivered": url}, auth=ELKS_AUTH)
            else:
                if url not in hooked:
                    hooked.add(url)
                    await client.post("/api/hooks", data={"target_url": url, "event_type": "dlr"}, headers=SEVEN_JSON)
                response = await client.post("/api/sms", json={"to": to, "text": f"hi {sent}"}, headers=SEVEN_JSON)  # no repeats: reload lock
            assert response.status_code == 200
            await _moves(emulator, [wait])
        fired = await _moves(emulator, pieces)
        events = (await client.get("/_emulator/events", params={"limit": 1000})).json()["data"]
        return [(e["at"], e["kind"], e["data"]) for e in events], fired


@st.composite
def split_advances(draw) -> tuple[list[float], list[float]]:
    """A total in whole seconds (up to 4 h), and the same total cut into up to 8 pieces."""
    total = draw(st.integers(0, 4 * 3600))
    cuts = sorted(draw(st.lists(st.integers(0, total), max_size=7)))
    bounds = [0, *cuts, total]
    return [float(total)], [float(later - earlier) for earlier, later in zip(bounds, bounds[1:])]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sends=st.lists(send_step, min_size=1, max_size=4), advances=split_advances())
def test_splitting_an_advance_changes_no_event(sends, advances):
    whole, pieces = advances

    async def both():
        return await _scenario(sends, whole), await _scenario(sends, pieces)

    (events_whole, fired_whole), (events_split, fired_split) = asyncio.run(both())
    assert events_split == events_whole
    assert fired_split == fired_whole
    # in order: records made at one instant are stamped a microsecond apart, events without a
    # record of their own (webhook attempts) carry the instant itself
    times = [at[:23] for at, _, _ in events_whole]
    assert times == sorted(times)


async def test_a_receiver_slower_than_the_grace_does_not_hold_the_clock_and_its_retry_keeps_its_time():
    """An attempt still unanswered after `settle_grace` real seconds is left to answer whenever it
    does (a hanging receiver must not stall every other test's clock); the retry it schedules
    then still counts from the time the attempt was made."""
    receiver = Held()
    async with running_emulator(make_engine(), receiver) as emulator:
        client = emulator.client
        emulator.engine.outbox.settle_grace = 0.05
        await _elks_sms_to_failing_receiver(emulator)
        moved = await client.post("/_emulator/clock/advance", json={"seconds": 600})
        assert moved.status_code == 200 and moved.json()["now"] == "2026-01-01T00:10:00.000000Z"
        receiver.release.set()
        assert await emulator.engine.outbox.drain()
        deliveries = (await client.get("/_emulator/webhooks")).json()["data"]
        assert sorted(_seconds(a["at"]) for d in deliveries for a in d["attempts"]) == [0.5, 1.0]
        # Their retries were due at 300.5 and 301 s, already past: they go out on the next move.
        assert sorted(_seconds(d["next_attempt_at"]) for d in deliveries) == [600.0, 600.0]
        await client.post("/_emulator/clock/advance", json={"seconds": 1})
        assert await emulator.engine.outbox.drain()
        deliveries = (await client.get("/_emulator/webhooks")).json()["data"]
        assert sorted(len(d["attempts"]) for d in deliveries) == [2, 2]

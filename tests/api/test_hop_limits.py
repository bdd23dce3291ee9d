"""No webhook loops through the emulator itself: every delivery carries its hop count
(`X-Telco-Emulator-Hop`), a provider request at the hop limit is refused with 508 in the
provider's own shape and changes nothing, the control API refuses every request that carries the
header, and a hook that points back at the emulator's own API stops after a few rounds."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import pytest

from emulator.core.engine import Engine
from emulator.settings import Settings
from support import ELKS_AUTH, SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_KEY, TEST_HOSTS, VIRTUAL_START, make_engine, world_state

HOP_HEADER = "X-Telco-Emulator-Hop"  # written out: the wire name is the contract
MAX_HOPS = 3
SMS = {"to": "+4917612345678", "text": "Hallo"}
AGAIN = {**SMS, "text": "Hallo again"}  # not a repeat of SMS, which seven.io's reload lock refuses
ELKS_SMS = {"from": "ElkCo", "to": "+46700000123", "message": "Hello"}


def hop(count: int | str) -> dict[str, str]:
    return {HOP_HEADER: str(count)}


@asynccontextmanager
async def delivering_to_itself() -> AsyncIterator[tuple[Engine, httpx.AsyncClient]]:
    """The app with its webhooks delivered to itself, in-process: no port, so nothing is
    recognised as "self" by its address; only the hop count can stop a loop."""
    from emulator.app import create_app

    engine = make_engine()
    app = create_app(Settings(clock="virtual", clock_start=VIRTUAL_START, allowed_hosts=TEST_HOSTS), engine=engine)
    engine.outbox.transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emulator.test") as client:
            yield engine, client


async def advance(engine: Engine, client: httpx.AsyncClient, seconds: float) -> None:
    assert (await client.post("/_emulator/clock/advance", json={"seconds": seconds})).status_code == 200
    assert await engine.outbox.drain()


@pytest.mark.parametrize("value", [str(MAX_HOPS), str(MAX_HOPS + 7), "many", "-1"])
async def test_seven_refuses_a_request_at_the_hop_limit(emulator, client, value):
    before = world_state(emulator.engine)
    response = await client.post("/api/sms", json=SMS, headers={**SEVEN_JSON, **hop(value)})
    assert response.status_code == 508
    assert response.json() == 700
    rest = await client.post("/api/hooks", data={"target_url": "https://example.com/h", "event_type": "dlr"},
                             headers={**SEVEN_JSON, **hop(value)})
    assert rest.status_code == 508
    body = rest.json()
    assert body["success"] is False and body["code"] == "700" and body["error_message"].startswith(("Loop detected",))
    assert world_state(emulator.engine) == before, "a refused loop changed the world"


async def test_46elks_refuses_a_request_at_the_hop_limit(emulator, client):
    before = world_state(emulator.engine)
    response = await client.post("/a1/SMS", data=ELKS_SMS, auth=ELKS_AUTH, headers=hop(MAX_HOPS))
    assert response.status_code == 508
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith(f"Loop detected: this request is webhook hop number {MAX_HOPS}")
    assert world_state(emulator.engine) == before


@pytest.mark.parametrize("path, body", [
    ("/_emulator/reset", None),
    ("/_emulator/clock/advance", {"seconds": 60}),
    ("/_emulator/inbound/sms", {"from": "+46700000001", "to": "+46766861001", "text": "hi"}),
])
async def test_the_control_api_refuses_any_webhook_of_the_emulator(emulator, client, path, body):
    await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)  # something a reset would wipe
    before = world_state(emulator.engine)
    response = await client.post(path, json=body, headers=hop(1))
    assert response.status_code == 508
    assert response.json()["error"]["type"] == "LoopDetected"
    assert world_state(emulator.engine) == before


async def test_a_request_below_the_limit_is_served_and_its_deliveries_carry_one_more(emulator, client):
    await client.post("/api/hooks", data={"target_url": "http://hooks.test/dlr", "event_type": "dlr"}, headers=SEVEN_JSON)
    response = await client.post("/api/sms", json=SMS, headers={**SEVEN_JSON, **hop(MAX_HOPS - 1)})
    assert response.status_code == 200
    await client.post("/api/sms", json=AGAIN, headers=SEVEN_JSON)  # an ordinary request: hop 1
    await emulator.advance(60)
    hops = sorted({received.headers[HOP_HEADER] for received in emulator.receiver.to("http://hooks.test/dlr")})
    assert hops == ["1", str(MAX_HOPS)]


async def test_46elks_call_control_requests_carry_the_hop(emulator, client):
    """A call placed by a hop-2 request: its voice_start request is hop 3."""
    response = await client.post("/a1/Calls", auth=ELKS_AUTH, headers=hop(2), data={
        "from": "+46766861001", "to": "+46700000123", "voice_start": "http://hooks.test/start",
    })
    assert response.status_code == 200, response.text
    await emulator.advance(30)
    (start,) = emulator.receiver.to("http://hooks.test/start")
    assert start.headers[HOP_HEADER] == "3"


async def test_a_hook_back_into_the_same_app_stops_after_a_few_rounds():
    """A seven GET hook whose target sends an SMS through the emulator's own API: every status
    report of every message sends another (the probe doubled the messages every second)."""
    async with delivering_to_itself() as (engine, client):
        loop = f"http://emulator.test/api/sms?p={SEVEN_KEY}&to=%2B4917612345678&text=loop&no_reload=1"  # every round sends
        created = await client.post("/api/hooks", data={"target_url": loop, "event_type": "dlr", "request_method": "GET"},
                                    headers=SEVEN_JSON)
        assert created.status_code == 200
        await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
        counts = []
        for _ in range(8):
            await advance(engine, client, 30)
            counts.append(len(engine.store.messages))
        assert counts[-1] == counts[-5], f"messages still multiplying: {counts}"
        assert counts[-1] <= 1 + 2 + 4, counts  # two status reports per message, two generations of loop messages
        refused = [d for d in engine.store.deliveries if d.attempts and d.attempts[-1].status == 508]
        assert refused and all(d.headers[HOP_HEADER] == str(MAX_HOPS) and d.state == "failed" for d in refused)
        assert all(d.state != "pending" for d in engine.store.deliveries)


async def test_a_hook_to_the_control_api_in_the_same_app_does_not_reset():
    async with delivering_to_itself() as (engine, client):
        await client.post("/api/hooks", data={"target_url": "http://emulator.test/_emulator/reset", "event_type": "dlr"},
                          headers=SEVEN_JSON)
        await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
        balance = engine.store.accounts[SEVEN_ACCOUNT].balance
        await advance(engine, client, 30)
        assert len(engine.store.messages) == 1 and len(engine.store.hooks) == 1, "the world was reset by a webhook"
        assert engine.store.accounts[SEVEN_ACCOUNT].balance == balance
        deliveries = list(engine.store.deliveries)
        assert deliveries and all(d.attempts[0].status == 508 and d.state == "failed" for d in deliveries)


async def test_a_46elks_delivery_refused_as_a_loop_is_not_retried():
    """46elks retries every answer but 200-204 for hours; a delivery the emulator refused at the
    hop limit would only be refused again."""
    async with delivering_to_itself() as (engine, client):
        back = "http://emulator.test/a1/SMS"
        sent = await client.post("/a1/SMS", auth=ELKS_AUTH, data={**ELKS_SMS, "whendelivered": back}, headers=hop(MAX_HOPS - 1))
        assert sent.status_code == 200, sent.text
        for _ in range(3):
            await advance(engine, client, 600)
        reports = list(engine.store.deliveries)
        assert reports and all(d.headers[HOP_HEADER] == str(MAX_HOPS) for d in reports)
        assert all(d.state == "failed" and [a.status for a in d.attempts] == [508] for d in reports)


async def test_a_restored_message_reports_with_the_hop_of_the_request_that_created_it(emulator, client):
    """The hop count of records is part of the snapshot (`webhook_hops`): a message sent by a
    webhook's request (hop 2), saved and restored before its report, still reports at hop 3."""
    await client.post("/api/hooks", data={"target_url": "http://hooks.test/dlr", "event_type": "dlr"}, headers=SEVEN_JSON)
    webhook_sent = (await client.post("/api/sms", json=SMS, headers={**SEVEN_JSON, **hop(2)})).json()["messages"][0]["id"]
    ordinary = (await client.post("/api/sms", json=AGAIN, headers=SEVEN_JSON)).json()["messages"][0]["id"]
    saved = (await client.get("/_emulator/snapshot")).json()
    assert saved["webhook_hops"] == {webhook_sent: 2}  # an ordinary request's records need no entry
    assert (await client.post("/_emulator/reset")).status_code == 200
    assert (await client.put("/_emulator/snapshot", json=saved)).status_code == 200
    await emulator.advance(60)
    reports = {(received.form["data[msg_id]"], received.headers[HOP_HEADER]) for received in emulator.receiver.to("http://hooks.test/dlr")}
    assert reports == {(webhook_sent, "3"), (ordinary, "1")}


async def test_a_snapshot_naming_an_unknown_record_in_webhook_hops_is_refused_whole(emulator, client):
    saved = (await client.get("/_emulator/snapshot")).json()
    before = world_state(emulator.engine)
    response = await client.put("/_emulator/snapshot", json={**saved, "webhook_hops": {"77000000999": 2}})
    assert 400 <= response.status_code < 500
    assert "webhook_hops" in response.text
    assert world_state(emulator.engine) == before

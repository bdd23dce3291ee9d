"""Control API for driving the simulation: inbound SMS, outcome rules, waiting, events, clock/set."""

import asyncio

import pytest

from support import ELKS_AUTH


async def send_elks(client, to="+46700000123"):
    response = await client.post("/a1/SMS", data={"from": "ElkCo", "to": to, "message": "hi"}, auth=ELKS_AUTH)
    return response.json()


async def test_inbound_sms_is_stored_for_the_numbers_account(emulator, client):
    sent = await send_elks(client, to="+46701234567")
    response = await client.post("/_emulator/inbound/sms", json={"to": "+46766861001", "from": "+46701234567", "text": "Yes please"})
    assert response.status_code == 200
    body = response.json()
    assert (body["direction"], body["provider"], body["status"], body["from"], body["to"]) == (
        "inbound", "elks", "received", "+46701234567", "+46766861001",
    )
    assert body["attributes"]["reply_to"] == sent["id"]
    listed = (await client.get("/_emulator/messages", params={"direction": "inbound"})).json()["data"]
    assert [m["id"] for m in listed] == [body["id"]]
    seven = await client.post("/_emulator/inbound/sms", json={"to": "+4915799912345", "from": "+4917612345678", "text": "Hallo"})
    assert seven.json()["provider"] == "seven" and seven.json()["attributes"]["reply_to"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"to": "+46700009999", "from": "+46701234567", "text": "x"}, 404),  # nobody's number
        ({"to": "46766861001", "from": "+46701234567", "text": "x"}, 400),
        ({"from": "+46701234567", "text": "x"}, 400),
        ({"to": "+46766861001", "from": "+46701234567"}, 400),
    ],
)
async def test_bad_inbound(emulator, client, body, status):
    response = await client.post("/_emulator/inbound/sms", json=body)
    assert response.status_code == status and "error" in response.json()
    assert len(emulator.engine.store.messages) == 0


async def test_outcome_rule_added_at_run_time(emulator, client):
    rule = await client.post("/_emulator/outcomes", json={"match": "+46700000777", "status": "rejected", "final_after": 2})
    assert rule.status_code == 201 and rule.json()["status"] == "rejected"
    sent = await send_elks(client, to="+46700000777")
    other = await send_elks(client)
    await emulator.advance(2)
    assert emulator.engine.store.messages.get(sent["id"]).status == "rejected"
    assert emulator.engine.store.messages.get(other["id"]).status == "delivered"
    rules = (await client.get("/_emulator/outcomes")).json()["data"]
    assert rules[0]["match"] == "+46700000777"
    await client.post("/_emulator/reset")
    assert (await client.get("/_emulator/outcomes")).json()["data"][0]["match"] != "+46700000777"


@pytest.mark.parametrize(
    "body", [{}, {"match": "+1", "status": "vanished"}, {"match": "+1", "provider": "acme"}, {"match": "+1", "sent_after": -1}, {"match": "+1", "sent_after": 5, "final_after": 1}]
)
async def test_bad_outcome_rules(client, body):
    assert (await client.post("/_emulator/outcomes", json=body)).status_code == 400


@pytest.mark.parametrize("body", [b'{"match": "+1", "status": "delivered", "sent_after": NaN}', b'{"match": "+1", "final_after": 1e999}'])
async def test_numbers_json_does_not_have_are_refused(emulator, client, body):
    """Regression: Python's json reads NaN and 1e999 (infinity); the rule then broke the answer (500)."""
    rules = len(emulator.engine.lifecycle.rules)
    response = await client.post("/_emulator/outcomes", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "MalformedBody"
    assert len(emulator.engine.lifecycle.rules) == rules


async def test_wait_finds_an_event_that_already_happened(emulator, client):
    sent = await send_elks(client)
    await emulator.advance(1)
    response = await client.get("/_emulator/wait", params={"kind": "message.status", "id": sent["id"], "status": "delivered", "timeout": 0})
    assert response.status_code == 200
    event = response.json()["event"]
    assert (event["kind"], event["data"]["to"], event["provider"]) == ("message.status", "+46700000123", "elks")


async def test_wait_blocks_until_the_event_happens(emulator, client):
    sent = await send_elks(client)
    seen = emulator.engine.events.last_seq
    waiting = asyncio.create_task(
        client.get("/_emulator/wait", params={"kind": "message.status", "id": sent["id"], "status": "delivered", "after": seen, "timeout": 5})
    )
    await emulator.advance(1)
    response = await waiting
    assert response.status_code == 200
    event = response.json()["event"]
    assert event["data"]["status"] == "delivered" and event["seq"] > seen


async def test_wait_after_a_cursor_and_timeout(client):
    first = await send_elks(client)
    event = (await client.get("/_emulator/wait", params={"kind": "message.created", "timeout": 0})).json()["event"]
    assert event["data"]["id"] == first["id"]
    response = await client.get("/_emulator/wait", params={"kind": "message.created", "after": event["seq"], "timeout": 0.05})
    assert response.status_code == 408 and response.json()["error"]["type"] == "Timeout"
    second = await send_elks(client)
    found = (await client.get("/_emulator/wait", params={"kind": "message.created", "after": event["seq"]})).json()["event"]
    assert found["data"]["id"] == second["id"]


async def test_wait_on_webhook_attempts(emulator, client):
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x", "whendelivered": "http://hooks.test/w"}, auth=ELKS_AUTH)
    await emulator.advance(1)
    response = await client.get("/_emulator/wait", params={"kind": "webhook.attempt", "url": "http://hooks.test/w", "state": "delivered", "timeout": 1})
    assert response.json()["event"]["data"]["status"] == 200


@pytest.mark.parametrize("params", [{"after": "x"}, {"after": "²"}, {"timeout": "soon"}, {"timeout": "999"}])  # "²" once answered 500
async def test_bad_wait(client, params):
    assert (await client.get("/_emulator/wait", params=params)).status_code == 400


async def test_event_page(emulator, client):
    sent = await send_elks(client)
    await emulator.advance(1)
    body = (await client.get("/_emulator/events")).json()
    kinds = [(e["kind"], e["data"].get("status")) for e in body["data"] if e["data"].get("id") == sent["id"]]
    assert kinds == [("message.created", "created"), ("message.status", "sent"), ("message.status", "delivered")]
    assert body["last_seq"] == body["data"][-1]["seq"]
    later = (await client.get("/_emulator/events", params={"after": body["last_seq"]})).json()
    assert later["data"] == []


async def test_clock_set(emulator, client):
    await send_elks(client)
    response = await client.post("/_emulator/clock/set", json={"time": "2026-01-01T00:00:05Z"})
    assert response.json() == {"now": "2026-01-01T00:00:05.000000Z", "fired": 2}
    back = await client.post("/_emulator/clock/set", json={"time": "2026-01-01T00:00:01Z"})
    assert back.status_code == 400
    assert (await client.post("/_emulator/clock/set", json={"time": "later"})).status_code == 400

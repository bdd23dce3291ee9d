"""Validate, then mutate, on the control API: outcome rules, call rules, clock moves, injected
texts, nested JSON and event cursors are checked when they arrive and refused with a 400 that
names the field, changing nothing; afterwards both providers still send, charge once and render
every record."""

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, SEVEN_ACCOUNT, SEVEN_JSON, world_state

DEEP = "[" * 2_000 + "]" * 2_000


async def refused(client, method, path, field, **request):
    response = await client.request(method, path, **request)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "InvalidParameter"
    assert response.json()["error"]["message"].startswith(f"Invalid {field}:"), response.text
    return response


async def sends_work(emulator, client):
    """A send on each provider answers 200, is charged exactly once and is delivered."""
    elks_before, seven_before = emulator.balance(ELKS_ACCOUNT), emulator.balance(SEVEN_ACCOUNT)
    elks = await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)
    seven = await client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=SEVEN_JSON)
    assert elks.status_code == 200 and seven.status_code == 200, (elks.text, seven.text)
    assert emulator.balance(ELKS_ACCOUNT) == elks_before - elks.json()["cost"]
    assert emulator.balance(SEVEN_ACCOUNT) == seven_before - round(seven.json()["total_price"] * 10_000)
    await emulator.advance(5)
    messages = (await client.get("/_emulator/messages")).json()["data"]
    assert {m["id"]: m["status"] for m in messages[:2]} == {elks.json()["id"]: "delivered", seven.json()["messages"][0]["id"]: "delivered"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"match": "re:([", "status": "failed"}, "match"),
        ({"match": "re:(?P<x", "status": "failed"}, "match"),
        ({"match": "*", "sent_after": 1e308, "final_after": 1e308}, "sent_after"),
        ({"match": "*", "final_after": 1e308}, "final_after"),
        ({"match": "*", "sent_after": 400 * 86_400, "final_after": 400 * 86_400}, "sent_after"),
        ({"match": "*", "sent_after": 5, "final_after": 1}, "final_after"),
        ({"match": "*", "sent_after": "1"}, "sent_after"),
        ({"match": "*", "buffered": "yes"}, "buffered"),
        ({"match": "*", "status": "vanished"}, "status"),
    ],
)
async def test_a_bad_outcome_rule_is_refused_and_sends_still_work(emulator, client, body, field):
    before = world_state(emulator.engine)
    await refused(client, "POST", "/_emulator/outcomes", field, json=body)
    assert world_state(emulator.engine) == before
    await sends_work(emulator, client)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"match": "re:(", "status": "busy"}, "match"),
        ({"match": "re:([", "status": "busy"}, "match"),
        ({"match": "*", "ring_time": 1e308}, "ring_time"),
        ({"match": "*", "talk_time": 1e308}, "talk_time"),
        ({"match": "*", "digits_after": 1e308}, "digits_after"),
    ],
)
async def test_a_bad_call_rule_is_refused_and_calls_still_work(emulator, client, body, field):
    before = world_state(emulator.engine)
    await refused(client, "POST", "/_emulator/call-outcomes", field, json=body)
    assert world_state(emulator.engine) == before
    placed = await client.post("/api/voice", json={"to": "+4917612345678", "text": "Hallo", "from": "+4915799912345"}, headers=SEVEN_JSON)
    assert placed.status_code == 200, placed.text
    await emulator.advance(120)
    assert [call["status"] for call in (await client.get("/_emulator/calls")).json()["data"]] == ["ended"]


async def test_the_longest_delays_allowed_still_work(emulator, client):
    added = await client.post("/_emulator/outcomes", json={"match": "+4917612345678", "sent_after": 366 * 86_400, "final_after": 366 * 86_400})
    assert added.status_code == 201, added.text
    await client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=SEVEN_JSON)
    await emulator.advance(366 * 86_400)
    assert (await client.get("/_emulator/messages")).json()["data"][0]["status"] == "delivered"


@pytest.mark.parametrize("time", ["9999-12-31T23:00:00Z", "9000-01-01T00:00:00.000001Z", "1969-12-31T23:59:59Z"])
async def test_clock_set_outside_the_valid_range_is_refused(emulator, client, time):
    before = world_state(emulator.engine)
    response = await refused(client, "POST", "/_emulator/clock/set", "time", json={"time": time})
    assert "9000-01-01T00:00:00Z" in response.json()["error"]["message"]
    assert world_state(emulator.engine) == before


async def test_the_clock_reaches_the_end_of_its_range_and_no_further(emulator, client):
    """Set to an hour before the end, advance to the end, then a further second is refused:
    health, reset, lists and sends keep answering (they answered 500 until restart when the
    clock went past the year 9999)."""
    assert (await client.post("/_emulator/clock/set", json={"time": "8999-12-31T23:00:00Z"})).status_code == 200
    moved = await client.post("/_emulator/clock/advance", json={"seconds": 3600})
    assert moved.status_code == 200 and moved.json()["now"] == "9000-01-01T00:00:00.000000Z"
    await refused(client, "POST", "/_emulator/clock/advance", "seconds", json={"seconds": 1})
    await refused(client, "POST", "/_emulator/clock/advance", "seconds", json={"seconds": 7200})
    assert (await client.get("/_emulator/health")).json()["now"] == "9000-01-01T00:00:00.000000Z"
    elks = await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)
    assert elks.status_code == 200 and elks.json()["created"].startswith("9000-01-01T00:00:00")
    assert (await client.get("/_emulator/messages")).status_code == 200
    assert (await client.get("/a1/SMS", auth=ELKS_AUTH)).status_code == 200
    assert (await client.get("/api/journal/outbound", headers=SEVEN_JSON)).status_code == 200
    assert (await client.get("/_emulator/snapshot")).status_code == 200
    assert (await client.post("/_emulator/reset")).status_code == 200


async def test_an_injected_text_with_a_lone_surrogate_is_refused(emulator, client):
    before = world_state(emulator.engine)
    await refused(
        client, "POST", "/_emulator/inbound/sms", "text",
        content=b'{"to": "+4915799912345", "from": "+4917612345678", "text": "x\\ud800"}', headers={"Content-Type": "application/json"},
    )
    assert world_state(emulator.engine) == before
    assert (await client.get("/_emulator/messages")).json()["data"] == []


@pytest.mark.parametrize(("method", "path"), [("POST", "/_emulator/outcomes"), ("PUT", "/_emulator/snapshot"), ("POST", "/_emulator/inbound/sms")])
async def test_json_nested_2000_deep_is_refused(emulator, client, method, path):
    before = world_state(emulator.engine)
    response = await client.request(method, path, content='{"match": "*", "x": ' + DEEP + "}", headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {"type": "MalformedBody", "message": "Malformed request body: invalid JSON: nested deeper than 64 levels"}
    assert world_state(emulator.engine) == before


@pytest.mark.parametrize("after", ["9" * 5_000, "9" * 20, str(2**63)])
async def test_an_event_cursor_beyond_any_seq_is_refused(client, after):
    await refused(client, "GET", "/_emulator/events", "after", params={"after": after})
    await refused(client, "GET", "/_emulator/wait", "after", params={"after": after, "timeout": "0"})


async def test_the_largest_event_cursor_is_read(client):
    response = await client.get("/_emulator/events", params={"after": str(2**63 - 1)})
    assert response.status_code == 200 and response.json()["data"] == []


@pytest.mark.parametrize("path", ["/_emulator/messages", "/_emulator/webhooks", "/_emulator/calls"])
async def test_a_list_cursor_of_5000_digits_is_refused(client, path):
    await refused(client, "GET", path, "cursor", params={"cursor": "9" * 5_000})


async def test_a_fault_id_of_5000_digits_is_not_found(client):
    response = await client.delete("/_emulator/faults/" + "9" * 5_000)
    assert response.status_code == 404 and response.json()["error"]["type"] == "NotFound"

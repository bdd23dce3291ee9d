"""Call outcome rules added at run time decide what a called number does, until the next reset."""

import pytest

from support import SEVEN_JSON


async def test_rule_makes_a_number_busy_then_reset_forgets_it(emulator, client):
    added = await client.post("/_emulator/call-outcomes", json={"match": "+4917612345678", "status": "busy", "ring_time": 2})
    assert added.status_code == 201 and added.json()["status"] == "busy"
    await client.post("/api/voice", json={"to": "+4917612345678", "text": "Hallo", "from": "+4915799912345"}, headers=SEVEN_JSON)
    await emulator.advance(5)
    calls = (await client.get("/_emulator/calls")).json()["data"]
    assert [c["status"] for c in calls] == ["busy"]
    assert (await client.get("/_emulator/call-outcomes")).json()["data"][0]["match"] == "+4917612345678"
    await client.post("/_emulator/reset")
    rules = (await client.get("/_emulator/call-outcomes")).json()["data"]
    assert all(rule["match"] != "+4917612345678" for rule in rules)


async def test_rule_with_digits(emulator, client):
    await client.post("/_emulator/call-outcomes", json={"match": "+4917600000077", "digits": "42", "talk_time": 30})
    rules = (await client.get("/_emulator/call-outcomes")).json()
    assert rules["data"][0]["digits"] == "42" and rules["default"]["status"] == "answered"


@pytest.mark.parametrize(
    "body",
    [{}, {"match": "+1", "status": "maybe"}, {"match": "+1", "digits": "12x"}, {"match": "+1", "ring_time": -1}, {"match": "+1", "provider": "acme"}, {"match": "+1", "talk_time": "long"}],
)
async def test_bad_rules(emulator, client, body):
    before = len(emulator.engine.calls.rules)
    assert (await client.post("/_emulator/call-outcomes", json=body)).status_code == 400
    assert len(emulator.engine.calls.rules) == before

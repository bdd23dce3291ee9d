"""seven.io scheduled SMS: `delay` holds a message until the clock reaches it; `DELETE /api/sms`
cancels it before then and refunds it."""

import itertools

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY

START = 1_767_225_600  # 2026-01-01T00:00:00Z
_texts = (f"later {n}" for n in itertools.count())  # each its own text: no repeat meets the reload lock


async def schedule(client, delay, to="+4917612345678"):
    body = (await client.post("/api/sms", json={"to": to, "text": next(_texts), "delay": delay}, headers=SEVEN_JSON)).json()
    return body["messages"][0]["id"]


async def status(client, message_id):
    return (await client.get("/api/status", params={"msg_id": message_id}, headers=SEVEN_JSON)).json()[0]["status"]


@pytest.mark.parametrize("delay", [str(START + 3600), START + 3600, str((START + 3600) * 1000), "2026-01-01 01:00:00", "2026-01-01 01:00"])
async def test_delay_holds_the_message_until_its_time(emulator, client, delay):
    await client.post("/api/hooks", data={"target_url": "http://hooks.test/dlr", "event_type": "dlr"}, headers=SEVEN_JSON)
    message_id = await schedule(client, delay)
    await emulator.advance(3599)
    assert await status(client, message_id) is None  # no report before it is sent (reference 5.1)
    assert emulator.receiver.requests == []
    await emulator.advance(2)
    assert await status(client, message_id) == "DELIVERED"
    assert [r.form["data[status]"] for r in emulator.receiver.requests] == ["TRANSMITTED", "DELIVERED"]


async def test_cancel_before_sending_refunds_and_forgets(emulator, client):
    before = emulator.balance(SEVEN_ACCOUNT)
    keep, cancel = await schedule(client, START + 60), await schedule(client, START + 60)
    assert emulator.balance(SEVEN_ACCOUNT) == before - 1500
    response = await client.request("DELETE", "/api/sms", json={"ids": [cancel]}, headers=SEVEN_JSON)
    assert response.json() == {"success": True, "deleted": [cancel]}
    assert emulator.balance(SEVEN_ACCOUNT) == before - 750
    await emulator.advance(120)
    assert await status(client, keep) == "DELIVERED"
    missing = await client.get("/api/status", params={"msg_id": cancel}, headers=SEVEN_JSON)
    assert missing.status_code == 404


async def test_cancel_takes_every_id_form(client):
    ids = [await schedule(client, START + 60) for _ in range(4)]
    response = await client.request("DELETE", "/api/sms", data={"ids[0]": ids[0], "ids[1]": ids[1]}, headers=SEVEN_JSON)
    assert response.json()["deleted"] == ids[:2]
    response = await client.request("DELETE", "/api/sms", params={"ids": f"{ids[2]},{ids[3]}"}, headers=SEVEN_JSON)
    assert response.json()["deleted"] == ids[2:]


async def test_nothing_to_cancel(emulator, client):
    sent = await schedule(client, None)
    mine_later = await schedule(client, START + 60)
    other = await client.request("DELETE", "/api/sms", json={"ids": [mine_later]}, headers={"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"})
    assert other.json() == {"success": False, "deleted": []}
    response = await client.request("DELETE", "/api/sms", json={"ids": [sent, "12345"]}, headers=SEVEN_JSON)
    assert response.json() == {"success": False, "deleted": []}
    missing = await client.request("DELETE", "/api/sms", json={}, headers=SEVEN_JSON)
    assert missing.status_code == 400


async def test_delay_in_the_past_sends_now_and_bad_delay_is_refused(emulator, client):
    message_id = await schedule(client, START - 10)
    await emulator.advance(1)
    assert await status(client, message_id) == "DELIVERED"
    response = await client.post("/api/sms", json={"to": "+4917612345678", "text": "x", "delay": "next tuesday"}, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json() == 700


async def test_delay_of_non_ascii_digits_is_refused_not_a_crash(emulator, client):
    """Regression: `"²".isdigit()` is true but `int("²")` fails; such a delay answered 500."""
    before = emulator.engine.store.accounts[SEVEN_ACCOUNT].balance
    for delay in ("²", "1²"):
        response = await client.post("/api/sms", data={"to": "+4917612345678", "text": "x", "delay": delay}, headers=SEVEN_JSON)
        assert response.status_code == 400 and response.json() == 700
    assert len(emulator.engine.store.messages) == 0
    assert emulator.engine.store.accounts[SEVEN_ACCOUNT].balance == before


async def test_cancel_with_non_ascii_digit_ids_is_refused(emulator, client):
    scheduled = await schedule(client, START + 60)
    response = await client.request("DELETE", "/api/sms", data={"ids": "²"}, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json() == 700
    assert emulator.engine.store.messages.get(scheduled) is not None

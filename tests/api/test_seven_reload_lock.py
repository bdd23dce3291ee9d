"""seven.io's reload lock (reference 3, 4.1 `no_reload`, 9): the same text, type and recipient
within 180 s is refused with return code 402, charging and storing nothing, unless `no_reload=1`
or the account has the lock switched off; time is the emulator's clock."""

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_KEY, Emulator, Receiver, make_engine, running_emulator, world_state

SMS = {"to": "+4917612345678", "text": "Your code is 1234"}


async def test_a_repeat_within_180_seconds_is_refused_and_changes_nothing(emulator, client):
    first = await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
    assert first.status_code == 200 and first.json()["success"] == "100"
    before, balance = world_state(emulator.engine), emulator.balance(SEVEN_ACCOUNT)
    again = await client.post("/api/sms", json={**SMS, "to": "004917612345678"}, headers=SEVEN_JSON)  # same number, other spelling
    assert (again.status_code, again.json()) == (409, 402)
    plain = await client.post("/api/sms", data=SMS, headers={"X-Api-Key": SEVEN_KEY})
    assert (plain.status_code, plain.text) == (409, "402")
    assert emulator.balance(SEVEN_ACCOUNT) == balance and world_state(emulator.engine) == before
    assert len(emulator.engine.store.messages) == 1


async def test_the_lock_follows_the_virtual_clock(emulator, client):
    assert (await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).status_code == 200
    await emulator.advance(179)
    assert (await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).json() == 402
    await emulator.advance(1)
    response = await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
    assert response.status_code == 200 and response.json()["success"] == "100"
    assert (await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).json() == 402  # locked again from the new send


@pytest.mark.parametrize("flag", ["1", "true", True, 1])
async def test_no_reload_sends_the_repeat(emulator, client, flag):
    await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
    response = await client.post("/api/sms", json={**SMS, "no_reload": flag}, headers=SEVEN_JSON)
    assert response.status_code == 200 and response.json()["messages"][0]["success"] is True
    assert len(emulator.engine.store.messages) == 2


@pytest.mark.parametrize("change", [{"text": "Your code is 1235"}, {"to": "+4917612345679"}, {"type": "economy"}])
async def test_another_text_recipient_or_type_is_no_repeat(client, change):
    await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
    response = await client.post("/api/sms", json={**SMS, **change}, headers=SEVEN_JSON)
    assert response.status_code == 200 and response.json()["success"] == "100"


async def test_one_locked_recipient_refuses_the_whole_request(emulator, client):
    await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
    response = await client.post("/api/sms", json={**SMS, "to": "+4915123456789,+4917612345678"}, headers=SEVEN_JSON)
    assert response.json() == 402 and len(emulator.engine.store.messages) == 1


async def test_a_cancelled_scheduled_message_locks_nothing(client):
    body = (await client.post("/api/sms", json={**SMS, "delay": 1_767_229_200}, headers=SEVEN_JSON)).json()
    message_id = body["messages"][0]["id"]
    deleted = await client.request("DELETE", "/api/sms", json={"ids": [message_id]}, headers=SEVEN_JSON)
    assert deleted.json()["deleted"] == [message_id]
    assert (await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).json()["success"] == "100"


async def test_the_lock_survives_a_snapshot_restore(client):
    await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)
    saved = (await client.get("/_emulator/snapshot")).json()
    assert (await client.post("/_emulator/reset")).status_code == 200
    assert (await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).json()["success"] == "100"  # reset: a new world
    assert (await client.post("/_emulator/reset")).status_code == 200
    assert (await client.put("/_emulator/snapshot", json=saved)).status_code == 200
    assert (await client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).json() == 402


async def test_an_account_without_the_lock(tmp_path):
    fixtures = tmp_path / "unlocked.yaml"
    fixtures.write_text(
        "extends: default\nseven:\n  accounts:\n    - {id: '42', api_key: bulk_key, balance: 100000, reload_lock: false}\n"
    )
    async with running_emulator(make_engine(fixtures=str(fixtures)), Receiver()) as emulator:
        emulator: Emulator
        headers = {"X-Api-Key": "bulk_key", "Accept": "application/json"}
        for _ in range(2):
            response = await emulator.client.post("/api/sms", json=SMS, headers=headers)
            assert response.status_code == 200 and response.json()["success"] == "100"
        assert (await emulator.client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).status_code == 200
        assert (await emulator.client.post("/api/sms", json=SMS, headers=SEVEN_JSON)).json() == 402

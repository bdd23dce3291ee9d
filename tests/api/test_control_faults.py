"""Injected faults: errors in each provider's shape, Retry-After, counts, fractions, delays, reset."""

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, SEVEN_JSON

SMS = {"from": "ElkCo", "to": "+46700000123", "message": "hi"}


async def test_next_n_requests_get_429_with_retry_after(emulator, client):
    fault = await client.post("/_emulator/faults", json={"provider": "elks", "path": "/SMS", "method": "POST", "status": 429, "count": 2})
    assert fault.status_code == 201 and fault.json()["retry_after"] == 1
    before = emulator.balance(ELKS_ACCOUNT)
    for _ in range(2):
        response = await client.post("/a1/sms", data=SMS, auth=ELKS_AUTH)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert emulator.balance(ELKS_ACCOUNT) == before and len(emulator.engine.store.messages) == 0
    assert (await client.post("/a1/SMS", data=SMS, auth=ELKS_AUTH)).status_code == 200
    assert (await client.get("/_emulator/faults")).json()["data"][0]["fired"] == 2


async def test_filters_by_provider_method_and_path(client):
    await client.post("/_emulator/faults", json={"provider": "seven", "path": "/sms", "status": 503, "count": 5})
    assert (await client.get("/api/balance", headers=SEVEN_JSON)).status_code == 200
    assert (await client.post("/a1/SMS", data=SMS, auth=ELKS_AUTH)).status_code == 200
    response = await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=SEVEN_JSON)
    assert response.status_code == 503 and response.json()["success"] is False
    assert "retry-after" not in response.headers


async def test_fraction_is_seeded_and_repeatable(client):
    async def pattern():
        await client.post("/_emulator/reset")
        await client.post("/_emulator/faults", json={"provider": "seven", "path": "/balance", "status": 500, "fraction": 0.5})
        return [(await client.get("/api/balance", headers=SEVEN_JSON)).status_code for _ in range(20)]

    first = await pattern()
    assert set(first) == {200, 500}
    assert await pattern() == first


async def test_delay_then_normal_answer(emulator, client):
    await client.post("/_emulator/faults", json={"kind": "delay", "delay": 0.01, "provider": "elks"})
    response = await client.get("/a1/me", auth=ELKS_AUTH)
    assert response.status_code == 200
    event = (await client.get("/_emulator/wait", params={"kind": "fault.injected", "timeout": 0})).json()["event"]
    assert event["data"]["fault_kind"] == "delay" and event["data"]["path"] == "/a1/me"


async def test_delete_one_clear_all_and_reset(client):
    first = (await client.post("/_emulator/faults", json={"status": 500, "count": 100})).json()
    await client.post("/_emulator/faults", json={"status": 502, "count": 100})
    assert (await client.delete(f"/_emulator/faults/{first['id']}")).json() == {"deleted": first["id"]}
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).status_code == 502
    assert (await client.delete(f"/_emulator/faults/{first['id']}")).status_code == 404
    await client.delete("/_emulator/faults")
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).status_code == 200
    await client.post("/_emulator/faults", json={"status": 500, "count": 100})
    await client.post("/_emulator/reset")
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).status_code == 200
    assert (await client.get("/_emulator/health")).status_code == 200  # the control API is never faulted


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"status": 200},
        {"status": "500"},
        {"provider": "acme"},
        {"path": "sms"},
        {"count": 0},
        {"fraction": 2},
        {"count": 1, "fraction": 0.5},
        {"kind": "delay"},
        {"delay": 600, "kind": "delay"},
    ],
)
async def test_bad_faults(emulator, client, body):
    assert (await client.post("/_emulator/faults", json=body)).status_code == 400
    assert emulator.engine.faults.rules == []


async def test_deleting_a_fault_by_a_non_ascii_digit_id_is_not_found(emulator, client):
    """Regression: `"²".isdigit()` is true but `int("²")` fails; the delete answered 500."""
    await client.post("/_emulator/faults", json={"status": 500, "count": 1})
    response = await client.delete("/_emulator/faults/²")
    assert response.status_code == 404 and response.json()["error"]["type"] == "NotFound"
    assert len(emulator.engine.faults.rules) == 1


async def test_a_body_that_is_not_json_adds_no_fault(emulator, client):
    """Regression: a body of non-JSON whitespace (`\\x0b`) was read as no body: a default 503 rule."""
    response = await client.post("/_emulator/faults", content=b"\x0b", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "MalformedBody"
    assert emulator.engine.faults.rules == []
    assert (await client.post("/_emulator/faults", content=b" \n", headers={"Content-Type": "application/json"})).status_code == 201

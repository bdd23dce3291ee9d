"""Snapshots: export the whole state, import it into a fresh emulator, resume what was in flight;
a corrupt snapshot is refused and changes nothing."""

import json

import httpx
import pytest

from emulator.app import create_app
from emulator.settings import Settings
from support import ELKS_AUTH, SEVEN_JSON, VIRTUAL_START, Receiver, make_engine


async def fresh_emulator():
    engine = make_engine()
    receiver = Receiver()
    engine.outbox.transport = httpx.MockTransport(receiver.handle)
    app = create_app(Settings(clock="virtual", clock_start=VIRTUAL_START), engine=engine)
    return engine, receiver, app


async def test_export_import_round_trip_and_resume(emulator, client):
    await client.post("/api/hooks", json={"target_url": "http://hooks.test/s", "event_type": "dlr", "request_method": "JSON"}, headers=SEVEN_JSON)
    sent = (await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "kept", "whendelivered": "http://hooks.test/e"}, auth=ELKS_AUTH)).json()
    seven = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "seven"}, headers=SEVEN_JSON)).json()
    await client.post("/api/contacts", data={"firstname": "Ada", "lastname": "L", "mobile_number": "+4917612345678"}, headers=SEVEN_JSON)
    await emulator.advance(0.5)  # both sent, not yet delivered
    snapshot = (await client.get("/_emulator/snapshot")).json()
    assert snapshot["format"] == "telco-emulator-snapshot/1"

    engine, receiver, app = await fresh_emulator()
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as other:
            response = await other.put("/_emulator/snapshot", content=json.dumps(snapshot))
            assert response.status_code == 200 and response.json()["messages"] == 2
            stored = (await other.get(f"/a1/SMS/{sent['id']}", auth=ELKS_AUTH)).json()
            assert stored["status"] == "sent" and stored["message"] == "kept"
            assert (await other.get("/a1/me", auth=ELKS_AUTH)).json()["balance"] == 10_000_000 - 3500
            assert len((await other.get("/api/hooks", headers=SEVEN_JSON)).json()["hooks"]) == 1
            assert (await other.get("/api/contacts", headers=SEVEN_JSON)).json()["pagingMetadata"]["total"] == 1
            # What was in flight goes on: both messages reach delivered, with their reports.
            await other.post("/_emulator/clock/advance", json={"seconds": 1})
            assert await engine.outbox.drain()
            assert (await other.get(f"/a1/SMS/{sent['id']}", auth=ELKS_AUTH)).json()["status"] == "delivered"
            status = (await other.get("/api/status", params={"msg_id": seven["messages"][0]["id"]}, headers=SEVEN_JSON)).json()
            assert status[0]["status"] == "DELIVERED"
            assert {r.url.split("?")[0] for r in receiver.requests} == {"http://hooks.test/e", "http://hooks.test/s"}
            # New ids continue after the restored ones.
            again = (await other.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "new"}, auth=ELKS_AUTH)).json()
            assert again["id"] not in {sent["id"]}
            events = (await other.get("/_emulator/events")).json()
            assert events["data"][0]["seq"] > snapshot["event_seq"]


async def test_scheduled_message_survives_a_snapshot(emulator, client):
    sms = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "later", "delay": 1_767_225_600 + 60}, headers=SEVEN_JSON)).json()
    snapshot = (await client.get("/_emulator/snapshot")).json()
    engine, _, app = await fresh_emulator()
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as other:
            await other.put("/_emulator/snapshot", json=snapshot)
            cancel = await other.request("DELETE", "/api/sms", json={"ids": [sms["messages"][0]["id"]]}, headers=SEVEN_JSON)
            assert cancel.json()["success"] is True


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"format": "something else"}',
        b'{"format": "telco-emulator-snapshot/1"}',
        b'{"format": "telco-emulator-snapshot/1", "store": {"accounts": [{"__dc__": "os:system", "fields": {}}]}, "ids": {}}',
    ],
)
async def test_corrupt_snapshot_changes_nothing(emulator, client, body):
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x"}, auth=ELKS_AUTH)
    before = (await client.get("/_emulator/messages")).json()
    response = await client.put("/_emulator/snapshot", content=body)
    assert response.status_code == 400 and "error" in response.json()
    assert (await client.get("/_emulator/messages")).json() == before
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).json()["balance"] == 10_000_000 - 3500

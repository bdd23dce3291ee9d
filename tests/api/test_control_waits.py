"""`GET /_emulator/wait` and `GET /_emulator/events` in-process: the per-process limits answer 429
in the control API's error shape, and event pages take the same filters as waits."""

from __future__ import annotations

import asyncio

from support import ELKS_AUTH, until


async def send(client, to: str) -> dict:
    response = await client.post("/a1/SMS", data={"from": "ElkCo", "to": to, "message": "hi"}, auth=ELKS_AUTH)
    assert response.status_code == 200
    return response.json()


async def test_waits_beyond_the_limit_are_refused_with_429(emulator, client):
    emulator.engine.events.max_waits = 2
    held = [asyncio.ensure_future(client.get("/_emulator/wait", params={"id": f"never{i}", "timeout": 5})) for i in range(2)]
    assert await until(lambda: emulator.engine.events.waits == 2)
    refused = await client.get("/_emulator/wait", params={"id": "never", "timeout": 5})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["type"] == "TooBusy" and "at most 2" in refused.json()["error"]["message"]
    sms = await send(client, "+46700000123")  # the held waits are not for it
    assert emulator.engine.events.waits == 2
    for wait in held:
        wait.cancel()
    await asyncio.gather(*held, return_exceptions=True)
    assert await until(lambda: emulator.engine.events.waits == 0)
    found = await client.get("/_emulator/wait", params={"id": sms["id"], "timeout": 1})
    assert found.status_code == 200 and found.json()["event"]["data"]["id"] == sms["id"]


async def test_streams_beyond_the_limit_are_refused_with_429(emulator, client):
    emulator.engine.events.max_streams = 0
    refused = await client.get("/_emulator/events", headers={"Accept": "text/event-stream"})
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "TooBusy"


async def test_event_pages_take_the_filters_of_waits(emulator, client):
    first = await send(client, "+46700000123")
    await send(client, "+46700000124")
    page = (await client.get("/_emulator/events", params={"kind": "message.*", "to": "46700000123"})).json()
    assert [event["data"]["id"] for event in page["data"]] == [first["id"]]
    created = (await client.get("/_emulator/events", params={"kind": "message.created", "limit": 1})).json()
    assert len(created["data"]) == 1 and created["data"][0]["data"]["id"] == first["id"]


async def test_after_with_thousands_of_digits_is_refused(client):
    response = await client.get("/_emulator/events", params={"after": "9" * 5000})
    assert response.status_code == 400 and response.json()["error"]["type"] == "InvalidParameter"
    response = await client.get("/_emulator/wait", params={"after": "9" * 5000, "timeout": 0})
    assert response.status_code == 400

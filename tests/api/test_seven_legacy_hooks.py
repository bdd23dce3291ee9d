"""seven.io's legacy hook actions (reference 6.1): `GET` or `POST /api/hooks?action=read|subscribe|
unsubscribe` with the same fields and the same answers as the REST forms."""

import pytest

from support import SEVEN_JSON, world_state

HOOK = {"target_url": "https://example.com/hook", "event_type": "dlr"}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_subscribe_read_unsubscribe(emulator, client, method):
    def call(action, **fields):
        values = {"action": action, **fields}
        if method == "GET":
            return client.get("/api/hooks", params=values, headers=SEVEN_JSON)
        return client.post("/api/hooks", data=values, headers=SEVEN_JSON)

    created = (await call("subscribe", **HOOK, request_method="JSON")).json()
    assert created["success"] is True and isinstance(created["id"], int)
    listed = (await call("read")).json()
    assert listed["success"] is True and listed["code"] is None
    assert [(h["id"], h["target_url"], h["request_method"]) for h in listed["hooks"]] == [(str(created["id"]), HOOK["target_url"], "JSON")]
    assert (await call("unsubscribe", id=created["id"])).json() == {"success": True}
    assert (await call("read")).json()["hooks"] == []
    assert len(emulator.engine.store.hooks) == 0


async def test_action_in_the_query_of_a_post(client):
    created = (await client.post("/api/hooks", params={"action": "subscribe", **HOOK}, headers=SEVEN_JSON)).json()
    assert created["success"] is True
    gone = await client.post("/api/hooks", params={"action": "unsubscribe", "id": created["id"]}, headers=SEVEN_JSON)
    assert gone.json() == {"success": True}


@pytest.mark.parametrize(("method", "values", "status", "message"), [
    ("GET", {"action": "unsubscribe", "id": "999"}, 404, "hook '999' not found"),
    ("POST", {"action": "unsubscribe"}, 400, "Missing key id"),
    ("GET", {"action": "subscribe", "event_type": "dlr"}, 400, "Missing key target_url"),
    ("POST", {"action": "delete", "id": "1"}, 400, "Invalid action: expected read, subscribe or unsubscribe"),
])
async def test_refused_actions_change_nothing(emulator, client, method, values, status, message):
    await client.post("/api/hooks", data=HOOK, headers=SEVEN_JSON)
    before = world_state(emulator.engine)
    if method == "GET":
        response = await client.get("/api/hooks", params=values, headers=SEVEN_JSON)
    else:
        response = await client.post("/api/hooks", data=values, headers=SEVEN_JSON)
    assert response.status_code == status
    assert response.json()["success"] is False and response.json()["error_message"] == message
    assert world_state(emulator.engine) == before

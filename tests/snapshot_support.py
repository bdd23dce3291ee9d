"""A world with every kind of record a snapshot holds, built through the public APIs, and a
receiver that fails the webhooks sent to `/fail` (so a delivery stays pending with a retry due)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from support import ELKS_AUTH, SEVEN_JSON, Receiver

START_SECONDS = 1_767_225_600  # 2026-01-01T00:00:00Z
SCHEDULED_SECONDS = START_SECONDS + 3600
FAILING_HOOK = "http://hooks.test/fail"


@dataclass
class FailingReceiver(Receiver):
    """Answers 500 to `/fail`, 200 to everything else."""

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        from support import Received

        self.requests.append(Received(request.method, str(request.url), request.headers, body))
        return httpx.Response(500 if request.url.path == "/fail" else 200, text="ok")


def png_uri() -> str:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def ok(response: Any) -> dict[str, Any]:
    response = await response
    assert response.status_code in (200, 201), (response.request.url, response.status_code, response.text)
    return response.json() if response.content else {}


async def build_world(client: httpx.AsyncClient, advance) -> dict[str, Any]:
    """Every kind of record: returns the ids a test checks afterwards."""
    made: dict[str, Any] = {}
    # Rules and faults.
    await ok(client.post("/_emulator/outcomes", json={"match": "+46700000999", "status": "failed"}))
    await ok(client.post("/_emulator/call-outcomes", json={"match": "+46700000998", "status": "busy"}))
    await ok(client.post("/_emulator/faults", json={"provider": "elks", "path": "/nowhere", "status": 503, "count": 3}))
    # Sandboxes, subaccounts, numbers (one allocated and given back).
    made["sandbox"] = (await ok(client.post("/_emulator/sandboxes", json={"name": "kept"})))["id"]
    made["subaccount"] = (await ok(client.post("/a1/subaccounts", data={"name": "Shop"}, auth=ELKS_AUTH)))["id"]
    number = await ok(client.post("/a1/numbers", data={"country": "se"}, auth=ELKS_AUTH))
    await ok(client.post(f"/a1/numbers/{number['id']}", data={"active": "no"}, auth=ELKS_AUTH))
    # seven.io: a hook, a group and a contact in it, a lookup, a caller id, an access token.
    await ok(client.post("/api/hooks", json={"target_url": "http://hooks.test/s", "event_type": "dlr", "request_method": "JSON"}, headers=SEVEN_JSON))
    group = await ok(client.post("/api/groups", json={"name": "Friends"}, headers=SEVEN_JSON))
    await ok(client.post("/api/contacts", data={"firstname": "Ada", "lastname": "L", "mobile_number": "+4917612345678", "groups": str(group["id"])}, headers=SEVEN_JSON))
    await ok(client.get("/api/lookup/format", params={"number": "+4917612345678"}, headers=SEVEN_JSON))
    await ok(client.post("/api/validate_for_voice", data={"number": "+4917699999999"}, headers=SEVEN_JSON))
    made["token"] = (await ok(client.post("/_emulator/seven/tokens", json={"account": "1000001", "scopes": ["sms", "balance"]})))["token"]
    # Messages: delivered, in flight, scheduled, inbound, an MMS with an image.
    made["elks_sms"] = (await ok(client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "kept", "whendelivered": "http://hooks.test/e"}, auth=ELKS_AUTH)))["id"]
    made["failing_sms"] = (await ok(client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000124", "message": "retry", "whendelivered": FAILING_HOOK}, auth=ELKS_AUTH)))["id"]
    made["mms"] = (await ok(client.post("/a1/MMS", data={"from": "+46766861001", "to": "+46700000125", "message": "pic", "image": png_uri()}, auth=ELKS_AUTH)))["id"]
    made["scheduled"] = (await ok(client.post("/api/sms", json={"to": "+4917612345678", "text": "later", "delay": SCHEDULED_SECONDS}, headers=SEVEN_JSON)))["messages"][0]["id"]
    await ok(client.post("/_emulator/inbound/sms", json={"to": "+46766861001", "from": "+46701234567", "text": "Yes please \N{SMILING FACE WITH SMILING EYES}"}))
    # A call that records, run to its end.
    call = await ok(client.post("/a1/calls", data={"from": "+46766861001", "to": "+46701234567", "voice_start": json.dumps({"record": "http://hooks.test/rec", "timelimit": 2})}, auth=ELKS_AUTH))
    made["call"] = call["id"]
    await advance(30)  # the call has ended, the SMS are delivered, the failing report waits for its retry
    made["seven_sms"] = (await ok(client.post("/api/sms", json={"to": "+4917612345679", "text": "in flight"}, headers=SEVEN_JSON)))["messages"][0]["id"]
    await advance(0.5)  # sent, not yet delivered
    return made


def without_event_cursor(document: dict[str, Any]) -> dict[str, Any]:
    """A snapshot less the event cursor: restoring adds events of its own (`emulator.restored`)."""
    return {key: value for key, value in document.items() if key != "events"}

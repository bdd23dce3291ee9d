"""No webhook loops through the emulator itself, on the real process.

Reproductions: a seven.io hook and a 46elks `whendelivered` pointing at the emulator's own
`/_emulator/reset` wiped the world on delivery; a seven.io GET hook to its own `/api/sms?p=...`
doubled the messages every second. Now a delivery to the control API on the emulator's own
address is never sent (a failed attempt says why), and a request that came through its own
provider API as the third webhook hop is refused (508), so the loop dies out."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest

from support import ELKS_AUTH, SEVEN_JSON, SEVEN_KEY

VIRTUAL = [("--clock", "virtual")]


def settle(http: httpx.Client, deadline_seconds: float = 30.0) -> None:
    """Wait, on the emulator's own event stream, until no delivery is pending."""
    deadline = time.monotonic() + deadline_seconds
    after = 0
    while time.monotonic() < deadline:
        pending = http.get("/_emulator/webhooks", params={"state": "pending", "limit": 100}).json()["data"]
        if not pending:
            return
        waited = http.get("/_emulator/wait", params={"kind": "webhook.attempt", "after": after, "timeout": 5}, timeout=10)
        if waited.status_code == 200:
            after = waited.json()["event"]["seq"]
    raise AssertionError("deliveries still pending")


def deliveries(http: httpx.Client) -> list[dict]:
    return http.get("/_emulator/webhooks", params={"limit": 100}).json()["data"]


def messages(http: httpx.Client) -> list[dict]:
    return http.get("/_emulator/messages", params={"limit": 100}).json()["data"]


@pytest.mark.parametrize("emulator_process", VIRTUAL, indirect=True)
def test_a_webhook_to_the_own_control_api_is_never_sent(emulator_process):
    base = emulator_process.url
    port = urlsplit(base).port
    with httpx.Client(base_url=base, timeout=10) as http:
        for target, method in ((f"{base}/_emulator/reset", "POST"), (f"http://localhost:{port}/_emulator/reset", "GET")):
            created = http.post("/api/hooks", data={"target_url": target, "event_type": "dlr", "request_method": method},
                                headers=SEVEN_JSON)
            assert created.status_code == 200, created.text
        assert http.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=SEVEN_JSON).status_code == 200
        elks = http.post("/a1/SMS", auth=ELKS_AUTH, data={
            "from": "ElkCo", "to": "+46700000123", "message": "hi", "whendelivered": f"http://127.0.0.1:{port}/_emulator/reset",
        })
        assert elks.status_code == 200, elks.text
        assert http.post("/_emulator/clock/advance", json={"seconds": 60}).status_code == 200
        settle(http)

        assert len(messages(http)) == 2, "the world was reset by a webhook"
        assert len(http.get("/api/hooks", headers=SEVEN_JSON).json()["hooks"]) == 2
        sent = deliveries(http)
        assert len(sent) >= 3
        for delivery in sent:
            assert delivery["state"] == "failed"
            (attempt,) = delivery["attempts"]
            assert attempt["status"] is None and "own control API" in attempt["error"]


@pytest.mark.parametrize("emulator_process", VIRTUAL, indirect=True)
def test_a_get_hook_to_the_own_sms_api_dies_out(emulator_process):
    base = emulator_process.url
    with httpx.Client(base_url=base, timeout=10) as http:
        loop = f"{base}/api/sms?p={SEVEN_KEY}&to=%2B4917612345678&text=loop&no_reload=1"  # every round sends
        created = http.post("/api/hooks", data={"target_url": loop, "event_type": "dlr", "request_method": "GET"}, headers=SEVEN_JSON)
        assert created.status_code == 200, created.text
        assert http.post("/api/sms", json={"to": "+4917612345678", "text": "first"}, headers=SEVEN_JSON).status_code == 200
        counts = []
        for _ in range(8):
            assert http.post("/_emulator/clock/advance", json={"seconds": 30}).status_code == 200
            settle(http)
            counts.append(len(messages(http)))
        assert counts[-1] == counts[-5], f"messages still multiplying: {counts}"
        assert counts[-1] <= 7, counts  # one message, then two generations of loop messages
        refused = [d for d in deliveries(http) if d["attempts"][-1]["status"] == 508]
        assert refused, "no loop was refused"
        assert all(d["state"] == "failed" and d["headers"]["X-Telco-Emulator-Hop"] == "3" for d in refused)

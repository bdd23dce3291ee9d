"""The built-in webhook receiver on the real process: a 46elks `whendelivered` and a seven.io hook
pointed at `/_emulator/sink/...` are delivered there (the outbox's hop header and all), with or
without a control token, and show up at `GET /_emulator/sink`; the control API's other paths
stay closed to webhooks and, with a token, to requests without it."""

from __future__ import annotations

import httpx
import pytest

from support import ELKS_AUTH, SEVEN_JSON

TOKEN = "sink-test-token"


def arrivals(http: httpx.Client, headers: dict[str, str] | None = None) -> list[dict]:
    response = http.get("/_emulator/sink", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.parametrize("emulator_process", [("--clock", "virtual", "--control-token", TOKEN)], indirect=True)
def test_webhooks_of_both_providers_reach_the_sink_of_a_shared_emulator(emulator_process):
    base = emulator_process.url
    control = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, timeout=15) as http:
        sent = http.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi",
                                          "whendelivered": f"{base}/_emulator/sink/elks/dlr"}, auth=ELKS_AUTH)
        assert sent.status_code == 200, sent.text
        hook = http.post("/api/hooks", data={"target_url": f"{base}/_emulator/sink/seven/dlr", "event_type": "dlr",
                                             "request_method": "POST"}, headers=SEVEN_JSON)
        assert hook.status_code == 200 and hook.json()["success"] is True, hook.text
        seven = http.post("/api/sms", json={"to": "+4917612345678", "text": "s"}, headers=SEVEN_JSON)
        assert seven.status_code == 200
        moved = http.post("/_emulator/clock/advance", json={"seconds": 60}, headers=control)
        assert moved.status_code == 200, moved.text
        for path in ("/elks/dlr", "/seven/dlr"):
            waited = http.get("/_emulator/wait", params={"kind": "sink.received", "path": path, "timeout": 10},
                              headers=control, timeout=20)
            assert waited.status_code == 200, (path, waited.text)
        assert http.get("/_emulator/sink").status_code == 401  # listing is the control API's: it needs the token
        got = arrivals(http, control)
        elks = [arrival for arrival in got if arrival["path"] == "/elks/dlr"]
        assert {arrival["params"]["id"] for arrival in elks} == {sent.json()["id"]}
        assert "delivered" in {arrival["params"]["status"] for arrival in elks}
        assert {arrival["headers"]["x-telco-emulator-hop"] for arrival in elks} == {"1"}
        assert {arrival["method"] for arrival in got if arrival["path"] == "/seven/dlr"} == {"POST"}
        attempts = http.get("/_emulator/webhooks", headers=control).json()["data"]
        assert {d["state"] for d in attempts} == {"delivered"}, attempts
        # a webhook may still not drive the rest of the control API, token or not
        looped = http.post("/_emulator/reset", headers={**control, "X-Telco-Emulator-Hop": "1"})
        assert looped.status_code == 508 and "webhook" in looped.headers["x-telco-emulator-reason"]

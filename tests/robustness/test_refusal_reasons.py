"""On the real process: a refusal keeps the provider's own status and body, carries its reason in
`X-Telco-Emulator-Reason`, and the log at the default level (`info`) has a line with it."""

from __future__ import annotations

import httpx

from processes import start_emulator, stop
from support import ELKS_AUTH


def test_the_reason_is_in_the_header_and_in_the_log_at_info():
    running = start_emulator("--log-level", "info")
    try:
        with httpx.Client(base_url=running.url, timeout=10) as http:
            refused = http.post("/a1/SMS", data={"from": "+46700000000", "to": "+46700000123", "message": "x"}, auth=ELKS_AUTH)
            assert refused.status_code == 403 and refused.text == "Invalid from number"
            reason = refused.headers["x-telco-emulator-reason"]
            assert reason == "from: +46700000000 is refused: not a number of this account"
            wrong = http.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x"}, auth=("test_user", "nope"))
            assert wrong.status_code == 401 and wrong.headers["x-telco-emulator-reason"] == "wrong password for the API username 'test_user'"
            ok = http.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x"}, auth=ELKS_AUTH)
            assert ok.status_code == 200 and "x-telco-emulator-reason" not in ok.headers
    finally:
        stop(running.process)
    log = running.process.stderr.read()
    assert f'"POST /a1/SMS HTTP/1.1" 403 refused: {reason}' in log
    assert "401 refused: wrong password for the API username 'test_user'" in log
    assert "nope" not in log

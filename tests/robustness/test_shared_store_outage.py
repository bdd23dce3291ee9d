"""A shared world whose Redis goes away: requests are answered 503 in each provider's own shape
(and the control API's), with the reason, and change nothing; once Redis is back the same
processes go on with the world as it was."""

from __future__ import annotations

import httpx

from processes import start_emulator, stop
from redis_support import start_redis, stop_redis

ELKS_AUTH = ("test_user", "test_password")
SEVEN = {"X-Api-Key": "test_api_key", "Accept": "application/json"}


def test_requests_while_redis_is_down_get_503_and_change_nothing(tmp_path):
    redis = start_redis(tmp_path, appendonly=True)
    running = start_emulator("--store", redis.url(0))
    try:
        url = running.url
        sent = httpx.post(url + "/a1/SMS", auth=ELKS_AUTH, data={"from": "ElkCo", "to": "+46700000123", "message": "before"})
        assert sent.status_code == 200, sent.text
        balance = httpx.get(url + "/a1/me", auth=ELKS_AUTH).json()["balance"]
        stop_redis(redis)

        elks = httpx.post(url + "/a1/SMS", auth=ELKS_AUTH, data={"from": "ElkCo", "to": "+46700000123", "message": "during"}, timeout=30)
        assert elks.status_code == 503 and "Redis" in elks.headers["x-telco-emulator-reason"]
        assert elks.headers["retry-after"] == "1"
        seven = httpx.post(url + "/api/sms", headers=SEVEN, json={"to": "+4917612345678", "text": "during"}, timeout=30)
        assert seven.status_code == 503
        control = httpx.get(url + "/_emulator/messages", timeout=30)
        assert control.status_code == 503 and control.json()["error"]["type"] == "StoreUnavailable"

        redis = start_redis(tmp_path, appendonly=True, port=redis.port)
        messages = httpx.get(url + "/_emulator/messages", timeout=30)
        assert messages.status_code == 200
        assert [m["text"] for m in messages.json()["data"]] == ["before"], "a refused request left something behind"
        assert httpx.get(url + "/a1/me", auth=ELKS_AUTH).json()["balance"] == balance
        again = httpx.post(url + "/a1/SMS", auth=ELKS_AUTH, data={"from": "ElkCo", "to": "+46700000123", "message": "after"})
        assert again.status_code == 200, again.text
    finally:
        stop(running.process)
        stop_redis(redis)

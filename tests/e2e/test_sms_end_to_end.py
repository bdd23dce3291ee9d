"""The real process, started through the CLI: an SMS on each provider, the balance going down,
and the delivery reports arriving at a real local receiver, retried when it fails."""

from urllib.parse import parse_qsl

import httpx
import pytest

SEVEN = {"X-Api-Key": "test_api_key", "Accept": "application/json"}


def test_sms_on_both_providers_with_delivery_reports(emulator_process, webhook_receiver):
    base = emulator_process.url
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/_emulator/health").json()["status"] == "ok"
        elks_before = client.get("/a1/me", auth=("test_user", "test_password")).json()["balance"]
        elks = client.post(
            "/a1/SMS",
            data={"from": "ElkCo", "to": "+46700000123", "message": "Hello from e2e", "whendelivered": webhook_receiver.url + "/elks"},
            auth=("test_user", "test_password"),
        )
        assert elks.status_code == 200, elks.text
        sms = elks.json()
        assert client.get("/a1/me", auth=("test_user", "test_password")).json()["balance"] == elks_before - sms["cost"]

        hook = client.post("/api/hooks", json={"target_url": webhook_receiver.url + "/seven", "event_type": "dlr", "request_method": "JSON"}, headers=SEVEN)
        assert hook.json()["success"] is True
        seven_before = client.get("/api/balance", headers=SEVEN).json()["amount"]
        seven = client.post("/api/sms", json={"to": "+4917612345678", "text": "Hallo"}, headers=SEVEN).json()
        assert seven["success"] == "100"
        assert client.get("/api/balance", headers=SEVEN).json()["amount"] == pytest.approx(seven_before - seven["total_price"])

        elks_reports = webhook_receiver.wait_for(2, "/elks")
        assert [dict(parse_qsl(hit.body.decode()))["status"] for hit in elks_reports] == ["sent", "delivered"]
        assert dict(parse_qsl(elks_reports[1].body.decode()))["id"] == sms["id"]
        seven_reports = webhook_receiver.wait_for(2, "/seven")
        assert [httpx.Response(200, content=hit.body).json()["data"]["status"] for hit in seven_reports] == ["TRANSMITTED", "DELIVERED"]

        assert client.get(f"/a1/SMS/{sms['id']}", auth=("test_user", "test_password")).json()["status"] == "delivered"
        message_id = seven["messages"][0]["id"]
        assert client.get("/api/status", params={"msg_id": message_id}, headers=SEVEN).json()[0]["status"] == "DELIVERED"


@pytest.mark.parametrize("emulator_process", [("--time-scale", "3000")], indirect=True)
def test_failing_receiver_gets_the_report_on_retry(emulator_process, webhook_receiver):
    webhook_receiver.statuses = [500, 500, 200]
    with httpx.Client(base_url=emulator_process.url, timeout=10) as client:
        client.post(
            "/a1/SMS",
            data={"from": "ElkCo", "to": "+46700000408", "message": "x", "whendelivered": webhook_receiver.url + "/dlr"},
            auth=("test_user", "test_password"),
        ).raise_for_status()
        hits = webhook_receiver.wait_for(3, "/dlr")
        assert {dict(parse_qsl(hit.body.decode()))["status"] for hit in hits} == {"sent"}
        # The receiver has answered; wait until the emulator has recorded that answer too.
        settled = client.get("/_emulator/wait", params={"kind": "webhook.attempt", "state": "delivered", "timeout": 10})
        assert settled.status_code == 200
        deliveries = client.get("/_emulator/webhooks", params={"url": webhook_receiver.url + "/dlr"}).json()["data"]
        assert [a["status"] for a in deliveries[0]["attempts"]] == [500, 500, 200]

"""seven.io hooks: register, list, delete; dlr events delivered in each request method, signed."""

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY


async def create(client, **fields):
    data = {"target_url": "http://hooks.test/seven", "event_type": "dlr"} | fields
    return await client.post("/api/hooks", data=data, headers=SEVEN_JSON)


async def send(client, to="+4917612345678", **extra):
    body = {"to": to, "text": "Hi"} | extra
    return (await client.post("/api/sms", json=body, headers=SEVEN_JSON)).json()["messages"][0]["id"]


async def test_create_list_delete(client):
    created = (await create(client, request_method="JSON", event_filter="+4917612345678")).json()
    assert created["success"] is True and isinstance(created["id"], int)
    listed = (await client.get("/api/hooks", headers=SEVEN_JSON)).json()
    assert listed["success"] is True
    (hook,) = listed["hooks"]
    assert hook["id"] == str(created["id"])
    assert (hook["target_url"], hook["event_type"], hook["request_method"], hook["enabled"]) == (
        "http://hooks.test/seven", "dlr", "JSON", True,
    )
    assert hook["event_filter"] == "+4917612345678" and hook["created"] == "2026-01-01 00:00:00"
    assert (await client.get("/api/hooks", headers={"X-Api-Key": SEVEN_OTHER_KEY})).json()["hooks"] == []
    deleted = await client.request("DELETE", "/api/hooks", params={"id": created["id"]}, headers=SEVEN_JSON)
    assert deleted.json() == {"success": True}
    assert (await client.get("/api/hooks", headers=SEVEN_JSON)).json()["hooks"] == []
    again = await client.request("DELETE", "/api/hooks", params={"id": created["id"]}, headers=SEVEN_JSON)
    assert again.status_code == 404 and again.json()["success"] is False


@pytest.mark.parametrize(
    "fields",
    [
        {"target_url": ""},
        {"target_url": "abc://example.com"},
        {"event_type": "everything"},
        {"event_type": ""},
        {"request_method": "PUT"},
        {"headers": "no colon here"},
    ],
)
async def test_bad_hooks_are_refused(emulator, client, fields):
    response = await create(client, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["code"] and body["error_message"]
    assert len(emulator.engine.store.hooks) == 0


async def test_dlr_as_json_envelope(emulator, client):
    await create(client, request_method="JSON", headers="X-Custom: yes")
    message_id = await send(client, foreign_id="f1", label="l1")
    await emulator.advance(1)
    reports = emulator.receiver.to("http://hooks.test/seven")
    assert [r.json["data"]["status"] for r in reports] == ["TRANSMITTED", "DELIVERED"]
    final = reports[1]
    assert final.headers["content-type"] == "application/json" and final.headers["x-custom"] == "yes"
    assert final.json["webhook_event"] == "dlr"
    assert final.json["webhook_timestamp"] == "2026-01-01 00:00:01"
    assert final.json["data"] == {
        "msg_id": message_id, "status": "DELIVERED", "timestamp": "2026-01-01 00:00:01.000000", "foreign_id": "f1", "label": "l1",
    }
    # signed by default, as seven.io signs every webhook: the default account's secret is in the README
    signed = "\n".join([final.headers["x-timestamp"], final.headers["x-nonce"], "POST", final.url, hashlib.md5(final.body).hexdigest()])
    assert final.headers["x-signature"] == hmac.new(b"test_signing_secret", signed.encode(), hashlib.sha256).hexdigest()


@pytest.mark.local_changes  # changes the engine directly
async def test_an_account_without_a_signing_secret_gets_unsigned_hooks(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].attributes["signing_secret"] = None  # a fixture without one
    await create(client, request_method="JSON")
    await send(client)
    await emulator.advance(1)
    assert emulator.receiver.requests
    assert not any({"x-signature", "x-timestamp", "x-nonce"} & set(r.headers) for r in emulator.receiver.requests)


async def test_dlr_as_form_and_as_get(emulator, client):
    await create(client, target_url="http://hooks.test/form")
    await create(client, target_url="http://hooks.test/get?token=t", request_method="GET")
    message_id = await send(client, to="+4915700000404")
    await emulator.advance(5)
    form = emulator.receiver.to("http://hooks.test/form")[-1]
    assert form.method == "POST" and form.form["webhook_event"] == "dlr"
    assert form.form["data[msg_id]"] == message_id and form.form["data[status]"] == "NOTDELIVERED"
    get = emulator.receiver.to("http://hooks.test/get")[-1]
    query = dict(parse_qsl(urlsplit(get.url).query))
    assert get.method == "GET" and get.body == b""
    assert query["token"] == "t" and query["data[status]"] == "NOTDELIVERED"


async def test_event_filter_and_event_type(emulator, client):
    await create(client, target_url="http://hooks.test/filtered", event_filter="+4917600000000")
    await create(client, target_url="http://hooks.test/all", event_type="all")
    await create(client, target_url="http://hooks.test/inbound", event_type="sms_mo")
    await send(client)
    await emulator.advance(1)
    assert emulator.receiver.to("http://hooks.test/filtered") == []
    assert emulator.receiver.to("http://hooks.test/inbound") == []
    assert len(emulator.receiver.to("http://hooks.test/all")) == 2


@pytest.mark.local_changes  # changes the engine directly
async def test_hooks_are_signed_when_the_account_has_a_secret(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].attributes["signing_secret"] = "s3cret"
    await create(client, request_method="JSON")
    await send(client)
    await emulator.advance(1)
    for report in emulator.receiver.requests:
        timestamp, nonce = report.headers["x-timestamp"], report.headers["x-nonce"]
        assert len(nonce) == 32
        assert timestamp in ("1767225600", "1767225601")
        signed = "\n".join([timestamp, nonce, "POST", report.url, hashlib.md5(report.body).hexdigest()])
        expected = hmac.new(b"s3cret", signed.encode(), hashlib.sha256).hexdigest()
        assert report.headers["x-signature"] == expected
    assert len({r.headers["x-nonce"] for r in emulator.receiver.requests}) == 2


async def test_receiver_errors_follow_sevens_retry_rules(emulator, client):
    emulator.receiver.statuses = [503, 404]
    await create(client, request_method="JSON")
    await send(client, to="+4915700000408")  # only a TRANSMITTED report
    await emulator.advance(1)
    await emulator.advance(60)
    deliveries = (await client.get("/_emulator/webhooks", params={"provider": "seven"})).json()["data"]
    assert [a["status"] for a in deliveries[0]["attempts"]] == [503, 404]
    assert deliveries[0]["state"] == "failed"  # a 404 is not retried
    assert json.loads(deliveries[0]["body"])["data"]["status"] == "TRANSMITTED"


@pytest.mark.local_changes  # changes the engine directly
async def test_custom_headers_arrive_and_a_stored_line_the_rule_refuses_is_left_out(emulator, client):
    created = (await create(client, headers="X-Token: abc\r\nX-Team: core")).json()
    hook = emulator.engine.store.hooks.get(str(created["id"]))
    hook.headers += "\nTransfer-Encoding: chunked"  # as kept from before the rule (an old snapshot)
    await send(client)
    await emulator.advance(60)
    received = emulator.receiver.to("http://hooks.test/seven")
    assert received
    for request in received:
        assert (request.headers["x-token"], request.headers["x-team"]) == ("abc", "core")
        assert "transfer-encoding" not in request.headers
    assert all(d.state == "delivered" for d in emulator.engine.store.deliveries)

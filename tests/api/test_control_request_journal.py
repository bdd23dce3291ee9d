"""The request journal (`GET /_emulator/requests`) and the reason every refusal carries
(`X-Telco-Emulator-Reason`), on both providers and the control API."""

from __future__ import annotations

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_KEY

REASON = "x-telco-emulator-reason"


async def journal(client, **filters):
    response = await client.get("/_emulator/requests", params=filters)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_refused_46elks_send_is_journaled_with_its_reason_and_the_password_masked(client):
    response = await client.post("/a1/SMS", data={"from": "+46700000000", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)
    assert response.status_code == 403 and response.text == "Invalid from number"  # the provider's own body, unchanged
    assert response.headers[REASON] == "from: +46700000000 is refused: not a number of this account"
    entry, = (await journal(client))["data"]
    assert entry["provider"] == "elks" and entry["method"] == "POST" and entry["path"] == "/a1/SMS"
    assert entry["account_id"] == ELKS_ACCOUNT and entry["status"] == 403 and entry["refused"] is True
    assert entry["reason"] == response.headers[REASON]
    assert entry["params"] == {"from": "+46700000000", "to": "+46700000123", "message": "hi"}
    assert entry["headers"]["authorization"] == "Basic ***"
    assert "test_password" not in str(entry)
    assert entry["answer"] == "Invalid from number" and entry["duration_ms"] >= 0


async def test_a_seven_return_code_refusal_says_why_in_the_header(client):
    response = await client.post("/api/sms", json={"to": "+4917612345678"}, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json() == 305
    assert response.headers[REASON] == "text: missing; this request needs it"
    bad_key = await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers={"X-Api-Key": "nope"})
    assert bad_key.status_code == 401 and bad_key.text == "900"
    assert "API key" in bad_key.headers[REASON] and "nope" not in bad_key.headers[REASON]
    entries = (await journal(client, provider="seven"))["data"]
    assert [e["status"] for e in entries] == [401, 400]  # newest first
    assert entries[1]["account_id"] == SEVEN_ACCOUNT and entries[1]["headers"]["x-api-key"] == "***"
    assert entries[0]["account_id"] is None
    assert SEVEN_KEY not in str(entries)


async def test_a_refusal_seven_answers_in_its_success_shape_carries_the_reason_too(client):
    response = await client.post("/api/voice/nope/hangup", headers=SEVEN_JSON)
    assert response.status_code == 404 and response.json()["success"] is False
    assert "not found" in response.headers[REASON]
    entry, = (await journal(client))["data"]
    assert entry["reason"] == response.headers[REASON]


async def test_successful_requests_are_journaled_without_a_reason(client):
    sent = await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)
    assert sent.status_code == 200 and REASON not in sent.headers
    seven = await client.post("/api/sms", json={"to": "+4917612345678", "text": "s"}, headers=SEVEN_JSON)
    assert seven.status_code == 200
    entries = (await journal(client))["data"]
    assert [(e["provider"], e["status"], e["reason"], e["refused"]) for e in entries] == [("seven", 200, None, False), ("elks", 200, None, False)]
    assert entries[1]["answer"]["id"] == sent.json()["id"]
    assert entries[0]["params"] == {"to": "+4917612345678", "text": "s"}


async def test_the_journal_filters_and_pages(client):
    for index in range(3):
        await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": str(index)}, auth=ELKS_AUTH)
        await client.post("/api/sms", json={"to": "+4917612345678"}, headers=SEVEN_JSON)
    await client.get("/a1/nothing-here", auth=ELKS_AUTH)
    assert len((await journal(client, provider="elks"))["data"]) == 4
    assert [e["path"] for e in (await journal(client, status="404"))["data"]] == ["/a1/nothing-here"]
    assert len((await journal(client, status="4xx"))["data"]) == 4
    assert len((await journal(client, refused="false"))["data"]) == 3
    assert len((await journal(client, path="/api/"))["data"]) == 3
    assert len((await journal(client, account=ELKS_ACCOUNT))["data"]) == 3
    first = await journal(client, limit=4)
    second = await journal(client, limit=4, cursor=first["next"])
    assert len(first["data"]) == 4 and len(second["data"]) == 3 and second["next"] is None
    assert not {e["id"] for e in first["data"]} & {e["id"] for e in second["data"]}
    one = (await client.get(f"/_emulator/requests/{first['data'][0]['id']}")).json()
    assert one == first["data"][0]
    bad = await client.get("/_emulator/requests", params={"status": "teapot"})
    assert bad.status_code == 400 and "status" in bad.headers[REASON]


async def test_reset_empties_the_journal(client):
    await client.post("/api/sms", json={"to": "+4917612345678"}, headers=SEVEN_JSON)
    assert len((await journal(client))["data"]) == 1
    assert (await client.post("/_emulator/reset")).status_code == 200
    assert (await journal(client))["data"] == []


async def test_the_journal_is_bounded_in_count_and_bytes(client, engine):
    from emulator.core.request_journal import journal_of

    record = journal_of(engine)
    record.max_entries = 5
    for index in range(8):
        await client.post("/api/sms", json={"to": "+4917612345678"}, headers=SEVEN_JSON)
    assert len(record) == 5
    record.max_entries, record.max_bytes, record.max_body = 1000, 20_000, 1000
    big = "x" * 50_000
    for _ in range(4):
        await client.post("/api/sms", json={"to": "+4917612345678", "text": big}, headers=SEVEN_JSON)
    assert record.size <= 20_000
    newest = (await journal(client, limit=1))["data"][0]
    assert newest["params"] == {} and "not kept whole" in newest["body_note"]


async def test_a_refusal_is_an_event_to_wait_for(client):
    await client.post("/a1/SMS", data={"from": "+46700000000", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)
    found = (await client.get("/_emulator/wait", params={"kind": "request.refused", "provider": "elks", "timeout": "1"})).json()["event"]
    assert found["data"]["status"] == 403 and found["data"]["path"] == "/a1/SMS"
    assert found["data"]["reason"].startswith("from: +46700000000")
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)
    kinds = [e["kind"] for e in (await client.get("/_emulator/events", params={"after": found["seq"]})).json()["data"]]
    assert "request.refused" not in kinds  # an answered request is not an event of its own
    await client.get("/_emulator/requests")
    assert (await journal(client, path="/_emulator"))["data"] == []  # the control API is not journaled


async def test_control_api_refusals_carry_the_reason(client):
    response = await client.post("/_emulator/clock/advance", json={"seconds": -1})
    assert response.status_code == 400
    assert response.headers[REASON] == response.json()["error"]["message"].replace("Invalid seconds: ", "seconds: -1 is refused: ")
    missing = await client.get("/_emulator/no-such-thing")
    assert missing.status_code == 404 and missing.headers[REASON]


async def test_a_fault_answer_carries_its_reason_and_is_journaled(client):
    added = await client.post("/_emulator/faults", json={"provider": "elks", "status": 503})
    assert added.status_code == 201, added.text
    response = await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)
    assert response.status_code == 503 and "fault rule" in response.headers[REASON]
    entry, = (await journal(client))["data"]
    assert entry["status"] == 503 and entry["reason"] == response.headers[REASON]


@pytest.mark.parametrize("text", ["line one\r\nX-Injected: yes", "caf\u00e9 \u2603 " + "y" * 400])
def test_the_reason_header_is_header_safe(text):
    from emulator.http.reasons import MAX_REASON, header_value

    value = header_value(text)
    value.encode("latin-1")
    assert "\r" not in value and "\n" not in value and len(value) <= MAX_REASON


async def test_the_journal_is_scoped_by_sandbox(client):
    sandbox = (await client.post("/_emulator/sandboxes", json={"name": "worker-1"})).json()
    mine = {"X-Api-Key": sandbox["seven_api_key"], "Accept": "application/json"}
    await client.post("/api/sms", json={"to": "+4917612345678"}, headers=mine)  # refused: no text
    await client.post("/api/sms", json={"to": "+4917612345678", "text": "s"}, headers=SEVEN_JSON)
    scoped = (await journal(client, sandbox=sandbox["id"]))["data"]
    assert [(e["status"], e["account_id"] != SEVEN_ACCOUNT) for e in scoped] == [(400, True)]
    assert sandbox["seven_api_key"] not in str(scoped)
    waited = await client.get("/_emulator/wait", params={"kind": "request.refused", "sandbox": sandbox["id"], "timeout": "1"})
    assert waited.status_code == 200 and waited.json()["event"]["data"]["status"] == 400


async def test_a_multipart_body_is_noted_not_shown(client):
    sent = await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi"},
                             files={"unused": ("a.txt", b"x")}, auth=ELKS_AUTH)
    assert sent.status_code == 200, sent.text
    entry, = (await journal(client))["data"]
    assert "multipart/form-data" in entry["body_note"] and entry["params"] == {}

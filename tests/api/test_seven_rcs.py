"""seven.io RCS: `POST /api/rcs/messages` sends RCS to the phones `GET /api/lookup/rcs` calls
capable (RCS price, `rcs` hooks), falls back to SMS for the others when asked (SMS price, `dlr`
hooks) and is refused otherwise; `DELETE /api/rcs/messages/{id}` cancels a scheduled message;
`POST /api/rcs/events` sends IS_TYPING / READ. Bad input changes nothing."""

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY

HOOKS = "http://hooks.test/rcs"
CAPABLE = "+4917612345678"  # a mobile whose lookup lists RCS capabilities (default seed)
NOT_CAPABLE = "+4917612345679"  # a mobile without them
LANDLINE = "+4930123456"
START = 1_000_000
RCS_DE, SMS_DE = 500, 750  # fixture prices, 1/10000 EUR


async def send(client, headers=SEVEN_JSON, **fields):
    return await client.post("/api/rcs/messages", data={"to": CAPABLE, "text": "Hallo"} | fields, headers=headers)


async def hook(client, event_type="all"):
    data = {"target_url": HOOKS, "event_type": event_type, "request_method": "JSON"}
    assert (await client.post("/api/hooks", data=data, headers=SEVEN_JSON)).json()["success"] is True


def received(emulator, event=None):
    return [r.json for r in emulator.receiver.to(HOOKS) if event is None or r.json["webhook_event"] == event]


def messages(emulator):
    return list(emulator.engine.store.messages)


async def capabilities(client, number):
    return (await client.get("/api/lookup/rcs", params={"number": number}, headers=SEVEN_JSON)).json()["rcs_capabilities"]


async def test_capability_agrees_with_the_lookup(client):
    assert await capabilities(client, CAPABLE)
    assert await capabilities(client, NOT_CAPABLE) == []
    assert await capabilities(client, LANDLINE) == []


async def test_rcs_message_in_the_sms_envelope(emulator, client):
    response = await send(client, label="spring", foreign_id="o-1")
    assert response.status_code == 200
    body = response.json()
    (message,) = body.pop("messages")
    assert body == {"success": "100", "total_price": 0.05, "balance": 99.95, "debug": "false", "sms_type": "direct"}
    assert message == {
        "id": message["id"], "sender": f"agent_{SEVEN_ACCOUNT}", "recipient": CAPABLE[1:], "text": "Hallo",
        "encoding": "gsm", "label": "spring", "parts": 1, "udh": None, "is_binary": False, "price": 0.05,
        "success": True, "error": None, "error_text": None, "channel": "RCS", "fallback": None,
    }
    assert message["id"].isdigit()
    (stored,) = messages(emulator)
    assert stored.id == message["id"] and stored.attributes["channel"] == "RCS" and stored.cost == RCS_DE
    assert emulator.balance(SEVEN_ACCOUNT) == START - RCS_DE


async def test_long_rcs_text_is_one_message(emulator, client):
    body = (await send(client, text="x" * 1000, **{"from": "my_agent"})).json()
    (message,) = body["messages"]
    assert (message["parts"], message["price"], message["sender"]) == (1, 0.05, "my_agent")


async def test_fallback_to_sms_for_phones_without_rcs(emulator, client):
    body = (await send(client, to=f"{CAPABLE},{NOT_CAPABLE},{LANDLINE}", fallback="sms")).json()
    channels = [(m["recipient"], m["channel"], m["fallback"], m["price"], m["sender"]) for m in body["messages"]]
    assert channels == [
        (CAPABLE[1:], "RCS", "sms", 0.05, f"agent_{SEVEN_ACCOUNT}"),
        (NOT_CAPABLE[1:], "SMS", "sms", 0.075, "TestGmbH"),
        (LANDLINE[1:], "SMS", "sms", 0.075, "TestGmbH"),
    ]
    assert body["total_price"] == 0.2
    assert emulator.balance(SEVEN_ACCOUNT) == START - RCS_DE - 2 * SMS_DE
    assert sorted(m.attributes["channel"] for m in messages(emulator)) == ["RCS", "SMS", "SMS"]


async def test_status_changes_fire_rcs_hooks_and_fallbacks_dlr(emulator, client):
    await hook(client)
    body = (await send(client, to=f"{CAPABLE},{NOT_CAPABLE}", fallback="sms", foreign_id="f-9")).json()
    rcs_id, sms_id = (m["id"] for m in body["messages"])
    await emulator.advance(5)
    rcs = received(emulator, "rcs")
    assert [e["data"]["status"] for e in rcs] == ["TRANSMITTED", "DELIVERED"]
    assert rcs[-1]["data"] == {
        "agent_id": f"agent_{SEVEN_ACCOUNT}", "sender": CAPABLE[1:], "status": "DELIVERED", "foreign_id": "f-9",
        "msg_id": rcs_id, "timestamp": "2026-01-01 00:00:01.000000",
    }
    dlr = received(emulator, "dlr")
    assert {e["data"]["msg_id"] for e in dlr} == {sms_id}
    assert [e["data"]["status"] for e in dlr] == ["TRANSMITTED", "DELIVERED"]


async def test_failed_rcs_reports_notdelivered(emulator, client):
    await hook(client, "rcs")
    assert await capabilities(client, "+4915700000404")  # an outcome rule fails this number
    await send(client, to="+4915700000404")
    await emulator.advance(5)
    assert [e["data"]["status"] for e in received(emulator)] == ["TRANSMITTED", "NOTDELIVERED"]


async def test_journal_and_analytics_tell_rcs_from_sms(emulator, client):
    await send(client, to=f"{CAPABLE},{LANDLINE}", fallback="sms")
    await emulator.advance(5)
    rows = (await client.get("/api/journal/outbound", headers=SEVEN_JSON)).json()
    assert [(r["to"], r["channel"], r["price"], r["dlr"]) for r in rows] == [
        (LANDLINE[1:], "SMS", "0.0750", "DELIVERED"), (CAPABLE[1:], "RCS", "0.0500", "DELIVERED"),
    ]
    (row,) = (await client.get("/api/analytics/date", headers=SEVEN_JSON)).json()
    assert (row["sms"], row["rcs"], row["usage_eur"]) == (1, 1, 0.125)
    status = (await client.get("/api/status", params={"msg_id": rows[1]["id"]}, headers=SEVEN_JSON)).json()
    assert status[0]["status"] == "DELIVERED"


async def test_debug_sends_nothing(emulator, client):
    body = (await send(client, debug=1)).json()
    assert body["debug"] == "true" and body["total_price"] == 0 and body["messages"][0]["id"] is None
    assert messages(emulator) == [] and emulator.balance(SEVEN_ACCOUNT) == START


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": ""}, "301"),
        ({"text": ""}, "305"),
        ({"text": "x" * 3073}, "401"),
        ({"to": "nobody"}, "202"),
        ({"to": NOT_CAPABLE}, "202"),
        ({"to": f"{CAPABLE},{LANDLINE}"}, "202"),
        ({"to": NOT_CAPABLE, "fallback": "webview"}, "202"),
        ({"to": NOT_CAPABLE, "fallback": "sms", "text": "x" * 1521}, "401"),
        ({"fallback": "mms"}, "700"),
        ({"from": "agent with spaces"}, "201"),
        ({"label": "a b"}, "700"),
        ({"foreign_id": "x" * 65}, "700"),
        ({"delay": "tomorrow"}, "700"),
        ({"ttl": "-5"}, "700"),
        ({"performance_tracking": "perhaps"}, "700"),
    ],
)
async def test_bad_sends_are_refused_and_change_nothing(emulator, client, fields, code):
    await hook(client)
    response = await send(client, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["code"] == code and body["error_message"]
    await emulator.advance(5)
    assert messages(emulator) == [] and emulator.balance(SEVEN_ACCOUNT) == START and received(emulator) == []


async def test_not_capable_refusal_says_why(client):
    body = (await send(client, to=NOT_CAPABLE)).json()
    assert "cannot receive RCS" in body["error_message"] and "fallback=sms" in body["error_message"]


@pytest.mark.local_changes  # changes the engine directly
async def test_insufficient_credit(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].balance = 400
    response = await send(client)
    assert response.status_code == 402 and response.json()["code"] == "500"
    assert messages(emulator) == [] and emulator.balance(SEVEN_ACCOUNT) == 400


# -- DELETE /rcs/messages/{id} --------------------------------------------------------------

async def test_delete_cancels_a_scheduled_message(emulator, client):
    await hook(client)
    message_id = (await send(client, delay=str(1_767_225_600 + 3600))).json()["messages"][0]["id"]
    assert emulator.balance(SEVEN_ACCOUNT) == START - RCS_DE
    response = await client.delete(f"/api/rcs/messages/{message_id}", headers=SEVEN_JSON)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert messages(emulator) == [] and emulator.balance(SEVEN_ACCOUNT) == START
    await emulator.advance(7200)
    assert received(emulator) == []
    again = await client.delete(f"/api/rcs/messages/{message_id}", headers=SEVEN_JSON)
    assert again.status_code == 404 and again.json()["success"] is False and again.json()["error"]


async def test_scheduled_message_goes_out_at_its_time(emulator, client):
    await hook(client)
    await send(client, delay="2026-01-01 01:00:00")
    await emulator.advance(3599)
    assert received(emulator) == []
    await emulator.advance(5)
    assert [e["data"]["status"] for e in received(emulator)] == ["TRANSMITTED", "DELIVERED"]


async def test_delete_refuses_sent_foreign_and_non_rcs_messages(emulator, client):
    sent_id = (await send(client)).json()["messages"][0]["id"]
    sms_id = (await client.post("/api/sms", data={"to": CAPABLE, "text": "Hi", "delay": str(1_767_225_600 + 3600)}, headers=SEVEN_JSON)).json()["messages"][0]["id"]
    balance = emulator.balance(SEVEN_ACCOUNT)
    sent = await client.delete(f"/api/rcs/messages/{sent_id}", headers=SEVEN_JSON)
    assert sent.status_code == 409 and sent.json() == {"success": False, "error": "The message has already been sent and cannot be deleted."}
    for message_id, headers in ((sms_id, SEVEN_JSON), ("123", SEVEN_JSON), (sent_id, {"X-Api-Key": SEVEN_OTHER_KEY})):
        response = await client.delete(f"/api/rcs/messages/{message_id}", headers=headers)
        assert response.status_code == 404 and response.json()["success"] is False
    assert len(messages(emulator)) == 2 and emulator.balance(SEVEN_ACCOUNT) == balance


# -- POST /rcs/events -----------------------------------------------------------------------

def rcs_events(emulator):
    return [e for e in emulator.engine.events.since(0) if e.kind == "rcs.event"]


async def test_events_to_a_number_or_for_a_message(emulator, client):
    typing = await client.post("/api/rcs/events", data={"event": "IS_TYPING", "to": "0176 12345678"}, headers=SEVEN_JSON)
    assert typing.status_code == 200 and typing.json() == {"success": True}
    message_id = (await send(client)).json()["messages"][0]["id"]
    read = await client.post("/api/rcs/events", json={"event": "READ", "msg_id": message_id}, headers=SEVEN_JSON)
    assert read.json() == {"success": True}
    logged = [(e.data["event"], e.data["to"], e.data["msg_id"]) for e in rcs_events(emulator)]
    assert logged == [("IS_TYPING", CAPABLE, None), ("READ", CAPABLE, message_id)]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, 400),
        ({"event": "WAVE", "to": CAPABLE}, 400),
        ({"event": "READ", "to": "nobody"}, 400),
        ({"event": "READ", "to": NOT_CAPABLE}, 400),
        ({"event": "READ"}, 400),  # nothing received yet to answer
        ({"event": "READ", "msg_id": "77000000999"}, 404),
    ],
)
async def test_bad_events_are_refused(emulator, client, fields, status):
    response = await client.post("/api/rcs/events", data=fields, headers=SEVEN_JSON)
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False and body["error"]
    assert rcs_events(emulator) == []


async def test_event_for_an_sms_id_is_not_found(emulator, client):
    sms_id = (await client.post("/api/sms", data={"to": CAPABLE, "text": "Hi"}, headers=SEVEN_JSON)).json()["messages"][0]["id"]
    response = await client.post("/api/rcs/events", data={"event": "READ", "msg_id": sms_id}, headers=SEVEN_JSON)
    assert response.status_code == 404 and rcs_events(emulator) == []


async def test_scope_and_credentials(emulator, client):
    denied = await send(client, headers={"Authorization": "Bearer test_oauth_token", "Accept": "application/json"})
    assert denied.status_code == 403 and messages(emulator) == []
    wrong = await client.post("/api/rcs/events", data={"event": "READ", "to": CAPABLE}, headers={"X-Api-Key": "nope"})
    assert wrong.status_code == 401 and rcs_events(emulator) == []


async def test_agents_lists_the_accounts_default_agent(emulator, client):
    mine = await client.get("/api/rcs/agents", headers=SEVEN_JSON)
    assert mine.status_code == 200
    (agent,) = mine.json()["agents"]
    account = emulator.engine.store.accounts[SEVEN_ACCOUNT]
    assert agent["id"] == f"agent_{SEVEN_ACCOUNT}" and agent["display_name"] == account.name
    assert set(agent) == {"id", "display_name", "status", "logo_url", "created", "is_generic"}
    other = (await client.get("/api/rcs/agents", headers={"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"})).json()
    assert [a["id"] for a in other["agents"]] != [agent["id"]]
    assert (await client.get("/api/rcs/agents", headers={"X-Api-Key": "wrong"})).status_code == 401

"""seven.io voice: `POST /api/voice` places text-to-speech calls on the call engine (JSON and
three-line text answers, debug mode, caller ids), the calls follow the outcome rules, fire
`voice_status` and `voice_dtmf` hooks and are billed per started minute; `POST
/api/voice/{id}/hangup` ends a call in progress; inbound calls to a seven number fire
`voice_call` and `voice_dtmf`. Bad input changes nothing."""

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_KEY, SEVEN_OTHER_KEY

HOOKS = "http://hooks.test/voice"
OUR_NUMBER = "+4915799912345"  # the fixture account's voice number
PHONE = "+4917612345678"
START = 1_000_000  # the fixture account's balance
PER_MINUTE = 450  # seven call_prices DE


async def place(client, headers=SEVEN_JSON, **fields):
    return await client.post("/api/voice", data={"to": PHONE, "text": "Hallo Welt"} | fields, headers=headers)


async def hook(client, event_type, **fields):
    data = {"target_url": HOOKS, "event_type": event_type, "request_method": "JSON"} | fields
    response = await client.post("/api/hooks", data=data, headers=SEVEN_JSON)
    assert response.json()["success"] is True


def received(emulator, event=None):
    return [r.json for r in emulator.receiver.to(HOOKS) if event is None or r.json["webhook_event"] == event]


def calls(emulator):
    return list(emulator.engine.calls.collection)


async def test_json_answer_in_sevens_shape(emulator, client):
    response = await place(client, foreign_id="order-7")
    assert response.status_code == 200
    body = response.json()
    (message,) = body.pop("messages")
    assert body == {"success": "100", "total_price": 0.045, "balance": 100.0, "debug": False}
    assert isinstance(message["id"], int)
    assert message == {
        "id": message["id"], "sender": OUR_NUMBER[1:], "recipient": PHONE[1:], "text": "Hallo Welt",
        "price": 0.045, "success": True, "error": None, "error_text": None,
    }
    (call,) = calls(emulator)
    assert (call.id, call.provider, call.sender, call.recipient) == (str(message["id"]), "seven", OUR_NUMBER, PHONE)
    assert call.attributes["foreign_id"] == "order-7"


async def test_text_answer_is_three_lines(emulator, client):
    response = await place(client, headers={"X-Api-Key": SEVEN_KEY})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    code, call_id, cost = response.text.split("\n")
    assert (code, cost) == ("100", "0.045")
    assert [c.id for c in calls(emulator)] == [call_id]


async def test_debug_places_nothing(emulator, client):
    body = (await place(client, debug=1)).json()
    assert body["debug"] is True and body["total_price"] == 0 and body["messages"][0]["id"] == 123456789
    text = await place(client, headers={"X-Api-Key": SEVEN_KEY}, debug="true")
    assert text.text == "100\n123456789\n0"
    await emulator.advance(120)
    assert calls(emulator) == [] and emulator.balance(SEVEN_ACCOUNT) == START and received(emulator) == []


async def test_answered_call_fires_status_hooks_and_is_billed(emulator, client):
    await hook(client, "voice_status")
    call_id = (await place(client, foreign_id="f-1")).json()["messages"][0]["id"]
    assert emulator.balance(SEVEN_ACCOUNT) == START  # one minute of credit checked, nothing debited yet
    await emulator.advance(120)
    statuses = received(emulator, "voice_status")
    assert [s["data"]["status"] for s in statuses] == ["ringing", "in-progress", "completed"]
    final = statuses[-1]["data"]
    assert final == {
        "callerId": OUR_NUMBER[1:], "duration": "3", "id": call_id, "pricePerMinute": 0.045,
        "recipient": PHONE[1:], "status": "completed", "timestamp": final["timestamp"], "foreign_id": "f-1",
    }
    assert final["timestamp"] == 1_767_225_600 + 6  # 3 s ringing, 3 s of speech
    assert emulator.balance(SEVEN_ACCOUNT) == START - PER_MINUTE
    (row,) = (await client.get("/api/journal/voice", headers=SEVEN_JSON)).json()
    assert (row["id"], row["status"], row["duration"], row["price"], row["text"], row["xml"]) == (
        str(call_id), "completed", "3", "0.0450", "Hallo Welt", False,
    )


async def test_long_text_is_spoken_longer_and_ssml_is_marked_xml(emulator, client):
    ssml = "<speak>" + "Guten Tag. " * 30 + "</speak>"  # 330 characters spoken: 28 s
    await place(client, text=ssml)
    await emulator.advance(120)
    (call,) = calls(emulator)
    assert call.duration == 28 and call.cost == PER_MINUTE
    (row,) = (await client.get("/api/journal/voice", headers=SEVEN_JSON)).json()
    assert row["xml"] is True


@pytest.mark.parametrize(
    ("to", "statuses", "duration"),
    [
        ("+4915700000486", ["ringing", "busy"], "0"),
        ("+4915700000487", ["ringing", "no-answer"], "0"),
        ("+4915700000488", ["ringing", "failed"], "0"),
        ("+4915700000490", ["ringing", "in-progress", "completed"], "3"),
    ],
)
async def test_outcome_rules_decide_the_call(emulator, client, to, statuses, duration):
    await hook(client, "voice_status")
    await place(client, to=to, ringtime=10)
    await emulator.advance(120)
    got = received(emulator, "voice_status")
    assert [s["data"]["status"] for s in got] == statuses
    assert got[-1]["data"]["duration"] == duration
    expected_cost = PER_MINUTE if duration != "0" else 0
    assert emulator.balance(SEVEN_ACCOUNT) == START - expected_cost
    (row,) = (await client.get("/api/journal/voice", headers=SEVEN_JSON)).json()
    assert row["status"] == statuses[-1]


async def test_callee_who_hangs_up_early_ends_the_call(emulator, client):
    await place(client, to="+4915700000490", text="Dies ist eine sehr lange Ansage. " * 10)
    await emulator.advance(120)
    (call,) = calls(emulator)
    assert (call.status, call.duration, call.ended_by) == ("ended", 5, "callee")


async def test_no_answer_gives_up_after_ringtime(emulator, client):
    await hook(client, "voice_status")
    await place(client, to="+4915700000487", ringtime=5)
    await emulator.advance(4.9)
    assert [s["data"]["status"] for s in received(emulator, "voice_status")] == ["ringing"]
    await emulator.advance(0.2)
    assert received(emulator, "voice_status")[-1]["data"]["status"] == "no-answer"


async def test_keys_pressed_fire_voice_dtmf(emulator, client):
    await hook(client, "voice_dtmf")
    call_id = (await place(client, to="+4915700000489", foreign_id="menu")).json()["messages"][0]["id"]
    await emulator.advance(120)
    (dtmf,) = received(emulator, "voice_dtmf")
    assert dtmf["data"] == {
        "callerId": OUR_NUMBER[1:], "dtmf_digit": "1", "duration": "2", "id": call_id, "pricePerMinute": 0.045,
        "recipient": "4915700000489", "status": "in-progress", "system": OUR_NUMBER[1:],
        "timestamp": 1_767_225_600 + 5, "total_price": 0.045, "foreign_id": "menu",
    }


async def test_several_recipients_and_names(emulator, client):
    await client.post("/api/contacts", data={"firstname": "Anna", "lastname": "Berg", "mobile_number": "+4917612345671"}, headers=SEVEN_JSON)
    body = (await place(client, to=f"{PHONE}, Anna Berg,+436641234567")).json()
    assert [m["recipient"] for m in body["messages"]] == [PHONE[1:], "4917612345671", "436641234567"]
    assert [m["price"] for m in body["messages"]] == [0.045, 0.045, 0.06]
    assert body["total_price"] == 0.15
    assert len({m["id"] for m in body["messages"]}) == 3 and len(calls(emulator)) == 3


async def test_status_hook_filter_and_form_encoding(emulator, client):
    await client.post("/api/hooks", data={"target_url": HOOKS, "event_type": "voice_status", "event_filter": "4915700000486"}, headers=SEVEN_JSON)
    await place(client)
    await place(client, to="+4915700000486")
    await emulator.advance(60)
    forms = [r.form for r in emulator.receiver.to(HOOKS)]
    assert [(f["data[recipient]"], f["data[status]"]) for f in forms] == [("4915700000486", "ringing"), ("4915700000486", "busy")]
    assert forms[0]["webhook_event"] == "voice_status"


async def test_caller_id_of_the_account_or_validated(emulator, client):
    owned = await place(client, **{"from": "0157 99912345"})
    assert owned.status_code == 200 and owned.json()["messages"][0]["sender"] == OUR_NUMBER[1:]
    refused = await place(client, **{"from": "+4917699999999"})
    assert refused.status_code == 400 and refused.json() == 201
    await client.post("/api/validate_for_voice", data={"number": "+4917699999999"}, headers=SEVEN_JSON)
    await emulator.advance(15)
    validated = await place(client, **{"from": "+4917699999999"})
    assert validated.status_code == 200 and validated.json()["messages"][0]["sender"] == "4917699999999"
    other = await place(client, headers={"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"}, **{"from": "+4917699999999"})
    assert other.status_code == 400 and other.json() == 201  # validated by another account


async def test_without_a_voice_number_the_system_caller_id_is_used(client):
    body = (await place(client, headers={"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"})).json()
    from emulator.seven.voice import SYSTEM_CALLER_ID

    assert body["messages"][0]["sender"] == SYSTEM_CALLER_ID[1:]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": ""}, 301),
        ({"text": ""}, 305),
        ({"text": "x" * 10_001}, 401),
        ({"to": "nobody"}, 202),
        ({"to": f"{PHONE},12"}, 202),
        ({"from": "Shop"}, 201),
        ({"from": "+4917600000000"}, 201),
        ({"from": "1" * 17}, 201),
        ({"ringtime": 4}, 700),
        ({"ringtime": 61}, 700),
        ({"ringtime": "soon"}, 700),
        ({"foreign_id": "no spaces"}, 700),
        ({"debug": "maybe"}, 700),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(emulator, client, fields, code):
    await hook(client, "all")
    response = await place(client, **fields)
    assert response.status_code == 400 and response.json() == code
    text = await place(client, headers={"X-Api-Key": SEVEN_KEY}, **fields)
    assert text.status_code == 400 and text.text == f"{code}\n\n0"
    await emulator.advance(120)
    assert calls(emulator) == [] and emulator.balance(SEVEN_ACCOUNT) == START and received(emulator) == []


@pytest.mark.local_changes  # changes the engine directly
async def test_insufficient_credit_places_no_call(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].balance = 800  # one minute to DE costs 450
    response = await place(client, to=f"{PHONE},+4917612345671")
    assert response.status_code == 402 and response.json() == 500
    assert calls(emulator) == [] and emulator.balance(SEVEN_ACCOUNT) == 800
    assert (await place(client)).status_code == 200


async def test_wrong_key_and_missing_scope(emulator, client):
    response = await place(client, headers={"X-Api-Key": "wrong"})
    assert response.text == "900"
    scoped = await place(client, headers={"Authorization": "Bearer test_oauth_token"})
    assert scoped.status_code == 403 and scoped.text == "902"
    assert calls(emulator) == []


# -- hangup ---------------------------------------------------------------------------------

async def hangup(client, call_id, headers=SEVEN_JSON):
    return await client.post(f"/api/voice/{call_id}/hangup", headers=headers)


async def test_hangup_ends_a_call_in_progress(emulator, client):
    await hook(client, "voice_status")
    call_id = (await place(client, text="Eine lange Ansage. " * 20)).json()["messages"][0]["id"]
    early = await hangup(client, call_id)
    assert early.status_code == 409 and early.json() == {"success": False, "error": f"Call {call_id} is not in progress yet."}
    await emulator.advance(13)  # answered after 3 s, 10 s on the line
    response = await hangup(client, call_id)
    assert response.status_code == 200 and response.json() == {"success": True, "error": None}
    await emulator.advance(1)
    (call,) = calls(emulator)
    assert (call.status, call.duration, call.ended_by) == ("ended", 10, "api")
    assert received(emulator, "voice_status")[-1]["data"]["status"] == "completed"
    assert emulator.balance(SEVEN_ACCOUNT) == START - PER_MINUTE
    again = await hangup(client, call_id)
    assert again.status_code == 409 and again.json() == {"success": False, "error": f"Call {call_id} has already ended."}


async def test_hangup_of_unknown_or_foreign_calls(emulator, client):
    call_id = (await place(client, text="Eine lange Ansage. " * 20)).json()["messages"][0]["id"]
    await emulator.advance(5)
    for unknown, headers in ((999, SEVEN_JSON), ("abc", SEVEN_JSON), (call_id, {"X-Api-Key": SEVEN_OTHER_KEY})):
        response = await hangup(client, unknown, headers)
        assert response.status_code == 404
        assert response.json() == {"success": False, "error": f"Call {unknown} not found."}
    (call,) = calls(emulator)
    assert call.status == "ongoing"


# -- inbound calls --------------------------------------------------------------------------

async def test_inbound_call_fires_voice_call_and_dtmf(emulator, client):
    await hook(client, "all")
    response = await client.post("/_emulator/inbound/call", json={"to": OUR_NUMBER, "from": PHONE, "digits": "12", "talk_time": 20})
    assert response.status_code == 200, response.text
    call_id = response.json()["id"]
    await emulator.advance(60)
    events = received(emulator)
    assert [e["webhook_event"] for e in events] == ["voice_call", "voice_dtmf", "voice_dtmf"]
    assert events[0]["data"] == {"caller": PHONE[1:], "id": int(call_id), "system": OUR_NUMBER[1:], "time": 1_767_225_600}
    first, second = events[1]["data"], events[2]["data"]
    assert (first["dtmf_digit"], second["dtmf_digit"]) == ("1", "2")
    assert first == {
        "callerId": PHONE[1:], "dtmf_digit": "1", "duration": "2", "id": int(call_id), "pricePerMinute": 0.0,
        "recipient": OUR_NUMBER[1:], "status": "in-progress", "system": OUR_NUMBER[1:],
        "timestamp": 1_767_225_602, "total_price": 0.0, "foreign_id": None,
    }
    (call,) = calls(emulator)
    assert (call.direction, call.status, call.duration, call.cost) == ("inbound", "ended", 20, 0)
    assert (await client.get("/api/journal/voice", headers=SEVEN_JSON)).json() == []  # outbound calls only


async def test_inbound_voice_call_hook_filtered_by_number(emulator, client):
    await hook(client, "voice_call", event_filter="+4900000000")
    await client.post("/_emulator/inbound/call", json={"to": OUR_NUMBER, "from": PHONE})
    await emulator.advance(5)
    assert received(emulator) == []


async def test_analytics_count_calls(emulator, client):
    await place(client)
    await emulator.advance(60)
    (row,) = (await client.get("/api/analytics/date", headers=SEVEN_JSON)).json()
    assert (row["voice"], row["usage_eur"]) == (1, 0.045)

"""46elks calls: placing, listing, deleting; the action language run by voice_start (play, ivr,
connect, record, hangup, next), whenhangup, outcome rules, billing, inbound calls and the
control API's view of calls."""

import json
import re

import pytest

from emulator.core.calls import CallOutcome, CallRule
from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_AUTH, ELKS_SUB_ACCOUNT
from voice_support import HOOKS, form_json, run_call, voice  # noqa: F401 (fixture)

OUR_NUMBER = "+46766861001"
PLAY = {"play": "https://sounds.example/hello.mp3"}


async def place(client, to="+46701234567", voice_start=PLAY, auth=ELKS_AUTH, **extra):
    data = {"from": OUR_NUMBER, "to": to, "voice_start": voice_start if isinstance(voice_start, str) else json.dumps(voice_start), **extra}
    response = await client.post("/a1/Calls", data=data, auth=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def get_call(client, call_id, auth=ELKS_AUTH):
    response = await client.get(f"/a1/Calls/{call_id}", auth=auth)
    assert response.status_code == 200, response.text
    return response.json()


def rule(voice, number, **outcome):
    voice.engine.calls.add_rule(CallRule(number, CallOutcome(**outcome)))


# -- placing a call --------------------------------------------------------------------------


async def test_place_call_answers_callstart_and_lists_it(voice):
    client = voice.client
    body = await place(client)
    assert set(body) == {"direction", "from", "to", "created", "state", "id"}
    assert (body["direction"], body["from"], body["to"], body["state"]) == ("outgoing", OUR_NUMBER, "+46701234567", "ongoing")
    assert re.fullmatch(r"c[0-9a-f]{32}", body["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", body["created"])
    call = await get_call(client, body["id"])
    assert call["state"] == "ongoing" and "start" not in call
    assert (call["owner"], call["timeout"], call["legs"], call["actions"], call["duration"], call["cost"]) == (ELKS_ACCOUNT, 25, [], [], 0, 0)
    second = await place(client, to="+46701234568")
    listed = (await client.get("/a1/calls", auth=ELKS_AUTH)).json()
    assert [c["id"] for c in listed["data"]] == [second["id"], body["id"]] and "next" not in listed


async def test_inline_play_then_the_call_ends_and_is_billed_and_reported(voice):
    before = voice.balance(ELKS_ACCOUNT)
    body = await place(voice.client, whenhangup=f"{HOOKS}/hangup")
    await voice.advance(3)  # rings 3 s, answers: the play starts
    assert (await get_call(voice.client, body["id"]))["state"] == "ongoing"
    await voice.advance(3)  # every play lasts 3 s; no `next`: the call ends
    call = await get_call(voice.client, body["id"])
    assert (call["state"], call["duration"], call["cost"]) == ("success", 3, 1500)
    assert call["start"] > call["created"]
    assert call["actions"] == [{"play": "https://sounds.example/hello.mp3", "result": "success"}]
    assert voice.balance(ELKS_ACCOUNT) == before - 1500
    (hook,) = voice.receiver.path("/hangup")
    form = hook.form
    assert (form["id"], form["callid"], form["state"], form["duration"], form["cost"], form["direction"]) == (
        body["id"], body["id"], "success", "3", "1500", "outgoing",
    )
    assert (form["from"], form["to"], form["created"], form["start"]) == (OUR_NUMBER, "+46701234567", call["created"], call["start"])
    assert form_json(hook, "actions") == call["actions"] and form_json(hook, "legs") == []


@pytest.mark.parametrize(
    ("to", "after", "state"),
    [("+46700000486", 3, "busy"), ("+46700000487", 25, "failed"), ("+46700000488", 3, "failed")],
)
async def test_magic_numbers_never_answer(voice, to, after, state):
    before = voice.balance(ELKS_ACCOUNT)
    body = await place(voice.client, to=to, voice_start=f"{HOOKS}/start", whenhangup=f"{HOOKS}/hangup")
    await voice.advance(after - 1)
    assert (await get_call(voice.client, body["id"]))["state"] == "ongoing"
    await voice.advance(1)
    call = await get_call(voice.client, body["id"])
    if state == "failed":  # 46elks reference §7.2: a failed call in history has only these fields
        assert set(call) == {"direction", "from", "to", "created", "state", "id"} and call["state"] == "failed"
    else:
        assert (call["state"], call["duration"], call["cost"], "start" in call) == (state, 0, 0, False)
    assert voice.receiver.path("/start") == []  # voice_start runs only once answered
    hook = voice.receiver.path("/hangup")[0].form  # whenhangup gets the full record
    assert (hook["state"], hook["duration"], hook["cost"], "start" in hook) == (state, "0", "0", False)
    assert voice.balance(ELKS_ACCOUNT) == before


async def test_timeout_limits_the_ringing(voice):
    rule(voice, "+46701234567", ring_time=15)
    body = await place(voice.client, timeout="10")
    assert (await get_call(voice.client, body["id"]))["timeout"] == 10
    await voice.advance(10)
    call = await get_call(voice.client, body["id"])
    assert call["state"] == "failed"
    assert voice.engine.calls.get(body["id"]).ring_timeout == 10


async def test_call_from_the_mobile_number_and_as_get_post(voice):
    response = await voice.client.get(
        "/a1/calls/POST", params={"from": "+46700000001", "to": "+46701234567", "voice_start": json.dumps(PLAY)}, auth=ELKS_AUTH
    )
    assert response.status_code == 200 and response.json()["from"] == "+46700000001"


# -- voice_start URLs and the action language --------------------------------------------------


async def test_voice_start_url_gets_the_call_and_its_answer_is_run(voice):
    voice.receiver.answers["/start"] = {"play": "https://sounds.example/a.wav", "next": f"{HOOKS}/next"}
    voice.receiver.answers["/next"] = {"hangup": "reject"}
    body = await place(voice.client, voice_start=f"{HOOKS}/start")
    elapsed = await run_call(voice, body["id"])
    (start,) = voice.receiver.path("/start")
    assert start.form == {"callid": body["id"], "from": OUR_NUMBER, "to": "+46701234567", "direction": "outgoing", "created": body["created"]}
    (next_hook,) = voice.receiver.path("/next")
    assert (next_hook.form["callid"], next_hook.form["result"]) == (body["id"], "success")
    call = await get_call(voice.client, body["id"])
    assert call["actions"] == [{"play": "https://sounds.example/a.wav", "result": "success"}, {"hangup": "reject", "result": "success"}]
    assert (call["state"], call["duration"], elapsed) == ("success", 3, 6)
    exchanges = (await voice.client.get("/_emulator/webhooks", params={"subject": body["id"]})).json()["data"]
    assert sorted(d["event"] for d in exchanges) == ["call.next", "call.voice_start"]
    assert all(len(d["attempts"]) == 1 and d["state"] == "delivered" for d in exchanges)
    assert json.loads(next(d for d in exchanges if d["event"] == "call.next")["attempts"][0]["response_body"]) == {"hangup": "reject"}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((500, "oops"), "answered HTTP 500"),
        ((200, "<html>hi</html>"), "not JSON"),
        ((200, "[1, 2]"), "not an action object"),
        ((200, '{"say": "hello"}'), "no action"),
        ((200, '{"play": Infinity}'), "not JSON"),  # Python's json reads it; JSON has no Infinity
        # A valid action padded past the 64 KiB the emulator reads is an invalid answer, not a
        # guess at its first 64 KiB.
        ((200, '{"hangup": "reject"}' + " " * 70_000), "longer than 64 KiB"),
    ],
)
async def test_a_bad_call_control_answer_ends_the_call_without_retry(voice, answer, reason):
    voice.receiver.answers["/start"] = answer
    body = await place(voice.client, voice_start=f"{HOOKS}/start", whenhangup=f"{HOOKS}/hangup")
    await run_call(voice, body["id"])
    await voice.advance(3600)  # a retry would have come by now
    assert len(voice.receiver.path("/start")) == 1
    call = await get_call(voice.client, body["id"])
    assert call["state"] == "failed"
    assert voice.receiver.path("/hangup")[0].form["state"] == "failed"
    listed = (await voice.client.get("/_emulator/calls", params={"provider": "elks"})).json()["data"][0]
    assert reason in listed["error"] and listed["ended_by"] == "error"


async def test_an_empty_answer_just_ends_the_call(voice):
    voice.receiver.answers["/start"] = (204, "")
    body = await place(voice.client, voice_start=f"{HOOKS}/start")
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert (call["state"], call["actions"]) == ("success", [])


async def test_ivr_runs_the_branch_of_the_pressed_key(voice):
    rule(voice, "+46709000000", ring_time=2, talk_time=14)
    voice.receiver.answers["/start"] = {
        "ivr": "https://sounds.example/menu.mp3",
        "1": {"connect": "+46709000000", "callerid": "+46700000001", "next": f"{HOOKS}/after-connect"},
        "2": {"play": "https://sounds.example/bye.mp3"},
    }
    voice.receiver.answers["/after-connect"] = (204, "")
    body = await place(voice.client, to="+46700000489", voice_start=f"{HOOKS}/start", whenhangup=f"{HOOKS}/hangup")
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert call["actions"] == [
        {"ivr": "https://sounds.example/menu.mp3", "result": "1"},
        {"connect": "+46709000000", "result": "success"},
    ]
    assert call["legs"] == [{"from": "+46700000001", "to": "+46709000000", "state": "success", "duration": 14}]
    assert call["duration"] == 2 + 2 + 14  # keys after 2 s, the leg rings 2 s and talks 14 s
    assert call["cost"] == 1500 + 1500  # one started minute for the call, one for the leg
    (after,) = voice.receiver.path("/after-connect")
    assert after.form["result"] == "success"
    hook = voice.receiver.path("/hangup")[0]
    assert form_json(hook, "legs") == call["legs"] and form_json(hook, "actions") == call["actions"]
    assert voice.engine.events.find({"kind": "call.digits", "id": body["id"], "digits": "1"}) is not None


async def test_ivr_posts_the_keys_to_next_when_no_branch_matches(voice):
    rule(voice, "+46701234567", digits="42#")
    voice.receiver.answers["/start"] = {"ivr": "https://sounds.example/pin.mp3", "digits": "4", "timeout": 5, "next": f"{HOOKS}/pin"}
    voice.receiver.answers["/pin"] = {"play": "https://sounds.example/ok.mp3"}
    body = await place(voice.client, voice_start=f"{HOOKS}/start")
    await run_call(voice, body["id"])
    (pin,) = voice.receiver.path("/pin")
    assert (pin.form["result"], pin.form["callid"], pin.form["from"]) == ("42", body["id"], OUR_NUMBER)
    assert (await get_call(voice.client, body["id"]))["actions"][0] == {"ivr": "https://sounds.example/pin.mp3", "result": "42"}


async def test_ivr_without_keys_repeats_then_reports_failed(voice):
    voice.receiver.answers["/start"] = {"ivr": "https://sounds.example/menu.mp3", "timeout": 4, "repeat": 2, "next": f"{HOOKS}/none"}
    voice.receiver.answers["/none"] = (204, "")
    body = await place(voice.client, voice_start=f"{HOOKS}/start")
    await run_call(voice, body["id"])
    (none,) = voice.receiver.path("/none")
    assert none.form["result"] == "failed"
    call = await get_call(voice.client, body["id"])
    assert call["duration"] == 2 * (3 + 4)  # two rounds of a 3 s prompt and a 4 s wait


async def test_connect_branches_on_busy(voice):
    voice.receiver.answers["/start"] = {
        "connect": "+46700000486",
        "busy": {"play": "https://sounds.example/busy.mp3", "next": {"hangup": "reject"}},
        "failed": f"{HOOKS}/failed",
    }
    body = await place(voice.client, voice_start=f"{HOOKS}/start")
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert call["actions"] == [
        {"connect": "+46700000486", "result": "busy"},
        {"play": "https://sounds.example/busy.mp3", "result": "success"},
        {"hangup": "reject", "result": "success"},
    ]
    assert call["legs"] == [{"from": OUR_NUMBER, "to": "+46700000486", "state": "busy", "duration": 0}]
    assert voice.receiver.path("/failed") == [] and call["cost"] == 1500


async def test_connect_failure_posts_to_the_failed_url(voice):
    voice.receiver.answers["/start"] = {"connect": "+46700000488", "timeout": "20", "failed": f"{HOOKS}/failed"}
    voice.receiver.answers["/failed"] = (200, "")
    body = await place(voice.client, voice_start=f"{HOOKS}/start")
    await run_call(voice, body["id"])
    (failed,) = voice.receiver.path("/failed")
    assert failed.form["result"] == "failed"


async def test_connect_to_a_list_takes_the_first_to_answer(voice):
    rule(voice, "+46709000001", ring_time=8)
    rule(voice, "+46709000002", ring_time=4, talk_time=5)
    voice.receiver.answers["/start"] = {"connect": "+46700000486,+46709000001,+46709000002"}
    body = await place(voice.client, voice_start=f"{HOOKS}/start")
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert [leg["to"] for leg in call["legs"]] == ["+46709000002"]


async def test_the_callee_hanging_up_ends_the_call_mid_script(voice):
    voice.receiver.answers["/start"] = {"connect": "+46709000000"}
    body = await place(voice.client, to="+46700000490", voice_start=f"{HOOKS}/start", whenhangup=f"{HOOKS}/hangup")
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert (call["state"], call["duration"]) == ("success", 5)  # the magic number hangs up after 5 s
    assert call["legs"] == [{"from": OUR_NUMBER, "to": "+46709000000", "state": "success", "duration": 2}]
    assert call["actions"] == [{"connect": "+46709000000"}]  # cut off: no result


async def test_a_looping_script_is_stopped_with_an_error(voice):
    rule(voice, "+46701234567", talk_time=100_000)
    voice.receiver.answers["/loop"] = {"play": "https://sounds.example/again.mp3", "next": f"{HOOKS}/loop"}
    body = await place(voice.client, voice_start=f"{HOOKS}/loop", whenhangup=f"{HOOKS}/hangup")
    await run_call(voice, body["id"], step=3)
    assert len(voice.receiver.path("/loop")) == 50  # 100 steps: 50 requests and 50 plays
    call = await get_call(voice.client, body["id"])
    assert call["state"] == "failed" and len(call["actions"]) == 50
    listed = (await voice.client.get("/_emulator/calls")).json()["data"][0]
    assert "more than 100" in listed["error"] and "loops" in listed["error"]
    assert voice.receiver.path("/hangup")[0].form["state"] == "failed"


async def test_whenhangup_in_an_action_replaces_the_calls(voice):
    body = await place(voice.client, voice_start={**PLAY, "whenhangup": f"{HOOKS}/late"}, whenhangup=f"{HOOKS}/early")
    await run_call(voice, body["id"])
    assert voice.receiver.path("/early") == [] and len(voice.receiver.path("/late")) == 1


async def test_whenhangup_is_retried_like_other_46elks_webhooks(voice):
    voice.receiver.answers["/hangup"] = (500, "down")
    body = await place(voice.client, whenhangup=f"{HOOKS}/hangup")
    await run_call(voice, body["id"])
    voice.receiver.answers["/hangup"] = (200, "")
    await voice.advance(300)
    assert [r.form["callid"] for r in voice.receiver.path("/hangup")] == [body["id"], body["id"]]


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"from": None}, "Missing key from"),
        ({"to": None}, "Missing key to"),
        ({"voice_start": None}, "Missing key voice_start"),
        ({"to": "0701234567"}, "Invalid to number"),
        ({"from": "ElkCo"}, "Invalid from number"),
        ({"from": "+46700000002"}, "Invalid from number"),  # another account's mobile number
        ({"voice_start": "Hi! This is your message."}, "Invalid voice_start"),
        ({"voice_start": "{not json"}, "Invalid voice_start"),
        # NaN is no JSON (Python's json reads it); the call's record then could not be answered (500)
        ({"voice_start": '{"play": NaN}'}, "Invalid voice_start"),
        ({"whenhangup": "ftp://example.com/x"}, "not a valid URL"),
        ({"timeout": "soon"}, "Invalid timeout"),
        ({"timeout": "0"}, "Invalid timeout"),
    ],
)
async def test_bad_requests_are_refused_and_change_nothing(voice, change, text):
    data = {"from": OUR_NUMBER, "to": "+46701234567", "voice_start": json.dumps(PLAY), **change}
    data = {key: value for key, value in data.items() if value is not None}
    before = voice.balance(ELKS_ACCOUNT)
    response = await voice.client.post("/a1/Calls", data=data, auth=ELKS_AUTH)
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/plain")
    assert text in response.text
    assert len(voice.engine.calls.collection) == 0 and voice.balance(ELKS_ACCOUNT) == before
    assert voice.engine.events.find({"kind": "call.created"}) is None


async def test_no_credit_no_call(voice):
    voice.engine.store.accounts[ELKS_ACCOUNT].balance = 1499  # SE costs 1500 a minute
    response = await voice.client.post("/a1/Calls", data={"from": OUR_NUMBER, "to": "+46701234567", "voice_start": json.dumps(PLAY)}, auth=ELKS_AUTH)
    assert response.status_code == 403 and response.text.startswith("Not enough credits")
    assert len(voice.engine.calls.collection) == 0 and voice.balance(ELKS_ACCOUNT) == 1499


async def test_calls_are_private_to_their_account(voice):
    body = await place(voice.client)
    assert (await voice.client.get(f"/a1/calls/{body['id']}", auth=ELKS_OTHER_AUTH)).status_code == 404
    assert (await voice.client.delete(f"/a1/calls/{body['id']}", auth=ELKS_OTHER_AUTH)).status_code == 404
    assert (await voice.client.get("/a1/calls", auth=ELKS_OTHER_AUTH)).json() == {"data": []}
    assert (await voice.client.get("/a1/calls", auth=("test_user", "wrong"))).status_code == 401
    missing = await voice.client.get("/a1/calls/c00000000000000000000000000000000", auth=ELKS_AUTH)
    assert (missing.status_code, missing.headers["content-type"].split(";")[0]) == (404, "text/plain")


async def test_a_subaccount_calls_on_its_own_balance(voice):
    sub_before, main_before = voice.balance(ELKS_SUB_ACCOUNT), voice.balance(ELKS_ACCOUNT)
    response = await voice.client.post(
        "/a1/calls", data={"from": "+46700000001", "to": "+46701234567", "voice_start": json.dumps(PLAY)}, auth=ELKS_SUB_AUTH
    )
    assert response.status_code == 200, response.text
    await run_call(voice, response.json()["id"])
    assert (voice.balance(ELKS_SUB_ACCOUNT), voice.balance(ELKS_ACCOUNT)) == (sub_before - 1500, main_before)
    assert (await voice.client.get("/a1/calls", auth=ELKS_AUTH)).json() == {"data": []}


# -- history ---------------------------------------------------------------------------------


async def test_delete_removes_the_call_from_history(voice):
    body = await place(voice.client)
    await run_call(voice, body["id"])
    deleted = await voice.client.delete(f"/a1/Calls/{body['id']}", auth=ELKS_AUTH)
    assert deleted.status_code == 200 and deleted.json()["id"] == body["id"] and "deleted" in deleted.json()
    assert (await voice.client.get(f"/a1/Calls/{body['id']}", auth=ELKS_AUTH)).status_code == 404
    assert (await voice.client.get("/a1/Calls", auth=ELKS_AUTH)).json() == {"data": []}
    assert (await voice.client.delete(f"/a1/Calls/{body['id']}", auth=ELKS_AUTH)).status_code == 404


async def test_history_pages_with_next(voice):
    ids = [(await place(voice.client, to=f"+4670123456{k}"))["id"] for k in range(5)]
    first = (await voice.client.get("/a1/calls", params={"limit": 2}, auth=ELKS_AUTH)).json()
    assert [c["id"] for c in first["data"]] == ids[:-3:-1]
    second = (await voice.client.get("/a1/calls", params={"limit": 2, "start": first["next"]}, auth=ELKS_AUTH)).json()
    assert [c["id"] for c in second["data"]] == [ids[2], ids[1]]
    newer = (await voice.client.get("/a1/calls", params={"end": first["data"][1]["created"]}, auth=ELKS_AUTH)).json()
    assert [c["id"] for c in newer["data"]] == [ids[4]]
    bad = await voice.client.get("/a1/calls", params={"limit": "0"}, auth=ELKS_AUTH)
    assert bad.status_code == 403
    capped = (await voice.client.get("/a1/calls", params={"limit": "500"}, auth=ELKS_AUTH)).json()  # at most 100 a page
    assert [c["id"] for c in capped["data"]] == ids[::-1]


# -- inbound calls and the control API -------------------------------------------------------


async def test_inbound_call_runs_the_numbers_voice_start_with_the_callers_keys(voice):
    number = voice.engine.store.active_number(OUR_NUMBER)
    number.attributes["voice_start"] = f"{HOOKS}/incoming"
    voice.receiver.answers["/incoming"] = {"ivr": "https://sounds.example/menu.mp3", "3": {"play": "https://sounds.example/three.mp3"}}
    response = await voice.client.post("/_emulator/inbound/call", json={"to": OUR_NUMBER, "from": "+46709876543", "digits": "3"})
    assert response.status_code == 200, response.text
    created = response.json()
    assert (created["provider"], created["direction"], created["status"], created["account_id"]) == ("elks", "inbound", "ringing", ELKS_ACCOUNT)
    await run_call(voice, created["id"])
    (incoming,) = voice.receiver.path("/incoming")
    assert incoming.form == {
        "callid": created["id"], "from": "+46709876543", "to": OUR_NUMBER, "direction": "incoming",
        "created": incoming.form["created"], "result": "newincoming",
    }
    call = await get_call(voice.client, created["id"])
    assert (call["direction"], call["state"], call["cost"], "timeout" in call) == ("incoming", "success", 0, False)
    assert call["actions"] == [
        {"ivr": "https://sounds.example/menu.mp3", "result": "3"},
        {"play": "https://sounds.example/three.mp3", "result": "success"},
    ]


async def test_inbound_call_to_a_number_without_voice_start_fails(voice):
    created = (await voice.client.post("/_emulator/inbound/call", json={"to": OUR_NUMBER, "from": "+46709876543"})).json()
    await run_call(voice, created["id"])
    listed = (await voice.client.get("/_emulator/calls", params={"direction": "inbound"})).json()["data"]
    assert [c["id"] for c in listed] == [created["id"]]
    assert listed[0]["status"] == "ended" and "no voice_start" in listed[0]["error"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"to": "+46700009999", "from": "+46709876543"}, 404),
        ({"to": OUR_NUMBER}, 400),
        ({"from": "+46709876543"}, 400),
        ({"to": OUR_NUMBER, "from": "Martin"}, 400),
        ({"to": OUR_NUMBER, "from": "+46709876543", "digits": "12x"}, 400),
        ({"to": OUR_NUMBER, "from": "+46709876543", "talk_time": -1}, 400),
    ],
)
async def test_bad_inbound_calls_change_nothing(voice, body, status):
    response = await voice.client.post("/_emulator/inbound/call", json=body)
    assert response.status_code == status and "error" in response.json()
    assert len(voice.engine.calls.collection) == 0


async def test_control_lists_calls_with_legs_actions_and_filters(voice):
    rule(voice, "+46709000000", talk_time=4)
    body = await place(voice.client, voice_start={"connect": "+46709000000"})
    other = await place(voice.client, to="+46700000486")
    await run_call(voice, body["id"])
    listed = (await voice.client.get("/_emulator/calls")).json()
    assert [c["id"] for c in listed["data"]] == [other["id"], body["id"]] and listed["next"] is None
    call = listed["data"][1]
    assert (call["status"], call["duration"], call["ended_by"], call["attributes"]["voice_start"]) == (
        "ended", 7, "script", json.dumps({"connect": "+46709000000"}),
    )
    assert [h["status"] for h in call["history"]] == ["created", "ringing", "answered", "ongoing", "ended"]
    assert call["legs"][0]["to"] == "+46709000000" and call["legs"][0]["status"] == "ended" and call["legs"][0]["duration"] == 4
    assert call["actions"] == [{"connect": "+46709000000", "result": "success"}]
    busy = (await voice.client.get("/_emulator/calls", params={"status": "busy", "to": "46700000486"})).json()["data"]
    assert [c["id"] for c in busy] == [other["id"]]
    page = (await voice.client.get("/_emulator/calls", params={"limit": 1})).json()
    assert len(page["data"]) == 1 and page["next"] is not None
    rest = (await voice.client.get("/_emulator/calls", params={"cursor": page["next"]})).json()
    assert [c["id"] for c in rest["data"]] == [body["id"]]
    for bad in ({"status": "talking"}, {"provider": "acme"}, {"limit": "0"}, {"cursor": "x"}):
        response = await voice.client.get("/_emulator/calls", params=bad)
        assert response.status_code == 400 and "error" in response.json()


async def test_reset_forgets_calls(voice):
    body = await place(voice.client)
    await voice.client.post("/_emulator/reset")
    assert (await voice.client.get(f"/a1/calls/{body['id']}", auth=ELKS_AUTH)).status_code == 404
    await voice.advance(100)
    assert (await voice.client.get("/_emulator/calls")).json()["data"] == []

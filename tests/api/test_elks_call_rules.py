"""46elks call records and the rules of the action language the reference states (§7.2, §7.3):
`recordings` on calls that recorded, the short record of a failed call, `connect` from an
incoming call to a Swedish mobile number, and `hangup: busy` only as the first action."""

import json

import pytest

from support import ELKS_AUTH
from voice_support import HOOKS, form_json, run_call, voice  # noqa: F401 (fixture)

OUR_NUMBER = "+46766861001"  # a Swedish mobile number of the default account
PLAY = {"play": "https://sounds.example/hello.mp3"}


async def place(client, action, to="+46701234567", **extra):
    data = {"from": OUR_NUMBER, "to": to, "voice_start": json.dumps(action), **extra}
    response = await client.post("/a1/Calls", data=data, auth=ELKS_AUTH)
    assert response.status_code == 200, response.text
    return response.json()


async def get_call(client, call_id):
    response = await client.get(f"/a1/Calls/{call_id}", auth=ELKS_AUTH)
    assert response.status_code == 200, response.text
    return response.json()


async def incoming(voice, action, to=OUR_NUMBER):
    number = voice.engine.store.active_number(to)
    number.attributes["voice_start"] = json.dumps(action)
    response = await voice.client.post("/_emulator/inbound/call", json={"to": to, "from": "+46709876543"})
    assert response.status_code == 200, response.text
    call_id = response.json()["id"]
    await run_call(voice, call_id)
    return call_id


# -- §7.2 recordings ------------------------------------------------------------------------------


async def test_a_call_that_recorded_lists_its_recordings(voice):
    body = await place(voice.client, {"record": f"{HOOKS}/rec", "timelimit": 2, "next": {"record": f"{HOOKS}/rec"}}, whenhangup=f"{HOOKS}/hangup")
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert call["recordings"] == [f"{body['id']}-r0", f"{body['id']}-r1"]
    listed = (await voice.client.get("/a1/Calls", auth=ELKS_AUTH)).json()["data"]
    assert listed[0]["recordings"] == call["recordings"]
    assert form_json(voice.receiver.path("/hangup")[0], "recordings") == call["recordings"]
    for recording in call["recordings"]:
        assert (await voice.client.get(f"/a1/recordings/{recording}", auth=ELKS_AUTH)).status_code == 200


async def test_a_call_without_recordings_has_no_recordings_field(voice):
    body = await place(voice.client, PLAY, whenhangup=f"{HOOKS}/hangup")
    await run_call(voice, body["id"])
    assert "recordings" not in await get_call(voice.client, body["id"])
    assert "recordings" not in voice.receiver.path("/hangup")[0].form


# -- §7.2 a failed call ---------------------------------------------------------------------------


async def test_a_failed_outgoing_call_shows_only_the_documented_fields(voice):
    body = await place(voice.client, PLAY, to="+46700000488")  # fails without answering
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert call == {"direction": "outgoing", "from": OUR_NUMBER, "to": "+46700000488", "created": body["created"], "state": "failed", "id": body["id"]}
    (listed,) = (await voice.client.get("/a1/Calls", auth=ELKS_AUTH)).json()["data"]
    assert listed == call


# -- §7.3 connect from an incoming call to a Swedish mobile number --------------------------------


@pytest.mark.parametrize("target", ["+4915112345678", "+46812345678", "sip:desk@pbx.example.com", "+46701234567,+4915112345678"])
async def test_an_incoming_call_to_a_swedish_mobile_number_connects_only_to_swedish_mobiles(voice, target):
    call_id = await incoming(voice, {"connect": target, "failed": {"play": "https://sounds.example/sorry.mp3"}})
    call = await get_call(voice.client, call_id)
    assert call["legs"] == []  # nobody was rung
    assert call["actions"][0] == {"connect": target, "result": "failed"}
    assert call["actions"][1]["play"] == "https://sounds.example/sorry.mp3"  # the `failed` branch ran
    listed = (await voice.client.get("/_emulator/calls", params={"direction": "inbound"})).json()["data"][0]
    assert "Swedish mobile" in listed["attributes"]["connect_refused"]


async def test_an_incoming_call_to_a_swedish_mobile_number_connects_to_a_swedish_mobile(voice):
    call_id = await incoming(voice, {"connect": "+46701234567"})
    call = await get_call(voice.client, call_id)
    assert [(leg["to"], leg["state"]) for leg in call["legs"]] == [("+46701234567", "success")]


async def test_an_incoming_call_to_a_fixed_number_connects_abroad(voice):
    allocated = await voice.client.post("/a1/numbers", data={"country": "se", "category": "fixed", "capabilities": "voice"}, auth=ELKS_AUTH)
    assert allocated.status_code == 200, allocated.text
    call_id = await incoming(voice, {"connect": "+4915112345678"}, to=allocated.json()["number"])
    call = await get_call(voice.client, call_id)
    assert [leg["to"] for leg in call["legs"]] == ["+4915112345678"]


async def test_an_outgoing_call_connects_anywhere(voice):
    body = await place(voice.client, {"connect": "+4915112345678"})
    await run_call(voice, body["id"])
    assert [leg["to"] for leg in (await get_call(voice.client, body["id"]))["legs"]] == ["+4915112345678"]


# -- §7.3 hangup values ---------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "state"), [("busy", "busy"), ("404", "failed")])
async def test_hangup_busy_or_404_as_the_first_action_turns_an_incoming_call_away(voice, how, state):
    call_id = await incoming(voice, {"hangup": how})
    call = await get_call(voice.client, call_id)
    assert (call["state"], "start" in call, call["duration"], call["cost"]) == (state, False, 0, 0)
    assert call["actions"] == [{"hangup": how, "result": "success"}]


@pytest.mark.parametrize("how", ["busy", "404"])
async def test_hangup_busy_or_404_after_another_action_fails_the_call(voice, how):
    body = await place(voice.client, {**PLAY, "next": {"hangup": how}})
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert call["state"] == "failed" and call["actions"][-1] == {"hangup": how, "result": "failed"}
    listed = (await voice.client.get("/_emulator/calls")).json()["data"][0]
    assert "only allowed as the first action" in listed["error"]


async def test_hangup_reject_is_allowed_anywhere(voice):
    body = await place(voice.client, {**PLAY, "next": {"hangup": "reject"}})
    await run_call(voice, body["id"])
    call = await get_call(voice.client, body["id"])
    assert (call["state"], call["duration"]) == ("success", 3)

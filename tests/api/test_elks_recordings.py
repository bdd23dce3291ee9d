"""46elks recordings: made by `record` and `recordcall`, POSTed to their URL, listed, described and
downloaded as real WAV files of the recorded length."""

import io
import json
import wave

import pytest

from emulator.core.calls import CallOutcome, CallRule
from support import ELKS_AUTH, ELKS_OTHER_AUTH
from voice_support import HOOKS, run_call, voice  # noqa: F401 (fixture)

OUR_NUMBER = "+46766861001"


async def place(client, voice_start, to="+46701234567"):
    data = {"from": OUR_NUMBER, "to": to, "voice_start": json.dumps(voice_start)}
    response = await client.post("/a1/calls", data=data, auth=ELKS_AUTH)
    assert response.status_code == 200, response.text
    return response.json()


async def test_record_posts_the_recording_and_serves_its_wav(voice):
    body = await place(voice.client, {"record": f"{HOOKS}/recording", "timelimit": 3, "next": {"play": "https://sounds.example/thanks.mp3"}})
    await run_call(voice, body["id"])
    (posted,) = voice.receiver.path("/recording")
    form = posted.form
    assert (form["id"], form["callid"], form["duration"], form["from"], form["to"], form["direction"]) == (
        f"{body['id']}-r0", body["id"], "3", OUR_NUMBER, "+46701234567", "outgoing",
    )
    assert form["wav"] == f"http://emulator.test/a1/recordings/{body['id']}-r0.wav"
    call = (await voice.client.get(f"/a1/calls/{body['id']}", auth=ELKS_AUTH)).json()
    assert call["actions"] == [
        {"record": f"{HOOKS}/recording", "result": "success"},
        {"play": "https://sounds.example/thanks.mp3", "result": "success"},
    ]
    assert call["duration"] == 3 + 3

    meta = await voice.client.get(f"/a1/recordings/{body['id']}-r0", auth=ELKS_AUTH)
    assert meta.status_code == 200
    assert meta.json() == {"id": f"{body['id']}-r0", "duration": 3, "created": form["created"], "callid": body["id"], "bytes": 44 + 3 * 16000}

    audio = await voice.client.get(form["wav"].removeprefix("http://emulator.test"), auth=ELKS_AUTH)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert len(audio.content) == meta.json()["bytes"]
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()) == (1, 2, 8000, 3 * 8000)
        assert wav.readframes(20) != b"\x00" * 40  # a tone, not silence
    capitalised = await voice.client.get(f"/a1/Recordings/{body['id']}-r0.wav", auth=ELKS_AUTH)
    assert capitalised.content == audio.content


async def test_a_recording_outlives_its_calls_deletion_and_the_world_still_restores(voice):
    body = await place(voice.client, {"record": f"{HOOKS}/recording", "timelimit": 3})
    await run_call(voice, body["id"])
    assert (await voice.client.delete(f"/a1/calls/{body['id']}", auth=ELKS_AUTH)).status_code == 200
    assert (await voice.client.get(f"/a1/calls/{body['id']}", auth=ELKS_AUTH)).status_code == 404
    recording = await voice.client.get(f"/a1/recordings/{body['id']}-r0", auth=ELKS_AUTH)
    assert recording.status_code == 200 and recording.json()["callid"] == body["id"]
    document = (await voice.client.get("/_emulator/snapshot")).json()
    assert (await voice.client.put("/_emulator/snapshot", json=document)).status_code == 200
    assert (await voice.client.get(f"/a1/recordings/{body['id']}-r0", auth=ELKS_AUTH)).json() == recording.json()


async def test_a_record_cut_short_by_the_callee_keeps_what_was_said(voice):
    voice.engine.calls.add_rule(CallRule("+46709000000", CallOutcome(talk_time=2)))
    body = await place(voice.client, {"record": f"{HOOKS}/recording"}, to="+46709000000")
    await run_call(voice, body["id"])
    (posted,) = voice.receiver.path("/recording")
    assert posted.form["duration"] == "2"
    call = (await voice.client.get(f"/a1/calls/{body['id']}", auth=ELKS_AUTH)).json()
    assert call["actions"] == [{"record": f"{HOOKS}/recording"}]


async def test_recordcall_records_the_rest_of_the_call(voice):
    voice.engine.calls.add_rule(CallRule("+46709000000", CallOutcome(ring_time=2, talk_time=9)))
    body = await place(voice.client, {"connect": "+46709000000", "recordcall": f"{HOOKS}/whole", "next": {"record": "local/voicemail"}})
    await run_call(voice, body["id"])
    (posted,) = voice.receiver.path("/whole")
    assert (posted.form["id"], posted.form["duration"]) == (f"{body['id']}-r0", str(2 + 9 + 5))  # local/ keeps nothing
    listed = (await voice.client.get("/a1/recordings", auth=ELKS_AUTH)).json()
    assert [r["id"] for r in listed["data"]] == [f"{body['id']}-r0"]


async def test_recordings_list_pages_and_is_private(voice):
    ids = []
    for k in range(3):
        body = await place(voice.client, {"record": f"{HOOKS}/r", "timelimit": 1}, to=f"+4670123456{k}")
        await run_call(voice, body["id"])
        ids.append(f"{body['id']}-r0")
    first = (await voice.client.get("/a1/recordings", params={"limit": 2}, auth=ELKS_AUTH)).json()
    assert [r["id"] for r in first["data"]] == [ids[2], ids[1]] and "next" in first
    rest = (await voice.client.get("/a1/recordings", params={"start": first["next"]}, auth=ELKS_AUTH)).json()
    assert [r["id"] for r in rest["data"]] == [ids[0]] and "next" not in rest
    assert (await voice.client.get("/a1/recordings", auth=ELKS_OTHER_AUTH)).json() == {"data": []}
    for path in (f"/a1/recordings/{ids[0]}", f"/a1/recordings/{ids[0]}.wav"):
        response = await voice.client.get(path, auth=ELKS_OTHER_AUTH)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/a1/recordings/cnope-r0", "/a1/recordings/cnope-r0.wav"])
async def test_unknown_recording(voice, path):
    response = await voice.client.get(path, auth=ELKS_AUTH)
    assert response.status_code == 404 and response.text == "Recording not found."


async def test_bad_list_parameters(voice):
    response = await voice.client.get("/a1/recordings", params={"start": "yesterday"}, auth=ELKS_AUTH)
    assert response.status_code == 403 and "Invalid start" in response.text

"""46elks inbound SMS and MMS: webhooks to the number's sms_url / mms_url, replies and forwards
from the webhook's answer, static JSON actions, and the control API's inbound MMS."""

import base64
import io
from dataclasses import dataclass, field

import httpx
import pytest
from PIL import Image

from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, Received, Receiver, running_emulator

NUMBER_ID = "n53c05a4e002ae26f790cbaf82b93bc37"
NUMBER = "+46766861001"
PHONE = "+46701234567"
HOOK = "http://hooks.test/sms"


@dataclass
class ScriptedReceiver(Receiver):
    """Answers each webhook with the next (status, body) of `answers` (the last one repeats)."""

    answers: list[tuple[int, str]] = field(default_factory=lambda: [(200, "")])

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append(Received(request.method, str(request.url), request.headers, body))
        status, text = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
        return httpx.Response(status, text=text)


@pytest.fixture
async def emulator(engine):
    async with running_emulator(engine, ScriptedReceiver()) as running:
        yield running


async def configure(client, **settings):
    response = await client.post(f"/a1/numbers/{NUMBER_ID}", data=settings, auth=ELKS_AUTH)
    assert response.status_code == 200, response.text


async def receive(emulator, text="Hello elk", sender=PHONE):
    response = await emulator.client.post("/_emulator/inbound/sms", json={"to": NUMBER, "from": sender, "text": text})
    assert response.status_code == 200, response.text
    assert await emulator.engine.outbox.drain()
    return response.json()


async def sms_history(client):
    return (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"]


async def test_incoming_sms_is_posted_to_sms_url(emulator, client):
    await configure(client, sms_url=HOOK)
    inbound = await receive(emulator)
    (hook,) = emulator.receiver.to(HOOK)
    assert hook.method == "POST" and hook.headers["content-type"] == "application/x-www-form-urlencoded"
    assert hook.form == {
        "id": inbound["id"], "from": PHONE, "to": NUMBER, "message": "Hello elk",
        "direction": "incoming", "created": "2026-01-01T00:00:00.000000",
    }
    history = await sms_history(client)
    assert [(m["id"], m["direction"]) for m in history] == [(inbound["id"], "incoming")]


async def test_plain_text_answer_is_sent_back_as_a_charged_reply(emulator, client):
    emulator.receiver.answers = [(200, "Thanks, we got it!\n")]
    await configure(client, sms_url=HOOK)
    inbound = await receive(emulator)
    reply, incoming = await sms_history(client)
    assert incoming["id"] == inbound["id"]
    assert (reply["direction"], reply["from"], reply["to"], reply["message"]) == ("outgoing-reply", NUMBER, PHONE, "Thanks, we got it!")
    assert reply["cost"] == 3500 and emulator.balance(ELKS_ACCOUNT) == 10_000_000 - 3500
    assert emulator.engine.store.messages.get(reply["id"]).attributes["in_reply_to"] == inbound["id"]


async def test_json_reply_and_forward(emulator, client):
    emulator.receiver.answers = [(200, '{"reply": "Got it"}'), (201, '{"forward": "+46700000999", "prefix": "Fwd: ", "suffix": " /elk"}')]
    await configure(client, sms_url=HOOK)
    await receive(emulator, text="first")
    await receive(emulator, text="second")
    forward, _, reply, _ = await sms_history(client)
    assert (reply["to"], reply["message"], reply["direction"]) == (PHONE, "Got it", "outgoing-reply")
    assert (forward["from"], forward["to"], forward["message"]) == (NUMBER, "+46700000999", "Fwd: second /elk")


async def test_a_json_reply_longer_than_the_recorded_4_kib_is_read_whole(emulator, client):
    """The emulator reads up to 64 KiB of an answer it acts on; only plain records stop at 4 KiB.
    700 escaped characters make a 4.2 KiB JSON answer for a 700-character reply."""
    emulator.receiver.answers = [(200, '{"reply": "' + "\\u00e9" * 700 + '"}')]
    await configure(client, sms_url=HOOK)
    await receive(emulator)
    reply, _ = await sms_history(client)
    assert (reply["direction"], reply["message"]) == ("outgoing-reply", "\u00e9" * 700)


@pytest.mark.parametrize(
    ("answer", "settings"),
    [
        ((200, "Thanks"), {"sms_replies": "no"}),
        ((204, ""), {}),
        ((200, "   "), {}),
        ((200, '{"status": "ok"}'), {}),
        ((500, "Thanks"), {}),  # a failed delivery is retried, never replied to
    ],
)
async def test_answers_that_send_nothing(emulator, client, answer, settings):
    emulator.receiver.answers = [answer]
    await configure(client, sms_url=HOOK, **settings)
    await receive(emulator)
    assert [m["direction"] for m in await sms_history(client)] == ["incoming"]
    assert emulator.balance(ELKS_ACCOUNT) == 10_000_000


async def test_failed_webhook_is_retried_and_replies_once_delivered(emulator, client):
    emulator.receiver.answers = [(503, ""), (200, "Late thanks")]
    await configure(client, sms_url=HOOK)
    await receive(emulator)
    assert [m["direction"] for m in await sms_history(client)] == ["incoming"]
    await emulator.advance(300)
    assert len(emulator.receiver.to(HOOK)) == 2
    assert [m["message"] for m in await sms_history(client)][0] == "Late thanks"


async def test_sms_url_as_a_json_action_forwards_without_a_webhook(emulator, client):
    await configure(client, sms_url='{"forward": "+46700000999"}')
    await receive(emulator, text="route me")
    assert emulator.receiver.requests == []
    forward = (await sms_history(client))[0]
    assert (forward["direction"], forward["to"], forward["message"]) == ("outgoing-reply", "+46700000999", "route me")


async def test_a_reply_that_cannot_be_sent_is_an_event(emulator, client):
    emulator.receiver.answers = [(200, "Thanks")]
    emulator.engine.store.accounts[ELKS_ACCOUNT].balance = 100
    await configure(client, sms_url=HOOK)
    inbound = await receive(emulator)
    await receive(emulator, sender="Martin")
    assert [m["direction"] for m in await sms_history(client)] == ["incoming", "incoming"]
    events = (await client.get("/_emulator/events", params={"after": 0})).json()["data"]
    failures = [e["data"] for e in events if e["kind"] == "message.reply_failed"]
    assert failures[0] == {"id": inbound["id"], "reason": "not enough credits"}
    assert failures[1]["reason"].startswith("cannot send to 'Martin'")
    assert emulator.balance(ELKS_ACCOUNT) == 100


async def test_a_number_without_sms_url_gets_no_webhook(emulator, client):
    await receive(emulator)
    assert emulator.receiver.requests == []


def png_uri() -> str:
    out = io.BytesIO()
    Image.new("RGB", (5, 5), (0, 200, 0)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def test_incoming_mms_is_posted_to_mms_url_with_image_links(emulator, client):
    await configure(client, mms_url="http://hooks.test/mms", sms_url=HOOK)
    response = await client.post("/_emulator/inbound/mms", json={"to": NUMBER, "from": PHONE, "text": "Look", "images": [png_uri(), png_uri()]})
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("m") and body["direction"] == "inbound" and body["attributes"]["kind"] == "mms"
    images = body["attributes"]["images"]
    assert images == [f"{body['id']}-i0", f"{body['id']}-i1"]
    assert await emulator.engine.outbox.drain()
    (hook,) = emulator.receiver.requests
    assert hook.url == "http://hooks.test/mms"
    assert hook.form == {
        "id": body["id"], "from": PHONE, "to": NUMBER, "message": "Look", "direction": "incoming",
        "created": "2026-01-01 00:00:00.000002",
        "image": f"http://emulator.test/a1/images/{images[0]}.jpg",
        "image2": f"http://emulator.test/a1/images/{images[1]}.jpg",
    }
    download = await client.get(hook.form["image"].removeprefix("http://emulator.test"), auth=ELKS_AUTH)
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    listed = (await client.get("/a1/MMS", auth=ELKS_AUTH)).json()["data"]
    assert listed == [{
        "id": body["id"], "direction": "incoming", "from": PHONE, "to": NUMBER,
        "created": "2026-01-01T00:00:00.000002", "owner": ELKS_ACCOUNT, "message": "Look", "images": images,
        "status": "recieved",  # sic, 46elks' word (reference §6.1)
    }]
    assert await sms_history(client) == []
    assert emulator.balance(ELKS_ACCOUNT) == 10_000_000


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"to": "+46700009999", "from": PHONE, "text": "x"}, 404),
        ({"to": "+4915799912345", "from": PHONE, "text": "x"}, 404),  # a seven.io number
        ({"from": PHONE, "text": "x"}, 400),
        ({"to": NUMBER, "text": "x"}, 400),
        ({"to": NUMBER, "from": PHONE}, 400),
        ({"to": NUMBER, "from": PHONE, "images": "https://pics.example.com/a.png"}, 400),
        ({"to": NUMBER, "from": PHONE, "images": ["data:image/png;base64,aGVsbG8="]}, 400),
        ({"to": NUMBER, "from": PHONE, "images": [png_uri()] * 11}, 400),
        ({"to": NUMBER, "from": PHONE, "text": 5}, 400),
    ],
)
async def test_bad_inbound_mms_stores_nothing(emulator, client, payload, status):
    response = await client.post("/_emulator/inbound/mms", json=payload)
    assert response.status_code == status and "error" in response.json()
    assert len(emulator.engine.store.messages) == 0
    assert len(emulator.engine.store.collection("elks.images")) == 0


async def test_a_number_without_mms_cannot_receive_mms(emulator, client):
    number = (await client.post("/a1/numbers", data={"country": "se", "capabilities": "sms"}, auth=ELKS_OTHER_AUTH)).json()["number"]
    response = await client.post("/_emulator/inbound/mms", json={"to": number, "from": PHONE, "text": "x"})
    assert response.status_code == 400 and "cannot receive MMS" in response.json()["error"]["message"]
    assert len(emulator.engine.store.messages) == 0

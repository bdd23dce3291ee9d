"""46elks MMS: send with text and images, billing, lifecycle, history apart from SMS, delete."""

import base64
import io
import re

import phonenumbers
import pytest
from PIL import Image

from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_AUTH

MMS_PRICE = 12500
MMS_NUMBER = "+46766861001"


def png_uri(size=(4, 3)) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def send(client, auth=ELKS_AUTH, **fields):
    data = {"from": MMS_NUMBER, "to": "+46700000123", "message": "Hej!"} | fields
    return await client.post("/a1/MMS", data={k: v for k, v in data.items() if v is not None}, auth=auth)


def state(emulator):
    return len(emulator.engine.store.messages), len(emulator.engine.store.collection("elks.images")), emulator.balance(ELKS_ACCOUNT)


async def test_send_answers_the_mms_and_debits_its_price(emulator, client):
    response = await send(client)
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"m[0-9a-f]{32}", body["id"])
    assert (body["direction"], body["from"], body["to"], body["message"]) == ("outgoing", MMS_NUMBER, "+46700000123", "Hej!")
    assert (body["cost"], body["owner"], body["status"], body["created"]) == (MMS_PRICE, ELKS_ACCOUNT, "created", "2026-01-01T00:00:00.000000")
    assert "images" not in body
    assert emulator.balance(ELKS_ACCOUNT) == 10_000_000 - MMS_PRICE


async def test_mms_goes_through_its_lifecycle_and_reports_to_whendelivered(emulator, client):
    body = (await send(client, whendelivered="http://hooks.test/mms")).json()
    await emulator.advance(1)
    got = (await client.get(f"/a1/MMS/{body['id']}", auth=ELKS_AUTH)).json()
    assert got["status"] == "delivered" and got["delivered"] == "2026-01-01T00:00:01.000000"
    reports = [r.form for r in emulator.receiver.to("http://hooks.test/mms")]
    assert [r["status"] for r in reports] == ["sent", "delivered"] and reports[0]["id"] == body["id"]
    events = {d.event for d in emulator.engine.store.deliveries}
    assert events == {"mms.status"}


async def test_images_are_recorded_with_the_mms(emulator, client):
    body = (await send(client, message=None, image=png_uri(), image2="https://pics.example.com/cat.gif")).json()
    assert "message" not in body
    assert body["images"] == [f"{body['id']}-i0", f"{body['id']}-i1"]
    assert body["cost"] == MMS_PRICE
    images = (await client.get("/a1/images", auth=ELKS_AUTH)).json()["data"]
    assert [i["id"] for i in images] == body["images"][::-1]
    assert images[1]["filetype"] == "png" and images[1]["mmsid"] == body["id"]
    assert images[0]["filetype"] == "gif" and "bytes" not in images[0] and "digest" not in images[0]


async def test_noreply_sends_from_a_number_of_46elks(client):
    body = (await send(client, **{"from": "noreply"})).json()
    parsed = phonenumbers.parse(body["from"])
    assert phonenumbers.is_valid_number_for_region(parsed, "SE")
    assert body["from"] != MMS_NUMBER


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({"from": None}, 403, "Missing key from"),
        ({"to": "0700000123"}, 403, "Invalid to number"),
        ({"from": "ElkCo"}, 403, "Invalid from number"),
        ({"from": "+46700000001"}, 403, "Invalid from number"),  # the account's own mobile: not an MMS number
        ({"from": "+46766869999"}, 403, "Invalid from number"),
        ({"message": None}, 403, "Missing key message"),
        ({"message": "x" * 5001}, 403, "Too long message"),
        ({"image": "data:image/png;base64,aGVsbG8="}, 403, "Invalid image: the data is not a JPEG, PNG or GIF image"),
        ({"image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA"}, 403, "Invalid image: the data is not a readable PNG image"),
        ({"image": "data:image/png;base64,!!!"}, 403, "Invalid image: the base64 data cannot be decoded"),
        ({"image": "data:image/png;base64"}, 403, "Invalid image: a data: URI needs a comma"),
        ({"image": "ftp://pics.example.com/cat.png"}, 403, "Invalid image"),
        ({"image2": "not an image"}, 403, "Invalid image2"),
        ({"whendelivered": "nowhere"}, 403, "The whendelivered you tried to use is not a valid URL"),
    ],
)
async def test_bad_send_is_refused_and_changes_nothing(emulator, client, fields, status, text):
    before = state(emulator)
    response = await send(client, **fields)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith(text)
    assert state(emulator) == before


async def test_an_mms_number_of_another_account_is_not_a_sender(emulator, client):
    before = state(emulator)
    response = await send(client, auth=ELKS_OTHER_AUTH)
    assert response.status_code == 403 and response.text == "Invalid from number"
    assert state(emulator) == before


async def test_a_number_without_mms_is_not_a_sender(client):
    number = (await client.post("/a1/numbers", data={"country": "se", "capabilities": "sms"}, auth=ELKS_AUTH)).json()["number"]
    response = await send(client, **{"from": number})
    assert response.status_code == 403 and response.text == "Invalid from number"
    mms_number = (await client.post("/a1/numbers", data={"country": "se", "capabilities": "sms,mms"}, auth=ELKS_AUTH)).json()["number"]
    assert (await send(client, **{"from": mms_number})).status_code == 200


@pytest.mark.local_changes  # changes the engine directly
async def test_not_enough_credit_stores_neither_mms_nor_images(emulator, client):
    emulator.engine.store.accounts[ELKS_ACCOUNT].balance = MMS_PRICE - 1
    before = state(emulator)
    response = await send(client, image=png_uri())
    assert response.status_code == 403 and response.text.startswith("Not enough credits")
    assert state(emulator) == before


@pytest.mark.local_changes  # changes the engine directly
async def test_a_refused_mms_does_not_use_up_an_id(emulator, client):
    """Regression: the MMS id was drawn before the charge, so a refusal shifted every later id."""
    reference = await send(client, image=png_uri())
    emulator.engine.reset()
    emulator.engine.store.accounts[ELKS_ACCOUNT].balance = MMS_PRICE - 1
    assert (await send(client, image=png_uri())).status_code == 403
    emulator.engine.store.accounts[ELKS_ACCOUNT].balance = MMS_PRICE
    again = await send(client, image=png_uri())
    assert again.json()["id"] == reference.json()["id"]
    assert again.json()["images"] == [reference.json()["id"] + "-i0"]


async def test_mms_and_sms_have_separate_histories(client):
    sms = (await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "sms"}, auth=ELKS_AUTH)).json()
    mms = (await send(client)).json()
    assert [m["id"] for m in (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"]] == [sms["id"]]
    assert [m["id"] for m in (await client.get("/a1/MMS", auth=ELKS_AUTH)).json()["data"]] == [mms["id"]]
    assert (await client.get(f"/a1/SMS/{mms['id']}", auth=ELKS_AUTH)).status_code == 404
    assert (await client.delete(f"/a1/SMS/{mms['id']}", auth=ELKS_AUTH)).status_code == 404
    assert (await client.get(f"/a1/MMS/{sms['id']}", auth=ELKS_AUTH)).status_code == 404
    assert [m["to"] for m in (await client.get("/a1/SMS", params={"to": "+46700000123"}, auth=ELKS_AUTH)).json()["data"]] == ["+46700000123"]


async def test_history_pages_newest_first(client):
    sent = [(await send(client, message=f"m{k}")).json()["id"] for k in range(3)]
    page = (await client.get("/a1/mms", params={"limit": 2}, auth=ELKS_AUTH)).json()
    assert [m["id"] for m in page["data"]] == sent[::-1][:2]
    rest = (await client.get("/a1/mms", params={"start": page["next"]}, auth=ELKS_AUTH)).json()
    assert [m["id"] for m in rest["data"]] == [sent[0]] and "next" not in rest


async def test_delete_forgets_the_mms_and_its_images(emulator, client):
    body = (await send(client, image=png_uri())).json()
    response = await client.delete(f"/a1/MMS/{body['id']}", auth=ELKS_AUTH)
    assert response.status_code == 200
    assert response.json() == {"id": body["id"], "deleted": "2026-01-01T00:00:00.000000"}
    assert (await client.get(f"/a1/MMS/{body['id']}", auth=ELKS_AUTH)).status_code == 404
    assert (await client.get(f"/a1/images/{body['images'][0]}", auth=ELKS_AUTH)).status_code == 404
    assert (await client.get("/a1/MMS", auth=ELKS_AUTH)).json() == {"data": []}
    again = await client.delete(f"/a1/MMS/{body['id']}", auth=ELKS_AUTH)
    assert again.status_code == 404 and again.text == "MMS not found."


async def test_mms_of_one_account_are_invisible_to_others(client):
    body = (await send(client)).json()
    for auth in (ELKS_OTHER_AUTH, ELKS_SUB_AUTH):
        assert (await client.get(f"/a1/MMS/{body['id']}", auth=auth)).status_code == 404
        assert (await client.delete(f"/a1/MMS/{body['id']}", auth=auth)).status_code == 404
        assert (await client.get("/a1/MMS", auth=auth)).json() == {"data": []}

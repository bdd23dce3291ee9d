"""Control endpoints that the web inbox is built on: accounts with balances and numbers, webhook
redelivery, recordings and MMS images without provider credentials, and the page itself."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from emulator.control.ui import CONTENT_SECURITY_POLICY
from emulator.ui.assets import asset_names
from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_SUB_ACCOUNT, SEVEN_ACCOUNT, SEVEN_JSON
from voice_support import HOOKS, run_call, voice  # noqa: F401  (fixture)

OUR_NUMBER = "+46766861001"
SEVEN_NUMBER = "+4915799912345"


def png_bytes(size=(3, 2)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


# -- GET /_emulator/accounts -----------------------------------------------------------------


async def test_accounts_lists_both_providers_with_subaccounts_balances_and_numbers(client):
    response = await client.get("/_emulator/accounts")
    assert response.status_code == 200
    accounts = response.json()["data"]
    assert [(a["provider"], a["id"], a["parent"]) for a in accounts] == [
        ("elks", ELKS_ACCOUNT, None),
        ("elks", ELKS_SUB_ACCOUNT, ELKS_ACCOUNT),
        ("elks", "u0b7c3f1e2d4a5968778695a4b3c2d1e0", None),
        ("seven", SEVEN_ACCOUNT, None),
        ("seven", "1000002", None),
    ]
    main = accounts[0]
    assert (main["name"], main["currency"], main["balance"]) == ("Test Company AB", "SEK", 10000000)
    assert main["numbers"] == [{
        "id": "n53c05a4e002ae26f790cbaf82b93bc37", "number": OUR_NUMBER, "country": "se",
        "capabilities": ["sms", "voice", "mms"], "name": "Main line", "sms_url": None, "mms_url": None, "voice_start": None,
    }]
    assert (accounts[1]["name"], accounts[1]["balance"], accounts[1]["numbers"]) == ("Test Subaccount", 1000000, [])
    seven = accounts[3]
    assert (seven["name"], seven["currency"], seven["balance"]) == ("Test GmbH", "EUR", 1000000)
    assert [n["number"] for n in seven["numbers"]] == [SEVEN_NUMBER]


async def test_accounts_filtered_by_provider(client):
    elks = (await client.get("/_emulator/accounts", params={"provider": "elks"})).json()["data"]
    seven = (await client.get("/_emulator/accounts", params={"provider": "seven"})).json()["data"]
    assert {a["provider"] for a in elks} == {"elks"} and len(elks) == 3
    assert [a["id"] for a in seven] == [SEVEN_ACCOUNT, "1000002"]


async def test_accounts_show_balances_after_charges_and_number_settings(client):
    sms = (await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi"}, auth=ELKS_AUTH)).json()
    seven = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "hallo"}, headers=SEVEN_JSON)).json()
    number_id = "n53c05a4e002ae26f790cbaf82b93bc37"
    updated = await client.post(f"/a1/numbers/{number_id}", data={"sms_url": f"{HOOKS}/sms", "voice_start": f"{HOOKS}/voice"}, auth=ELKS_AUTH)
    assert updated.status_code == 200, updated.text
    accounts = {a["id"]: a for a in (await client.get("/_emulator/accounts")).json()["data"]}
    assert accounts[ELKS_ACCOUNT]["balance"] == 10000000 - sms["cost"]
    assert accounts[SEVEN_ACCOUNT]["balance"] == 1000000 - round(seven["total_price"] * 10000)
    number = accounts[ELKS_ACCOUNT]["numbers"][0]
    assert (number["sms_url"], number["voice_start"]) == (f"{HOOKS}/sms", f"{HOOKS}/voice")


@pytest.mark.parametrize("provider", ["", "46elks", "ELKS", "both"])
async def test_accounts_with_an_unknown_provider_is_refused(client, provider):
    response = await client.get("/_emulator/accounts", params={"provider": provider})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "InvalidParameter" and "provider" in response.json()["error"]["message"]


# -- POST /_emulator/webhooks/{id}/redeliver -------------------------------------------------


async def test_redeliver_sends_a_copy_recorded_as_a_new_delivery(emulator, client):
    sms = (await client.post(
        "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi", "whendelivered": "http://hooks.test/dlr"}, auth=ELKS_AUTH,
    )).json()
    await emulator.advance(1)
    (original,) = (await client.get("/_emulator/webhooks", params={"event": "sms.status", "state": "delivered", "subject": sms["id"], "limit": 1})).json()["data"]
    assert len(emulator.receiver.to("http://hooks.test/dlr")) == 2  # sent, delivered

    response = await client.post(f"/_emulator/webhooks/{original['id']}/redeliver")
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["redelivery_of"] == original["id"] and copy["id"] != original["id"]
    for field in ("provider", "account_id", "event", "url", "method", "headers", "body", "subject_id"):
        assert copy[field] == original[field], field
    assert copy["state"] == "pending" and copy["attempts"] == []

    assert await emulator.engine.outbox.drain()
    received = emulator.receiver.to("http://hooks.test/dlr")
    assert len(received) == 3 and received[-1].body.decode() == original["body"]
    listed = {d["id"]: d for d in (await client.get("/_emulator/webhooks", params={"subject": sms["id"]})).json()["data"]}
    assert listed[copy["id"]]["state"] == "delivered" and listed[copy["id"]]["attempts"][0]["status"] == 200
    assert len(listed[original["id"]]["attempts"]) == 1  # the original is left as it was
    event = (await client.get("/_emulator/wait", params={"kind": "webhook.redelivered", "timeout": 0})).json()["event"]
    assert event["data"]["id"] == copy["id"] and event["data"]["original"] == original["id"]


async def test_redeliver_uses_the_providers_retry_policy(emulator, client):
    emulator.receiver.statuses = [200, 200, 500, 200]
    await client.post("/api/hooks", json={"target_url": "http://hooks.test/seven", "event_type": "dlr", "request_method": "JSON"}, headers=SEVEN_JSON)
    await client.post("/api/sms", json={"to": "+4917612345678", "text": "hallo"}, headers=SEVEN_JSON)
    await emulator.advance(1)
    first = (await client.get("/_emulator/webhooks", params={"provider": "seven"})).json()["data"][-1]
    copy = (await client.post(f"/_emulator/webhooks/{first['id']}/redeliver")).json()
    assert await emulator.engine.outbox.drain()
    pending = next(d for d in (await client.get("/_emulator/webhooks")).json()["data"] if d["id"] == copy["id"])
    assert [a["status"] for a in pending["attempts"]] == [500] and pending["state"] == "pending"
    assert pending["next_attempt_at"] is not None


async def test_redeliver_unknown_delivery_is_404_and_queues_nothing(emulator, client):
    before = len(emulator.engine.store.deliveries)
    response = await client.post("/_emulator/webhooks/w000000000000000000000000/redeliver")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NotFound"
    assert len(emulator.engine.store.deliveries) == before
    assert (await client.get("/_emulator/wait", params={"kind": "webhook.redelivered", "timeout": 0})).status_code == 408


# -- GET /_emulator/recordings/{id}.wav and /_emulator/images/{id} ---------------------------


async def test_recording_is_served_as_wav_without_provider_auth(voice):
    number = voice.engine.store.active_number(OUR_NUMBER)
    number.attributes["voice_start"] = json.dumps({"record": f"{HOOKS}/recording", "timelimit": 3})
    call = (await voice.client.post("/_emulator/inbound/call", json={"to": OUR_NUMBER, "from": "+46709876543"})).json()
    await run_call(voice, call["id"])
    listed = (await voice.client.get("/_emulator/calls")).json()["data"][0]
    (recording_id,) = listed["attributes"]["recordings"]

    response = await voice.client.get(f"/_emulator/recordings/{recording_id}.wav")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
    with_auth = await voice.client.get(f"/a1/recordings/{recording_id}.wav", auth=ELKS_AUTH)
    assert response.content == with_auth.content


@pytest.mark.parametrize("path", ["/_emulator/recordings/nope.wav", "/_emulator/images/nope", "/_emulator/images/"])
async def test_unknown_media_is_404_json(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["type"] in ("NotFound", "RouteNotFound")


async def test_mms_image_is_served_as_sent(client):
    png = png_bytes()
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    mms = (await client.post("/_emulator/inbound/mms", json={"to": OUR_NUMBER, "from": "+46709876543", "images": [uri]})).json()
    (image_id,) = mms["attributes"]["images"]
    response = await client.get(f"/_emulator/images/{image_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png" and response.content == png


# -- GET /_emulator/ui -----------------------------------------------------------------------


async def test_inbox_page_and_its_assets(client):
    page = await client.get("/_emulator/ui")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "connect-src 'self'" in CONTENT_SECURITY_POLICY and "https:" not in CONTENT_SECURITY_POLICY
    html = page.text
    assert '<html lang="en">' in html and '<main id="main"' in html and 'aria-label="Views"' in html
    referenced = re.findall(r'(?:href|src)="(ui/static/[^"]+)"', html)
    assert sorted(referenced) == ["ui/static/app.css", "ui/static/app.js", "ui/static/favicon.svg"]
    types = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8", "favicon.svg": "image/svg+xml"}
    for path in referenced:
        asset = await client.get(f"/_emulator/{path}")
        assert asset.status_code == 200 and asset.headers["content-type"] == types[path.rsplit("/", 1)[1]]
        assert asset.headers["x-content-type-options"] == "nosniff"


async def test_inbox_uses_no_other_origin(client):
    """Works offline: no CDN, no absolute URL to anywhere in the page, script or stylesheet."""
    for path in ["/_emulator/ui"] + [f"/_emulator/ui/static/{name}" for name in asset_names() if name != "index.html"]:
        text = (await client.get(path)).text
        assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text), path
        assert "@import" not in text and "url(http" not in text, path


async def test_inbox_assets_revalidate_with_etag(client):
    first = await client.get("/_emulator/ui/static/app.js")
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get("/_emulator/ui/static/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    page = await client.get("/_emulator/ui")
    assert (await client.get("/_emulator/ui", headers={"If-None-Match": page.headers["etag"]})).status_code == 304


@pytest.mark.parametrize("name", ["nope.js", "index.html", "app", "app.js.map", "%2e%2e"])
async def test_unknown_inbox_file_is_404(client, name):
    response = await client.get(f"/_emulator/ui/static/{name}")
    assert response.status_code == 404
    assert response.json()["error"]["type"] in ("NotFound", "RouteNotFound")


def test_inbox_files_are_package_data():
    assert {"index.html", "app.js", "app.css", "favicon.svg"} <= set(asset_names())

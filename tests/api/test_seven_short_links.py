"""seven.io short links (reference 4.1): `files[n][...]` attachments referenced as `[[name]]`,
and `performance_tracking=1`, whose tracking links fire `tracking` hooks when opened (simulated
by `POST /_emulator/seven/tracking`)."""

import base64

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, world_state

PDF = base64.b64encode(b"%PDF-1.4 invoice").decode()


async def test_file_placeholders_become_short_links(emulator, client):
    response = await client.post("/api/sms", data={
        "to": "+4917612345678", "text": "Your invoice: [[invoice.pdf]]",
        "files[0][contents]": PDF, "files[0][name]": "invoice.pdf", "files[0][validity]": "5",
    }, headers=SEVEN_JSON)
    message = response.json()["messages"][0]
    assert message["text"].startswith("Your invoice: https://ul.gl/") and "[[" not in message["text"]
    stored = emulator.engine.store.messages.get(message["id"])
    assert stored.text == message["text"]
    assert stored.attributes["files"] == [{"name": "invoice.pdf", "url": message["text"].split(": ")[1], "size": 16, "validity": 5, "password": False}]


async def test_files_as_a_json_array(client):
    body = {"to": "+4917612345678", "text": "[[a.txt]] and [[b.txt]]",
            "files": [{"contents": PDF, "name": "a.txt"}, {"contents": PDF, "name": "b.txt", "password": "secret"}]}
    text = (await client.post("/api/sms", json=body, headers=SEVEN_JSON)).json()["messages"][0]["text"]
    first, second = text.split(" and ")
    assert first.startswith("https://ul.gl/") and second.startswith("https://ul.gl/") and first != second


@pytest.mark.parametrize("files", [
    {"files[0][name]": "a.pdf"},
    {"files[0][contents]": "not base64!", "files[0][name]": "a.pdf"},
    {"files[0][contents]": PDF},
    {"files[0][contents]": PDF, "files[0][name]": "a.pdf", "files[0][validity]": "30"},
])
async def test_bad_files_refuse_the_send(emulator, client, files):
    before = world_state(emulator.engine)
    response = await client.post("/api/sms", data={"to": "+4917612345678", "text": "[[a.pdf]]", **files}, headers=SEVEN_JSON)
    assert (response.status_code, response.json()) == (400, 700)
    assert world_state(emulator.engine) == before


async def test_performance_tracking_links_fire_tracking_hooks(emulator, client):
    await client.post("/api/hooks", data={"target_url": "http://hooks.test/track", "event_type": "tracking", "request_method": "JSON"}, headers=SEVEN_JSON)
    sent = (await client.post("/api/sms", json={
        "to": "+4917612345678,+4915123456789", "text": "Sale! https://shop.example/deals?x=1 now",
        "performance_tracking": 1, "label": "spring",
    }, headers=SEVEN_JSON)).json()
    first, second = sent["messages"]
    link = first["text"].split(" ")[1]
    assert link.startswith("https://ul.gl/") and link not in second["text"]  # a link per recipient
    assert first["text"].endswith(" now") and first["price"] == 0.075
    opened = await client.post("/_emulator/seven/tracking", json={"url": link})
    assert opened.status_code == 200
    await client.post("/_emulator/seven/tracking", json={"url": link.removeprefix("https://ul.gl/"), "type": "view"})
    await emulator.advance(0)
    hooks = [r.json for r in emulator.receiver.to("http://hooks.test/track")]
    assert [h["webhook_event"] for h in hooks] == ["tracking", "tracking"]
    # Both are due at the same instant and delivered side by side: they may arrive in either order.
    click, view = sorted(hooks, key=lambda hook: hook["data"]["type"] != "click")
    assert click["data"] == {
        "final_url": "https://shop.example/deals?x=1", "sms_id": first["id"], "sms_label": "spring",
        "total_clicks": 1, "total_views": 0, "tracking_url": link, "type": "click",
    }
    assert (view["data"]["type"], view["data"]["total_clicks"], view["data"]["total_views"]) == ("view", 1, 1)


async def test_without_tracking_urls_stay(client):
    text = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "See https://shop.example"}, headers=SEVEN_JSON)).json()["messages"][0]["text"]
    assert text == "See https://shop.example"


async def test_unknown_tracking_link_is_404(client):
    response = await client.post("/_emulator/seven/tracking", json={"url": "https://ul.gl/nothing"})
    assert response.status_code == 404

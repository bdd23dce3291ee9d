"""seven.io inbound SMS: a message to an account's number fires its `sms_mo` hooks with seven's
payload, filtered by the hook's `event_filter`; other accounts and 46elks see nothing."""

from support import SEVEN_JSON, SEVEN_OTHER_KEY

NUMBER = "+4915799912345"  # the default seven account's inbound line


async def hook(client, url, event_type="sms_mo", headers=SEVEN_JSON, **fields):
    data = {"target_url": url, "event_type": event_type, "request_method": "JSON"} | fields
    response = await client.post("/api/hooks", data=data, headers=headers)
    assert response.json()["success"] is True, response.text
    return response.json()["id"]


async def inbound(client, text="Hallo zurueck", sender="+4917612345678", to=NUMBER):
    response = await client.post("/_emulator/inbound/sms", json={"to": to, "from": sender, "text": text})
    assert response.status_code == 200, response.text
    return response.json()


async def test_sms_mo_payload(emulator, client):
    await hook(client, "http://hooks.test/mo")
    await emulator.advance(0)
    await inbound(client)
    await emulator.advance(0)
    (received,) = emulator.receiver.to("http://hooks.test/mo")
    assert received.method == "POST" and received.headers["content-type"] == "application/json"
    envelope = received.json
    assert envelope["webhook_event"] == "sms_mo"
    assert envelope["webhook_timestamp"] == "2026-01-01 00:00:00"
    assert envelope["data"] == {
        "id": envelope["data"]["id"],
        "sender": "4917612345678",
        "system": "4915799912345",
        "text": "Hallo zurueck",
        "time": "1767225600",
        "message_type": "SMS",
    }
    assert envelope["data"]["id"].isdigit()
    journal = (await client.get("/api/journal/inbound", headers=SEVEN_JSON)).json()
    assert [row["id"] for row in journal] == [envelope["data"]["id"]]


async def test_inbound_ids_are_numbered(emulator, client):
    await hook(client, "http://hooks.test/mo")
    await inbound(client, text="one")
    await inbound(client, text="two")
    await emulator.advance(0)
    # Both webhooks fall due at the same instant: in a shared world they may arrive either way round.
    ids = {r.json["data"]["text"]: int(r.json["data"]["id"]) for r in emulator.receiver.to("http://hooks.test/mo")}
    assert len(ids) == 2 and ids["two"] == ids["one"] + 1


async def test_event_filter_names_the_inbound_number(emulator, client):
    await hook(client, "http://hooks.test/plus", event_filter=NUMBER)
    await hook(client, "http://hooks.test/digits", event_filter=NUMBER[1:])
    await hook(client, "http://hooks.test/elsewhere", event_filter="+4915700000000")
    await hook(client, "http://hooks.test/all", event_type="all")
    await hook(client, "http://hooks.test/dlr", event_type="dlr")
    await inbound(client)
    await emulator.advance(0)
    hit = sorted({r.url for r in emulator.receiver.requests})
    assert hit == ["http://hooks.test/all", "http://hooks.test/digits", "http://hooks.test/plus"]


async def test_form_hook_gets_flattened_payload(emulator, client):
    await hook(client, "http://hooks.test/form", request_method="POST")
    await inbound(client, sender="ShopAlpha")
    await emulator.advance(0)
    (received,) = emulator.receiver.to("http://hooks.test/form")
    assert received.form["webhook_event"] == "sms_mo"
    assert received.form["data[sender]"] == "ShopAlpha" and received.form["data[message_type]"] == "SMS"


async def test_other_accounts_and_46elks_inbound_fire_nothing(emulator, client):
    await hook(client, "http://hooks.test/other", headers={"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"})
    await hook(client, "http://hooks.test/mine")
    await inbound(client, to="+46766861001", sender="+46701234567")  # a 46elks number
    await emulator.advance(0)
    assert emulator.receiver.requests == []
    await inbound(client)
    await emulator.advance(0)
    assert [r.url for r in emulator.receiver.requests] == ["http://hooks.test/mine"]


async def test_failed_sms_mo_delivery_is_retried(emulator, client):
    emulator.receiver.statuses = [503, 200]
    await hook(client, "http://hooks.test/flaky")
    await inbound(client)
    await emulator.advance(0)
    assert len(emulator.receiver.to("http://hooks.test/flaky")) == 1
    await emulator.advance(60)
    first, second = emulator.receiver.to("http://hooks.test/flaky")
    assert first.body == second.body
    deliveries = (await client.get("/_emulator/webhooks", params={"event": "sms_mo"})).json()["data"]
    assert deliveries[0]["state"] == "delivered" and len(deliveries[0]["attempts"]) == 2

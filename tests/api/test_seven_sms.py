"""seven.io SMS through the API: JSON, form and legacy requests, JSON and text answers, billing."""

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_KEY, SEVEN_OTHER_KEY


async def test_json_send_to_several_recipients(emulator, client):
    before = emulator.balance(SEVEN_ACCOUNT)
    response = await client.post(
        "/api/sms", json={"to": "+4917612345678,004915123456789", "text": "Hallo", "from": "Shop"}, headers=SEVEN_JSON
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["success", "total_price", "balance", "debug", "sms_type", "messages"]
    assert (body["success"], body["debug"], body["sms_type"]) == ("100", "false", "direct")
    assert body["total_price"] == 0.15
    assert body["balance"] == pytest.approx((before - 1500) / 10_000)
    assert emulator.balance(SEVEN_ACCOUNT) == before - 1500
    first, second = body["messages"]
    assert first["recipient"] == "4917612345678" and second["recipient"] == "4915123456789"
    assert first["id"].isdigit() and int(second["id"]) == int(first["id"]) + 1
    assert (first["sender"], first["text"], first["encoding"], first["parts"], first["price"]) == ("Shop", "Hallo", "gsm", 1, 0.075)
    assert (first["success"], first["error"], first["error_text"], first["label"], first["udh"]) == (True, None, None, None, None)


async def test_a_recipient_that_is_not_a_number_fails_alone_among_several(emulator, client):
    before, stored = emulator.balance(SEVEN_ACCOUNT), len(emulator.engine.store.messages)
    response = await client.post("/api/sms", json={"to": "+4917612345678,nobody,004915123456789", "text": "Hallo"}, headers=SEVEN_JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] == "101" and body["total_price"] == 0.15
    assert [(m["recipient"], m["success"], m["error"], m["price"]) for m in body["messages"]] == [
        ("4917612345678", True, None, 0.075), ("nobody", False, "202", 0), ("4915123456789", True, None, 0.075)]
    refused = body["messages"][1]
    assert refused["id"] is None and refused["error_text"] and refused["text"] == "Hallo"
    assert emulator.balance(SEVEN_ACCOUNT) == before - 1500 and len(emulator.engine.store.messages) == stored + 2
    plain = await client.post("/api/sms", data={"to": "+4917612345678,nobody", "text": "x", "return_msg_id": "1"}, headers={"X-Api-Key": SEVEN_KEY})
    code, message_id = plain.text.split("\n")
    assert code == "101" and message_id.isdigit()
    # When no recipient is a number, the whole request is refused and nothing changes.
    before, stored = emulator.balance(SEVEN_ACCOUNT), len(emulator.engine.store.messages)
    none = await client.post("/api/sms", json={"to": "nobody,0", "text": "x"}, headers=SEVEN_JSON)
    assert none.status_code == 400 and none.json() == 202
    assert emulator.balance(SEVEN_ACCOUNT) == before and len(emulator.engine.store.messages) == stored


async def test_json_array_of_recipients_and_form_body(client):
    response = await client.post("/api/sms", json={"to": ["+4917612345678", "+447700900123"], "text": "x"}, headers=SEVEN_JSON)
    assert [m["price"] for m in response.json()["messages"]] == [0.075, 0.042]
    response = await client.post("/api/sms", data={"to": "+4917612345678", "text": "form"}, headers=SEVEN_JSON)
    assert response.json()["messages"][0]["text"] == "form"


async def test_default_sender_unicode_and_parts(client):
    body = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "ж" * 71}, headers=SEVEN_JSON)).json()
    message = body["messages"][0]
    assert (message["sender"], message["encoding"], message["parts"], message["price"]) == ("TestGmbH", "ucs2", 2, 0.15)


async def test_plain_text_answers_without_json(client):
    headers = {"X-Api-Key": SEVEN_KEY}
    assert (await client.post("/api/sms", data={"to": "+4917612345678", "text": "x"}, headers=headers)).text == "100"
    response = await client.post(
        "/api/sms", data={"to": "+4917612345678", "text": "y", "return_msg_id": "1"}, headers=headers
    )
    code, message_id = response.text.split("\n")
    assert code == "100" and message_id.isdigit()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    details = (await client.post("/api/sms", data={"to": "+4917612345678", "text": "z", "details": "1"}, headers=headers)).text
    assert details.splitlines()[0] == "100" and "Encoding: gsm" in details and "Debug: false" in details


async def test_legacy_query_with_p_and_json_flag(client):
    response = await client.get("/api/sms", params={"p": SEVEN_KEY, "to": "4917612345678", "text": "old", "json": "1"})
    assert response.json()["messages"][0]["recipient"] == "4917612345678"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": SEVEN_KEY},
        {"Authorization": f"Bearer {SEVEN_KEY}"},
        {"Authorization": f"Basic {SEVEN_KEY}"},
        {"Authorization": "Basic dXNlcjp0ZXN0X2FwaV9rZXk="},  # base64("user:test_api_key")
    ],
)
async def test_every_credential_form_is_accepted(client, headers):
    response = await client.get("/api/balance", headers=headers | {"Accept": "application/json"})
    assert response.status_code == 200 and response.json()["currency"] == "EUR"


async def test_debug_validates_without_sending_or_charging(emulator, client):
    before = emulator.balance(SEVEN_ACCOUNT)
    body = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "x", "debug": True}, headers=SEVEN_JSON)).json()
    assert body["debug"] == "true" and body["total_price"] == 0
    assert body["messages"][0]["id"] is None
    assert emulator.balance(SEVEN_ACCOUNT) == before
    assert len(emulator.engine.store.messages) == 0


async def test_label_and_foreign_id_are_kept(emulator, client):
    body = (await client.post(
        "/api/sms", json={"to": "+4917612345678", "text": "x", "label": "promo-1", "foreign_id": "order.42"}, headers=SEVEN_JSON
    )).json()
    assert body["messages"][0]["label"] == "promo-1"
    stored = emulator.engine.store.messages.get(body["messages"][0]["id"])
    assert stored.attributes["foreign_id"] == "order.42"


async def test_balance_json_and_text(client):
    assert (await client.get("/api/balance", headers=SEVEN_JSON)).json() == {"amount": 100.0, "currency": "EUR"}
    text = (await client.get("/api/balance", headers={"X-Api-Key": SEVEN_KEY})).text
    assert text == "100.0"  # never a bare integer, which clients would read as a return code
    other = (await client.get("/api/balance", headers={"X-Api-Key": SEVEN_OTHER_KEY})).text
    assert other == "20.0"


async def test_status_follows_the_lifecycle(emulator, client):
    message_id = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=SEVEN_JSON)).json()["messages"][0]["id"]
    status = (await client.get("/api/status", params={"msg_id": message_id}, headers=SEVEN_JSON)).json()
    assert status == [{"id": message_id, "status": None, "status_time": None}]  # no report yet (reference 5.1)
    assert (await client.get("/api/status", params={"msg_id": message_id}, headers={"X-Api-Key": SEVEN_KEY})).text == "\n"
    await emulator.advance(0.5)
    assert (await client.get("/api/status", params={"msg_id": message_id}, headers=SEVEN_JSON)).json()[0]["status"] == "TRANSMITTED"
    await emulator.advance(0.5)
    text = (await client.get("/api/status", params={"msg_id": message_id}, headers={"X-Api-Key": SEVEN_KEY})).text
    assert text == "DELIVERED\n2026-01-01 00:00:01.000"


async def test_status_of_failed_and_expired_messages(emulator, client):
    ids = [m["id"] for m in (await client.post(
        "/api/sms", json={"to": "+4915700000404,+4915700000410", "text": "x"}, headers=SEVEN_JSON
    )).json()["messages"]]
    await emulator.advance(5)
    body = (await client.get("/api/status", params={"msg_id": ",".join(ids)}, headers=SEVEN_JSON)).json()
    assert [s["status"] for s in body] == ["NOTDELIVERED", "EXPIRED"]


async def test_status_is_answered_for_30_days_after_the_send(emulator, client):
    message_id = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=SEVEN_JSON)).json()["messages"][0]["id"]
    await emulator.advance(30 * 86_400)
    answer = (await client.get("/api/status", params={"msg_id": message_id}, headers=SEVEN_JSON)).json()
    assert answer == [{"id": message_id, "status": "DELIVERED", "status_time": "2026-01-01 00:00:01.000"}]
    await emulator.advance(1)
    response = await client.get("/api/status", params={"msg_id": message_id}, headers={"X-Api-Key": SEVEN_KEY})
    assert (response.status_code, response.text) == (404, "901")


async def test_status_of_unknown_or_foreign_message_is_901(client):
    message_id = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=SEVEN_JSON)).json()["messages"][0]["id"]
    for key, msg_id in ((SEVEN_KEY, "0"), (SEVEN_OTHER_KEY, message_id)):
        response = await client.get("/api/status", params={"msg_id": msg_id}, headers={"X-Api-Key": key})
        assert response.status_code == 404 and response.text == "901"


async def test_unicode_forces_ucs2(emulator, client):
    """Reference 4.1 `unicode`: forces UCS-2 (70 characters single, 67 per part)."""
    body = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "a" * 71, "unicode": 1}, headers=SEVEN_JSON)).json()
    message = body["messages"][0]
    assert (message["encoding"], message["parts"], message["price"]) == ("ucs2", 2, 0.15)
    stored = emulator.engine.store.messages.get(message["id"])
    assert (stored.encoding, stored.parts, stored.cost) == ("ucs2", 2, 1500)
    plain = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "b" * 71, "unicode": "0"}, headers=SEVEN_JSON)).json()
    assert (plain["messages"][0]["encoding"], plain["messages"][0]["parts"]) == ("gsm", 1)


async def test_udh_with_hex_text_goes_out_as_binary(emulator, client):
    """Reference 4.1 `udh`: with a hex text the message is 8-bit binary (`is_binary`)."""
    sent = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "48656C6C6F", "udh": "050003CC0201"}, headers=SEVEN_JSON)).json()
    message = sent["messages"][0]
    assert (message["udh"], message["is_binary"], message["parts"], message["price"]) == ("050003CC0201", True, 1, 0.075)
    assert emulator.engine.store.messages.get(message["id"]).attributes["is_binary"] is True
    # 140 octets with the header fit one SMS; 141 need two parts
    full = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "AB" * 134, "udh": "050003CC0201"}, headers=SEVEN_JSON)).json()
    over = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "AB" * 135, "udh": "050003CC0201"}, headers=SEVEN_JSON)).json()
    assert (full["messages"][0]["parts"], over["messages"][0]["parts"]) == (1, 2)


async def test_udh_with_a_text_that_is_not_hex_stays_text(client):
    sent = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "Hallo", "udh": "050003CC0201"}, headers=SEVEN_JSON)).json()
    assert (sent["messages"][0]["is_binary"], sent["messages"][0]["encoding"], sent["messages"][0]["udh"]) == (False, "gsm", "050003CC0201")


@pytest.mark.parametrize("udh", ["XYZ", "050003CC020"])
async def test_udh_that_is_not_hex_is_refused(emulator, client, udh):
    response = await client.post("/api/sms", json={"to": "+4917612345678", "text": "Hallo", "udh": udh}, headers=SEVEN_JSON)
    assert (response.status_code, response.json()) == (400, 700)
    assert len(emulator.engine.store.messages) == 0

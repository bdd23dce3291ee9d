"""46elks SMS through the API: send, price, debit, list, get, delete, delivery reports."""

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_ACCOUNT, ELKS_SUB_AUTH

SMS_FIELDS = {"id", "direction", "from", "to", "created", "message", "status", "cost", "parts"}


async def send(client, auth=ELKS_AUTH, path="/a1/SMS", **fields):
    data = {"from": "ElkCo", "to": "+46700000123", "message": "Hello"} | fields
    return await client.post(path, data=data, auth=auth)


async def test_send_answers_the_created_sms_and_debits(emulator, client):
    before = emulator.balance(ELKS_ACCOUNT)
    response = await send(client)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert SMS_FIELDS <= body.keys()
    assert body["id"].startswith("s") and len(body["id"]) == 33
    assert int(body["id"][1:], 16) >= 0
    assert (body["status"], body["direction"], body["from"], body["to"]) == ("created", "outgoing", "ElkCo", "+46700000123")
    assert (body["cost"], body["parts"]) == (3500, 1)
    assert body["created"] == "2026-01-01T00:00:00.000000"
    assert emulator.balance(ELKS_ACCOUNT) == before - 3500


@pytest.mark.parametrize(
    ("to", "message", "parts", "price"),
    [
        ("+46700000123", "a" * 161, 2, 3500),
        ("+4917612345678", "Grüße 😀", 1, 7400),
        ("+447700900123", "€" * 81, 2, 4400),
        ("+14155550100", "x", 1, 1200),
        ("+33612345678", "x", 1, 8000),  # no French price: the default
    ],
)
async def test_cost_is_parts_times_destination_price(emulator, client, to, message, parts, price):
    before = emulator.balance(ELKS_ACCOUNT)
    body = (await send(client, to=to, message=message)).json()
    assert (body["parts"], body["cost"]) == (parts, parts * price)
    assert emulator.balance(ELKS_ACCOUNT) == before - parts * price


async def test_lower_case_path_and_get_as_post(emulator, client):
    assert (await send(client, path="/a1/sms")).status_code == 200
    response = await client.get(
        "/a1/sms/POST", params={"from": "ElkCo", "to": "+46700000123", "message": "via GET"}, auth=ELKS_AUTH
    )
    assert response.status_code == 200 and response.json()["message"] == "via GET"
    listed = (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"]
    assert [m["message"] for m in listed] == ["via GET", "Hello"]


async def test_dryrun_estimates_and_changes_nothing(emulator, client):
    before = emulator.balance(ELKS_ACCOUNT)
    response = await send(client, dryrun="yes", message="a" * 200)
    body = response.json()
    assert response.status_code == 200
    assert (body["estimated_cost"], body["parts"]) == (7000, 2)
    assert "id" not in body and "cost" not in body
    assert emulator.balance(ELKS_ACCOUNT) == before
    assert len(emulator.engine.store.messages) == 0


async def test_explicit_negative_flags_are_accepted(client):
    response = await send(client, dryrun="no", flashsms="no", dontlog="")
    assert response.status_code == 200 and "flashsms" not in response.json()


async def test_flash_and_dontlog(emulator, client):
    body = (await send(client, flashsms="yes", dontlog="message", message="secret")).json()
    # 46elks reference §3.2: `message` is omitted from the answer when dontlog=message, and
    # from history (§3.1); the rest of the record stays.
    assert body["flashsms"] == "yes" and "message" not in body
    assert (body["status"], body["parts"], body["cost"]) == ("created", 1, 3500)
    stored = (await client.get(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH)).json()
    assert "message" not in stored and stored["flashsms"] == "yes"
    listed = (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"]
    assert [m["id"] for m in listed] == [body["id"]] and "message" not in listed[0]
    # The phone still got the text: the control API (the network's view) shows it, so a test can
    # read a one-time code sent with dontlog=message.
    (message,) = list(emulator.engine.store.messages)
    assert message.text == "secret"


async def test_sender_may_be_an_own_number(client):
    assert (await send(client, **{"from": "+46766861001"})).status_code == 200
    assert (await send(client, **{"from": "+46700000001"})).status_code == 200  # the account's own mobile


async def test_delivery_reports_go_to_whendelivered(emulator, client):
    body = (await send(client, whendelivered="http://hooks.test/dlr?key=abc")).json()
    await emulator.advance(0.5)
    assert (await client.get(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH)).json()["status"] == "sent"
    await emulator.advance(0.5)
    reports = emulator.receiver.to("http://hooks.test/dlr?key=abc")
    assert [r.form["status"] for r in reports] == ["sent", "delivered"]
    assert reports[1].form == {"id": body["id"], "status": "delivered", "delivered": "2026-01-01T00:00:01.000000"}
    assert reports[0].method == "POST"
    assert reports[0].headers["content-type"] == "application/x-www-form-urlencoded"
    stored = (await client.get(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH)).json()
    # The report carries the time as 46elks stamps times; history shows it as 46elks' SMS history
    # does (reference §0: `2017-03-14T09:52:10Z`).
    assert stored["status"] == "delivered" and stored["delivered"] == "2026-01-01T00:00:01Z"


async def test_failed_outcome_is_reported(emulator, client):
    body = (await send(client, to="+46700000404", whendelivered="http://hooks.test/dlr")).json()
    await emulator.advance(5)
    assert [r.form["status"] for r in emulator.receiver.requests] == ["sent", "failed"]
    assert "delivered" not in emulator.receiver.requests[1].form
    assert (await client.get(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH)).json()["status"] == "failed"


async def test_report_to_a_failing_receiver_is_retried(emulator, client):
    emulator.receiver.statuses = [500, 503, 204]
    await send(client, to="+46700000408", whendelivered="http://hooks.test/dlr")  # only a `sent` report
    await emulator.advance(1)
    assert len(emulator.receiver.requests) == 1
    await emulator.advance(300)
    await emulator.advance(300)
    assert len(emulator.receiver.requests) == 3
    deliveries = (await client.get("/_emulator/webhooks")).json()["data"]
    assert deliveries[0]["state"] == "delivered"
    assert [a["status"] for a in deliveries[0]["attempts"]] == [500, 503, 204]


async def test_list_pages_newest_first_with_next_cursor(client):
    for i in range(5):
        await send(client, message=f"m{i}")
    first = (await client.get("/a1/SMS", params={"limit": 2}, auth=ELKS_AUTH)).json()
    assert [m["message"] for m in first["data"]] == ["m4", "m3"]
    second = (await client.get("/a1/SMS", params={"limit": 2, "start": first["next"]}, auth=ELKS_AUTH)).json()
    assert [m["message"] for m in second["data"]] == ["m2", "m1"]
    third = (await client.get("/a1/SMS", params={"limit": 2, "start": second["next"]}, auth=ELKS_AUTH)).json()
    assert [m["message"] for m in third["data"]] == ["m0"] and "next" not in third
    newer = (await client.get("/a1/SMS", params={"end": first["data"][1]["created"]}, auth=ELKS_AUTH)).json()
    assert [m["message"] for m in newer["data"]] == ["m4"]


@pytest.mark.parametrize("limit", ["0", "-3", "ten", "²"])  # "²" once answered 500; above 100 lists 100 (test_fidelity_elks)
async def test_bad_list_limit_is_refused(client, limit):
    await send(client)
    response = await client.get("/a1/SMS", params={"limit": limit}, auth=ELKS_AUTH)
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Invalid limit: expected a whole number from 1 to 100"


async def test_list_filters_by_recipient(client):
    await send(client, to="+46700000111")
    await send(client, to="+46700000222")
    data = (await client.get("/a1/SMS", params={"to": "+46700000222"}, auth=ELKS_AUTH)).json()["data"]
    assert [m["to"] for m in data] == ["+46700000222"]


async def test_accounts_never_see_each_others_messages(client):
    mine = (await send(client)).json()
    other = await client.get("/a1/SMS", auth=ELKS_OTHER_AUTH)
    assert other.json() == {"data": []}
    assert (await client.get(f"/a1/SMS/{mine['id']}", auth=ELKS_OTHER_AUTH)).status_code == 404


async def test_subaccount_sends_on_its_own_balance(emulator, client):
    main_before, sub_before = emulator.balance(ELKS_ACCOUNT), emulator.balance(ELKS_SUB_ACCOUNT)
    body = (await send(client, auth=ELKS_SUB_AUTH)).json()
    assert emulator.balance(ELKS_SUB_ACCOUNT) == sub_before - body["cost"]
    assert emulator.balance(ELKS_ACCOUNT) == main_before
    assert [m["id"] for m in (await client.get("/a1/SMS", auth=ELKS_SUB_AUTH)).json()["data"]] == [body["id"]]
    assert (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"] == []


async def test_delete_answers_the_deletion_and_removes_the_message(client):
    body = (await send(client)).json()
    response = await client.delete(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH)
    assert response.status_code == 200
    assert response.json() == {"id": body["id"], "deleted": "2026-01-01T00:00:00.000000"}
    assert (await client.get(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH)).status_code == 404
    assert (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"] == []
    assert (await client.delete(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH)).status_code == 404


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/x-www-form-urlencoded", b"from=ElkCo&to=%2B46700000123&message=x%ED%A0%80", 200),
        ("multipart/form-data; boundary=B", b'--B\r\nContent-Disposition: form-data; name="from"\r\n\r\nElkCo\r\n--B\r\n'
         b'Content-Disposition: form-data; name="to"\r\n\r\n+46700000123\r\n--B\r\n'
         b'Content-Disposition: form-data; name="message"\r\n\r\nx\xed\xa0\x80\r\n--B--\r\n', 403),
    ],
    ids=["percent-escaped", "multipart"],
)
async def test_a_surrogate_written_in_a_form_never_reaches_the_store(emulator, client, content_type, body, status):
    """46elks takes forms only, and a form cannot carry a lone surrogate: escapes of invalid
    UTF-8 read as replacement characters (as `parse_qsl` reads them); raw invalid UTF-8 in a
    form body or a multipart field is refused (tests/api/test_multipart_forms.py). Whatever is
    stored renders, in the answer, the lists and the snapshot."""
    response = await client.post("/a1/SMS", content=body, headers={"Content-Type": content_type}, auth=ELKS_AUTH)
    assert response.status_code == status
    if status != 200:
        assert response.text.startswith("Malformed request body")
        assert len(emulator.engine.store.messages) == 0
        return
    (stored,) = list(emulator.engine.store.messages)
    stored.text.encode("utf-8")  # no lone surrogate
    assert response.json()["message"] == stored.text
    for path in ("/a1/SMS", "/_emulator/messages", "/_emulator/snapshot"):
        assert (await client.get(path, auth=ELKS_AUTH)).status_code == 200

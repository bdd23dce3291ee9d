"""seven.io journal: outbound, inbound, replies and voice rows in seven's shapes, newest first,
with the documented filters and the legacy `GET /api/journal?type=` form."""

from types import SimpleNamespace

import pytest

from emulator.core.phone import parse_e164
from emulator.seven.networks import facts
from support import SEVEN_JSON, SEVEN_OTHER_KEY

DAY = 86_400


async def send(client, to="+4917612345678", text="Hallo", **extra):
    response = await client.post("/api/sms", json={"to": to, "text": text} | extra, headers=SEVEN_JSON)
    assert response.status_code == 200, response.text
    return response.json()["messages"][0]["id"]


async def inbound(client, sender="+4917612345678", text="Antwort"):
    response = await client.post("/_emulator/inbound/sms", json={"to": "+4915799912345", "from": sender, "text": text})
    assert response.status_code == 200
    return response.json()


async def journal(client, kind, **params):
    response = await client.get(f"/api/journal/{kind}", params=params, headers=SEVEN_JSON)
    assert response.status_code == 200, response.text
    return response.json()


async def test_outbound_row_before_and_after_its_reports(emulator, client):
    message_id = await send(client, label="promo", foreign_id="order-7")
    (row,) = await journal(client, "outbound")
    assert row == {
        "id": message_id,
        "from": "TestGmbH",
        "to": "4917612345678",
        "text": "Hallo",
        "timestamp": "2026-01-01 00:00:00.000",
        "price": "0.0750",
        "dlr": None,
        "dlr_timestamp": None,
        "mccmnc": facts(parse_e164("+4917612345678")).network.mccmnc,  # as the lookups say
        "latency": None,
        "type": "direct",
        "channel": "SMS",
        "connection": "http",
        "label": "promo",
        "foreign_id": "order-7",
    }
    await emulator.advance(0.5)
    (row,) = await journal(client, "outbound")
    assert (row["dlr"], row["dlr_timestamp"], row["latency"]) == ("TRANSMITTED", "2026-01-01 00:00:00.500", None)
    await emulator.advance(0.5)
    (row,) = await journal(client, "outbound")
    assert (row["dlr"], row["dlr_timestamp"], row["latency"]) == ("DELIVERED", "2026-01-01 00:00:01.000", "1.000")


async def test_outbound_unknown_network_and_long_message(client):
    await send(client, to="+4930123456", text="x" * 161)  # a Berlin landline, two parts
    (row,) = await journal(client, "outbound")
    assert row["mccmnc"] is None and row["price"] == "0.1500"


async def test_outbound_filters_and_paging(emulator, client):
    first = await send(client, to="+4917612345678")
    await emulator.advance(DAY)
    second = await send(client, to="+4915700000404")  # fails
    third = await send(client, to="+4917612345678")
    await emulator.advance(5)

    assert [r["id"] for r in await journal(client, "outbound")] == [third, second, first]
    assert [r["id"] for r in await journal(client, "outbound", limit=1, offset=1)] == [second]
    assert [r["id"] for r in await journal(client, "outbound", id=second)] == [second]
    assert [r["id"] for r in await journal(client, "outbound", state="NOTDELIVERED")] == [second]
    assert [r["id"] for r in await journal(client, "outbound", state="delivered")] == [third, first]
    assert [r["id"] for r in await journal(client, "outbound", to="0176 12345678")] == [third, first]
    assert [r["id"] for r in await journal(client, "outbound", date_to="2026-01-01")] == [first]
    assert [r["id"] for r in await journal(client, "outbound", date_from="2026-01-02")] == [third, second]
    assert await journal(client, "outbound", date_from="2026-01-03") == []
    assert await journal(client, "outbound", date_from="2026-01-02", date_to="2026-01-01") == []
    assert len(await journal(client, "outbound", date_from="undefined", state="", to="")) == 3


async def test_inbound_and_replies(emulator, client):
    replied_to = await send(client, to="+4917612345678")
    await emulator.advance(2)
    reply = await inbound(client, sender="+4917612345678", text="Ja")
    await inbound(client, sender="+4915112345678", text="Wer ist da?")
    rows = await journal(client, "inbound")
    assert [r["text"] for r in rows] == ["Wer ist da?", "Ja"]
    assert rows[1] == {
        "id": rows[1]["id"],
        "from": "4917612345678",
        "to": "4915799912345",
        "text": "Ja",
        "timestamp": "2026-01-01 00:00:02.000",
        "price": "0.0000",
        "reply_to_message_id": replied_to,
    }
    assert rows[1]["id"].isdigit() and rows[1]["id"] == reply["id"]  # seven's numbering, also in the control API
    assert rows[0]["reply_to_message_id"] is None
    replies = await journal(client, "replies")
    assert [r["text"] for r in replies] == ["Ja"]
    assert [r["text"] for r in await journal(client, "inbound", id=rows[0]["id"])] == ["Wer ist da?"]
    assert await journal(client, "outbound", id=rows[0]["id"]) == []
    assert [r["id"] for r in await journal(client, "outbound")] == [replied_to]


def add_call(engine, call_id, provider="seven", direction="outbound", **fields):
    """A call as the call engine keeps it (only the fields the journal reads)."""
    call = SimpleNamespace(
        id=call_id, provider=provider, account_id="1000001", direction=direction, sender="+4930123456",
        recipient="+4917612345678", created=engine.clock.stamp(), cost=0, duration=0, status="ended", error=None,
        attributes={"text": "Hallo"},
    )
    for name, value in fields.items():
        setattr(call, name, value)
    engine.store.collection("calls").add(call_id, call.account_id, call.created, call)
    return call


@pytest.mark.local_changes  # changes the engine directly
async def test_voice_journal_lists_the_accounts_seven_calls(emulator, client):
    assert await journal(client, "voice") == []
    engine = emulator.engine
    add_call(engine, "1384013", cost=450, duration=12)
    add_call(engine, "1384014", status="no_answer", recipient="+4915112345678", attributes={"text": "<Response/>", "xml": True})
    add_call(engine, "c0ffee", provider="elks")
    add_call(engine, "1384015", direction="inbound")
    rows = await journal(client, "voice")
    assert [r["id"] for r in rows] == ["1384014", "1384013"]
    assert rows[1] == {
        "id": "1384013", "from": "4930123456", "to": "4917612345678", "text": "Hallo",
        "timestamp": "2026-01-01 00:00:00.000", "price": "0.0450", "duration": "12", "error": "",
        "status": "completed", "xml": False,
    }
    assert (rows[0]["status"], rows[0]["xml"], rows[0]["price"]) == ("no-answer", True, "0.0000")
    assert [r["id"] for r in await journal(client, "voice", state="no-answer")] == ["1384014"]
    assert [r["id"] for r in await journal(client, "voice", to="0176 12345678", state="COMPLETED")] == ["1384013"]
    assert [r["id"] for r in await journal(client, "voice", id=1384013)] == ["1384013"]


async def test_legacy_type_parameter(emulator, client):
    message_id = await send(client)
    response = await client.get("/api/journal", params={"type": "outbound", "p": "test_api_key"})
    assert response.status_code == 200 and [r["id"] for r in response.json()] == [message_id]
    assert (await client.get("/api/journal?type=inbound", headers=SEVEN_JSON)).json() == []
    for params in ({}, {"type": "sideways"}):
        response = await client.get("/api/journal", params=params, headers=SEVEN_JSON)
        assert response.status_code == 400 and response.json()["success"] is False


async def test_accounts_see_only_their_own_journal(client):
    await send(client)
    other = {"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"}
    assert (await client.get("/api/journal/outbound", headers=other)).json() == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0}, {"limit": 101}, {"limit": ""}, {"offset": -1}, {"id": "abc"}, {"id": 0},
        {"date_from": "01.01.2026"}, {"date_to": "2026-13-01"}, {"to": "nobody"},
    ],
)
async def test_bad_filters_are_refused(client, params):
    for kind in ("outbound", "inbound", "replies", "voice"):
        response = await client.get(f"/api/journal/{kind}", params=params, headers=SEVEN_JSON)
        assert response.status_code == 400, (kind, params)
        body = response.json()
        assert body["success"] is False and body["code"] and body["error_message"]


async def test_journal_needs_a_valid_key(client):
    response = await client.get("/api/journal/outbound", headers={"X-Api-Key": "nope"})
    assert response.status_code == 401 and response.text == "900"


async def test_dates_at_the_ends_of_the_calendar_are_ranges_like_any_other(client):
    """`date_to=9999-12-31` has no next day in `datetime` (it answered 500)."""
    sent = await send(client)
    for kind in ("outbound", "inbound", "replies", "voice"):
        assert isinstance(await journal(client, kind, date_to="9999-12-31"), list)
    assert [r["id"] for r in await journal(client, "outbound", date_to="9999-12-31")] == [sent]
    assert [r["id"] for r in await journal(client, "outbound", date_from="0001-01-01", date_to="9999-12-31")] == [sent]
    assert await journal(client, "outbound", date_from="9999-12-31") == []

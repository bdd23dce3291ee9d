"""seven.io analytics from the real history: counts and costs by date, label, country and
sub-account, the default 30-day range, label and sub-account choices, and other products'
records once their collections exist."""

from types import SimpleNamespace

import pytest

from emulator.core.models import Account
from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY

DAY = 86_400
SUB = "1000077"


async def send(client, to="+4917612345678", headers=SEVEN_JSON, **extra):
    response = await client.post("/api/sms", json={"to": to, "text": "Hallo"} | extra, headers=headers)
    assert response.status_code == 200, response.text


async def stats(client, group, headers=SEVEN_JSON, **params):
    response = await client.get(f"/api/analytics/{group}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def row(key, value, sms=0, inbound=0, usage=0.0, **others):
    counts = {"sms": sms, "rcs": 0, "voice": 0, "hlr": 0, "mnp": 0, "inbound": inbound} | others
    return {key: value, **counts, "usage_eur": usage}


@pytest.fixture
def subaccount(emulator):
    """A seven sub-account of the default account, as the sub-account API would create it."""
    engine = emulator.engine
    account = Account(id=SUB, provider="seven", name="Sub", currency="EUR", balance=100_000,
                      created=engine.clock.now(), parent_id=SEVEN_ACCOUNT)
    engine.store.add_account(account, "sub_api_key")
    return {"X-Api-Key": "sub_api_key", "Accept": "application/json"}


async def test_empty_history_gives_no_rows(client):
    for group in ("date", "label", "country", "subaccount"):
        assert await stats(client, group) == []


async def test_by_date_within_the_default_range(emulator, client):
    await send(client)  # 2026-01-01, will fall out of the default range
    await emulator.advance(40 * DAY)  # 2026-02-10
    await send(client, to="+4917612345678,+447700900123")
    await client.post("/_emulator/inbound/sms", json={"to": "+4915799912345", "from": "+4917612345678", "text": "Ja"})
    await emulator.advance(DAY)  # 2026-02-11
    await send(client, to="+12015550123")
    assert await stats(client, "date") == [
        row("date", "2026-02-10", sms=2, inbound=1, usage=0.117),
        row("date", "2026-02-11", sms=1, usage=0.011),
    ]
    everything = await stats(client, "date", start="2026-01-01", end="2026-02-11")
    assert [r["date"] for r in everything] == ["2026-01-01", "2026-02-10", "2026-02-11"]
    assert await stats(client, "date", start="2026-02-11") == [row("date", "2026-02-11", sms=1, usage=0.011)]
    assert await stats(client, "date", end="2026-01-31") == [row("date", "2026-01-01", sms=1, usage=0.075)]


async def test_by_country_and_label(client):
    await send(client, to="+4917612345678,+4915112345678", label="promo")
    await send(client, to="+447700900123", label="alerts")
    await send(client, to="+46701234567")
    await client.post("/_emulator/inbound/sms", json={"to": "+4915799912345", "from": "+46701234567", "text": "Hej"})
    assert await stats(client, "country") == [
        row("country", "DE", sms=2, usage=0.15),
        row("country", "GB", sms=1, usage=0.042),
        row("country", "SE", sms=1, inbound=1, usage=0.068),
    ]
    assert await stats(client, "label") == [
        row("label", "", sms=1, inbound=1, usage=0.068),
        row("label", "alerts", sms=1, usage=0.042),
        row("label", "promo", sms=2, usage=0.15),
    ]
    assert await stats(client, "country", label="promo") == [row("country", "DE", sms=2, usage=0.15)]
    assert len(await stats(client, "label", label="all")) == 3
    assert len(await stats(client, "label", label="")) == 3


@pytest.mark.local_changes  # changes the engine directly
async def test_subaccounts(client, subaccount):
    await send(client)
    await send(client, to="+447700900123", headers=subaccount)
    await send(client, headers={"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"})  # unrelated account
    assert await stats(client, "subaccount") == [row("account", SEVEN_ACCOUNT, sms=1, usage=0.075)]
    assert await stats(client, "subaccount", subaccounts="only_main") == [row("account", SEVEN_ACCOUNT, sms=1, usage=0.075)]
    assert await stats(client, "subaccount", subaccounts="all") == [
        row("account", SEVEN_ACCOUNT, sms=1, usage=0.075),
        row("account", SUB, sms=1, usage=0.042),
    ]
    assert await stats(client, "country", subaccounts=SUB) == [row("country", "GB", sms=1, usage=0.042)]
    assert await stats(client, "subaccount", headers=subaccount) == [row("account", SUB, sms=1, usage=0.042)]


@pytest.mark.local_changes  # changes the engine directly
async def test_other_products_count_once_they_keep_records(emulator, client):
    engine = emulator.engine
    now = engine.clock.now()
    calls = engine.store.collection("calls")  # the call engine's, both providers
    for call_id, provider, direction in (("1", "seven", "outbound"), ("2", "seven", "inbound"), ("3", "elks", "outbound")):
        call = SimpleNamespace(id=call_id, provider=provider, direction=direction, created=now, cost=450,
                               recipient="+4917612345678", attributes={})
        calls.add(call_id, SEVEN_ACCOUNT, engine.clock.stamp(), call)
    lookups = engine.store.collection("seven.lookups")
    for key, kind in (("l1", "hlr"), ("l2", "mnp"), ("l3", "mnp"), ("l4", "format")):
        lookups.add(key, SEVEN_ACCOUNT, engine.clock.stamp(),
                    {"created": now, "type": kind, "cost": 0 if kind == "format" else 100, "number": "+4917612345678"})
    engine.store.collection("seven.rcs").add("r1", SEVEN_ACCOUNT, engine.clock.stamp(),
                                             {"created": now, "cost": 200, "recipient": "+4917612345678", "label": "rich"})
    assert await stats(client, "country") == [row("country", "DE", voice=1, hlr=1, mnp=2, rcs=1, usage=0.095)]
    assert await stats(client, "label", label="rich") == [row("label", "rich", rcs=1, usage=0.02)]


async def test_legacy_group_by(client):
    await send(client, label="promo")
    response = await client.get("/api/analytics", params={"group_by": "label", "p": "test_api_key"})
    assert response.status_code == 200 and response.json() == [row("label", "promo", sms=1, usage=0.075)]
    assert (await client.get("/api/analytics", headers=SEVEN_JSON)).json() == [row("date", "2026-01-01", sms=1, usage=0.075)]
    bad = await client.get("/api/analytics", params={"group_by": "planet"}, headers=SEVEN_JSON)
    assert bad.status_code == 400 and bad.json()["success"] is False


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": "2026/01/01"}, 400),
        ({"end": "yesterday"}, 400),
        ({"start": "2026-01-02", "end": "2026-01-01"}, 400),
        ({"subaccounts": "some"}, 400),
        ({"subaccounts": "1000002"}, 404),  # an account, but not a sub-account of the caller
    ],
)
async def test_bad_parameters(client, params, status):
    for group in ("date", "label", "country", "subaccount"):
        response = await client.get(f"/api/analytics/{group}", params=params, headers=SEVEN_JSON)
        assert response.status_code == status
        assert response.json()["success"] is False and response.json()["error_message"]


async def test_the_calendar_ends_and_beginnings_are_ranges_like_any_other(client):
    """`end=9999-12-31` has no next day in `datetime` (it answered 500), and the default start 30
    days before `end=0001-01-05` lies before the first date (so did that)."""
    await send(client)
    assert await stats(client, "date", end="9999-12-31") == []
    assert [r["date"] for r in await stats(client, "date", start="2026-01-01", end="9999-12-31")] == ["2026-01-01"]
    assert [r["date"] for r in await stats(client, "date", start="0001-01-01", end="9999-12-31")] == ["2026-01-01"]
    assert await stats(client, "date", end="0001-01-05") == []
    assert await stats(client, "country", start="0001-01-01", end="0001-01-01") == []

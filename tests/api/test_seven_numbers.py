"""seven.io numbers: offers per country, ordering (billed, then usable for inbound SMS), the
active numbers and their settings, release at once or at the end of the billing period."""

from pathlib import Path

import phonenumbers
import pytest
import schemathesis

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY

SEVEN_SPEC = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "specs" / "seven.json")

OTHER_JSON = {"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"}


async def available(client, **params):
    response = await client.get("/api/numbers/available", params=params, headers=SEVEN_JSON)
    assert response.status_code == 200, response.text
    return response.json()["availableNumbers"]


async def order(client, number, headers=SEVEN_JSON, **fields):
    return await client.post("/api/numbers/order", data={"number": number, **fields}, headers=headers)


def seven_numbers(emulator):
    return [n for n in emulator.engine.store.numbers if n.provider == "seven"]


async def test_offers_are_valid_numbers_of_the_country(client):
    offers = await available(client, country="de")
    assert len(offers) >= 5
    for offer in offers:
        parsed = phonenumbers.parse("+" + offer["number"])
        assert phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == "DE"
        assert offer["country"] == "DE"
        assert offer["number_parsed"] == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        assert offer["fees"] == {
            "monthly": {"basic_charge": 2.5, "setup": 0.0},
            "annually": {"basic_charge": 25.0, "setup": 0.0},
            "sms_mo": 0,
            "voice_mo": 0,
        }
        assert set(offer["features"]) == {"sms", "a2p_sms", "voice"}
    assert await available(client, country="DE") == offers  # deterministic


async def test_feature_filters(client):
    everything = await available(client, country="GB")
    a2p = await available(client, country="GB", features_a2p_sms="true")
    voice_only = await available(client, country="GB", features_sms=0, features_voice=1)
    assert a2p and all(o["features"]["a2p_sms"] for o in a2p) and len(a2p) < len(everything)
    assert len(voice_only) == len(everything)
    assert everything[0]["fees"]["monthly"]["setup"] == 1.0  # GB has a setup fee in the fixtures


async def test_countries_without_prices_offer_nothing_and_no_country_lists_all(client):
    assert await available(client, country="FR") == []
    everywhere = await available(client)
    assert {o["country"] for o in everywhere} == {"AT", "CH", "DE", "GB", "NL", "SE"}


async def test_unknown_country_is_refused(client):
    response = await client.get("/api/numbers/available", params={"country": "XX"}, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json()["success"] is False


async def test_fixture_number_is_active(client):
    response = await client.get("/api/numbers/active", headers=SEVEN_JSON)
    (active,) = response.json()["activeNumbers"]
    assert active["number"] == "4915799912345" and active["country"] == "DE"
    assert active["friendly_name"] == "Inbound line"
    assert active["features"] == {"sms": True, "a2p_sms": True, "voice": True}
    assert active["expires"] is None and active["created"] == "2026-01-01 00:00:00"
    one = await client.get("/api/numbers/active/+4915799912345", headers=SEVEN_JSON)
    assert one.json() == active
    other = await client.get("/api/numbers/active", headers=OTHER_JSON)
    assert other.json() == {"activeNumbers": []}
    foreign = await client.get("/api/numbers/active/4915799912345", headers=OTHER_JSON)
    assert foreign.status_code == 404 and foreign.json()["success"] is False


async def test_order_bills_and_activates_the_number(emulator, client):
    offer = (await available(client, country="DE", features_sms="1"))[0]
    response = await order(client, offer["number"], payment_interval="monthly")
    assert response.status_code == 200 and response.json() == {"success": True, "error": None}
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 25_000
    assert offer["number"] not in [o["number"] for o in await available(client, country="DE")]
    number = emulator.engine.store.active_number("+" + offer["number"], "seven")
    assert number is not None and number.account_id == SEVEN_ACCOUNT
    active = (await client.get(f"/api/numbers/active/{offer['number']}", headers=SEVEN_JSON)).json()
    assert active["billing"] == {"fees": {"setup": 0.0, "basic_charge": 2.5, "sms_mo": 0, "voice_mo": 0}, "payment_interval": "monthly"}
    listed = (await client.get("/api/numbers/active", headers=SEVEN_JSON)).json()["activeNumbers"]
    assert sorted(n["number"] for n in listed) == sorted(["4915799912345", offer["number"]])
    # inbound SMS to the new number reaches the account
    injected = await client.post("/_emulator/inbound/sms", json={"to": "+" + offer["number"], "from": "+4917612345678", "text": "hi"})
    assert injected.status_code == 200 and injected.json()["account_id"] == SEVEN_ACCOUNT


async def test_annual_order_costs_ten_months_plus_setup(emulator, client):
    offer = (await available(client, country="GB"))[0]
    assert (await order(client, offer["number"])).json()["success"] is True
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 10_000 - 300_000


@pytest.mark.parametrize(
    "fields",
    [
        {"number": ""},
        {"number": "+4915799912345"},  # in use (the fixture number)
        {"number": "+4917612345678"},  # not offered
        {"number": "abc"},
        {"payment_interval": "weekly"},
    ],
)
async def test_bad_orders_change_nothing(emulator, client, fields):
    offer = (await available(client, country="DE"))[0]
    response = await client.post("/api/numbers/order", data={"number": offer["number"], **fields}, headers=SEVEN_JSON)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["error"]
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 and len(seven_numbers(emulator)) == 1


@pytest.mark.local_changes  # changes the engine directly
async def test_order_without_credit(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].balance = 100
    offer = (await available(client, country="DE"))[0]
    response = await order(client, offer["number"])
    assert response.status_code == 402 and response.json()["success"] is False
    assert emulator.balance(SEVEN_ACCOUNT) == 100 and len(seven_numbers(emulator)) == 1


async def test_update_settings(client):
    response = await client.patch(
        "/api/numbers/active/4915799912345",
        data={"friendly_name": "Support", "sms_forward[]": ["491716992343", "+4917612345678"], "email_forward[]": "ops@example.com"},
        headers=SEVEN_JSON,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["friendly_name"] == "Support"
    assert body["forward_sms_mo"]["sms"] == {"number": ["491716992343", "4917612345678"], "enabled": True}
    assert body["forward_sms_mo"]["email"] == {"address": ["ops@example.com"], "enabled": True}
    cleared = await client.patch("/api/numbers/active/4915799912345", json={"sms_forward": []}, headers=SEVEN_JSON)
    assert cleared.json()["forward_sms_mo"]["sms"] == {"number": [], "enabled": False}
    assert cleared.json()["friendly_name"] == "Support"


@pytest.mark.parametrize("fields", [{"sms_forward[]": "12"}, {"email_forward[]": "not-an-email"}, {"friendly_name": "x" * 101}])
async def test_bad_updates_change_nothing(emulator, client, fields):
    before = dict(emulator.engine.store.numbers.get("4915799912345").attributes)
    response = await client.patch("/api/numbers/active/4915799912345", data={"friendly_name": "New", **fields}, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json()["success"] is False
    assert emulator.engine.store.numbers.get("4915799912345").attributes == before


async def test_delete_immediately(emulator, client):
    response = await client.request("DELETE", "/api/numbers/active/4915799912345", params={"delete_immediately": "true"}, headers=SEVEN_JSON)
    assert response.json() == {"success": True}
    assert (await client.get("/api/numbers/active", headers=SEVEN_JSON)).json() == {"activeNumbers": []}
    assert emulator.engine.store.active_number("+4915799912345") is None
    again = await client.request("DELETE", "/api/numbers/active/4915799912345", headers=SEVEN_JSON)
    assert again.status_code == 404


async def test_delete_at_the_end_of_the_billing_period(emulator, client):
    offer = (await available(client, country="DE"))[0]
    await order(client, offer["number"], payment_interval="monthly")
    await emulator.advance(86400 * 3)
    response = await client.request("DELETE", f"/api/numbers/active/{offer['number']}", data={"delete_immediately": "0"}, headers=SEVEN_JSON)
    assert response.json() == {"success": True}
    active = (await client.get(f"/api/numbers/active/{offer['number']}", headers=SEVEN_JSON)).json()
    assert active["expires"] == "2026-02-01 00:00:00"
    assert emulator.engine.store.active_number("+" + offer["number"]) is not None
    await emulator.advance(86400 * 28 - 1)
    assert emulator.engine.store.active_number("+" + offer["number"]) is not None
    await emulator.advance(1)
    assert emulator.engine.store.active_number("+" + offer["number"]) is None
    gone = await client.get(f"/api/numbers/active/{offer['number']}", headers=SEVEN_JSON)
    assert gone.status_code == 404
    assert offer["number"] in [o["number"] for o in await available(client, country="DE")]


async def test_fixture_number_annual_period_ends_a_year_after_it_started(client):
    await client.request("DELETE", "/api/numbers/active/4915799912345", headers=SEVEN_JSON)
    active = (await client.get("/api/numbers/active/4915799912345", headers=SEVEN_JSON)).json()
    assert active["expires"] == "2027-01-01 00:00:00"


async def test_answers_match_the_spec(client):
    listing = await client.get("/api/numbers/available", params={"country": "DE"}, headers=SEVEN_JSON)
    SEVEN_SPEC["/numbers/available"]["GET"].validate_response(listing)
    number = listing.json()["availableNumbers"][0]["number"]
    SEVEN_SPEC["/numbers/order"]["POST"].validate_response(await order(client, number))
    patched = await client.patch(f"/api/numbers/active/{number}", data={"sms_forward[]": "491716992343"}, headers=SEVEN_JSON)
    SEVEN_SPEC["/numbers/active/{number}"]["PATCH"].validate_response(patched)
    deleted = await client.request("DELETE", f"/api/numbers/active/{number}", headers=SEVEN_JSON)
    SEVEN_SPEC["/numbers/active/{number}"]["DELETE"].validate_response(deleted)
    expiring = await client.get(f"/api/numbers/active/{number}", headers=SEVEN_JSON)
    assert expiring.json()["expires"] is not None
    SEVEN_SPEC["/numbers/active/{number}"]["GET"].validate_response(expiring)
    SEVEN_SPEC["/numbers/active"]["GET"].validate_response(await client.get("/api/numbers/active", headers=SEVEN_JSON))

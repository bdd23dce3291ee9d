"""46elks numbers: allocation from a pool of valid numbers, billing, configuration, deallocation."""

import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_ACCOUNT, ELKS_SUB_AUTH

FIXTURE_NUMBER_ID = "n53c05a4e002ae26f790cbaf82b93bc37"
SE_PRICE = 250000


async def allocate(client, auth=ELKS_AUTH, **fields):
    return await client.post("/a1/numbers", data={"country": "se", **fields}, auth=auth)


def number_records(emulator):
    return {n.id: (n.active, dict(n.attributes)) for n in emulator.engine.store.numbers}


def kind(e164):
    return phonenumbers.number_type(phonenumbers.parse(e164))


async def test_allocation_rents_a_valid_number_and_charges_the_monthly_price(emulator, client):
    response = await allocate(client, sms_url="https://example.com/sms", name="Support")
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"n[0-9a-f]{32}", body["id"])
    parsed = phonenumbers.parse(body["number"])
    assert phonenumbers.is_valid_number_for_region(parsed, "SE") and kind(body["number"]) == PhoneNumberType.MOBILE
    assert (body["active"], body["country"], body["category"], body["capabilities"]) == ("yes", "se", "mobile", ["sms", "voice"])
    assert (body["sms_url"], body["name"], body["sms_replies"]) == ("https://example.com/sms", "Support", "yes")
    assert body["allocated"] == body["created"] == "2026-01-01T00:00:00.000000"
    assert body["expires"] == "2026-01-31T00:00:00"
    assert "deallocated" not in body and "mms_url" not in body
    assert emulator.balance(ELKS_ACCOUNT) == 10_000_000 - SE_PRICE
    assert (await client.get(f"/a1/numbers/{body['id']}", auth=ELKS_AUTH)).json() == body


async def test_numbers_are_distinct_and_the_same_after_a_reset(emulator, client):
    first = (await allocate(client)).json()["number"]
    second = (await allocate(client)).json()["number"]
    assert first != second and first != "+46766861001"
    await client.post("/_emulator/reset")
    assert (await allocate(client)).json()["number"] == first


@pytest.mark.parametrize(
    ("fields", "capabilities", "category", "types"),
    [
        ({"capabilities": "sms,mms,voice"}, ["sms", "mms", "voice"], "mobile", {PhoneNumberType.MOBILE}),
        ({"capabilities": " SMS , sms"}, ["sms"], "mobile", {PhoneNumberType.MOBILE}),
        ({"category": "fixed"}, ["voice"], "fixed", {PhoneNumberType.FIXED_LINE}),
        ({"category": "fixed", "capabilities": "voice", "country": "GB"}, ["voice"], "fixed", {PhoneNumberType.FIXED_LINE}),
        ({"country": "us"}, ["sms", "voice"], "mobile", {PhoneNumberType.FIXED_LINE_OR_MOBILE}),
    ],
)
async def test_capabilities_and_categories(client, fields, capabilities, category, types):
    body = (await allocate(client, **fields)).json()
    assert (body["capabilities"], body["category"]) == (capabilities, category)
    assert kind(body["number"]) in types


async def test_a_specific_number_can_be_asked_for(client):
    wanted = "+46701234567"
    body = (await allocate(client, number=wanted)).json()
    assert body["number"] == wanted
    again = await allocate(client, number=wanted)
    assert again.status_code == 403 and again.text.startswith("Unable to allocate number.")


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"country": ""}, "Missing key country"),
        ({"country": "sweden"}, "Unable to allocate number."),
        ({"country": "fr"}, "Unable to allocate number. No numbers are offered in FR."),
        ({"category": "fixed", "capabilities": "sms,voice"}, "Unable to allocate number. A fixed number cannot have sms or mms."),
        ({"category": "satellite"}, "Invalid category"),
        ({"capabilities": "sms,fax"}, "Invalid capabilities"),
        ({"number": "+46766861001"}, "Unable to allocate number."),  # taken
        ({"number": "+4915123456789"}, "Unable to allocate number."),  # not Swedish
        ({"number": "+468123456", "category": "mobile"}, "Unable to allocate number."),  # fixed line
        ({"number": "twelve"}, "Unable to allocate number."),
        ({"sms_url": "not a url"}, "The sms_url you tried to use is not a valid URL"),
        ({"voice_start": "{broken json"}, "The voice_start you tried to use is not a valid URL"),
        ({"sms_replies": "sometimes"}, "Invalid sms_replies"),
        ({"name": "n" * 51}, "Too long name"),
    ],
)
async def test_bad_allocation_is_refused_and_charges_nothing(emulator, client, fields, text):
    before = number_records(emulator)
    response = await allocate(client, **fields)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith(text)
    assert number_records(emulator) == before
    assert emulator.balance(ELKS_ACCOUNT) == 10_000_000


@pytest.mark.local_changes  # changes the engine directly
async def test_allocation_without_enough_credit_is_refused(emulator, client):
    emulator.engine.store.accounts[ELKS_ACCOUNT].balance = SE_PRICE - 1
    before = number_records(emulator)
    response = await allocate(client)
    assert response.status_code == 403 and response.text.startswith("Not enough credits")
    assert number_records(emulator) == before and emulator.balance(ELKS_ACCOUNT) == SE_PRICE - 1


async def test_update_sets_and_clears_settings(client):
    url = f"/a1/numbers/{FIXTURE_NUMBER_ID}"
    action = '{"forward": "+46700000123"}'
    body = (await client.post(url, data={
        "sms_url": "https://example.com/in", "mms_url": "http://example.com/mms", "voice_start": action,
        "sms_replies": "no", "name": "Renamed",
    }, auth=ELKS_AUTH)).json()
    assert (body["sms_url"], body["mms_url"], body["voice_start"]) == ("https://example.com/in", "http://example.com/mms", action)
    assert (body["sms_replies"], body["name"], body["active"]) == ("no", "Renamed", "yes")
    body = (await client.post(url, data={"sms_url": "none", "mms_url": " ", "name": "NONE", "sms_replies": "yes"}, auth=ELKS_AUTH)).json()
    assert not {"sms_url", "mms_url", "name"} & body.keys()
    assert body["voice_start"] == action and body["sms_replies"] == "yes"


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, "Unable to change number. Give at least one of"),
        ({"sms_url": "ftp://example.com/in"}, "The sms_url you tried to use is not a valid URL"),
        ({"mms_url": "example.com"}, "The mms_url you tried to use is not a valid URL"),
        ({"name": "ok", "sms_url": "[]"}, "The sms_url you tried to use is not a valid URL"),
        ({"active": "perhaps"}, "Invalid active"),
        ({"active": "yes, (setting this to no is irreversible)"}, "Invalid active"),
    ],
)
async def test_bad_update_changes_nothing(emulator, client, fields, text):
    before = number_records(emulator)
    response = await client.post(f"/a1/numbers/{FIXTURE_NUMBER_ID}", data=fields, auth=ELKS_AUTH)
    assert response.status_code == 403 and response.text.startswith(text)
    assert number_records(emulator) == before


async def test_deallocation_is_irreversible_and_stops_traffic(emulator, client):
    url = f"/a1/numbers/{FIXTURE_NUMBER_ID}"
    await emulator.advance(2)
    response = await client.post(url, data={"active": "no"}, auth=ELKS_AUTH)
    assert response.status_code == 200
    assert response.json() == {"id": FIXTURE_NUMBER_ID, "active": "no", "deallocated": "2026-01-01T00:00:02.000000"}
    got = (await client.get(url, auth=ELKS_AUTH)).json()
    assert got["active"] == "no" and got["deallocated"] == "2026-01-01T00:00:02.000000" and "expires" not in got
    listed = (await client.get("/a1/numbers", auth=ELKS_AUTH)).json()["data"]
    assert [n["active"] for n in listed if n["id"] == FIXTURE_NUMBER_ID] == ["no"]
    for change in ({"active": "yes"}, {"sms_url": "https://example.com/x"}):
        refused = await client.post(url, data=change, auth=ELKS_AUTH)
        assert refused.status_code == 403 and refused.text == "Unable to change number. It has been deallocated."
    inbound = await client.post("/_emulator/inbound/sms", json={"to": "+46766861001", "from": "+46701234567", "text": "hi"})
    assert inbound.status_code == 404
    sms = await client.post("/a1/SMS", data={"from": "+46766861001", "to": "+46700000123", "message": "x"}, auth=ELKS_AUTH)
    assert sms.status_code == 403 and sms.text == "Invalid from number"


async def test_unknown_or_foreign_number_id(emulator, client):
    for response in (
        await client.get("/a1/numbers/n00000000000000000000000000000000", auth=ELKS_AUTH),
        await client.get(f"/a1/numbers/{FIXTURE_NUMBER_ID}", auth=ELKS_OTHER_AUTH),
        await client.post(f"/a1/numbers/{FIXTURE_NUMBER_ID}", data={"active": "no"}, auth=ELKS_OTHER_AUTH),
        await client.post(f"/a1/numbers/{FIXTURE_NUMBER_ID}", data={"active": "no"}, auth=ELKS_SUB_AUTH),
    ):
        assert response.status_code == 404 and response.text == "Invalid number id"
    assert emulator.engine.store.numbers.get(FIXTURE_NUMBER_ID).active


async def test_each_account_lists_its_own_numbers_newest_first_in_pages(emulator, client):
    await emulator.advance(1)
    mine = [(await allocate(client)).json()["id"] for _ in range(3)]
    theirs = (await allocate(client, auth=ELKS_SUB_AUTH)).json()
    assert emulator.balance(ELKS_SUB_ACCOUNT) == 1_000_000 - SE_PRICE
    page = (await client.get("/a1/numbers", params={"limit": 2}, auth=ELKS_AUTH)).json()
    assert [n["id"] for n in page["data"]] == mine[::-1][:2] and "next" in page
    rest = (await client.get("/a1/numbers", params={"start": page["next"]}, auth=ELKS_AUTH)).json()
    assert [n["id"] for n in rest["data"]] == [mine[0], FIXTURE_NUMBER_ID] and "next" not in rest
    sub_list = (await client.get("/a1/numbers", auth=ELKS_SUB_AUTH)).json()
    assert [n["id"] for n in sub_list["data"]] == [theirs["id"]]
    assert (await client.get("/a1/numbers", auth=ELKS_OTHER_AUTH)).json() == {"data": []}


async def test_an_allocated_number_sends_sms(client):
    number = (await allocate(client, capabilities="sms")).json()["number"]
    sms = await client.post("/a1/SMS", data={"from": number, "to": "+46700000123", "message": "from my number"}, auth=ELKS_AUTH)
    assert sms.status_code == 200 and sms.json()["from"] == number


def test_fixture_files_extend_and_check_the_price_lists(tmp_path):
    from emulator.core.errors import FixtureError
    from emulator.world.fixtures import load_fixtures

    mine = tmp_path / "mine.yaml"
    mine.write_text('extends: default\nelks:\n  number_prices: {fr: 90000, "NO": 1}\n  mms_prices: {SE: 9000}\n')
    lists = load_fixtures(mine).price_lists["elks"]
    assert (lists["number_prices"]["FR"], lists["number_prices"]["NO"], lists["number_prices"]["SE"]) == (90000, 1, SE_PRICE)
    assert lists["mms_prices"] == {"default": 12500, "SE": 9000}
    broken = tmp_path / "broken.yaml"
    broken.write_text("elks:\n  number_prices: {SE: cheap}\n")
    with pytest.raises(FixtureError, match=r"elks.number_prices.SE: expected an integer"):
        load_fixtures(broken)

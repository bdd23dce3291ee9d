"""seven.io lookups: format, HLR, MNP, CNAM and RCS answers in seven's shapes, one object or an
array, deterministic per seed and number, billed and recorded; invalid numbers refused."""

from pathlib import Path

import pytest
import schemathesis

from support import SEVEN_ACCOUNT, SEVEN_JSON, make_engine

SEVEN_SPEC = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "specs" / "seven.json")

FIXTURE_NUMBER = "+4915799912345"


async def lookup(client, kind, number, headers=SEVEN_JSON):
    return await client.get(f"/api/lookup/{kind}", params={"number": number}, headers=headers)


def recorded(emulator):
    return list(emulator.engine.store.collection("seven.lookups"))


async def test_format_comes_from_phonenumbers(emulator, client):
    response = await lookup(client, "format", "015799912345")  # national form, read as German
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "national": "01579 9912345",
        "international": "+4915799912345",
        "international_formatted": "+49 1579 9912345",
        "country_name": "Germany",
        "country_code": "49",
        "country_iso": "DE",
        "carrier": "Eplus/Sipgate",
        "network_type": "mobile",
    }
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000  # format lookups are free
    (record,) = recorded(emulator)
    assert (record.type, record.number, record.price, record.account_id) == ("format", "+4915799912345", 0, SEVEN_ACCOUNT)


async def test_fixed_line_number_type(client):
    body = (await lookup(client, "format", "+4930123456")).json()
    assert body["network_type"] == "fixed_line" and body["carrier"] == "" and body["success"] is True


async def test_hlr_shape_and_price(emulator, client):
    response = await lookup(client, "hlr", FIXTURE_NUMBER)
    assert response.status_code == 200
    hlr = response.json()
    assert hlr["status"] is True and hlr["status_message"] == "success"
    assert hlr["lookup_outcome"] is True
    assert (hlr["international_format_number"], hlr["international_formatted"], hlr["national_format_number"]) == (
        "4915799912345", "+49 1579 9912345", "01579 9912345",
    )
    assert (hlr["country_code"], hlr["country_name"], hlr["country_prefix"]) == ("DE", "Germany", "49")
    assert hlr["original_carrier"]["network_code"] == "26203" and hlr["original_carrier"]["network_type"] == "mobile"
    assert hlr["valid_number"] == "valid"
    assert hlr["reachable"] in ("reachable", "absent")
    assert hlr["ported"] in ("ported", "not_ported")
    assert hlr["roaming"] == "not_roaming" or hlr["roaming"]["status"] == "roaming"
    assert isinstance(hlr["gsm_code"], str) and hlr["gsm_message"]
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 150


async def test_mnp_and_hlr_agree_on_porting(client):
    numbers = [f"+491512345{n:04d}" for n in range(40)]
    hlrs = (await lookup(client, "hlr", ",".join(numbers))).json()
    mnps = (await lookup(client, "mnp", ",".join(numbers))).json()
    assert len(hlrs) == len(mnps) == 40
    ported = 0
    for hlr, mnp in zip(hlrs, mnps):
        assert mnp["success"] is True and mnp["code"] == 100 and mnp["price"] == 0.005
        assert mnp["mnp"]["isPorted"] is (hlr["ported"] == "ported")
        assert mnp["mnp"]["mccmnc"] == hlr["current_carrier"]["network_code"]
        assert mnp["mnp"]["network"] == hlr["current_carrier"]["name"]
        if mnp["mnp"]["isPorted"]:
            ported += 1
            assert hlr["current_carrier"]["network_code"] != hlr["original_carrier"]["network_code"]
    assert 0 < ported < 40


async def test_cnam_success_is_a_string(client):
    body = (await lookup(client, "cnam", FIXTURE_NUMBER)).json()
    assert body["success"] == "true" and body["code"] == "100"
    assert body["number"] == FIXTURE_NUMBER and body["name"].strip()


async def test_rcs_capabilities(client):
    body = (await lookup(client, "rcs", FIXTURE_NUMBER)).json()
    assert body["international"] == FIXTURE_NUMBER and body["success"] is True
    allowed = {
        "FEATURE_UNSPECIFIED", "REVOCATION", "RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_CREATE_CALENDAR_EVENT",
        "ACTION_DIAL", "ACTION_OPEN_URL", "ACTION_SHARE_LOCATION", "ACTION_VIEW_LOCATION",
    }
    assert isinstance(body["rcs_capabilities"], list) and set(body["rcs_capabilities"]) <= allowed
    landline = (await lookup(client, "rcs", "+4930123456")).json()
    assert landline["rcs_capabilities"] == []


async def test_several_numbers_answer_an_array_and_bill_each(emulator, client):
    response = await lookup(client, "mnp", "+4917612345678, 4915123456789")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and [item["mnp"]["number"] for item in body] == ["+4917612345678", "+4915123456789"]
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 2 * 50
    assert [(r.type, r.number) for r in recorded(emulator)] == [("mnp", "+4917612345678"), ("mnp", "+4915123456789")]
    events = [e for e in emulator.engine.events.since(0) if e.kind == "lookup.created"]
    assert [e.data["number"] for e in events] == ["+4917612345678", "+4915123456789"]


async def test_answers_are_deterministic_per_seed_and_number(client):
    first = (await lookup(client, "hlr", "+4917612345678,+4915123456789,+4917012345678")).json()
    again = (await lookup(client, "hlr", "+4917612345678,+4915123456789,+4917012345678")).json()
    assert first == again
    cnam = (await lookup(client, "cnam", "+4917612345678")).json()
    assert cnam == (await lookup(client, "cnam", "+4917612345678")).json()


def test_other_seeds_answer_otherwise():
    from emulator.core.phone import parse_loose
    from emulator.seven.lookup import _profile
    from emulator.seven.networks import facts

    info = facts(parse_loose("+4917612345678"))
    names = {_profile(make_engine(seed=seed), info).name for seed in range(5)}
    assert len(names) > 1
    assert _profile(make_engine(seed=3), info) == _profile(make_engine(seed=3), info)


async def test_simulated_network_fate_shows_in_hlr(client):
    failing, silent = (await lookup(client, "hlr", "+4915700000404,+4915700000408")).json()
    assert failing["reachable"] == "undeliverable" and failing["gsm_code"] == "1"
    assert silent["reachable"] == "absent"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("format", {"success": False, "country_code": False, "international": "+", "carrier": None}),
        ("rcs", {"success": False, "rcs_capabilities": []}),
        ("hlr", {"lookup_outcome": False, "valid_number": "not_valid", "country_prefix": False}),
        ("mnp", {"success": False, "code": 202}),
        ("cnam", {"code": 202}),
    ],
)
async def test_invalid_number_is_refused_in_the_types_shape(emulator, client, kind, expected):
    response = await lookup(client, kind, "000")
    assert response.status_code == 400
    body = response.json()
    assert {key: body.get(key) for key in expected} == expected
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 and recorded(emulator) == []


async def test_one_invalid_number_refuses_the_whole_request(emulator, client):
    response = await lookup(client, "hlr", "+4917612345678,12,+4915123456789")
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["valid_number"] == "not_valid"
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 and recorded(emulator) == []


@pytest.mark.parametrize("params", [{}, {"number": ""}, {"number": " , "}])
async def test_missing_number(emulator, client, params):
    response = await client.get("/api/lookup/hlr", params=params, headers=SEVEN_JSON)
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["error_message"]
    assert recorded(emulator) == []


@pytest.mark.local_changes  # changes the engine directly
async def test_insufficient_balance_answers_500_and_records_nothing(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].balance = 200
    response = await lookup(client, "hlr", "+4917612345678,+4915123456789")
    assert response.status_code == 402
    assert response.json()["code"] == "500" and response.json()["success"] is False
    assert emulator.balance(SEVEN_ACCOUNT) == 200 and recorded(emulator) == []
    # one lookup still fits
    assert (await lookup(client, "hlr", "+4917612345678")).status_code == 200
    assert emulator.balance(SEVEN_ACCOUNT) == 50


async def test_lookup_needs_credentials(emulator, client):
    response = await client.get("/api/lookup/format", params={"number": FIXTURE_NUMBER}, headers={"X-Api-Key": "nope"})
    assert response.status_code == 401 and response.text == "900"
    assert recorded(emulator) == []


@pytest.mark.parametrize("kind", ["format", "hlr", "mnp", "cnam", "rcs"])
async def test_answers_match_the_spec(client, kind):
    operation = SEVEN_SPEC[f"/lookup/{kind}"]["GET"]
    numbers = ["+4915799912345", "+4930123456", "+4917999999", "+436641234567", "+12025550123"]
    numbers += [f"+491512345{n:04d}" for n in range(40)]  # some ported, absent and roaming ones
    for query in [numbers[0], ",".join(numbers)]:
        response = await lookup(client, kind, query)
        assert response.status_code == 200
        operation.validate_response(response)

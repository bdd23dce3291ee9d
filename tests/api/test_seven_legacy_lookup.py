"""seven.io's legacy lookup `GET /api/lookup?type=...&number=...` (reference 2.2, 8.5): the REST
lookups' answers, and the plain-text MNP answer (`d1`, `d2`, `o2`, `int`, `N/A`) when JSON is not
asked for."""

import pytest

from emulator.seven.legacy_lookup import network_short_name
from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_KEY, world_state

PLAIN = {"X-Api-Key": SEVEN_KEY}


@pytest.mark.parametrize("kind", ["format", "hlr", "mnp", "cnam"])
async def test_each_type_answers_as_its_rest_twin(emulator, client, kind):
    legacy = await client.get("/api/lookup", params={"type": kind, "number": "+4917612345678"}, headers=SEVEN_JSON)
    rest = await client.get(f"/api/lookup/{kind}", params={"number": "+4917612345678"}, headers=SEVEN_JSON)
    assert legacy.status_code == 200 and legacy.json() == rest.json()
    assert [lookup.type for lookup in emulator.engine.store.collection("seven.lookups")] == [kind, kind]


async def test_json_flag_and_post_are_served(client):
    by_flag = await client.get("/api/lookup", params={"type": "cnam", "number": "+4917612345678", "json": "1", "p": SEVEN_KEY})
    assert by_flag.json()["success"] == "true" and by_flag.json()["code"] == "100"
    posted = await client.post("/api/lookup", data={"type": "format", "number": "+4917612345678,+4915123456789"}, headers=SEVEN_JSON)
    assert [item["international"] for item in posted.json()] == ["+4917612345678", "+4915123456789"]


async def test_mnp_without_json_answers_the_network_in_plain_text(emulator, client):
    before = emulator.balance(SEVEN_ACCOUNT)
    response = await client.get("/api/lookup", params={"type": "mnp", "number": "+4917212345678"}, headers=PLAIN)
    assert response.status_code == 200 and response.headers["content-type"] == "text/plain; charset=utf-8"
    rest = (await client.get("/api/lookup/mnp", params={"number": "+4917212345678"}, headers=SEVEN_JSON)).json()
    assert response.text == network_short_name(rest) and response.text in ("d1", "d2", "o2")
    assert emulator.balance(SEVEN_ACCOUNT) == before - 2 * 50  # billed as an MNP lookup, both times


async def test_mnp_text_for_several_numbers_one_line_each(client):
    numbers = "+4915123456789,+4917212345678,+4930123456,+43664123456"
    lines = (await client.get("/api/lookup", params={"type": "mnp", "number": numbers}, headers=PLAIN)).text.split("\n")
    assert len(lines) == 4 and lines[2] == "N/A" and lines[3] == "int" and set(lines[:2]) <= {"d1", "d2", "o2"}


@pytest.mark.parametrize(("mccmnc", "short"), [("26201", "d1"), ("26202", "d2"), ("26203", "o2"), ("23201", "int"), ("", "N/A")])
def test_short_network_names(mccmnc, short):
    assert network_short_name({"success": True, "mnp": {"mccmnc": mccmnc}}) == short


@pytest.mark.parametrize(("params", "headers", "status", "body"), [
    ({"type": "mnp", "number": "abc"}, PLAIN, 400, "202"),
    ({"type": "mnp", "number": "abc"}, SEVEN_JSON, 400, {"success": False, "code": 202, "price": 0}),
    ({"type": "imei", "number": "+4917612345678"}, SEVEN_JSON, 400,
     {"success": False, "code": "400", "error_message": "Invalid type: expected one of format, hlr, mnp, cnam, rcs"}),
    ({"number": "+4917612345678"}, SEVEN_JSON, 400, {"success": False, "code": "700", "error_message": "Missing key type"}),
    ({"type": "hlr"}, SEVEN_JSON, 400, {"success": False, "code": "700", "error_message": "Missing key number"}),
])
async def test_refusals_change_nothing(emulator, client, params, headers, status, body):
    before = world_state(emulator.engine)
    response = await client.get("/api/lookup", params=params, headers=headers)
    assert response.status_code == status
    assert (response.text if isinstance(body, str) else response.json()) == body
    assert world_state(emulator.engine) == before

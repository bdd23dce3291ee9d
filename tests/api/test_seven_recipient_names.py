"""seven.io `POST /api/sms` to contact and group names of the account: groups expand to their
members' mobile numbers, contacts are found by full name, unknown names refuse the request (202)
and change nothing."""

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY


async def contact(client, headers=SEVEN_JSON, **fields):
    response = await client.post("/api/contacts", data=fields, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def group(client, name, headers=SEVEN_JSON):
    return (await client.post("/api/groups", data={"name": name}, headers=headers)).json()


async def send(client, to, headers=SEVEN_JSON, **extra):
    return await client.post("/api/sms", json={"to": to, "text": "Hallo"} | extra, headers=headers)


@pytest.fixture
async def book(client):
    team = await group(client, "Team")
    empty = await group(client, "Nobody Here")
    anna = await contact(client, firstname="Anna", lastname="Berg", mobile_number="+4917612345671", groups=str(team["id"]))
    bert = await contact(client, firstname="Bert", mobile_number="0176 12345672", groups=str(team["id"]))
    await contact(client, firstname="Carl", lastname="No Number", groups=str(team["id"]))
    return {"team": team, "empty": empty, "anna": anna, "bert": bert}


async def test_group_name_expands_to_members(emulator, client, book):
    response = await send(client, "Team")
    body = response.json()
    assert response.status_code == 200 and body["success"] == "100"
    assert [m["recipient"] for m in body["messages"]] == ["4917612345671", "4917612345672"]
    assert body["total_price"] == 0.15
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 1500


async def test_contact_full_name_case_and_spacing_do_not_matter(client, book):
    body = (await send(client, ["  anna   BERG ", "bert"])).json()
    assert [m["recipient"] for m in body["messages"]] == ["4917612345671", "4917612345672"]


async def test_names_mix_with_numbers_and_a_person_gets_one_message(client, book):
    body = (await send(client, "+4915112345678,Team,Anna Berg")).json()
    assert [m["recipient"] for m in body["messages"]] == ["4915112345678", "4917612345671", "4917612345672"]


async def test_plain_text_answer_for_a_group(client, book):
    response = await client.post("/api/sms", data={"to": "Team", "text": "Hi", "return_msg_id": "1"}, headers={"X-Api-Key": "test_api_key"})
    assert response.text == "100\n77000000001,77000000002"


@pytest.mark.parametrize("to", ["Stranger", "Stranger,Nobody Here", "Nobody Here", "Carl No Number"])
async def test_unknown_or_numberless_names_are_refused(emulator, client, book, to):
    response = await send(client, to)
    assert response.status_code == 400 and response.json() == 202
    assert len(emulator.engine.store.messages) == 0
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000


async def test_an_unknown_name_beside_a_group_fails_alone(emulator, client, book):
    body = (await send(client, "Team,Stranger")).json()
    assert body["success"] == "101"
    assert [(m["recipient"], m["success"]) for m in body["messages"]] == [("4917612345671", True), ("4917612345672", True), ("Stranger", False)]
    assert len(emulator.engine.store.messages) == 2


async def test_names_are_per_account(emulator, client, book):
    other = {"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"}
    response = await send(client, "Team", headers=other)
    assert response.status_code == 400 and response.json() == 202
    assert len(emulator.engine.store.messages) == 0


async def test_deleted_group_is_no_longer_a_recipient(emulator, client, book):
    await client.delete(f"/api/groups/{book['team']['id']}", headers=SEVEN_JSON)
    assert (await send(client, "Team")).json() == 202
    assert (await send(client, "Bert")).json()["messages"][0]["recipient"] == "4917612345672"

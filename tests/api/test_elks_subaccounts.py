"""46elks subaccounts: create, list, get, update, deactivate; who may manage them; their balance."""

import re

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_ACCOUNT, ELKS_SUB_AUTH

SUBS = "/a1/subaccounts"


async def create(client, auth=ELKS_AUTH, **fields):
    return await client.post(SUBS, data={"name": "Shop", **fields}, auth=auth)


def subaccounts(emulator):
    return {a.id for a in emulator.engine.store.accounts.values() if a.parent_id}


async def test_create_answers_id_and_secret_that_work_at_once(emulator, client):
    response = await create(client, usagelimit="500000")
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"a[0-9a-f]{31}", body["id"])
    assert re.fullmatch(r"[0-9A-F]{32}", body["secret"])
    assert (body["name"], body["usagelimit"], body["created"]) == ("Shop", 500000, "2026-01-01T00:00:00.000000")
    me = await client.get("/a1/me", auth=(body["id"], body["secret"]))
    assert me.status_code == 200 and me.json()["balance"] == 500000
    sms = await client.post("/a1/SMS", data={"from": "Shop", "to": "+46700000123", "message": "hi"}, auth=(body["id"], body["secret"]))
    assert sms.status_code == 200
    assert emulator.balance(body["id"]) == 500000 - 3500
    assert emulator.balance(ELKS_ACCOUNT) == 10_000_000
    got = (await client.get(f"{SUBS}/{body['id']}", auth=ELKS_AUTH)).json()
    assert got["balanceused"] == 3500 and got["usagelimit"] == 500000 and got["secret"] == body["secret"]


async def test_list_shows_the_main_accounts_subaccounts_newest_first(emulator, client):
    await emulator.advance(1)  # fixture records are made at the start instant; be clearly newer
    first = (await create(client, name="First")).json()
    second = (await create(client, name="Second")).json()
    listed = (await client.get(SUBS, auth=ELKS_AUTH)).json()
    assert [s["id"] for s in listed["data"]] == [second["id"], first["id"], ELKS_SUB_ACCOUNT]
    assert "next" not in listed
    fixture = listed["data"][2]
    assert (fixture["name"], fixture["usagelimit"], fixture["secret"]) == ("Test Subaccount", 1_000_000, ELKS_SUB_AUTH[1])
    assert (await client.get(SUBS, auth=ELKS_OTHER_AUTH)).json() == {"data": []}


async def test_list_pages_with_start_and_limit(emulator, client):
    await emulator.advance(1)
    made = [(await create(client, name=f"S{k}")).json()["id"] for k in range(3)]
    page = (await client.get(SUBS, params={"limit": 2}, auth=ELKS_AUTH)).json()
    assert [s["id"] for s in page["data"]] == made[::-1][:2]
    rest = (await client.get(SUBS, params={"start": page["next"]}, auth=ELKS_AUTH)).json()
    assert [s["id"] for s in rest["data"]] == [made[0], ELKS_SUB_ACCOUNT] and "next" not in rest
    newer = (await client.get(SUBS, params={"end": page["next"]}, auth=ELKS_AUTH)).json()
    assert [s["id"] for s in newer["data"]] == [made[2]]


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"name": ""}, "Missing key name"),
        ({"name": " "}, "Invalid name: a subaccount needs a name"),
        ({"name": "x" * 101}, "Too long name"),
        ({"usagelimit": "lots"}, "Invalid usagelimit"),
        ({"usagelimit": "-5"}, "Invalid usagelimit"),
    ],
)
async def test_bad_create_is_refused_and_creates_nothing(emulator, client, fields, text):
    before = subaccounts(emulator)
    response = await create(client, **fields)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith(text)
    assert subaccounts(emulator) == before


async def test_a_subaccount_may_not_manage_subaccounts(emulator, client):
    before = subaccounts(emulator)
    for response in (
        await client.get(SUBS, auth=ELKS_SUB_AUTH),
        await create(client, auth=ELKS_SUB_AUTH),
        await client.get(f"{SUBS}/{ELKS_SUB_ACCOUNT}", auth=ELKS_SUB_AUTH),
        await client.post(f"{SUBS}/{ELKS_SUB_ACCOUNT}", data={"name": "Mine now"}, auth=ELKS_SUB_AUTH),
    ):
        assert response.status_code == 403 and response.text.startswith("Subaccounts cannot manage subaccounts")
    assert subaccounts(emulator) == before
    assert emulator.engine.store.accounts[ELKS_SUB_ACCOUNT].name == "Test Subaccount"


async def test_another_accounts_subaccount_is_not_found(emulator, client):
    for response in (
        await client.get(f"{SUBS}/{ELKS_SUB_ACCOUNT}", auth=ELKS_OTHER_AUTH),
        await client.post(f"{SUBS}/{ELKS_SUB_ACCOUNT}", data={"name": "Stolen"}, auth=ELKS_OTHER_AUTH),
        await client.get(f"{SUBS}/a0000000000000000000000000000000", auth=ELKS_AUTH),
    ):
        assert response.status_code == 404 and response.text == "Unable to get subaccount."
    assert emulator.engine.store.accounts[ELKS_SUB_ACCOUNT].name == "Test Subaccount"


async def test_update_name_and_usagelimit_keeps_what_was_used(emulator, client):
    await client.post("/a1/SMS", data={"from": "Sub", "to": "+46700000123", "message": "x"}, auth=ELKS_SUB_AUTH)
    url = f"{SUBS}/{ELKS_SUB_ACCOUNT}"
    body = (await client.post(url, data={"name": "Renamed", "usagelimit": "200000"}, auth=ELKS_AUTH)).json()
    assert (body["name"], body["usagelimit"], body["balanceused"]) == ("Renamed", 200000, 3500)
    assert emulator.balance(ELKS_SUB_ACCOUNT) == 200000 - 3500
    body = (await client.post(url, data={"usagelimit": "1000"}, auth=ELKS_AUTH)).json()
    assert (body["usagelimit"], body["balanceused"]) == (1000, 3500)
    assert emulator.balance(ELKS_SUB_ACCOUNT) == 0
    sms = await client.post("/a1/SMS", data={"from": "Sub", "to": "+46700000123", "message": "x"}, auth=ELKS_SUB_AUTH)
    assert sms.status_code == 403 and sms.text.startswith("Not enough credits")
    body = (await client.post(url, data={"usagelimit": "none"}, auth=ELKS_AUTH)).json()
    assert "usagelimit" not in body and body["balanceused"] == 3500
    body = (await client.post(url, data={"usagelimit": "10000"}, auth=ELKS_AUTH)).json()
    assert emulator.balance(ELKS_SUB_ACCOUNT) == 10000 - 3500 and body["balanceused"] == 3500


async def test_new_secret_replaces_the_old_one(client):
    url = f"{SUBS}/{ELKS_SUB_ACCOUNT}"
    new_secret = "0123456789ABCDEF0123456789ABCDEF"
    body = (await client.post(url, data={"secret": new_secret}, auth=ELKS_AUTH)).json()
    assert body["secret"] == new_secret
    assert (await client.get("/a1/me", auth=ELKS_SUB_AUTH)).status_code == 401
    assert (await client.get("/a1/me", auth=(ELKS_SUB_ACCOUNT, new_secret))).status_code == 200


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, "Unable to update subaccount. Give at least one of"),
        ({"secret": "short"}, "Invalid secret"),
        ({"secret": "has spaces in it, which is bad"}, "Invalid secret"),
        ({"usagelimit": "1.5"}, "Invalid usagelimit"),
        ({"active": "maybe"}, "Invalid active"),
        ({"name": "none"}, "Invalid name"),
        ({"name": "Fine", "usagelimit": "x"}, "Invalid usagelimit"),
    ],
)
async def test_bad_update_is_refused_and_changes_nothing(emulator, client, fields, text):
    sub = emulator.engine.store.accounts[ELKS_SUB_ACCOUNT]
    before = (sub.name, sub.balance, dict(sub.credentials), dict(sub.attributes))
    response = await client.post(f"{SUBS}/{ELKS_SUB_ACCOUNT}", data=fields, auth=ELKS_AUTH)
    assert response.status_code == 403 and response.text.startswith(text)
    assert (sub.name, sub.balance, dict(sub.credentials), dict(sub.attributes)) == before


async def test_deactivation_is_permanent_and_locks_the_credentials(client):
    url = f"{SUBS}/{ELKS_SUB_ACCOUNT}"
    response = await client.post(url, data={"active": "no"}, auth=ELKS_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["active"] == "no" and body["deactivated"] == "2026-01-01T00:00:00.000000" and "secret" not in body
    assert (await client.get("/a1/me", auth=ELKS_SUB_AUTH)).status_code == 401
    again = await client.post(url, data={"active": "yes"}, auth=ELKS_AUTH)
    assert again.status_code == 403 and again.text == "Unable to update subaccount. It has been deactivated."
    assert (await client.get(url, auth=ELKS_AUTH)).json()["active"] == "no"
    assert (await client.get(SUBS, params={"active": "yes"}, auth=ELKS_AUTH)).json() == {"data": []}
    assert [s["id"] for s in (await client.get(SUBS, params={"active": "no"}, auth=ELKS_AUTH)).json()["data"]] == [ELKS_SUB_ACCOUNT]


async def test_deactivation_is_refused_while_the_subaccount_has_numbers(emulator, client):
    number = (await client.post("/a1/numbers", data={"country": "se"}, auth=ELKS_SUB_AUTH)).json()
    url = f"{SUBS}/{ELKS_SUB_ACCOUNT}"
    refused = await client.post(url, data={"active": "no", "name": "Closing"}, auth=ELKS_AUTH)
    assert refused.status_code == 403 and "active numbers" in refused.text
    sub = emulator.engine.store.accounts[ELKS_SUB_ACCOUNT]
    assert sub.attributes.get("active") is not False and sub.name == "Test Subaccount"
    await client.post(f"/a1/numbers/{number['id']}", data={"active": "no"}, auth=ELKS_SUB_AUTH)
    assert (await client.post(url, data={"active": "no"}, auth=ELKS_AUTH)).json()["active"] == "no"


async def test_a_subaccount_without_limit_has_no_credit_of_its_own(emulator, client):
    body = (await create(client)).json()
    assert "usagelimit" not in body
    sms = await client.post("/a1/SMS", data={"from": "Shop", "to": "+46700000123", "message": "x"}, auth=(body["id"], body["secret"]))
    assert sms.status_code == 403 and sms.text.startswith("Not enough credits")
    assert emulator.balance(ELKS_ACCOUNT) == 10_000_000


async def test_a_subaccount_sees_only_its_own_messages(client):
    await client.post("/a1/SMS", data={"from": "Main", "to": "+46700000123", "message": "main"}, auth=ELKS_AUTH)
    await client.post("/a1/SMS", data={"from": "Sub", "to": "+46700000123", "message": "sub"}, auth=ELKS_SUB_AUTH)
    sub_list = (await client.get("/a1/SMS", auth=ELKS_SUB_AUTH)).json()["data"]
    main_list = (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"]
    assert [m["message"] for m in sub_list] == ["sub"]
    assert [m["message"] for m in main_list] == ["main"]

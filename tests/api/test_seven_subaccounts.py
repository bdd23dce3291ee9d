"""seven.io subaccounts: create with their own API key and balance, list, credit transfers,
automatic top-up applied after charges, deletion, `X-Account-Id`, and the legacy `?action=` forms."""

from pathlib import Path

import pytest
import schemathesis

from emulator.seven.auth import TOKENS
from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY

SEVEN_SPEC = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "specs" / "seven.json")


async def create(client, name="Tommy Tester", email="tommy@example.com", headers=SEVEN_JSON):
    return await client.post("/api/subaccounts/create", data={"name": name, "email": email}, headers=headers)


async def new_subaccount(client) -> dict:
    body = (await create(client)).json()
    assert body["success"] is True and body["error"] is None
    return body["subaccount"]


def key_of(sub: dict) -> dict:
    return {"X-Api-Key": sub["api_key"], "Accept": "application/json"}


def seven_subaccounts(emulator):
    return [a for a in emulator.engine.store.accounts.values() if a.provider == "seven" and a.parent_id]


async def test_create_and_list(emulator, client):
    sub = await new_subaccount(client)
    assert sub["id"].isdigit() and sub["id"] not in ("1000001", "1000002")
    assert (sub["balance"], sub["total_usage"], sub["username"], sub["company"]) == ("0.0000", "0.0000", None, None)
    assert sub["auto_topup"] == {"threshold": "0.0000", "amount": "0.0000"}
    assert sub["contact"] == {"name": "Tommy Tester", "email": "tommy@example.com"}
    listed = (await client.get("/api/subaccounts/list", headers=SEVEN_JSON)).json()
    assert listed == [sub]
    assert (await client.get("/api/subaccounts/list", params={"id": sub["id"]}, headers=SEVEN_JSON)).json() == [sub]
    assert (await client.get("/api/subaccounts/list", params={"id": "999"}, headers=SEVEN_JSON)).json() == []
    other = await client.get("/api/subaccounts/list", headers={"X-Api-Key": SEVEN_OTHER_KEY})
    assert other.json() == []
    account = emulator.engine.store.accounts[sub["id"]]
    assert account.parent_id == SEVEN_ACCOUNT and account.balance == 0


async def test_subaccount_key_works_at_once_with_its_own_balance(emulator, client):
    sub = await new_subaccount(client)
    balance = await client.get("/api/balance", headers=key_of(sub))
    assert balance.json() == {"amount": 0.0, "currency": "EUR"}
    broke = await client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=key_of(sub))
    assert broke.status_code == 402 and broke.json() == 500
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000


@pytest.mark.parametrize(
    ("name", "email"),
    [("", "a@example.com"), ("Name", ""), ("Name", "not-an-email")],
)
async def test_bad_create_changes_nothing(emulator, client, name, email):
    response = await create(client, name, email)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["error"]
    assert seven_subaccounts(emulator) == []


async def test_transfer_credits(emulator, client):
    sub = await new_subaccount(client)
    response = await client.post("/api/subaccounts/transfer_credits", data={"id": sub["id"], "amount": "12.5"}, headers=SEVEN_JSON)
    assert response.json() == {"success": True, "error": None}
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 125_000
    assert emulator.balance(sub["id"]) == 125_000
    sent = await client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=key_of(sub))
    assert sent.status_code == 200
    assert emulator.balance(sub["id"]) == 125_000 - 750
    listed = (await client.get("/api/subaccounts/list", headers=SEVEN_JSON)).json()[0]
    assert listed["balance"] == "12.4250" and listed["total_usage"] == "0.0750"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"amount": "-1"}, 400),
        ({"amount": "0"}, 400),
        ({"amount": "abc"}, 400),
        ({"amount": "1.00001"}, 400),
        ({"amount": "100.0001"}, 402),  # more than the main account has
        ({"id": "1000002"}, 404),  # not a subaccount of this account
        ({"id": ""}, 400),
    ],
)
async def test_bad_transfers_change_nothing(emulator, client, fields, status):
    sub = await new_subaccount(client)
    data = {"id": sub["id"], "amount": "1"} | fields
    response = await client.post("/api/subaccounts/transfer_credits", data=data, headers=SEVEN_JSON)
    assert response.status_code == status
    assert response.json()["success"] is False and response.json()["error"]
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 and emulator.balance(sub["id"]) == 0
    assert emulator.balance("1000002") == 200_000


async def test_auto_top_up_after_a_charge(emulator, client):
    sub = await new_subaccount(client)
    await client.post("/api/subaccounts/transfer_credits", data={"id": sub["id"], "amount": "0.1"}, headers=SEVEN_JSON)
    response = await client.post("/api/subaccounts/update", data={"id": sub["id"], "threshold": "0.05", "amount": "1"}, headers=SEVEN_JSON)
    assert response.json() == {"success": True, "error": None}
    listed = (await client.get("/api/subaccounts/list", headers=SEVEN_JSON)).json()[0]
    assert listed["auto_topup"] == {"threshold": "0.0500", "amount": "1.0000"}
    assert emulator.balance(sub["id"]) == 1000  # setting it does not top up by itself
    await client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=key_of(sub))  # 1000 -> 250
    assert emulator.balance(sub["id"]) == 250 + 10_000
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 1000 - 10_000
    kinds = [e.kind for e in emulator.engine.events.since(0) if e.account_id == sub["id"]]
    assert kinds.count("subaccount.topup") == 1
    # above the threshold again: no more top-ups
    await client.get("/api/lookup/hlr", params={"number": "+4917612345678"}, headers=key_of(sub))
    assert emulator.balance(sub["id"]) == 10_250 - 150


@pytest.mark.local_changes  # changes the engine directly
async def test_auto_top_up_after_a_lookup_and_only_if_the_main_account_can(emulator, client):
    sub = await new_subaccount(client)
    await client.post("/api/subaccounts/transfer_credits", data={"id": sub["id"], "amount": "0.02"}, headers=SEVEN_JSON)
    await client.post("/api/subaccounts/update", json={"id": sub["id"], "threshold": 1, "amount": 5}, headers=SEVEN_JSON)
    emulator.engine.store.accounts[SEVEN_ACCOUNT].balance = 40_000  # 4 EUR: not enough for 5
    await client.get("/api/lookup/hlr", params={"number": "+4917612345678"}, headers=key_of(sub))
    assert emulator.balance(sub["id"]) == 50 and emulator.balance(SEVEN_ACCOUNT) == 40_000
    emulator.engine.store.accounts[SEVEN_ACCOUNT].balance = 60_000
    await client.get("/api/lookup/format", params={"number": "+4917612345678"}, headers=key_of(sub))
    assert emulator.balance(sub["id"]) == 50_050 and emulator.balance(SEVEN_ACCOUNT) == 10_000


async def test_top_up_switched_off_with_amount_zero(emulator, client):
    sub = await new_subaccount(client)
    await client.post("/api/subaccounts/update", data={"id": sub["id"], "threshold": "5", "amount": "0"}, headers=SEVEN_JSON)
    await client.get("/api/lookup/format", params={"number": "+4917612345678"}, headers=key_of(sub))
    assert emulator.balance(sub["id"]) == 0


@pytest.mark.parametrize("fields", [{"threshold": "-1"}, {"amount": "x"}, {"amount": ""}, {"id": "nope"}])
async def test_bad_updates_change_nothing(emulator, client, fields):
    sub = await new_subaccount(client)
    data = {"id": sub["id"], "threshold": "1", "amount": "2"} | fields
    response = await client.post("/api/subaccounts/update", data=data, headers=SEVEN_JSON)
    assert response.status_code in (400, 404) and response.json()["success"] is False
    assert emulator.engine.store.accounts[sub["id"]].attributes["auto_topup_amount"] == 0


async def test_delete_returns_the_balance_and_revokes_the_key(emulator, client):
    sub = await new_subaccount(client)
    await client.post("/api/subaccounts/transfer_credits", data={"id": sub["id"], "amount": "3"}, headers=SEVEN_JSON)
    issued = await client.post("/_emulator/seven/tokens", json={"account": sub["id"], "scopes": ["balance"]})
    bearer = {"Authorization": f"Bearer {issued.json()['token']}", "Accept": "application/json"}
    assert (await client.get("/api/balance", headers=bearer)).json()["amount"] == 3.0
    response = await client.post("/api/subaccounts/delete", data={"id": sub["id"]}, headers=SEVEN_JSON)
    assert response.json() == {"success": True, "error": None}
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000
    assert (await client.get("/api/balance", headers=key_of(sub))).status_code == 401
    assert (await client.get("/api/balance", headers=bearer)).status_code == 401  # its tokens go with it
    tokens = emulator.engine.store.collection(TOKENS)
    assert [t for t in tokens if t.account_id == sub["id"]] == [] and len(tokens) >= 1
    fixture_token = {"Authorization": "Bearer test_oauth_token", "Accept": "application/json"}
    assert (await client.get("/api/balance", headers=fixture_token)).status_code == 200  # the main account's stay
    assert (await client.get("/api/subaccounts/list", headers=SEVEN_JSON)).json() == []
    again = await client.post("/api/subaccounts/delete", data={"id": sub["id"]}, headers=SEVEN_JSON)
    assert again.status_code == 404 and again.json()["success"] is False


async def test_a_deleted_subaccount_goes_with_what_it_owned_and_the_world_still_restores(emulator, client):
    sub = await new_subaccount(client)
    await client.post("/api/subaccounts/transfer_credits", data={"id": sub["id"], "amount": "3"}, headers=SEVEN_JSON)
    sent = await client.post("/api/sms", json={"to": "+4917612345678", "text": "now"}, headers=key_of(sub))
    later = await client.post("/api/sms", json={"to": "+4917612345678", "text": "later", "delay": "2099-01-01 00:00:00"}, headers=key_of(sub))
    assert sent.status_code == 200 and later.status_code == 200
    store = emulator.engine.store
    assert sorted(m.text for m in store.messages if m.account_id == sub["id"]) == ["later", "now"]
    assert (await client.post("/api/subaccounts/delete", data={"id": sub["id"]}, headers=SEVEN_JSON)).json()["success"] is True
    assert [m for m in store.messages if m.account_id == sub["id"]] == []
    assert emulator.engine._scheduled == {}  # the scheduled send will not come
    # No record names an account that is gone: the world's snapshot restores as it was taken.
    document = (await client.get("/_emulator/snapshot")).json()
    assert (await client.put("/_emulator/snapshot", json=document)).status_code == 200
    restored = (await client.get("/_emulator/snapshot")).json()
    assert {key: value for key, value in restored.items() if key != "events"} == {key: value for key, value in document.items() if key != "events"}


async def test_x_account_id_acts_as_the_subaccount(emulator, client):
    sub = await new_subaccount(client)
    await client.post("/api/subaccounts/transfer_credits", data={"id": sub["id"], "amount": "1"}, headers=SEVEN_JSON)
    acting = SEVEN_JSON | {"X-Account-Id": sub["id"]}
    assert (await client.get("/api/balance", headers=acting)).json()["amount"] == 1.0
    sent = await client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=acting)
    assert sent.status_code == 200
    assert emulator.balance(sub["id"]) == 10_000 - 750 and emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 10_000
    (message,) = [m for m in emulator.engine.store.messages if m.account_id == sub["id"]]
    assert message.recipient == "+4917612345678"
    # the main account's own id is harmless
    assert (await client.get("/api/balance", headers=SEVEN_JSON | {"X-Account-Id": SEVEN_ACCOUNT})).json()["amount"] == 99.0


@pytest.mark.parametrize("acting_id", ["1000002", "424242"])
async def test_x_account_id_must_be_an_own_subaccount(emulator, client, acting_id):
    response = await client.post(
        "/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=SEVEN_JSON | {"X-Account-Id": acting_id},
    )
    assert response.status_code == 403 and response.json() == 902
    assert len(emulator.engine.store.messages) == 0 and emulator.balance("1000002") == 200_000


async def test_subaccounts_cannot_manage_subaccounts(emulator, client):
    sub = await new_subaccount(client)
    response = await create(client, headers=key_of(sub))
    assert response.status_code == 403 and response.json()["code"] == "902"
    assert len(seven_subaccounts(emulator)) == 1


async def test_legacy_action_forms(emulator, client):
    created = await client.post("/api/subaccounts", data={"action": "create", "name": "Old", "email": "old@example.com"}, headers=SEVEN_JSON)
    sub = created.json()["subaccount"]
    read = await client.get("/api/subaccounts", params={"action": "read"}, headers=SEVEN_JSON)
    assert [s["id"] for s in read.json()] == [sub["id"]]
    assert [s["id"] for s in (await client.get("/api/subaccounts/read", headers=SEVEN_JSON)).json()] == [sub["id"]]
    moved = await client.post("/api/subaccounts", data={"action": "transfer_credits", "id": sub["id"], "amount": "2"}, headers=SEVEN_JSON)
    assert moved.json()["success"] is True and emulator.balance(sub["id"]) == 20_000
    bad = await client.post("/api/subaccounts", data={"action": "explode"}, headers=SEVEN_JSON)
    assert bad.status_code == 400 and bad.json()["success"] is False


async def test_reset_forgets_subaccounts(emulator, client):
    sub = await new_subaccount(client)
    await client.post("/_emulator/reset")
    assert seven_subaccounts(emulator) == []
    assert (await client.get("/api/balance", headers=key_of(sub))).status_code == 401


async def test_answers_match_the_spec(client):
    created = await create(client)
    SEVEN_SPEC["/subaccounts/create"]["POST"].validate_response(created)
    sub_id = created.json()["subaccount"]["id"]
    for action, fields in [
        ("transfer_credits", {"amount": "1.5"}),
        ("update", {"threshold": "1", "amount": "2"}),
        ("delete", {}),
    ]:
        response = await client.post(f"/api/subaccounts/{action}", data={"id": sub_id, **fields}, headers=SEVEN_JSON)
        assert response.json()["success"] is True
        SEVEN_SPEC[f"/subaccounts/{action}"]["POST"].validate_response(response)
    await create(client)
    SEVEN_SPEC["/subaccounts/list"]["GET"].validate_response(await client.get("/api/subaccounts/list", headers=SEVEN_JSON))

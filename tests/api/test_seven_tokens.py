"""seven.io OAuth access tokens: from the fixtures or `POST /_emulator/seven/tokens`, accepted as
`Authorization: Bearer`, refused with 902 outside their scopes; fixture checks."""

import pytest

from emulator.core.clock import VirtualClock
from emulator.core.errors import FixtureError
from emulator.world.fixtures import load_fixtures
from emulator.seven.auth import scope_for_path
from support import SEVEN_ACCOUNT, SEVEN_JSON

FIXTURE_TOKEN = {"Authorization": "Bearer test_oauth_token", "Accept": "application/json"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


async def issue(client, account=SEVEN_ACCOUNT, scopes=("lookup",)):
    return await client.post("/_emulator/seven/tokens", json={"account": account, "scopes": list(scopes)})


async def test_fixture_token_works_within_its_scopes(emulator, client):
    balance = await client.get("/api/balance", headers=FIXTURE_TOKEN)
    assert balance.status_code == 200 and balance.json()["amount"] == 100.0
    sent = await client.post("/api/sms", json={"to": "+4917612345678", "text": "hi"}, headers=FIXTURE_TOKEN)
    assert sent.status_code == 200 and sent.json()["success"] == "100"
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000 - 750
    message_id = sent.json()["messages"][0]["id"]
    status = await client.get("/api/status", params={"msg_id": message_id}, headers=FIXTURE_TOKEN)
    assert status.status_code == 200


async def test_outside_its_scopes_a_token_gets_902(emulator, client):
    lookup = await client.get("/api/lookup/hlr", params={"number": "+4917612345678"}, headers=FIXTURE_TOKEN)
    assert lookup.status_code == 403 and lookup.json()["code"] == "902" and lookup.json()["success"] is False
    hook = await client.post("/api/hooks", data={"target_url": "http://x.test/", "event_type": "dlr"}, headers=FIXTURE_TOKEN)
    assert hook.status_code == 403 and hook.json()["code"] == "902"
    plain = await client.get("/api/lookup/format", params={"number": "+4917612345678"}, headers={"Authorization": "Bearer test_oauth_token"})
    assert plain.status_code == 403
    assert emulator.balance(SEVEN_ACCOUNT) == 1_000_000
    assert len(emulator.engine.store.hooks) == 0 and len(emulator.engine.store.collection("seven.lookups")) == 0


async def test_code_style_endpoints_answer_902_as_a_bare_code(client):
    token = (await issue(client, scopes=["lookup"])).json()["token"]
    response = await client.post("/api/sms", data={"to": "+4917612345678", "text": "hi"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.text == "902"


async def test_issued_token(emulator, client):
    response = await issue(client, account="1000002", scopes=["lookup", "numbers"])
    assert response.status_code == 201
    body = response.json()
    assert body["account"] == "1000002" and body["scopes"] == ["lookup", "numbers"] and len(body["token"]) >= 32
    looked = await client.get("/api/lookup/hlr", params={"number": "+4917612345678"}, headers=bearer(body["token"]))
    assert looked.status_code == 200 and emulator.balance("1000002") == 200_000 - 150
    numbers = await client.get("/api/numbers/active", headers=bearer(body["token"]))
    assert numbers.status_code == 200
    refused = await client.get("/api/balance", headers=bearer(body["token"]))
    assert refused.status_code == 403 and refused.text == "902"


async def test_tokens_are_only_bearer_credentials(client):
    response = await client.get("/api/balance", headers={"X-Api-Key": "test_oauth_token"})
    assert response.status_code == 401 and response.text == "900"
    unknown = await client.get("/api/balance", headers={"Authorization": "Bearer no_such_token"})
    assert unknown.status_code == 401 and unknown.text == "900"


async def test_api_keys_keep_every_scope(client):
    response = await client.get("/api/lookup/format", params={"number": "+4917612345678"}, headers={"Authorization": "Bearer test_api_key"})
    assert response.status_code == 200


async def test_scopes_apply_with_x_account_id(emulator, client):
    created = await client.post("/api/subaccounts/create", data={"name": "Sub", "email": "s@example.com"}, headers=SEVEN_JSON)
    sub_id = created.json()["subaccount"]["id"]
    token = (await issue(client, scopes=["balance"])).json()["token"]
    acting = bearer(token) | {"X-Account-Id": sub_id}
    assert (await client.get("/api/balance", headers=acting)).json()["amount"] == 0.0
    response = await client.get("/api/lookup/format", params={"number": "+4917612345678"}, headers=acting)
    assert response.status_code == 403
    assert len(emulator.engine.store.collection("seven.lookups")) == 0


async def test_reset_forgets_issued_tokens_but_keeps_the_fixtures(client):
    token = (await issue(client, scopes=["balance"])).json()["token"]
    assert (await client.get("/api/balance", headers=bearer(token))).status_code == 200
    await client.post("/_emulator/reset")
    assert (await client.get("/api/balance", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/balance", headers=FIXTURE_TOKEN)).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"scopes": ["sms"]}, 400),
        ({"account": SEVEN_ACCOUNT}, 400),
        ({"account": SEVEN_ACCOUNT, "scopes": "sms"}, 400),
        ({"account": SEVEN_ACCOUNT, "scopes": ["sms", "everything"]}, 400),
        ({"account": 1000001, "scopes": ["sms"]}, 400),
        ({"account": "999", "scopes": ["sms"]}, 404),
        ({"account": "u5a9566c072160b318445d163949bf505", "scopes": ["sms"]}, 404),  # a 46elks account
    ],
)
async def test_bad_token_requests_change_nothing(emulator, client, body, status):
    response = await client.post("/_emulator/seven/tokens", json=body)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"type", "message"}
    assert len(emulator.engine.store.collection("seven.tokens")) == 1  # the fixture's


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/sms", "sms"), ("/voice/12/hangup", "voice"), ("/lookup/hlr", "lookup"), ("/hooks", "hooks"),
        ("/contacts/4", "contacts"), ("/groups", "contacts"), ("/journal/outbound", "journal"),
        ("/analytics/date", "analytics"), ("/pricing", "pricing"), ("/balance", "balance"), ("/status", "status"),
        ("/subaccounts/list", "subaccounts"), ("/validate_for_voice", "validate_for_voice"),
        ("/numbers/active/49157", "numbers"), ("/rcs/messages", "rcs"), ("/unknown", None),
    ],
)
def test_scope_of_each_path(path, scope):
    assert scope_for_path(path) == scope


def _fixture(tmp_path, account_yaml: str):
    path = tmp_path / "tokens.yaml"
    path.write_text("extends: default\nseven:\n  accounts:\n" + account_yaml)
    return path


def test_fixture_tokens_are_loaded(tmp_path):
    path = _fixture(tmp_path, "    - {id: '42', api_key: k42, balance: 5, tokens: [{token: t42, scopes: [lookup]}]}\n")
    store = load_fixtures(path).build_store(VirtualClock(0))
    access = store.collection("seven.tokens").get("t42")
    assert access.account_id == "42" and access.scopes == {"lookup"}


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ("{id: '42', api_key: k42, balance: 5, tokens: [{token: t42, scopes: [all]}]}", "seven.accounts[0].tokens[0].scopes: unknown scope 'all'"),
        ("{id: '42', api_key: k42, balance: 5, tokens: [{token: test_api_key, scopes: []}]}", "seven.accounts[0].tokens[0].token: duplicate"),
        ("{id: '42', api_key: k42, balance: 5, tokens: [{scopes: [sms]}]}", "seven.accounts[0].tokens[0].token: expected a non-empty string"),
        ("{id: '42', api_key: k42, balance: 5, tokens: {token: t}}", "seven.accounts[0].tokens: expected a list"),
    ],
)
def test_fixture_token_mistakes_name_the_field(tmp_path, account, message):
    with pytest.raises(FixtureError) as raised:
        load_fixtures(_fixture(tmp_path, f"    - {account}\n"))
    assert message in str(raised.value)


def test_tokens_belong_to_seven_accounts(tmp_path):
    path = tmp_path / "elks.yaml"
    path.write_text("elks:\n  accounts:\n    - {id: u1, username: me, password: pw, balance: 1, tokens: [{token: t, scopes: [sms]}]}\n")
    with pytest.raises(FixtureError, match=r"elks.accounts\[0\].tokens: access tokens are a seven.io feature"):
        load_fixtures(path)

"""seven.io's legacy login (reference 1.1): `u=<login alias or e-mail>` with `p=<login password>`,
for accounts whose fixture has a password; a wrong pair answers 900 and changes nothing."""

import pytest

from support import SEVEN_ACCOUNT, world_state


@pytest.mark.parametrize("user", ["test_gmbh", "test@example.de", "TEST@example.de"])
async def test_user_and_password_log_in(emulator, client, user):
    balance = await client.get("/api/balance", params={"u": user, "p": "test_password"})
    assert (balance.status_code, balance.text) == (200, "100.0")
    sent = await client.get("/api/sms", params={"u": user, "p": "test_password", "to": "+4917612345678", "text": "old client"})
    assert (sent.status_code, sent.text) == (200, "100")
    (message,) = emulator.engine.store.messages
    assert message.account_id == SEVEN_ACCOUNT


async def test_user_and_password_in_a_form_body(client):
    response = await client.post("/api/sms", data={"u": "test_gmbh", "p": "test_password", "to": "+4917612345678", "text": "form", "json": "1"})
    assert response.json()["success"] == "100"


@pytest.mark.parametrize(("user", "password"), [
    ("test_gmbh", "wrong"), ("nobody", "test_password"), ("test_gmbh", ""), ("other@example.de", "test_password"),
])
async def test_a_wrong_pair_is_900(emulator, client, user, password):
    before = world_state(emulator.engine)
    response = await client.get("/api/sms", params={"u": user, "p": password, "to": "+4917612345678", "text": "x"})
    assert (response.status_code, response.text) == (401, "900")
    assert world_state(emulator.engine) == before


async def test_the_api_key_as_p_still_works_without_u(client):
    assert (await client.get("/api/balance", params={"p": "test_api_key"})).text == "100.0"


async def test_a_sandbox_copy_does_not_share_the_login(emulator, client):
    sandbox = (await client.post("/_emulator/sandboxes", json={})).json()
    copies = [a for a in emulator.engine.store.accounts.values() if a.provider == "seven" and a.id not in (SEVEN_ACCOUNT, "1000002")]
    assert copies and all(a.credentials.get("password") not in (None, "test_password") for a in copies if a.credentials.get("username"))
    await client.get("/api/sms", params={"u": "test@example.de", "p": "test_password", "to": "+4917612345678", "text": "mine"})
    (message,) = emulator.engine.store.messages
    assert message.account_id == SEVEN_ACCOUNT and sandbox

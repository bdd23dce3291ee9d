"""46elks account: /a1/me and its credit alert."""

from support import ELKS_AUTH, ELKS_SUB_AUTH


async def test_me_shows_the_account(client):
    response = await client.get("/a1/me", auth=ELKS_AUTH)
    assert response.status_code == 200
    assert response.json() == {
        "id": "u5a9566c072160b318445d163949bf505",
        "displayname": "Test Company AB",
        "email": "test@example.com",
        "mobilenumber": "+46700000001",
        "currency": "SEK",
        "balance": 10_000_000,
        "trialactivated": "2026-01-01T00:00:00.000000",  # as the seed's example shows it
        "creditalert": 200_000,
    }


async def test_me_is_case_insensitive_and_follows_the_balance(client):
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x"}, auth=ELKS_AUTH)
    assert (await client.get("/a1/Me", auth=ELKS_AUTH)).json()["balance"] == 10_000_000 - 3500


async def test_credit_alert_is_stored(client):
    response = await client.post("/a1/me", data={"creditalert": "50000"}, auth=ELKS_AUTH)
    assert response.status_code == 200 and response.json()["creditalert"] == 50000
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).json()["creditalert"] == 50000


async def test_bad_credit_alert_is_refused(client):
    # "²" is a digit to str.isdigit but not to int(): it once answered 500.
    for data in ({}, {"creditalert": "lots"}, {"creditalert": "-5"}, {"creditalert": "²"}):
        response = await client.post("/a1/me", data=data, auth=ELKS_AUTH)
        assert response.status_code == 403
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).json()["creditalert"] == 200_000


async def test_subaccount_sees_itself(client):
    body = (await client.get("/a1/me", auth=ELKS_SUB_AUTH)).json()
    assert body["id"] == ELKS_SUB_AUTH[0] and body["balance"] == 1_000_000

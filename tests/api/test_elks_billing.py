"""46elks `GET /a1/billing` and `GET /a1/transactions` (read by the official CLI's `elks billing`
and `elks transactions`): rows from what the account was really charged, paged like every list."""

import json
import re

from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_ACCOUNT, ELKS_SUB_AUTH
from voice_support import run_call, voice  # noqa: F401 (fixture)

OUR_NUMBER = "+46766861001"


async def _ok(response):
    assert response.status_code == 200, response.text
    return response.json()


async def _charge_everything(emulator):
    """An SMS, an MMS, a number and a 3-second call from the main account, and an SMS from its
    subaccount; returns (references by kind, the main account's balance before)."""
    client = emulator.client
    before = emulator.balance(ELKS_ACCOUNT)
    sms = await _ok(await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "a" * 161}, auth=ELKS_AUTH))
    mms = await _ok(await client.post("/a1/MMS", data={"from": OUR_NUMBER, "to": "+46700000123", "message": "Hej!"}, auth=ELKS_AUTH))
    number = await _ok(await client.post("/a1/numbers", data={"country": "se"}, auth=ELKS_AUTH))
    call = await _ok(await client.post("/a1/Calls", data={"from": OUR_NUMBER, "to": "+46701234567", "voice_start": json.dumps({"play": "https://x.test/a.mp3"})}, auth=ELKS_AUTH))
    await run_call(emulator, call["id"])
    sub_sms = await _ok(await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "sub"}, auth=ELKS_SUB_AUTH))
    return {"sms": sms, "mms": mms, "number": number, "call": call, "sub_sms": sub_sms}, before


async def test_billing_lists_every_charge_newest_first_with_its_reference(voice):
    made, before = await _charge_everything(voice)
    body = await _ok(await voice.client.get("/a1/billing", auth=ELKS_AUTH))
    rows = body["data"]
    assert "next" not in body
    assert [row["reference"] for row in rows] == [
        f"/sms/{made['sub_sms']['id']}",  # newest first, by when each was made
        f"/calls/{made['call']['id']}",
        f"/numbers/{made['number']['id']}",
        f"/mms/{made['mms']['id']}",
        f"/sms/{made['sms']['id']}",
    ]
    assert [row["cost"] for row in rows] == [3500, 1500, 250000, 12500, 7000]
    assert rows[0]["subaccount"] == ELKS_SUB_ACCOUNT and all("subaccount" not in row for row in rows[1:])
    for row in rows:
        assert set(row) <= {"id", "created", "reference", "cost", "subaccount"}
        assert re.fullmatch(r"b[0-9a-f]{32}", row["id"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", row["created"])
    # The main account's own rows add up to what left its balance.
    assert sum(row["cost"] for row in rows[1:]) == before - voice.balance(ELKS_ACCOUNT)
    # The CLI's summary groups by the reference's first segment.
    assert {row["reference"].split("/")[1] for row in rows} == {"sms", "mms", "numbers", "calls"}


async def test_billing_pages_with_limit_and_next_as_start(voice):
    made, _ = await _charge_everything(voice)
    client = voice.client
    first = await _ok(await client.get("/a1/billing", params={"limit": 2}, auth=ELKS_AUTH))
    assert len(first["data"]) == 2 and first["next"] == first["data"][-1]["created"]
    second = await _ok(await client.get("/a1/billing", params={"limit": 2, "start": first["next"]}, auth=ELKS_AUTH))
    third = await _ok(await client.get("/a1/billing", params={"limit": 2, "start": second["next"]}, auth=ELKS_AUTH))
    assert len(third["data"]) == 1 and "next" not in third
    everything = (await _ok(await client.get("/a1/billing", auth=ELKS_AUTH)))["data"]
    assert first["data"] + second["data"] + third["data"] == everything
    # `end`: only rows created after it.
    newer = await _ok(await client.get("/a1/billing", params={"end": everything[2]["created"]}, auth=ELKS_AUTH))
    assert newer["data"] == everything[:2]
    bad = await client.get("/a1/billing", params={"limit": 0}, auth=ELKS_AUTH)
    assert bad.status_code == 403 and bad.headers["content-type"].startswith("text/plain")


async def test_a_subaccount_and_another_account_see_only_their_own_charges(voice):
    made, _ = await _charge_everything(voice)
    sub = await _ok(await voice.client.get("/a1/billing", auth=ELKS_SUB_AUTH))
    assert [(row["reference"], row["cost"]) for row in sub["data"]] == [(f"/sms/{made['sub_sms']['id']}", 3500)]
    assert "subaccount" not in sub["data"][0]
    assert (await _ok(await voice.client.get("/a1/billing", auth=ELKS_OTHER_AUTH))) == {"data": []}


async def test_refused_and_free_requests_are_not_billed(voice):
    client = voice.client
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x", "dryrun": "yes"}, auth=ELKS_AUTH)
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "nope", "message": "x"}, auth=ELKS_AUTH)
    assert (await _ok(await client.get("/a1/billing", auth=ELKS_AUTH))) == {"data": []}


async def test_transactions_show_the_opening_balance_of_a_main_account(voice):
    await _charge_everything(voice)
    body = await _ok(await voice.client.get("/a1/Transactions", auth=ELKS_AUTH))
    (row,) = body["data"]
    assert set(row) == {"id", "details", "created", "amount"} and "next" not in body
    assert row["amount"] == 10000000 and re.fullmatch(r"t[0-9a-f]{32}", row["id"])
    assert (await _ok(await voice.client.get("/a1/transactions", auth=ELKS_SUB_AUTH))) == {"data": []}
    older = await _ok(await voice.client.get("/a1/transactions", params={"start": row["created"]}, auth=ELKS_AUTH))
    assert older == {"data": []}
    assert (await voice.client.get("/a1/billing")).status_code == 401

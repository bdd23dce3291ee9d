"""Sandboxes: isolated copies of the fixture accounts, used in parallel, reset or deleted alone."""

import asyncio
import copy

import pytest

from support import ELKS_AUTH


async def create(client, name=None):
    response = await client.post("/_emulator/sandboxes", json={"name": name} if name else {})
    assert response.status_code == 201
    return response.json()


def seven_headers(sandbox):
    return {"X-Api-Key": sandbox["seven_api_key"], "Accept": "application/json"}


async def test_a_sandbox_has_fresh_credentials_balances_and_numbers(emulator, client):
    sandbox = await create(client, "worker-1")
    elks, seven = sandbox["elks"][0], sandbox["seven"][0]
    assert sandbox["name"] == "worker-1" and sandbox["elks_auth"] == [elks["username"], elks["password"]]
    assert elks["username"] != "test_user" and elks["numbers"] and elks["numbers"][0] != "+46766861001"
    assert elks["numbers"][0].startswith("+46")
    me = (await client.get("/a1/me", auth=tuple(sandbox["elks_auth"]))).json()
    assert me["id"] == elks["account_id"] and me["balance"] == 10_000_000
    sub = elks["subaccounts"][0]
    assert (await client.get("/a1/me", auth=(sub["id"], sub["secret"]))).status_code == 200
    assert (await client.get("/api/balance", headers=seven_headers(sandbox))).json()["amount"] == 100.0
    assert seven["numbers"][0].startswith("+49") and seven["numbers"][0] != "+4915799912345"
    # The default accounts are untouched and still work.
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).json()["id"] == "u5a9566c072160b318445d163949bf505"


async def test_two_sandboxes_in_parallel_never_see_each_other(emulator, client):
    first, second = await asyncio.gather(create(client, "a"), create(client, "b"))

    async def work(sandbox, text):
        auth = tuple(sandbox["elks_auth"])
        sends = [client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": f"{text}{i}"}, auth=auth) for i in range(5)]
        sends += [client.post("/api/sms", json={"to": "+4917612345678", "text": f"{text}{i}"}, headers=seven_headers(sandbox)) for i in range(5)]
        results = await asyncio.gather(*sends)
        assert all(r.status_code == 200 for r in results)

    await asyncio.gather(work(first, "first"), work(second, "second"))
    for sandbox, text in ((first, "first"), (second, "second")):
        elks_list = (await client.get("/a1/SMS", auth=tuple(sandbox["elks_auth"]))).json()["data"]
        assert sorted(m["message"] for m in elks_list) == [f"{text}{i}" for i in range(5)]
        control = (await client.get("/_emulator/messages", params={"sandbox": sandbox["id"]})).json()["data"]
        assert len(control) == 10 and all(m["text"].startswith(text) for m in control)
        me = (await client.get("/a1/me", auth=tuple(sandbox["elks_auth"]))).json()
        assert me["balance"] == 10_000_000 - 5 * 3500
    assert (await client.get("/a1/SMS", auth=ELKS_AUTH)).json()["data"] == []


async def test_inbound_to_a_sandbox_number_reaches_only_that_sandbox(emulator, client):
    sandbox = await create(client)
    number = sandbox["seven"][0]["numbers"][0]
    response = await client.post("/_emulator/inbound/sms", json={"to": number, "from": "+4917612345678", "text": "hi"})
    assert response.json()["account_id"] == sandbox["seven"][0]["account_id"]
    event = (await client.get("/_emulator/wait", params={"kind": "message.received", "sandbox": sandbox["id"], "timeout": 0})).json()["event"]
    assert event["sandbox"] == sandbox["id"]
    assert (await client.get("/_emulator/wait", params={"kind": "message.received", "sandbox": "other", "timeout": 0})).status_code == 408


async def test_reset_one_sandbox_alone(emulator, client):
    first, second = await create(client), await create(client)
    hook = {"target_url": "http://hooks.test/sb", "event_type": "dlr", "request_method": "JSON"}
    await client.post("/api/hooks", json=hook, headers=seven_headers(first))
    for sandbox in (first, second):
        await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=seven_headers(sandbox))
    reset = await client.post(f"/_emulator/sandboxes/{first['id']}/reset")
    assert reset.json()["seven_api_key"] == first["seven_api_key"]
    await emulator.advance(5)
    assert emulator.receiver.requests == []  # the reset sandbox's message no longer reports
    assert (await client.get("/_emulator/messages", params={"sandbox": first["id"]})).json()["data"] == []
    assert len((await client.get("/_emulator/messages", params={"sandbox": second["id"]})).json()["data"]) == 1
    assert (await client.get("/api/balance", headers=seven_headers(first))).json()["amount"] == 100.0
    assert (await client.get("/api/hooks", headers=seven_headers(first))).json()["hooks"] == []


@pytest.mark.parametrize("prefer", ["return=minimal", "handling=lenient, Return=Minimal"])
async def test_a_reset_asked_for_no_body_answers_204_and_still_resets(emulator, client, prefer):
    sandbox = await create(client)
    await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=seven_headers(sandbox))
    reset = await client.post(f"/_emulator/sandboxes/{sandbox['id']}/reset", headers={"Prefer": prefer})
    assert (reset.status_code, reset.content, reset.headers["preference-applied"]) == (204, b"", "return=minimal")
    assert (await client.get("/_emulator/messages", params={"sandbox": sandbox["id"]})).json()["data"] == []
    await client.post("/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=seven_headers(sandbox))
    reset = await client.post("/_emulator/reset", headers={"Prefer": prefer})
    assert (reset.status_code, reset.content) == (204, b"")
    assert (await client.get("/_emulator/sandboxes")).json()["data"] == []
    assert (await client.get("/_emulator/messages")).json()["data"] == []
    unknown = await client.post("/_emulator/sandboxes/nope/reset", headers={"Prefer": prefer})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"]  # a refusal keeps its body


async def test_delete_and_global_reset(emulator, client):
    first, second = await create(client), await create(client)
    assert (await client.delete(f"/_emulator/sandboxes/{first['id']}")).json() == {"deleted": first["id"]}
    assert (await client.get("/api/balance", headers=seven_headers(first))).status_code == 401
    assert (await client.get(f"/_emulator/sandboxes/{first['id']}")).status_code == 404
    listed = (await client.get("/_emulator/sandboxes")).json()["data"]
    assert [s["id"] for s in listed] == [second["id"]]
    await client.post("/_emulator/reset")
    assert (await client.get("/_emulator/sandboxes")).json()["data"] == []
    assert (await client.get("/a1/me", auth=tuple(second["elks_auth"]))).status_code == 401


@pytest.mark.parametrize(("method", "path"), [("GET", "/_emulator/sandboxes/nope"), ("POST", "/_emulator/sandboxes/nope/reset"), ("DELETE", "/_emulator/sandboxes/nope")])
async def test_unknown_sandbox(client, method, path):
    response = await client.request(method, path)
    assert response.status_code == 404 and "error" in response.json()


async def test_bad_name(client):
    assert (await client.post("/_emulator/sandboxes", json={"name": 5})).status_code == 400
    assert (await client.get("/_emulator/sandboxes")).json()["data"] == []


async def test_a_reset_hangs_up_the_sandboxs_calls_without_reading_everyone_elses(emulator, client):
    sandbox = await create(client)
    play = '{"play": "https://sounds.example/hello.mp3"}'
    own = await client.post("/a1/calls", auth=tuple(sandbox["elks_auth"]),
                            data={"from": sandbox["elks"][0]["numbers"][0], "to": "+46700000123", "voice_start": play})
    other = await client.post("/a1/calls", auth=ELKS_AUTH, data={"from": "+46766861001", "to": "+46700000124", "voice_start": play})
    assert own.status_code == other.status_code == 200, (own.text, other.text)
    calls = emulator.engine.calls
    own_call = calls.get(own.json()["id"])

    class NoWalk(dict):
        def values(self):
            raise AssertionError("a sandbox's reset walked every call")

    calls.collection.by_id = NoWalk(calls.collection.by_id)
    try:
        assert (await client.post(f"/_emulator/sandboxes/{sandbox['id']}/reset")).status_code == 200
    finally:
        calls.collection.by_id = dict(calls.collection.by_id)
    assert own_call.status in ("ended", "no_answer") and own_call.error == "sandbox reset"
    assert (await client.get(f"/a1/calls/{other.json()['id']}", auth=ELKS_AUTH)).json()["state"] not in ("ended", "no_answer", "failed")


async def test_subaccounts_made_in_a_sandbox_are_its_own_and_go_with_its_reset(emulator, client):
    sandbox, other = await create(client), await create(client)
    made = (await client.post("/a1/subaccounts", auth=tuple(sandbox["elks_auth"]), data={"name": "made in the test", "usagelimit": "1000000"})).json()
    sub_auth = (made["id"], made["secret"])
    await client.post("/a1/subaccounts", auth=tuple(other["elks_auth"]), data={"name": "the other sandbox's"})
    seven = (await client.post("/api/subaccounts", headers=seven_headers(sandbox),
                               data={"action": "create", "name": "made in the test", "email": "made@example.com"})).json()["subaccount"]
    seven_sub = {"X-Api-Key": seven["api_key"], "Accept": "application/json"}
    # What a subaccount made in the sandbox sends is the sandbox's, as the fixture copies' is.
    sent = await client.post("/a1/sms", auth=sub_auth, data={"from": "ElkCo", "to": "+46700000001", "message": "x"})
    assert sent.status_code == 200
    listed = (await client.get("/_emulator/messages", params={"sandbox": sandbox["id"]})).json()["data"]
    assert [m["account_id"] for m in listed] == [made["id"]]
    accounts = (await client.get("/_emulator/accounts", params={"sandbox": sandbox["id"]})).json()["data"]
    assert {made["id"], seven["id"]} <= {a["id"] for a in accounts}

    reset = await client.post(f"/_emulator/sandboxes/{sandbox['id']}/reset")
    assert reset.status_code == 200
    names = [s["name"] for s in (await client.get("/a1/subaccounts", auth=tuple(sandbox["elks_auth"]))).json()["data"]]
    assert names == ["Test Subaccount"]  # the fixture's copy only
    assert (await client.get("/a1/me", auth=sub_auth)).status_code == 401
    assert (await client.get("/api/subaccounts", headers=seven_headers(sandbox), params={"action": "read"})).json() == []
    assert (await client.get("/api/balance", headers=seven_sub)).status_code == 401
    assert (await client.get("/_emulator/messages", params={"sandbox": sandbox["id"]})).json()["data"] == []
    # The other sandbox keeps what it made.
    others = [s["name"] for s in (await client.get("/a1/subaccounts", auth=tuple(other["elks_auth"]))).json()["data"]]
    assert "the other sandbox's" in others

    made = (await client.post("/a1/subaccounts", auth=tuple(sandbox["elks_auth"]), data={"name": "again"})).json()
    assert (await client.delete(f"/_emulator/sandboxes/{sandbox['id']}")).status_code == 200
    assert (await client.get("/a1/me", auth=(made["id"], made["secret"]))).status_code == 401
    assert made["id"] not in emulator.engine.store.accounts


async def test_a_seven_subaccount_deleted_in_a_sandbox_is_the_sandboxes_to_the_end(emulator, client):
    sandbox = await create(client)
    made = (await client.post("/api/subaccounts", headers=seven_headers(sandbox),
                              data={"action": "create", "name": "deleted in the test", "email": "gone@example.com"})).json()["subaccount"]
    deleted = await client.post("/api/subaccounts", headers=seven_headers(sandbox), data={"action": "delete", "id": made["id"]})
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    # The deletion is an event of the sandbox: a wait on the sandbox sees it.
    event = (await client.get("/_emulator/wait", params={"kind": "subaccount.deleted", "sandbox": sandbox["id"], "timeout": 0})).json()
    assert event["event"]["account_id"] == made["id"]


async def test_a_reset_undoes_every_change_and_leaves_the_untouched_accounts_as_they_are(emulator, client):
    sandbox = await create(client)
    store = emulator.engine.store
    ids = [a["account_id"] for a in sandbox["elks"]] + [s["id"] for a in sandbox["elks"] for s in a["subaccounts"]]
    ids += [a["account_id"] for a in sandbox["seven"]]
    made = copy.deepcopy({account_id: store.account_state(account_id) for account_id in ids})  # the live records change in place
    untouched = store.accounts[sandbox["elks"][1]["account_id"]]
    elks_auth = tuple(sandbox["elks_auth"])
    # A change of every kind, each to the accounts of one fixture entry (the first of each provider).
    sent = await client.post("/a1/sms", auth=elks_auth, data={"from": "ElkCo", "to": "+46700000001", "message": "x"})
    number_id = (await client.get("/a1/numbers", auth=elks_auth)).json()["data"][0]["id"]
    configured = await client.post(f"/a1/numbers/{number_id}", auth=elks_auth, data={"sms_url": "http://hooks.test/in"})
    sub = sandbox["elks"][0]["subaccounts"][0]
    renamed = await client.post(f"/a1/subaccounts/{sub['id']}", auth=elks_auth, data={"name": "renamed"})
    hook = await client.post("/api/hooks", json={"target_url": "http://hooks.test/sb", "event_type": "dlr"}, headers=seven_headers(sandbox))
    assert [r.status_code for r in (sent, configured, renamed, hook)] == [200, 200, 200, 200]
    assert [store.account_state(account_id) == made[account_id] for account_id in ids] == [False, True, False, False, True]
    await emulator.advance(60)  # what the reset restores was made when the sandbox was: its times too

    await client.post(f"/_emulator/sandboxes/{sandbox['id']}/reset")
    assert {account_id: store.account_state(account_id) for account_id in ids} == made
    assert store.accounts[untouched.id] is untouched  # left as it was, not made again
    assert (await client.get("/_emulator/messages", params={"sandbox": sandbox["id"]})).json()["data"] == []
    assert (await client.get(f"/a1/numbers/{number_id}", auth=elks_auth)).json().get("sms_url") is None
    assert (await client.get("/api/hooks", headers=seven_headers(sandbox))).json()["hooks"] == []
    # A change to an account that had none before the reset is undone by the next one as well.
    await client.post("/a1/sms", auth=(sub["id"], sub["secret"]), data={"from": "ElkCo", "to": "+46700000001", "message": "x"})
    await client.post(f"/_emulator/sandboxes/{sandbox['id']}/reset")
    assert {account_id: store.account_state(account_id) for account_id in ids} == made

"""Snapshots: `GET /_emulator/snapshot` writes the whole world as a documented JSON document
(`specs/snapshot.schema.json`); `PUT` puts one back all or nothing, resuming what was in flight.
A bad document is refused whole, with a 400 naming where the problem is, and changes nothing;
nothing in a document is ever imported or run."""

import copy
import json
import sys

import httpx
import jsonschema
import pytest

from emulator.core import snapshot as snapshots
from support import ELKS_ACCOUNT, ELKS_AUTH, SEVEN_JSON, Emulator, make_engine, running_emulator, world_state
from snapshot_support import FAILING_HOOK, SCHEDULED_SECONDS, START_SECONDS, FailingReceiver, build_world, without_event_cursor


@pytest.fixture
async def world():
    async with running_emulator(make_engine(), FailingReceiver()) as running:
        running.made = await build_world(running.client, running.advance)
        yield running


@pytest.fixture
async def fresh():
    async with running_emulator(make_engine(), FailingReceiver()) as running:
        yield running


async def snapshot_of(emulator: Emulator) -> dict:
    response = await emulator.client.get("/_emulator/snapshot")
    assert response.status_code == 200
    return response.json()


async def test_every_kind_of_record_is_in_the_snapshot_and_the_schema_holds(world):
    document = await snapshot_of(world)
    assert (document["format"], document["version"]) == ("telco-emulator/snapshot", 1)
    jsonschema.Draft202012Validator(snapshots.schema()).validate(document)
    for section in (
        "accounts", "numbers", "messages", "hooks", "deliveries", "calls", "recordings", "outcome_rules",
        "call_outcome_rules", "fault_rules", "access_tokens", "contacts", "contact_groups", "lookups",
        "caller_ids", "mms_images", "sandboxes",
    ):
        assert document[section], f"the world has no {section}"
    scheduled = next(m for m in document["messages"] if m["id"] == world.made["scheduled"])
    assert scheduled["status"] == "scheduled" and scheduled["send_at"] == "2026-01-01T01:00:00.000000Z"
    failing = next(d for d in document["deliveries"] if d["url"] == FAILING_HOOK)
    assert failing["state"] == "pending" and failing["attempts"][0]["status"] == 500 and failing["next_attempt_at"]
    assert document["clock"]["now"] == "2026-01-01T00:00:30.500000Z"
    # Plain resources: nothing names a Python class.
    text = json.dumps(document)
    assert "__dc__" not in text and "emulator.core" not in text


async def test_get_put_get_gives_the_same_document_and_the_world_goes_on(world, fresh):
    document = await snapshot_of(world)
    response = await fresh.client.put("/_emulator/snapshot", json=document)
    assert response.status_code == 200, response.text
    assert response.json() == {"restored": True, "accounts": len(document["accounts"]), "messages": len(document["messages"])}
    again = await snapshot_of(fresh)
    assert without_event_cursor(again) == without_event_cursor(document)
    assert again["events"]["last_seq"] > document["events"]["last_seq"]
    client = fresh.client

    # Records render through the providers as before.
    assert (await client.get(f"/a1/SMS/{world.made['elks_sms']}", auth=ELKS_AUTH)).json()["status"] == "delivered"
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).json()["balance"] == world.engine.store.accounts[ELKS_ACCOUNT].balance
    assert (await client.get("/api/contacts", headers=SEVEN_JSON)).json()["pagingMetadata"]["total"] == 1
    assert (await client.get(f"/a1/calls/{world.made['call']}", auth=ELKS_AUTH)).json()["state"] == "success"
    assert (await client.get(f"/a1/recordings/{world.made['call']}-r0", auth=ELKS_AUTH)).status_code == 200
    assert (await client.get(f"/a1/images/{world.made['mms']}-i0.jpg", auth=ELKS_AUTH)).headers["content-type"] == "image/jpeg"
    token = {"Authorization": f"Bearer {world.made['token']}", "Accept": "application/json"}
    assert (await client.get("/api/balance", headers=token)).status_code == 200
    sandbox = (await client.get(f"/_emulator/sandboxes/{world.made['sandbox']}")).json()
    elks_user, elks_password = sandbox["elks_auth"]
    assert (await client.get("/a1/me", auth=(elks_user, elks_password))).status_code == 200
    assert (await client.post(f"/_emulator/sandboxes/{world.made['sandbox']}/reset")).status_code == 200
    assert len((await client.get("/_emulator/faults")).json()["data"]) == 1

    # What was in flight goes on: the message in flight is delivered and reported to the hook,
    # the failing report is tried again when its retry is due, the scheduled send goes out.
    attempts_before = {d["id"]: len(d["attempts"]) for d in document["deliveries"] if d["url"] == FAILING_HOOK}
    assert attempts_before  # the `sent` and `delivered` reports of one message
    await fresh.advance(1)
    status = (await client.get("/api/status", params={"msg_id": world.made["seven_sms"]}, headers=SEVEN_JSON)).json()
    assert status[0]["status"] == "DELIVERED"
    assert fresh.receiver.to("http://hooks.test/s")
    await fresh.advance(300)
    assert len(fresh.receiver.to(FAILING_HOOK)) == len(attempts_before)
    for delivery_id, attempts in attempts_before.items():
        failing = fresh.engine.store.deliveries.get(delivery_id)
        assert len(failing.attempts) == attempts + 1 and failing.state == "pending"
    assert (await client.get("/api/journal/outbound", headers=SEVEN_JSON)).status_code == 200
    await fresh.advance(SCHEDULED_SECONDS - START_SECONDS)
    released = fresh.engine.store.messages.get(world.made["scheduled"])
    assert released.status == "delivered"
    # New ids continue after the restored ones.
    again = (await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "new"}, auth=ELKS_AUTH)).json()
    assert again["id"] not in {m["id"] for m in document["messages"]}


async def test_a_scheduled_message_can_still_be_cancelled(emulator, client, fresh):
    sms = (await client.post("/api/sms", json={"to": "+4917612345678", "text": "later", "delay": START_SECONDS + 60}, headers=SEVEN_JSON)).json()
    document = (await client.get("/_emulator/snapshot")).json()
    assert (await fresh.client.put("/_emulator/snapshot", json=document)).status_code == 200
    cancel = await fresh.client.request("DELETE", "/api/sms", json={"ids": [sms["messages"][0]["id"]]}, headers=SEVEN_JSON)
    assert cancel.json()["success"] is True


async def test_a_caller_id_validation_in_progress_completes_after_a_restore(emulator, client, fresh):
    started = await client.post("/api/validate_for_voice", data={"number": "+4917699999999"}, headers=SEVEN_JSON)
    assert started.status_code == 200
    await emulator.advance(5)
    document = (await client.get("/_emulator/snapshot")).json()
    (waiting,) = document["caller_ids"]
    assert waiting["validated"] is None
    assert (await fresh.client.put("/_emulator/snapshot", json=document)).status_code == 200
    await fresh.advance(9)
    assert fresh.engine.store.collection("seven.caller_ids").get(f"1000001:{waiting['number']}").validated is None
    await fresh.advance(1)
    record = fresh.engine.store.collection("seven.caller_ids").get(f"1000001:{waiting['number']}")
    assert record.validated == snapshots.parse_time("2026-01-01T00:00:15.000000Z", "$") and record.id is not None


def _message(document: dict) -> dict:
    return next(m for m in document["messages"] if m["status"] == "scheduled")


def _mutations():
    """(name, change to a valid document, where the refusal points)."""

    def at(path, value):
        def change(document):
            target = document
            for key in path[:-1]:
                target = target[key] if not callable(key) else key(target)
            target[path[-1]] = value

        return change

    return [
        ("class import", lambda d: d["accounts"].append({"__dc__": "emulator.__main__:X", "fields": {}}), "$.accounts["),
        ("class import at the top", lambda d: d.update({"__dc__": "emulator.__main__:main"}), "$"),
        ("send_at not a time", at([lambda d: _message(d), "send_at"], "not-a-time"), "$.messages[0].send_at"),
        ("attributes null", at(["messages", 0, "attributes"], None), "$.messages[0].attributes"),
        ("wrong record type", at(["messages", 0], {"id": "x", "fields": {}}), "$.messages[0]"),
        ("balance lots", at(["accounts", 0, "balance"], "lots"), "$.accounts[0].balance"),
        ("credentials null", at(["accounts", 0, "credentials"], None), "$.accounts[0].credentials"),
        ("clock far away", at(["clock", "now"], "9999-12-31T23:00:00.000000Z"), "$.clock.now"),
        ("clock a number", at(["clock", "now"], 1e30), "$.clock.now"),
        ("impossible date", at(["messages", 0, "created"], "2026-02-30T00:00:00.000000Z"), "$.messages[0].created"),
        ("unknown account", at(["messages", 0, "account_id"], "nobody"), "$.messages[0].account_id"),
        ("unknown parent", at(["accounts", 1, "parent_id"], "nobody"), "$.accounts[1].parent_id"),
        ("duplicate message", lambda d: d["messages"].append(copy.deepcopy(d["messages"][0])), "duplicate id"),
        ("bad regex", lambda d: d["outcome_rules"].insert(0, {**d["outcome_rules"][0], "match": "re:(["}), "$.outcome_rules[0].match"),
        ("huge delay", at(["outcome_rules", 0, "final_after"], 1e308), "$.outcome_rules[0].final_after"),
        ("lone surrogate", at(["messages", 0, "text"], "x\ud800"), "$.messages[0].text"),
        ("huge balance", at(["accounts", 0, "balance"], 10**30), "$.accounts[0].balance"),
        ("bad rng", at(["ids", "rng", "state"], [0] * 624 + [700]), "$.ids.rng"),
        ("unknown section", lambda d: d.update({"extra": []}), "$"),
        ("missing section", lambda d: d.pop("contacts"), "$"),
        ("other version", at(["version"], 2), "$.version"),
        ("old format", lambda d: d.update({"format": "telco-emulator-snapshot/1"}), "$.format"),
        ("sandbox member of nothing", at(["accounts", 0, "attributes", "sandbox"], "sb99-x"), "$.accounts[0].attributes.sandbox"),
        ("bad base64 image", lambda d: d["mms_images"].append({**d["mms_images"][0], "id": "other", "data": "%%%"}), "$.mms_images[1].data"),
        ("token on a 46elks account", lambda d: d["access_tokens"].append({**d["access_tokens"][0], "token": "t2", "account_id": "u5a9566c072160b318445d163949bf505"}), "$.access_tokens"),
        ("recording of another account's call", at(["recordings", 0, "account_id"], "u0b7c3f1e2d4a5968778695a4b3c2d1e0"), "$.recordings[0].call_id"),
        ("contact in a missing group", at(["contacts", 0, "groups"], [424242]), "$.contacts[0].groups[0]"),
    ]


@pytest.mark.parametrize("name, change, path", _mutations(), ids=[m[0] for m in _mutations()])
async def test_a_bad_snapshot_is_refused_whole_and_changes_nothing(world, name, change, path):
    document = await snapshot_of(world)
    document["messages"].sort(key=lambda m: m["status"] != "scheduled")  # the scheduled one first
    change(document)
    before = world_state(world.engine)
    balance = (await world.client.get("/a1/me", auth=ELKS_AUTH)).json()["balance"]
    body = json.dumps(document, ensure_ascii=True)  # a lone surrogate travels as its \\u escape
    response = await world.client.put("/_emulator/snapshot", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError" and path in error["message"], error
    assert "\n" not in error["message"]
    with pytest.raises(snapshots.SnapshotError) as reference:  # the same verdict without jsonschema_rs
        snapshots.prepare(world.engine, json.loads(body), fast=False)
    assert path in str(reference.value)
    assert world_state(world.engine) == before
    assert (await world.client.get("/a1/me", auth=ELKS_AUTH)).json()["balance"] == balance
    assert (await world.client.get("/_emulator/messages")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"format": "something else"}',
        b'{"format": "telco-emulator/snapshot", "version": 1}',
        b'{"format": "telco-emulator/snapshot", "version": 1, "clock": NaN}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
    ],
)
async def test_a_corrupt_body_is_refused_and_changes_nothing(emulator, client, body):
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x"}, auth=ELKS_AUTH)
    before = world_state(emulator.engine)
    response = await client.put("/_emulator/snapshot", content=body)
    assert response.status_code == 400 and "error" in response.json()
    assert world_state(emulator.engine) == before


async def test_the_entry_point_named_in_a_snapshot_is_never_run(emulator, client, monkeypatch):
    import emulator.cli as cli

    ran = []
    monkeypatch.setattr(cli, "main", lambda *args, **kwargs: ran.append(args) or 0)
    assert "emulator.__main__" not in sys.modules
    document = (await client.get("/_emulator/snapshot")).json()
    document["accounts"][0]["attributes"] = {"__dc__": "emulator.__main__:X", "fields": {}}
    document["messages"] = [{"__dc__": "emulator.cli:main", "fields": {}}]
    response = await client.put("/_emulator/snapshot", json=document)
    assert response.status_code == 400 and ran == []
    assert "emulator.__main__" not in sys.modules  # importing it would have run the command line

"""Requests exactly as seven's official JavaScript client (`@seven.io/client` 5.6) writes them.

The client fills a `URLSearchParams` from its arguments, so an argument the caller left out is
sent as the text `undefined` (`groups=undefined&avatar=undefined` when creating a contact without
groups); it sends `Content-Type: application/json` with an empty body on DELETEs without
arguments, a scheduled time as `Date.valueOf()` (milliseconds), and comma-joined ids in a JSON
body to cancel messages. tests/contract/test_client_seven_js.py runs the client itself; these
tests pin the emulator's side in-process.
"""

from __future__ import annotations

import json

from support import SEVEN_ACCOUNT, SEVEN_JSON, VIRTUAL_START

FORM = {**SEVEN_JSON, "Content-Type": "application/x-www-form-urlencoded", "SentWith": "js"}
JSON_BODY = {**SEVEN_JSON, "Content-Type": "application/json", "SentWith": "js"}


async def make_group(client, name: str) -> int:
    response = await client.post("/api/groups", content=json.dumps({"name": name}), headers=JSON_BODY)
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def test_contact_created_with_undefined_groups_and_avatar(emulator, client):
    body = "avatar=undefined&groups=undefined&firstname=Erika&lastname=Mustermann&mobile_number=%2B4917612345678"
    response = await client.post("/api/contacts", content=body, headers=FORM)
    assert response.status_code == 200, response.text
    contact = response.json()
    assert (contact["groups"], contact["avatar"]) == ([], "")
    assert contact["properties"]["fullname"] == "Erika Mustermann"
    assert len(emulator.engine.store.collection("seven.contacts")) == 1


async def test_contact_created_with_repeated_plain_groups(client):
    first, second = await make_group(client, "One"), await make_group(client, "Two")
    body = f"groups={first}&groups={second}&firstname=Max"
    response = await client.post("/api/contacts", content=body, headers=FORM)
    assert response.status_code == 200, response.text
    assert response.json()["groups"] == [first, second]


async def test_update_with_undefined_groups_keeps_the_groups(client):
    group = await make_group(client, "Keep")
    created = (await client.post("/api/contacts", content=f"groups={group}&firstname=Max", headers=FORM)).json()
    response = await client.patch(
        f"/api/contacts/{created['id']}", content="avatar=undefined&groups=undefined&firstname=Moritz", headers=FORM,
    )
    assert response.status_code == 200, response.text
    assert response.json()["groups"] == [group]
    assert response.json()["properties"]["firstname"] == "Moritz"


async def test_an_unknown_group_is_still_refused(emulator, client):
    response = await client.post("/api/contacts", content="groups=undefined&groups=999&firstname=Max", headers=FORM)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and "999" in body["error_message"]
    assert len(emulator.engine.store.collection("seven.contacts")) == 0


async def test_an_empty_groups_field_still_clears_the_groups(client):
    group = await make_group(client, "Cleared")
    created = (await client.post("/api/contacts", content=f"groups={group}&firstname=Max", headers=FORM)).json()
    response = await client.patch(f"/api/contacts/{created['id']}", content=json.dumps({"groups": []}), headers=JSON_BODY)
    assert response.status_code == 200 and response.json()["groups"] == []


async def test_delete_with_json_content_type_and_no_body(emulator, client):
    created = (await client.post("/api/contacts", content="firstname=Gone", headers=FORM)).json()
    response = await client.delete(f"/api/contacts/{created['id']}", headers=JSON_BODY)
    assert response.status_code == 200 and response.json()["success"] is True
    assert len(emulator.engine.store.collection("seven.contacts")) == 0


async def test_scheduled_in_milliseconds_and_cancelled_with_comma_joined_ids(emulator, client):
    balance = emulator.balance(SEVEN_ACCOUNT)
    send_at_ms = VIRTUAL_START // 1000 + 3_600_000
    sent = await client.post("/api/sms", content=json.dumps({"to": "+4917612345678,+4915123456789", "text": "Later", "delay": send_at_ms}), headers=JSON_BODY)
    assert sent.status_code == 200, sent.text
    ids = [m["id"] for m in sent.json()["messages"]]
    assert [emulator.engine.store.messages.get(i).status for i in ids] == ["scheduled", "scheduled"]
    response = await client.request("DELETE", "/api/sms", content=json.dumps({"ids": ",".join(ids)}), headers=JSON_BODY)
    assert response.status_code == 200
    assert response.json() == {"success": True, "deleted": ids}
    assert [emulator.engine.store.messages.get(i) for i in ids] == [None, None]
    assert emulator.balance(SEVEN_ACCOUNT) == balance


async def test_undefined_filters_of_journal_and_subaccounts_are_ignored(client):
    sent = await client.post("/api/sms", content=json.dumps({"to": "+4917612345678", "text": "Journal"}), headers=JSON_BODY)
    assert sent.status_code == 200
    journal = await client.get("/api/journal/outbound?date_from=undefined&date_to=undefined", headers=JSON_BODY)
    assert journal.status_code == 200
    assert [row["id"] for row in journal.json()] == [sent.json()["messages"][0]["id"]]
    created = await client.post("/api/subaccounts/create", content=json.dumps({"name": "Sub", "email": "sub@example.com"}), headers=JSON_BODY)
    assert created.status_code == 200 and created.json()["success"] is True
    listed = await client.get("/api/subaccounts/read?id=undefined", headers=JSON_BODY)
    assert listed.status_code == 200
    assert [entry["id"] for entry in listed.json()] == [created.json()["subaccount"]["id"]]

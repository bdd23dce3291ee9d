"""seven.io's legacy contacts API (reference 8.8): `/api/contacts?action=read|write|del` by GET or
POST; `read` as `;`-separated quoted CSV rows `id;nick;number` (JSON `{ID, Name, Number}` with
`json=1`), `write` with `nick`/`empfaenger`/`email`, answers `152` (success) and `151` (error)."""

import csv
import io

import pytest

from support import SEVEN_JSON, SEVEN_KEY, world_state

PLAIN = {"X-Api-Key": SEVEN_KEY}


async def write(client, headers=PLAIN, **fields):
    return await client.post("/api/contacts", data={"action": "write", **fields}, headers=headers)


async def test_write_then_read_as_csv(client):
    written = await write(client, nick="Peter Pan", empfaenger="004901234567890", email="my@doma.in")
    code, contact_id = written.text.split("\n")
    assert written.status_code == 200 and code == "152" and contact_id.isdigit()
    await write(client, nick='Wendy "W" Darling', empfaenger="+4917612345678")
    read = await client.get("/api/contacts", params={"action": "read"}, headers=PLAIN)
    assert read.headers["content-type"] == "text/plain; charset=utf-8"
    assert read.text.split("\n")[0] == f'"{contact_id}";"Peter Pan";"004901234567890"'
    rows = list(csv.reader(io.StringIO(read.text), delimiter=";"))
    assert [row[1:] for row in rows] == [["Peter Pan", "004901234567890"], ['Wendy "W" Darling', "+4917612345678"]]


async def test_json_forms(client):
    written = await write(client, headers=SEVEN_JSON, nick="Erika", empfaenger="+4917612345678")
    body = written.json()
    assert body["return"] == "152" and isinstance(body["id"], int)
    read = await client.get("/api/contacts", params={"action": "read", "json": "1", "p": SEVEN_KEY})
    assert read.json() == [{"ID": str(body["id"]), "Name": "Erika", "Number": "+4917612345678"}]
    one = await client.get("/api/contacts", params={"action": "read", "id": body["id"]}, headers=SEVEN_JSON)
    assert one.json() == read.json()
    deleted = await client.post("/api/contacts", data={"action": "del", "id": body["id"]}, headers=SEVEN_JSON)
    assert deleted.json() == {"return": "152"}


async def test_written_contacts_are_the_rest_apis_contacts(client):
    contact_id = int((await write(client, nick="Erika Muster", empfaenger="+4917612345678", email="e@example.com")).text.split("\n")[1])
    contact = (await client.get(f"/api/contacts/{contact_id}", headers=SEVEN_JSON)).json()
    assert contact["properties"]["fullname"] == "Erika Muster" and contact["properties"]["mobile_number"] == "+4917612345678"
    assert contact["properties"]["email"] == "e@example.com" and contact["validation"]["state"] == "valid"
    sent = await client.post("/api/sms", json={"to": "Erika Muster", "text": "Hallo"}, headers=SEVEN_JSON)
    assert sent.json()["messages"][0]["recipient"] == "4917612345678"


async def test_write_with_id_edits(client):
    contact_id = (await write(client, nick="Peter", empfaenger="+4917612345678")).text.split("\n")[1]
    edited = await write(client, id=contact_id, nick="PeterPan", empfaenger="+4915123456789")
    assert edited.text == f"152\n{contact_id}"
    read = await client.get("/api/contacts", params={"action": "read", "id": contact_id}, headers=PLAIN)
    assert read.text == f'"{contact_id}";"PeterPan";"+4915123456789"'


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_delete_by_get_or_post(emulator, client, method):
    contact_id = (await write(client, nick="Gone")).text.split("\n")[1]
    values = {"action": "del", "id": contact_id}
    if method == "GET":
        response = await client.get("/api/contacts", params=values, headers=PLAIN)
    else:
        response = await client.post("/api/contacts", data=values, headers=PLAIN)
    assert (response.status_code, response.text) == (200, "152")
    assert len(emulator.engine.store.collection("seven.contacts")) == 0
    again = await client.post("/api/contacts", data=values, headers=PLAIN)
    assert (again.status_code, again.text) == (404, "151")


async def test_a_refused_write_changes_nothing(emulator, client):
    before = world_state(emulator.engine)
    response = await write(client, nick="Erika", email="not an address")
    assert (response.status_code, response.text) == (400, "151")
    assert world_state(emulator.engine) == before


async def test_read_of_an_empty_address_book(client):
    assert (await client.get("/api/contacts", params={"action": "read"}, headers=PLAIN)).text == ""
    assert (await client.get("/api/contacts", params={"action": "read"}, headers=SEVEN_JSON)).json() == []

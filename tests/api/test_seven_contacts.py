"""seven.io contacts and groups: create, read, update, delete, list with paging, search, order and
group filter; bad input refused without changing anything; accounts never see each other's."""

import pytest

from support import SEVEN_JSON, SEVEN_OTHER_KEY

OTHER = {"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"}


async def make_group(client, name="Team", headers=SEVEN_JSON):
    response = await client.post("/api/groups", json={"name": name}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def make_contact(client, headers=SEVEN_JSON, **fields):
    response = await client.post("/api/contacts", data=fields, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def stored(emulator, name):
    return len(emulator.engine.store.collection(name))


async def test_create_contact_answers_the_full_contact(client):
    group = await make_group(client)
    contact = await make_contact(
        client, firstname="Seven", lastname="Communications", mobile_number="491716992343", home_number="43130149270",
        email="support@seven.io", address="Willestr. 4-6", postal_code="24103", city="Kiel", birthday="2000-01-01",
        notes="CPaaS", avatar="https://example.com/a.png", groups=[str(group["id"])],
    )
    assert contact == {
        "id": contact["id"],
        "avatar": "https://example.com/a.png",
        "validation": {"state": "valid", "timestamp": "2026-01-01 00:00:00"},
        "initials": {"initials": "SC", "color": contact["initials"]["color"]},
        "properties": {
            "firstname": "Seven", "lastname": "Communications", "mobile_number": "491716992343",
            "home_number": "43130149270", "email": "support@seven.io", "address": "Willestr. 4-6",
            "postal_code": "24103", "city": "Kiel", "birthday": "2000-01-01", "notes": "CPaaS",
            "fullname": "Seven Communications",
        },
        "groups": [group["id"]],
        "created": "2026-01-01 00:00:00",
    }
    assert isinstance(contact["id"], int)
    assert contact["initials"]["color"].startswith("#") and len(contact["initials"]["color"]) == 7
    fetched = await client.get(f"/api/contacts/{contact['id']}", headers=SEVEN_JSON)
    assert fetched.json() == contact


async def test_empty_contact_has_null_properties(client):
    """seven's own JS client creates a contact with every property null and no groups."""
    contact = await make_contact(client, avatar="")
    assert contact["avatar"] == "" and contact["groups"] == []
    assert set(contact["properties"].values()) == {None}
    assert contact["validation"] == {"state": None, "timestamp": None}
    assert contact["initials"]["initials"] == ""


async def test_initials_colour_depends_on_the_name_only(client):
    first = await make_contact(client, firstname="Anna", lastname="Berg")
    second = await make_contact(client, firstname="anna", lastname="berg", email="x@example.com")
    assert first["initials"] == second["initials"] == {"initials": "AB", "color": first["initials"]["color"]}


async def test_invalid_number_is_kept_and_marked_invalid(emulator, client):
    contact = await make_contact(client, firstname="Old", mobile_number="+49 30 1")
    assert contact["properties"]["mobile_number"] == "+49 30 1"
    assert contact["validation"]["state"] == "invalid"


async def test_update_changes_only_what_is_sent(emulator, client):
    group = await make_group(client)
    contact = await make_contact(client, firstname="Dan", lastname="Developer", notes="CPaaS", mobile_number="4917999999999")
    await emulator.advance(60)
    response = await client.patch(
        f"/api/contacts/{contact['id']}", data={"notes": "New notes", "groups[0]": str(group["id"])}, headers=SEVEN_JSON,
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["properties"]["notes"] == "New notes"
    assert updated["properties"]["firstname"] == "Dan" and updated["properties"]["mobile_number"] == "4917999999999"
    assert updated["groups"] == [group["id"]]
    assert updated["validation"]["timestamp"] == "2026-01-01 00:00:00"  # the number did not change
    cleared = (await client.patch(
        f"/api/contacts/{contact['id']}", json={"notes": "", "mobile_number": "+4915112345678", "groups": []}, headers=SEVEN_JSON,
    )).json()
    assert cleared["properties"]["notes"] is None and cleared["groups"] == []
    assert cleared["properties"]["mobile_number"] == "+4915112345678"
    assert cleared["validation"] == {"state": "valid", "timestamp": "2026-01-01 00:01:00"}


async def test_json_body_with_nested_properties(client):
    response = await client.post(
        "/api/contacts", json={"properties": {"firstname": "Eva", "city": "Kiel"}, "groups": []}, headers=SEVEN_JSON,
    )
    assert response.json()["properties"]["fullname"] == "Eva" and response.json()["properties"]["city"] == "Kiel"


async def test_delete_contact(emulator, client):
    contact = await make_contact(client, firstname="Gone")
    response = await client.delete(f"/api/contacts/{contact['id']}", headers=SEVEN_JSON)
    assert response.status_code == 200 and response.json() == {"success": True}
    again = await client.delete(f"/api/contacts/{contact['id']}", headers=SEVEN_JSON)
    assert again.status_code == 404 and again.json()["success"] is False
    missing = await client.get(f"/api/contacts/{contact['id']}", headers=SEVEN_JSON)
    assert missing.status_code == 404 and missing.json()["success"] is False
    assert stored(emulator, "seven.contacts") == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"firstname": "Max", "email": "not-an-address"},
        {"firstname": "Max", "birthday": "01.01.2000"},
        {"firstname": "Max", "mobile_number": "call me"},
        {"firstname": "Max", "avatar": "ftp://example.com/a.png"},
        {"firstname": "Max", "groups": "999"},
        {"firstname": "Max", "groups": "abc"},
        {"firstname": "x" * 256},
    ],
)
async def test_bad_contacts_are_refused(emulator, client, fields):
    response = await client.post("/api/contacts", data=fields, headers=SEVEN_JSON)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["code"] and body["error_message"]
    assert stored(emulator, "seven.contacts") == 0
    assert (await make_contact(client, firstname="Next"))["id"] == 100001  # no id was used up


async def test_legacy_action_calls_are_never_mistaken_for_new_contacts(emulator, client):
    # the legacy contacts API answers them (see test_seven_legacy_contacts.py): here, an unknown id
    response = await client.post("/api/contacts", params={"action": "del", "id": "5"}, headers=SEVEN_JSON)
    assert response.status_code == 404 and response.json() == {"return": "151"}
    assert stored(emulator, "seven.contacts") == 0


async def test_bad_update_changes_nothing(client):
    contact = await make_contact(client, firstname="Max", email="max@example.com")
    response = await client.patch(
        f"/api/contacts/{contact['id']}", data={"firstname": "Moritz", "email": "broken"}, headers=SEVEN_JSON,
    )
    assert response.status_code == 400 and response.json()["success"] is False
    assert (await client.get(f"/api/contacts/{contact['id']}", headers=SEVEN_JSON)).json() == contact


async def test_unknown_contact_ids(client):
    for path in ("/api/contacts/999", "/api/contacts/abc"):
        for method in ("GET", "PATCH", "DELETE"):
            response = await client.request(method, path, headers=SEVEN_JSON)
            assert response.status_code == 404 and response.json()["success"] is False


async def test_ids_with_non_ascii_digits_are_unknown_not_a_crash(emulator, client):
    """Regression: `"²".isdigit()` is true but `int("²")` fails; such an id answered 500."""
    contact = await make_contact(client, firstname="Max")
    group = await make_group(client)
    for path in ("/api/contacts/²", "/api/contacts/１", "/api/groups/²", "/api/groups/١"):
        for method in ("GET", "PATCH", "DELETE"):
            response = await client.request(method, path, data={"name": "Renamed"}, headers=SEVEN_JSON)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["success"] is False
    assert (await client.get(f"/api/contacts/{contact['id']}", headers=SEVEN_JSON)).json() == contact
    assert (await client.get(f"/api/groups/{group['id']}", headers=SEVEN_JSON)).json() == group


async def test_accounts_do_not_share_contacts(emulator, client):
    mine = await make_contact(client, firstname="Mine")
    assert (await client.get(f"/api/contacts/{mine['id']}", headers=OTHER)).status_code == 404
    assert (await client.delete(f"/api/contacts/{mine['id']}", headers=OTHER)).status_code == 404
    listed = (await client.get("/api/contacts", headers=OTHER)).json()
    assert listed["data"] == [] and listed["pagingMetadata"]["total"] == 0
    theirs = await make_group(client, headers=OTHER)
    response = await client.post("/api/contacts", data={"firstname": "X", "groups": str(theirs["id"])}, headers=SEVEN_JSON)
    assert response.status_code == 400 and stored(emulator, "seven.contacts") == 1


async def test_list_paging_search_order_and_group_filter(client):
    team = await make_group(client, "Team")
    names = [("Carl", "Zeiss"), ("anna", "Berg"), ("Bert", "Adams"), ("Dora", None)]
    made = []
    for first, last in names:
        fields = {"firstname": first} | ({"lastname": last} if last else {})
        if first in ("Carl", "Dora"):
            fields["groups"] = str(team["id"])
        made.append(await make_contact(client, **fields))

    listed = (await client.get("/api/contacts", headers=SEVEN_JSON)).json()
    assert [c["id"] for c in listed["data"]] == [c["id"] for c in made]
    assert listed["pagingMetadata"] == {"offset": 0, "count": 4, "total": 4, "limit": 100, "has_more": False}

    page = (await client.get("/api/contacts", params={"limit": 2, "offset": 1}, headers=SEVEN_JSON)).json()
    assert [c["properties"]["firstname"] for c in page["data"]] == ["anna", "Bert"]
    assert page["pagingMetadata"] == {"offset": 1, "count": 2, "total": 4, "limit": 2, "has_more": True}

    by_first = (await client.get("/api/contacts", params={"order_by": "firstname"}, headers=SEVEN_JSON)).json()
    assert [c["properties"]["firstname"] for c in by_first["data"]] == ["anna", "Bert", "Carl", "Dora"]
    by_last = (await client.get(
        "/api/contacts", params={"order_by": "lastname", "order_direction": "desc"}, headers=SEVEN_JSON,
    )).json()
    assert [c["properties"]["firstname"] for c in by_last["data"]] == ["Carl", "anna", "Bert", "Dora"]  # no lastname last

    found = (await client.get("/api/contacts", params={"search": "BER"}, headers=SEVEN_JSON)).json()
    assert [c["properties"]["fullname"] for c in found["data"]] == ["anna Berg", "Bert Adams"]

    in_team = (await client.get("/api/contacts", params={"group_id": team["id"]}, headers=SEVEN_JSON)).json()
    assert [c["properties"]["firstname"] for c in in_team["data"]] == ["Carl", "Dora"]
    assert in_team["pagingMetadata"]["total"] == 2


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": "ten"}, {"offset": -1}, {"order_by": "shoe_size"}, {"order_direction": "up"}, {"group_id": "x"},
     {"limit": "²"}, {"offset": "-²"}, {"group_id": "²"}],  # non-ASCII digits once answered 500
)
async def test_bad_list_parameters(client, params):
    response = await client.get("/api/contacts", params=params, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json()["success"] is False


async def test_group_lifecycle_and_member_count(emulator, client):
    group = await make_group(client, "  Sales   Team ")
    assert group == {"id": group["id"], "name": "Sales Team", "members_count": 0, "created": "2026-01-01 00:00:00"}
    await make_contact(client, firstname="A", groups=str(group["id"]))
    await make_contact(client, firstname="B", groups=str(group["id"]))
    fetched = (await client.get(f"/api/groups/{group['id']}", headers=SEVEN_JSON)).json()
    assert fetched["members_count"] == 2
    renamed = await client.patch(f"/api/groups/{group['id']}", json={"name": "Edited Group"}, headers=SEVEN_JSON)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Edited Group" and renamed.json()["members_count"] == 2
    listed = (await client.get("/api/groups", headers=SEVEN_JSON)).json()
    assert [g["name"] for g in listed["data"]] == ["Edited Group"]
    assert listed["pagingMetadata"] == {"offset": 0, "count": 1, "total": 1, "limit": 100, "has_more": False}


async def test_group_paging(client):
    for name in ("One", "Two", "Three"):
        await make_group(client, name)
    page = (await client.get("/api/groups", params={"limit": 2, "offset": 2}, headers=SEVEN_JSON)).json()
    assert [g["name"] for g in page["data"]] == ["Three"]
    assert page["pagingMetadata"] == {"offset": 2, "count": 1, "total": 3, "limit": 2, "has_more": False}


async def test_deleting_a_group_keeps_or_deletes_its_members(emulator, client):
    keep = await make_group(client, "Keep")
    purge = await make_group(client, "Purge")
    both = await make_contact(client, firstname="Both", groups=f"{keep['id']},{purge['id']}")
    only_purge = await make_contact(client, firstname="Only", groups=str(purge["id"]))
    outsider = await make_contact(client, firstname="Outsider")

    response = await client.delete(f"/api/groups/{keep['id']}", headers=SEVEN_JSON)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert (await client.get(f"/api/contacts/{both['id']}", headers=SEVEN_JSON)).json()["groups"] == [purge["id"]]

    response = await client.delete(f"/api/groups/{purge['id']}?delete_contacts=true", headers=SEVEN_JSON)
    assert response.json() == {"success": True}
    remaining = (await client.get("/api/contacts", headers=SEVEN_JSON)).json()["data"]
    assert [c["id"] for c in remaining] == [outsider["id"]]
    assert (await client.get(f"/api/contacts/{only_purge['id']}", headers=SEVEN_JSON)).status_code == 404
    assert (await client.get(f"/api/groups/{purge['id']}", headers=SEVEN_JSON)).status_code == 404


@pytest.mark.parametrize("body", [{}, {"name": "   "}, {"name": "x" * 101}, {"name": ["a", "b"]}])
async def test_bad_groups_are_refused(emulator, client, body):
    response = await client.post("/api/groups", json=body, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json()["success"] is False
    assert stored(emulator, "seven.groups") == 0


async def test_bad_group_updates_and_deletes_change_nothing(emulator, client):
    group = await make_group(client, "Stay")
    member = await make_contact(client, firstname="M", groups=str(group["id"]))
    response = await client.patch(f"/api/groups/{group['id']}", json={"name": ""}, headers=SEVEN_JSON)
    assert response.status_code == 400
    response = await client.delete(f"/api/groups/{group['id']}?delete_contacts=maybe", headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json()["success"] is False
    assert (await client.get(f"/api/groups/{group['id']}", headers=SEVEN_JSON)).json()["name"] == "Stay"
    assert (await client.get(f"/api/contacts/{member['id']}", headers=SEVEN_JSON)).json()["groups"] == [group["id"]]
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, "/api/groups/77", headers=SEVEN_JSON)
        assert response.status_code == 404 and response.json()["success"] is False
    assert (await client.get(f"/api/groups/{group['id']}", headers=OTHER)).status_code == 404


async def test_contacts_need_a_valid_key(emulator, client):
    response = await client.post("/api/contacts", data={"firstname": "X"}, headers={"X-Api-Key": "wrong"})
    assert response.status_code == 401 and response.text == "900"
    assert stored(emulator, "seven.contacts") == 0


async def test_reset_forgets_the_address_book(emulator, client):
    await make_group(client)
    await make_contact(client, firstname="X")
    assert (await client.post("/_emulator/reset")).status_code == 200
    assert (await client.get("/api/contacts", headers=SEVEN_JSON)).json()["data"] == []
    again = await make_group(client)
    assert again["id"] == 10001

"""The control API: health, reset, message and webhook inspection, the virtual clock."""

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, SEVEN_JSON


async def send_both(client, text="s"):
    elks = (await client.post(
        "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "e", "whendelivered": "http://hooks.test/e"}, auth=ELKS_AUTH
    )).json()
    seven = (await client.post("/api/sms", json={"to": "+4917612345678", "text": text}, headers=SEVEN_JSON)).json()
    return elks, seven["messages"][0]


async def test_health(client, store):
    response = await client.get("/_emulator/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["clock"] == "virtual"
    assert response.json()["now"] == "2026-01-01T00:00:00.000000Z"
    assert response.json()["store"] == ("memory" if store is None else "redis")
    if store is not None:  # how far this process has read the world's log
        await client.post("/_emulator/reset")
        assert response.json()["applied"] < (await client.get("/_emulator/health")).json()["applied"]


async def test_messages_of_both_providers_with_filters(client):
    elks, seven = await send_both(client)
    data = (await client.get("/_emulator/messages")).json()["data"]
    assert [m["id"] for m in data] == [seven["id"], elks["id"]]
    only_elks = (await client.get("/_emulator/messages", params={"provider": "elks"})).json()["data"]
    assert [m["id"] for m in only_elks] == [elks["id"]]
    assert only_elks[0]["cost"] == 3500 and only_elks[0]["status"] == "created"
    by_to = (await client.get("/_emulator/messages", params={"to": "4917612345678"})).json()["data"]
    assert [m["id"] for m in by_to] == [seven["id"]]
    by_account = (await client.get("/_emulator/messages", params={"account": ELKS_ACCOUNT})).json()["data"]
    assert [m["id"] for m in by_account] == [elks["id"]]
    by_from = (await client.get("/_emulator/messages", params={"from": "ElkCo"})).json()["data"]
    assert [m["id"] for m in by_from] == [elks["id"]]
    assert (await client.get("/_emulator/messages", params={"status": "delivered"})).json()["data"] == []


async def test_messages_page_with_cursor(client):
    for n in range(3):
        await send_both(client, f"s{n}")  # seven.io refuses a repeat within 180 s (reload lock)
    first = (await client.get("/_emulator/messages", params={"limit": 4})).json()
    second = (await client.get("/_emulator/messages", params={"limit": 4, "cursor": first["next"]})).json()
    assert len(first["data"]) == 4 and len(second["data"]) == 2 and second["next"] is None
    assert not {m["id"] for m in first["data"]} & {m["id"] for m in second["data"]}


async def test_a_filter_without_an_index_pages_through_a_bounded_scan(client, monkeypatch):
    import emulator.control.inputs as inputs

    monkeypatch.setattr(inputs, "SCAN_BUDGET", 3)
    for url in ["http://hooks.test/rare"] + ["http://hooks.test/e"] * 6:  # the rare one below the others
        await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x", "whendelivered": url}, auth=ELKS_AUTH)
    await client.post("/_emulator/clock/advance", json={"seconds": 5})
    found, cursor, requests = [], "", 0
    while cursor is not None:
        page = (await client.get("/_emulator/webhooks", params={"url": "http://hooks.test/rare", "cursor": cursor})).json()
        found += [d["url"] for d in page["data"]]
        cursor, requests = page["next"], requests + 1
    assert found and set(found) == {"http://hooks.test/rare"} and requests >= 3  # 3 records looked at a request


async def test_a_sandbox_filter_reads_only_the_sandboxs_records(client, monkeypatch):
    import emulator.control.inputs as inputs

    monkeypatch.setattr(inputs, "SCAN_BUDGET", 3)
    sandbox = (await client.post("/_emulator/sandboxes", json={})).json()
    sandboxed = (await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x"},
                                   auth=tuple(sandbox["elks_auth"]))).json()  # below six other messages
    for n in range(6):
        await client.post("/api/sms", json={"to": "+4917612345678", "text": f"s{n}"}, headers=SEVEN_JSON)
    page = (await client.get("/_emulator/messages", params={"sandbox": sandbox["id"]})).json()
    assert [m["id"] for m in page["data"]] == [sandboxed["id"]] and page["next"] is None


@pytest.mark.parametrize("name, value", [("provider", "elks"), ("to", "+46700000404"), ("from", "ElkCo"), ("status", "failed"),
                                         ("account", ELKS_ACCOUNT), ("direction", "inbound")])
async def test_an_indexed_filter_finds_a_rare_match_in_one_page(client, monkeypatch, name, value):
    """Issue 17, item 5: a filter read through an index never answers an empty or short page
    with a `next` (before, it looked at a budget of records and could)."""
    import emulator.control.inputs as inputs

    monkeypatch.setattr(inputs, "SCAN_BUDGET", 3)
    if name == "direction":  # the one inbound message, older than the rest
        rare = (await client.post("/_emulator/inbound/sms", json={"to": "+46766861001", "from": "+46700000009", "text": "in"})).json()
    else:  # the one 46elks message (to a number whose messages fail), older than the rest
        rare = (await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000404", "message": "x"}, auth=ELKS_AUTH)).json()
    for n in range(6):
        await client.post("/api/sms", json={"to": "+4917612345678", "text": f"s{n}"}, headers=SEVEN_JSON)
    await client.post("/_emulator/clock/advance", json={"seconds": 5})  # statuses move on: failed for the rare one
    page = (await client.get("/_emulator/messages", params={name: value, "limit": 5})).json()
    assert [m["id"] for m in page["data"]] == [rare["id"]] and page["next"] is None


async def test_advance_moves_messages_and_records_webhooks(emulator, client):
    elks, _ = await send_both(client)
    response = await client.post("/_emulator/clock/advance", json={"seconds": 1})
    assert response.status_code == 200
    assert response.json()["now"] == "2026-01-01T00:00:01.000000Z" and response.json()["fired"] >= 4
    await emulator.engine.outbox.drain()
    statuses = {m["provider"]: m["status"] for m in (await client.get("/_emulator/messages")).json()["data"]}
    assert statuses == {"elks": "delivered", "seven": "delivered"}
    hooks = (await client.get("/_emulator/webhooks", params={"url": "http://hooks.test/e", "state": "delivered"})).json()["data"]
    assert len(hooks) == 2 and all(h["subject_id"] == elks["id"] for h in hooks)
    assert hooks[0]["attempts"][0]["status"] == 200 and hooks[0]["attempts"][0]["latency_ms"] >= 0


async def test_clock_reports_pending_events(client):
    await send_both(client)
    clock = (await client.get("/_emulator/clock")).json()
    assert clock["clock"] == "virtual" and clock["pending_events"] == 2  # the next step of each message


async def test_reset_returns_to_the_fixtures(emulator, client):
    await send_both(client)
    await client.post("/api/hooks", data={"target_url": "http://x.test/", "event_type": "dlr"}, headers=SEVEN_JSON)
    response = await client.post("/_emulator/reset")
    assert response.status_code == 200
    assert (await client.get("/_emulator/messages")).json()["data"] == []
    assert (await client.get("/a1/me", auth=ELKS_AUTH)).json()["balance"] == 10_000_000
    assert (await client.get("/api/hooks", headers=SEVEN_JSON)).json()["hooks"] == []
    assert (await client.get("/_emulator/clock")).json()["pending_events"] == 0
    again, _ = await send_both(client)
    assert again["id"] == (await client.get("/_emulator/messages", params={"provider": "elks"})).json()["data"][0]["id"]


async def test_same_seed_same_ids(client):
    first, _ = await send_both(client)
    await client.post("/_emulator/reset")
    second, _ = await send_both(client)
    assert first["id"] == second["id"]


@pytest.mark.parametrize("body", [{}, {"seconds": "soon"}, {"seconds": -1}])
async def test_bad_advance(client, body):
    response = await client.post("/_emulator/clock/advance", json=body)
    assert response.status_code == 400 and response.json()["error"]["type"] == "InvalidParameter"


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/_emulator/nothing", 404), ("GET", "/_emulator/reset", 405), ("GET", "/nowhere", 404)])
async def test_unknown_control_paths_answer_json(client, method, path, status):
    response = await client.request(method, path)
    assert response.status_code == status and "error" in response.json()


async def test_bad_limits(client):
    for params in ({"limit": "0"}, {"limit": "x"}, {"cursor": "abc"}, {"cursor": "²"}):  # "²" once answered 500
        assert (await client.get("/_emulator/messages", params=params)).status_code == 400


async def test_root_redirects_to_the_inbox(client):
    response = await client.get("/")
    assert response.status_code == 307 and response.headers["location"] == "/_emulator/ui"


async def test_wrong_method_names_every_allowed_method(client):
    """Regression: a 405 had no `Allow` header."""
    response = await client.put("/_emulator/faults")
    assert response.status_code == 405 and response.json()["error"]["type"] == "MethodNotAllowed"
    assert response.headers["allow"] == "DELETE, GET, HEAD, POST"


async def test_indexed_filters_after_a_snapshot_restore_a_sandbox_reset_and_a_global_reset(client):
    """The field indexes are rebuilt with the store (restore, reset) and lose what a sandbox
    discards, so filtered lists answer the same as before."""
    sandbox = (await client.post("/_emulator/sandboxes", json={})).json()
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000404", "message": "x"}, auth=ELKS_AUTH)
    await client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000404", "message": "y"}, auth=tuple(sandbox["elks_auth"]))
    await client.post("/_emulator/clock/advance", json={"seconds": 5})

    async def failed_texts():
        page = (await client.get("/_emulator/messages", params={"status": "failed", "to": "+46700000404"})).json()
        assert page["next"] is None
        return sorted(m["text"] for m in page["data"])

    assert await failed_texts() == ["x", "y"]
    document = (await client.get("/_emulator/snapshot")).json()
    await client.post("/_emulator/reset")
    assert await failed_texts() == []
    assert (await client.put("/_emulator/snapshot", json=document)).status_code == 200
    assert await failed_texts() == ["x", "y"]
    restored = (await client.get("/_emulator/sandboxes")).json()
    sandbox_id = (restored["data"] if isinstance(restored, dict) else restored)[0]["id"]
    assert (await client.post(f"/_emulator/sandboxes/{sandbox_id}/reset")).status_code == 200
    assert await failed_texts() == ["x"]

"""The built-in webhook receiver: `/_emulator/sink/{anything}` answers 200 and records what
arrived; `GET /_emulator/sink` lists it; a reset clears it."""

from __future__ import annotations

from support import ELKS_AUTH


async def arrivals(client, **filters):
    response = await client.get("/_emulator/sink", params=filters)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_sink_answers_any_method_and_records_what_arrived(client):
    posted = await client.post("/_emulator/sink/sms/delivered?x=1", data={"id": "s1", "status": "delivered"},
                               headers={"X-Trace": "abc", "X-Telco-Emulator-Hop": "1"})
    assert posted.status_code == 200 and posted.text == "OK"
    put = await client.put("/_emulator/sink/deep/path/here", content=b"\x00raw")
    assert put.status_code == 200
    got = await client.get("/_emulator/sink/ping")
    assert got.status_code == 200
    page = await arrivals(client)
    assert [a["method"] for a in page["data"]] == ["GET", "PUT", "POST"]
    first = page["data"][2]
    assert first["path"] == "/sms/delivered" and first["query"] == "x=1"
    assert first["headers"]["x-trace"] == "abc" and first["headers"]["x-telco-emulator-hop"] == "1"
    assert first["body"] == "id=s1&status=delivered" and first["params"] == {"x": "1", "id": "s1", "status": "delivered"}
    assert page["data"][1]["path"] == "/deep/path/here" and page["data"][1]["body_size"] == 4
    assert [a["path"] for a in (await arrivals(client, method="post"))["data"]] == ["/sms/delivered"]
    assert [a["path"] for a in (await arrivals(client, path="/deep"))["data"]] == ["/deep/path/here"]
    assert (await client.post("/_emulator/reset")).status_code == 200
    assert (await arrivals(client))["data"] == []


async def test_the_sink_bounds_what_it_keeps_and_pages(client, engine):
    from emulator.control.sink import sink_of

    record = sink_of(engine)
    record.max_entries = 3
    for index in range(5):
        await client.post(f"/_emulator/sink/n{index}", content=b"y" * 100_000)
    assert len(record) == 3
    first = await arrivals(client, limit=2)
    second = await arrivals(client, limit=2, cursor=first["next"])
    assert [a["path"] for a in first["data"] + second["data"]] == ["/n4", "/n3", "/n2"] and second["next"] is None
    newest = first["data"][0]
    assert newest["truncated"] is True and newest["body_size"] == 100_000 and len(newest["body"]) == record.max_body
    assert (await client.delete("/_emulator/sink")).json() == {"cleared": 3}
    assert (await arrivals(client))["data"] == []


async def test_an_arrival_is_an_event_to_wait_for(client):
    await client.post("/_emulator/sink/hooks/dlr", json={"msg_id": "77"})
    found = await client.get("/_emulator/wait", params={"kind": "sink.received", "path": "/hooks/dlr", "timeout": "1"})
    assert found.status_code == 200 and found.json()["event"]["data"]["method"] == "POST"


async def test_the_outbox_sends_to_its_own_sink_but_not_to_the_rest_of_the_control_api(emulator, client):
    engine = emulator.engine
    engine.outbox.listening_on("127.0.0.1", 8046)
    assert engine.outbox._is_own_control_api("http://127.0.0.1:8046/_emulator/reset")
    assert not engine.outbox._is_own_control_api("http://127.0.0.1:8046/_emulator/sink/dlr")
    assert engine.outbox._is_own_control_api("http://127.0.0.1:8046/_emulator/sink/../reset")

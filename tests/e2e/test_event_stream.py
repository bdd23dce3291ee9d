"""`GET /_emulator/events` with `Accept: text/event-stream`: a live Server-Sent Events stream from
the real process, replaying what happened after the cursor and then what happens next (without
a cursor, only what happens next)."""

import json

import httpx


def read_events(lines, wanted: int) -> list[dict]:
    events, current = [], {}
    for line in lines:
        if line.startswith("event: "):
            current["event"] = line[len("event: "):]
        elif line.startswith("id: "):
            current["id"] = int(line[len("id: "):])
        elif line.startswith("data: "):
            current["data"] = json.loads(line[len("data: "):])
        elif line == "" and current:
            events.append(current)
            current = {}
            if len(events) == wanted:
                return events
    return events


def test_stream_replays_then_follows(emulator_process):
    base = emulator_process.url
    auth = ("test_user", "test_password")
    first = httpx.post(base + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "before"}, auth=auth).json()
    with httpx.stream("GET", base + "/_emulator/events?after=0", headers={"Accept": "text/event-stream"}, timeout=15) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        replayed = read_events(lines, 1)
        assert replayed[0]["event"] == "message.created" and replayed[0]["data"]["data"]["id"] == first["id"]
        second = httpx.post(base + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000124", "message": "after"}, auth=auth).json()
        later = read_events(lines, 4)  # the first message's sent/delivered may interleave
        created = [e for e in later if e["event"] == "message.created"]
        assert created and created[0]["data"]["data"]["id"] == second["id"]
        assert all(b["id"] > a["id"] for a, b in zip(later, later[1:]))


def test_stream_without_a_cursor_starts_from_now(emulator_process):
    base = emulator_process.url
    auth = ("test_user", "test_password")
    httpx.post(base + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "before"}, auth=auth).raise_for_status()
    with httpx.stream("GET", base + "/_emulator/events?kind=message.created", headers={"Accept": "text/event-stream"}, timeout=15) as response:
        lines = response.iter_lines()
        assert next(lines) == ": telco-emulator events"
        second = httpx.post(base + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000124", "message": "after"}, auth=auth).json()
        (first_seen,) = read_events(lines, 1)
        assert first_seen["event"] == "message.created" and first_seen["data"]["data"]["id"] == second["id"]

"""Waiting and streaming cost nothing per stored event (issue 12, item 1), and the emulator is back
to full speed after a storm of them (item 11), on the real process.

Reproductions: with ~160,000 events one `GET /_emulator/wait` (the pytest plugin's `after=0`)
took 0.5-0.6 s, 20 in parallel made health take 13 s, 10 streams without a cursor made it take
33 s; waits whose clients had left kept running until their timeout (up to 5 minutes), each
woken by every new event, so sends stayed several times slower even after a reset.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from processes import RunningEmulator, start_emulator, stop

SEVEN_KEY = "storm_api_key"
FIXTURE = f"""extends: default
seven:
  accounts:
    - {{id: "9000077", api_key: {SEVEN_KEY}, balance: 1000000000000000}}
"""
SEVEN = {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"}
EVENTS = 200_000


@pytest.fixture
def storm_emulator(tmp_path: Path) -> Iterator[RunningEmulator]:
    fixtures = tmp_path / "storm.yaml"
    fixtures.write_text(FIXTURE)
    running = start_emulator("--clock", "virtual", "--fixtures", str(fixtures))
    yield running
    stop(running.process)


def fill(client: httpx.Client, events: int) -> None:
    """events/3 messages, 1,000 recipients a request; a clock advance sends and delivers them."""
    messages = events // 3
    for first in range(0, messages, 1000):
        numbers = [f"+49176{10_000_000 + first + i}" for i in range(min(1000, messages - first))]
        client.post("/api/sms", json={"to": numbers, "text": "fill"}, headers=SEVEN).raise_for_status()
    client.post("/_emulator/clock/advance", json={"seconds": 3600}).raise_for_status()


def timed(call) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = call()
    return time.perf_counter() - started, response


def hold(url: str, paths: list[str], accept: str | None = None) -> list[socket.socket]:
    """Open a connection per path and send its GET; never read the answer."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sockets = []
    for path in paths:
        sock = socket.create_connection((host, int(port)), timeout=10)
        head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n" + (f"Accept: {accept}\r\n" if accept else "") + "\r\n"
        sock.sendall(head.encode())
        sockets.append(sock)
    return sockets


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_send(running: RunningEmulator, client: httpx.Client, count: int = 1000) -> float:
    """The emulator's CPU seconds per send, over `count` sends one after another (CPU time, not
    wall time: steady on a busy machine)."""
    before = cpu_seconds(running.process.pid)
    for _ in range(count):
        # the same SMS again and again: no_reload=1 lifts seven.io's 180 s reload lock
        client.post("/api/sms", json={"to": "+4917612345678", "text": "hi", "no_reload": 1}, headers=SEVEN).raise_for_status()
    return (cpu_seconds(running.process.pid) - before) / count


def test_waits_and_streams_cost_nothing_per_stored_event(storm_emulator):
    with httpx.Client(base_url=storm_emulator.url, timeout=60) as client:
        fill(client, EVENTS)
        page = client.get("/_emulator/events", params={"limit": 1}).json()
        first, last = page["data"][0]["seq"], page["last_seq"]
        first_id = page["data"][0]["data"]["id"]
        assert last - first > 190_000
        middle = client.get("/_emulator/events", params={"after": (first + last) // 2, "kind": "message.status", "limit": 1}).json()["data"][0]

        # the first wait that names a field builds its index: one pass over the log, once
        seconds, first_wait = timed(lambda: client.get("/_emulator/wait", params={"id": first_id, "after": 0, "timeout": 5}))
        assert first_wait.status_code == 200 and first_wait.json()["event"]["data"]["id"] == first_id
        assert seconds < 2.0, f"the first wait by id (building its index over 200,000 events) took {seconds:.3f} s"
        seconds, first_wait = timed(lambda: client.get("/_emulator/wait", params={"to": "+4917600000000", "after": 0, "timeout": 0}))
        assert first_wait.status_code == 408 and seconds < 2.0, f"the first wait by to took {seconds:.3f} s"
        # a wait for an event already in the log, as the pytest plugin waits (after=0)
        seconds, found = timed(lambda: client.get("/_emulator/wait", params={"id": middle["data"]["id"], "status": middle["data"]["status"], "after": 0, "timeout": 5}))
        assert found.status_code == 200 and found.json()["event"]["seq"] == middle["seq"]
        assert seconds < 0.25, f"a wait for a present event took {seconds:.3f} s"
        # a wait that matches nothing in 200,000 events: the old code's full scan
        seconds, none = timed(lambda: client.get("/_emulator/wait", params={"kind": "message.*", "to": "+4917699999999", "after": 0, "timeout": 0}))
        assert none.status_code == 408
        assert seconds < 0.25, f"a wait that matches nothing took {seconds:.3f} s"
        # a wait for a new event answers as soon as it happens
        answer: dict = {}
        waiting = threading.Thread(target=lambda: answer.update(response=client.get(
            "/_emulator/wait", params={"kind": "message.created", "to": "+4917688888888", "after": 0, "timeout": 30})))
        waiting.start()
        time.sleep(0.2)
        sent_at = time.perf_counter()
        sms = client.post("/api/sms", json={"to": "+4917688888888", "text": "new"}, headers=SEVEN).json()
        waiting.join(30)
        assert answer["response"].status_code == 200
        assert answer["response"].json()["event"]["data"]["id"] == str(sms["messages"][0]["id"])
        assert time.perf_counter() - sent_at < 0.5

        # 200 waits from the start of the log and 20 streams (10 without a cursor, 10 replaying
        # from 0): health stays responsive while they are open
        waits = hold(storm_emulator.url, [f"/_emulator/wait?id=storm-{i}&after=0&timeout=300" for i in range(200)])
        streams = hold(storm_emulator.url, ["/_emulator/events"] * 10 + ["/_emulator/events?after=0"] * 10, "text/event-stream")
        try:
            slowest = 0.0
            for _ in range(10):
                seconds, health = timed(lambda: client.get("/_emulator/health", timeout=30))
                assert health.status_code == 200
                slowest = max(slowest, seconds)
                time.sleep(0.05)
            assert slowest < 1.0, f"health took {slowest:.3f} s with 200 waits and 20 streams open"
            seconds, present = timed(lambda: client.get("/_emulator/wait", params={"id": middle["data"]["id"], "after": 0, "timeout": 5}))
            assert present.status_code == 200 and seconds < 1.0
        finally:
            for sock in waits + streams:
                sock.close()


def test_back_to_full_speed_after_a_storm_of_waits_and_streams(storm_emulator):
    with httpx.Client(base_url=storm_emulator.url, timeout=60) as client:
        cpu_per_send(storm_emulator, client, 200)  # warm up
        fresh = cpu_per_send(storm_emulator, client)
        # clients that wait up to 5 minutes, or follow the stream, then leave
        sockets = hold(storm_emulator.url, [f"/_emulator/wait?id=storm-{i}&timeout=300" for i in range(300)])
        sockets += hold(storm_emulator.url, ["/_emulator/events"] * 50, "text/event-stream")
        assert client.get("/_emulator/health").status_code == 200
        client.post("/api/sms", json={"to": "+4917612345678", "text": "during"}, headers=SEVEN).raise_for_status()
        for sock in sockets:
            sock.close()
        time.sleep(0.5)
        client.post("/_emulator/reset").raise_for_status()
        after = cpu_per_send(storm_emulator, client)
    assert after < 2 * fresh + 0.0001, f"after the storm and a reset: {after * 1e6:.0f} us of CPU per send, fresh {fresh * 1e6:.0f} us"

"""Several real emulator processes sharing one world in a real Redis server (`--store`).

- Three processes take sends spread over them; one is killed with SIGKILL while webhook attempts
  are in flight. The other two take over what it had claimed once its leases lapse: every report
  reaches the receiver and is accepted exactly once, balances are exact, the lists are complete,
  and the two survivors' copies of the world are the same, snapshot for snapshot.
- The control API works from any process: a wait on one sees what another's clock move did, the
  move fires everything once, a reset anywhere resets the world, a sandbox made on one process
  logs in on another.
- With Redis' AOF on, killing every emulator process and Redis itself at once loses nothing.
"""

from __future__ import annotations

import select
import signal
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qsl

import httpx
import orjson
import pytest

from processes import RunningEmulator, start_emulator, stop
from redis_support import start_redis, stop_redis

ELKS_AUTH = ("test_user", "test_password")
SEVEN = {"X-Api-Key": "test_api_key", "Accept": "application/json"}
HOLD_S = 0.3  # the receiver holds each report this long before it answers


class HoldingReceiver:
    """Answers 200 after holding each request `HOLD_S` seconds, and counts a report as accepted
    only when the emulator was still there to hear the answer (a killed process's connection is
    closed by then: that attempt never succeeded, and another process makes it again)."""

    def __init__(self) -> None:
        self.accepted: Counter = Counter()  # (path, message id, status) -> answers heard
        self.arrived = 0
        self.changed = threading.Condition()
        # Cleared, no answer goes out: a process killed meanwhile can never have heard a 2xx that
        # it had no time to record (the one window in which an attempt would be made again).
        self.answering = threading.Event()
        self.answering.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.changed:
                    receiver.arrived += 1
                    receiver.changed.notify_all()
                readable, _, _ = select.select([self.connection], [], [], HOLD_S)
                receiver.answering.wait(30)
                if not readable:
                    readable, _, _ = select.select([self.connection], [], [], 0)
                if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    self.close_connection = True  # the emulator went away while we held the answer
                    return
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.changed:
                    receiver.accepted[report_key(self.path, body)] += 1
                    receiver.changed.notify_all()

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, condition, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def report_key(path: str, body: bytes) -> tuple[str, str, str]:
    if path.startswith("/elks"):
        fields = dict(parse_qsl(body.decode()))
        return path, fields["id"], fields["status"]
    data = orjson.loads(body)["data"]
    return path, str(data["msg_id"]), data["status"]


@pytest.fixture
def receiver() -> Iterator[HoldingReceiver]:
    holding = HoldingReceiver()
    yield holding
    holding.close()


def start_world(store: str, count: int, *args: str) -> list[RunningEmulator]:
    return [start_emulator("--store", store, *args) for _ in range(count)]


def stop_all(processes: list[RunningEmulator]) -> None:
    for running in processes:
        if running.process.poll() is None:
            stop(running.process)


def elks_balance(url: str) -> int:
    return httpx.get(url + "/a1/me", auth=ELKS_AUTH).json()["balance"]


def seven_balance(url: str) -> int:
    return round(httpx.get(url + "/api/balance", headers=SEVEN).json()["amount"] * 10_000)


def all_pages(url: str, path: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = httpx.get(url + path, params={**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        items += page["data"]
        cursor = page["next"]
        if cursor is None:
            return items


def send(url: str, hook: str, n: int) -> tuple[str, str, int]:
    """One send, alternating providers: (provider, message id, cost)."""
    if n % 2 == 0:
        answer = httpx.post(url + "/a1/SMS", auth=ELKS_AUTH, data={
            "from": "ElkCo", "to": "+46700000123", "message": f"shared {n}", "whendelivered": hook + "/elks"})
        assert answer.status_code == 200, answer.text
        return "elks", answer.json()["id"], answer.json()["cost"]
    answer = httpx.post(url + "/api/sms", headers=SEVEN, json={"to": "+4917612345678", "text": f"shared {n}"})
    assert answer.status_code == 200 and answer.json()["success"] == "100", answer.text
    body = answer.json()
    return "seven", str(body["messages"][0]["id"]), round(body["total_price"] * 10_000)


def test_three_processes_serve_one_world_and_survive_a_sigkill(redis_url, receiver):
    world = start_world(redis_url, 3, "--time-scale", "600")
    urls = [running.url for running in world]
    try:
        hook = httpx.post(urls[0] + "/api/hooks", headers=SEVEN, data={"target_url": receiver.url + "/seven", "event_type": "dlr", "request_method": "JSON"})
        assert hook.json()["success"] is True, hook.text
        elks_before, seven_before = elks_balance(urls[1]), seven_balance(urls[2])
        with ThreadPoolExecutor(12) as pool:
            sent = list(pool.map(lambda n: send(urls[n % 3], receiver.url, n), range(60)))
        assert len({message_id for _, message_id, _ in sent}) == 60, "ids are unique across processes"

        # Each message gets two reports (sent/delivered; TRANSMITTED/DELIVERED), held 0.3 s each:
        # kill one process while its attempts are in flight.
        assert receiver.wait(lambda: receiver.arrived >= 20, 30), "no reports arrived"
        receiver.answering.clear()
        time.sleep(0.5)  # every answer already given is recorded by now
        world[1].process.send_signal(signal.SIGKILL)
        world[1].process.wait(10)
        receiver.answering.set()
        survivors = [urls[0], urls[2]]
        with ThreadPoolExecutor(4) as pool:  # the world goes on taking sends
            sent += list(pool.map(lambda n: send(survivors[n % 2], receiver.url, n), range(60, 70)))

        expected = set()
        for provider, message_id, _ in sent:
            if provider == "elks":
                expected |= {("/elks", message_id, "sent"), ("/elks", message_id, "delivered")}
            else:
                expected |= {("/seven", message_id, "TRANSMITTED"), ("/seven", message_id, "DELIVERED")}
        # The killed process's claims lapse after the attempt timeout (10 s) and a 5 s margin.
        assert receiver.wait(lambda: expected <= set(receiver.accepted), 60), (
            f"{len(expected - set(receiver.accepted))} reports never accepted")
        with receiver.changed:
            accepted = dict(receiver.accepted)
        assert set(accepted) == expected
        assert [key for key, count in accepted.items() if count != 1] == [], "a report was accepted twice"

        for url in survivors:
            assert elks_balance(url) == elks_before - sum(cost for provider, _, cost in sent if provider == "elks")
            assert seven_balance(url) == seven_before - sum(cost for provider, _, cost in sent if provider == "seven")
            stored = all_pages(url, "/_emulator/messages", direction="outbound")
            assert Counter(m["id"] for m in stored) == Counter(message_id for _, message_id, _ in sent)
        deadline = time.monotonic() + 30
        while True:  # every delivery settles in every copy once the results are in the log
            deliveries = [all_pages(url, "/_emulator/webhooks") for url in survivors]
            if all(len(d) == len(expected) and all(x["state"] == "delivered" for x in d) for d in deliveries):
                break
            assert time.monotonic() < deadline, [Counter(x["state"] for x in d) for d in deliveries]
            time.sleep(0.2)
        first, second = (httpx.get(url + "/_emulator/snapshot").json() for url in survivors)
        assert first == second, "the survivors' copies of the world differ"
    finally:
        stop_all(world)


def test_the_control_api_works_from_any_process(redis_url):
    world = start_world(redis_url, 2, "--clock", "virtual", "--clock-start", "2026-01-01T00:00:00Z")
    a, b = (running.url for running in world)
    try:
        message_id = send(a, "http://127.0.0.1:9", 1)[1]  # seven.io, no hook
        after = httpx.get(b + "/_emulator/events", params={"limit": 1}).json()["last_seq"]
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(httpx.get, b + "/_emulator/wait", params={
                "kind": "message.status", "status": "delivered", "after": after, "timeout": 20}, timeout=30)
            moved = httpx.post(a + "/_emulator/clock/advance", json={"seconds": 60}, timeout=30)
            assert moved.status_code == 200 and moved.json()["fired"] >= 2, moved.text
            seen = waiting.result()
        assert seen.status_code == 200 and seen.json()["event"]["data"]["id"] == message_id, seen.text
        again = httpx.post(b + "/_emulator/clock/advance", json={"seconds": 0}).json()
        assert again["fired"] == 0 and again["now"] == moved.json()["now"], "a due event fired twice"
        events = [httpx.get(url + "/_emulator/events", params={"limit": 1000}).json() for url in (a, b)]
        assert events[0] == events[1], "the processes tell different histories"

        sandbox = httpx.post(a + "/_emulator/sandboxes", json={"name": "team"}).json()
        login = httpx.get(b + "/api/balance", headers={"X-Api-Key": sandbox["seven_api_key"], "Accept": "application/json"})
        assert login.status_code == 200, login.text

        assert httpx.post(b + "/_emulator/reset").status_code == 200
        assert all_pages(a, "/_emulator/messages") == []
        assert httpx.get(a + f"/_emulator/sandboxes/{sandbox['id']}").status_code == 404
    finally:
        stop_all(world)


def test_killing_every_process_and_redis_loses_nothing_with_aof(tmp_path):
    redis = start_redis(tmp_path, appendonly=True)
    store = redis.url(0)
    world = start_world(store, 2)
    try:
        sent = [send(world[n % 2].url, "http://127.0.0.1:9", n) for n in range(10)]
        balances = elks_balance(world[0].url), seven_balance(world[1].url)
        for running in world:
            running.process.send_signal(signal.SIGKILL)
        redis.process.send_signal(signal.SIGKILL)
        for running in world:
            running.process.wait(10)
        redis.process.wait(10)

        redis = start_redis(tmp_path, appendonly=True, port=redis.port)
        world = start_world(store, 1)
        url = world[0].url
        assert (elks_balance(url), seven_balance(url)) == balances
        stored = all_pages(url, "/_emulator/messages", direction="outbound")
        assert sorted(m["id"] for m in stored) == sorted(message_id for _, message_id, _ in sent)
        assert send(url, "http://127.0.0.1:9", 10)[0] == "elks", "the world goes on"
    finally:
        stop_all(world)
        stop_redis(redis)


def test_each_process_guards_its_own_control_api(redis_url):
    """A process's exposure settings (its control token) judge the requests that come to it; once
    a request is in the log every copy applies it, whatever its own token."""
    guarded = start_emulator("--store", redis_url, "--control-token", "team-secret")
    open_one = start_emulator("--store", redis_url)
    try:
        send(open_one.url, "http://127.0.0.1:9", 1)
        refused = httpx.post(guarded.url + "/_emulator/reset")
        assert refused.status_code == 401
        assert len(all_pages(open_one.url, "/_emulator/messages")) == 1, "a refused reset reached the log"
        assert httpx.post(open_one.url + "/_emulator/reset").status_code == 200
        token = {"Authorization": "Bearer team-secret"}
        assert httpx.get(guarded.url + "/_emulator/messages", headers=token).json()["data"] == []
    finally:
        stop_all([guarded, open_one])

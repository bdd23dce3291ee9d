"""Soak: the real process under concurrent sends on both providers, with a webhook receiver that
misbehaves, and exact bookkeeping afterwards.

The emulator runs with `--time-scale 600`, so delivery reports come within milliseconds and
retries within a second (46elks retries after 300 s, seven.io after 60 s and 300 s, simulated).
Twenty clients, each with its own httpx client and thread, send 15 SMS each, alternating 46elks
(with `whendelivered`) and seven.io (to two `dlr` hooks, one JSON and one form), to recipients
whose fate is fixed by the default fixtures (delivered, failed, expired, buffered). The receiver
decides each answer from a seeded hash of (path, message, status, attempt): 200, 500, closing
the connection without an answer, or hanging until the emulator gives up (message ids depend on
the order in which concurrent sends arrive, so which report meets which answer varies from run
to run; every check holds for any order). The webhook timeouts
(46elks 10 s, seven.io 5 s) are real seconds, not scaled: a hang lasts exactly as long as the
emulator waits, at most once per report, and from the third attempt on every report is accepted.
That bounds the test: about 20 s on 2 CPUs, mostly the outbox working through some 1500 attempts
(it manages a few hundred a second, see tests/bench/bench_webhooks.py) plus one 10 s hang.

The soak runs against both stores: one process with the world in memory, and three processes
sharing one world in a real Redis server, with the clients' sends and the checks spread over them.

Afterwards, exactly: each balance went down by the sum of the costs the API answered; every
message sent is stored once (none lost, none duplicated, nothing else stored) with the cost it
was answered with and its expected final status; every report (intermediate and final) reached
the receiver and was accepted exactly once; and the emulator recorded every delivery as
delivered, having retried after each kind of failure.
"""

from __future__ import annotations

import json
import random
import select
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qsl

import httpx
import pytest

from processes import start_emulator, stop

SEED = 4620
CLIENTS = 20
SENDS_PER_CLIENT = 15
TIME_SCALE = "600"
DEADLINE_S = 45.0  # for every report to arrive, after the last send
TIMEOUTS = {"elks": 10.0, "seven": 5.0}  # the providers' webhook timeouts (RetryPolicy), real seconds
ELKS_AUTH = ("test_user", "test_password")
SEVEN = {"X-Api-Key": "test_api_key", "Accept": "application/json"}

# recipient -> neutral final status, from fixtures/default.yaml's outcome rules
ELKS_RECIPIENTS = {"+46700000123": "delivered", "+46700000404": "failed", "+46700000410": "expired",
                   "+46700000402": "delivered", "+46701234567": "delivered"}
SEVEN_RECIPIENTS = {"+4917612345678": "delivered", "+4915700000404": "failed", "+4915700000410": "expired",
                    "+4915123456789": "delivered"}
ELKS_NAMES = {"delivered": "delivered", "failed": "failed", "expired": "failed"}
SEVEN_NAMES = {"delivered": "DELIVERED", "failed": "NOTDELIVERED", "expired": "EXPIRED"}
SEVEN_HOOKS = {"/seven/json": "JSON", "/seven/form": "POST"}


# -- the misbehaving receiver -----------------------------------------------------------------
@dataclass
class Receiver:
    """Answers each report by a seeded hash of (path, message id, status, attempt number)."""

    url: str = ""
    attempts: Counter = field(default_factory=Counter)  # (path, id, status) -> requests seen
    accepted: Counter = field(default_factory=Counter)  # (path, id, status) -> 200 answers
    behaviours: Counter = field(default_factory=Counter)
    hung: set = field(default_factory=set)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @staticmethod
    def report_key(path: str, body: bytes) -> tuple[str, str, str]:
        if path.startswith("/elks"):
            fields = dict(parse_qsl(body.decode()))
            return path, fields["id"], fields["status"]
        if path == "/seven/json":
            data = json.loads(body)["data"]
        else:
            fields = dict(parse_qsl(body.decode()))
            data = {"msg_id": fields["data[msg_id]"], "status": fields["data[status]"]}
        return path, str(data["msg_id"]), data["status"]

    def decide(self, key: tuple[str, str, str]) -> str:
        with self.changed:
            self.attempts[key] += 1
            attempt = self.attempts[key]
            if attempt >= 3:
                behaviour = "ok"
            else:
                roll = random.Random(f"{SEED}:{':'.join(key)}:{attempt}").random()
                if roll < 0.04 and key not in self.hung:
                    self.hung.add(key)
                    behaviour = "hang"
                else:
                    behaviour = "ok" if roll < 0.70 else "error" if roll < 0.85 else "close"
            self.behaviours[behaviour] += 1
            return behaviour

    def wait_until_accepted(self, keys: set, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: keys <= set(self.accepted), timeout)
            missing = keys - set(self.accepted)
        assert not missing, f"{len(missing)} of {len(keys)} reports never accepted, e.g. {sorted(missing)[:5]}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so closing a connection mid-exchange is a real case

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = state.report_key(self.path, body)
            behaviour = state.decide(key)
            if behaviour == "hang":  # until the emulator gives up and closes (bounded, in case it does not)
                provider = "elks" if self.path.startswith("/elks") else "seven"
                readable, _, _ = select.select([self.connection], [], [], TIMEOUTS[provider] + 5)
                gave_up = bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
                with state.changed:
                    state.behaviours["hang ended by the emulator" if gave_up else "hang not timed out"] += 1
            if behaviour in ("hang", "close"):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # the emulator closed first
                return
            status = 200 if behaviour == "ok" else 500
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if status == 200:
                with state.changed:
                    state.accepted[key] += 1
                    state.changed.notify_all()

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the emulator opens up to 100 connections at once

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# -- the clients ------------------------------------------------------------------------------
@dataclass
class Sent:
    provider: str
    ids: list[str]
    finals: list[str]  # neutral final status of each message
    cost: int  # in 1/10000 of the currency, as the API answered


def text_for(client: int, number: int) -> str:
    if number % 7 == 3:
        return f"Soak {client}-{number} " + "long text " * 20  # two GSM-7 parts
    if number % 11 == 5:
        return f"Soak {client}-{number} \u00e5\u00e4\u00f6 \U0001f600"  # UCS-2
    return f"Soak {client}-{number}"


def send_all(base: str, hook_url: str, client: int) -> list[Sent]:
    rng = random.Random(f"{SEED}:client:{client}")
    sent = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for number in range(SENDS_PER_CLIENT):
            text = text_for(client, number)
            if number % 2 == 0:
                to = rng.choice(sorted(ELKS_RECIPIENTS))
                answer = http.post("/a1/SMS", auth=ELKS_AUTH,
                                   data={"from": "ElkCo", "to": to, "message": text, "whendelivered": f"{hook_url}/elks"})
                assert answer.status_code == 200, answer.text
                body = answer.json()
                sent.append(Sent("elks", [body["id"]], [ELKS_RECIPIENTS[to]], body["cost"]))
            else:
                recipients = rng.sample(sorted(SEVEN_RECIPIENTS), 2 if number % 5 == 1 else 1)
                answer = http.post("/api/sms", headers=SEVEN, json={"to": ",".join(recipients), "text": text})
                assert answer.status_code == 200, answer.text
                body = answer.json()
                assert body["success"] == "100", body
                assert [m["recipient"] for m in body["messages"]] == [r.lstrip("+") for r in recipients]
                sent.append(Sent("seven", [str(m["id"]) for m in body["messages"]], [SEVEN_RECIPIENTS[r] for r in recipients],
                                 round(body["total_price"] * 10_000)))
    return sent


def elks_balance(http: httpx.Client) -> int:
    return http.get("/a1/me", auth=ELKS_AUTH).json()["balance"]


def seven_balance(http: httpx.Client) -> int:
    return round(http.get("/api/balance", headers=SEVEN).json()["amount"] * 10_000)


def all_pages(http: httpx.Client, path: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = http.get(path, params={**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        items += page["data"]
        cursor = page["next"]
        if cursor is None:
            return items


def wait_for_outbox(http: httpx.Client, expected: int, deadline: float) -> list[dict]:
    """Every delivery recorded as delivered; paced by /_emulator/wait on new attempts, no sleeps."""
    while True:
        after = http.get("/_emulator/events", params={"after": 0, "limit": 1}).json()["last_seq"]
        deliveries = all_pages(http, "/_emulator/webhooks")
        if len(deliveries) >= expected and all(d["state"] != "pending" for d in deliveries):
            return deliveries
        left = deadline - time.monotonic()
        assert left > 0, f"{sum(d['state'] == 'pending' for d in deliveries)} deliveries still pending of {len(deliveries)}"
        http.get("/_emulator/wait", params={"kind": "webhook.attempt", "after": after, "timeout": min(5, left)}, timeout=min(5, left) + 5)


# -- the test ---------------------------------------------------------------------------------
@pytest.fixture(params=["memory", "redis"])
def emulator_urls(request) -> Iterator[list[str]]:
    """The URLs of the processes serving the world: one in memory, or three sharing Redis."""
    args = ("--time-scale", TIME_SCALE, "--seed", str(SEED))
    if request.param == "redis":
        store = request.getfixturevalue("redis_url")
        running = [start_emulator(*args, "--store", store) for _ in range(3)]
    else:
        running = [start_emulator(*args)]
    try:
        yield [process.url for process in running]
    finally:
        for process in running:
            stop(process.process)


def test_concurrent_sends_with_a_misbehaving_receiver(receiver, emulator_urls):
    urls = emulator_urls
    with httpx.Client(base_url=urls[0], timeout=30) as http, httpx.Client(base_url=urls[-1], timeout=30) as other:
        for path, method in SEVEN_HOOKS.items():
            hook = http.post("/api/hooks", headers=SEVEN, data={"target_url": receiver.url + path, "event_type": "dlr", "request_method": method})
            assert hook.json()["success"] is True, hook.text
        elks_before, seven_before = elks_balance(http), seven_balance(http)

        with ThreadPoolExecutor(CLIENTS) as pool:
            sent = [item for batch in pool.map(lambda client: send_all(urls[client % len(urls)], receiver.url, client), range(CLIENTS)) for item in batch]
        sends_done = time.monotonic()

        # Money: exactly what the API said each send cost, whichever process is asked.
        assert elks_balance(http) == elks_balance(other) == elks_before - sum(s.cost for s in sent if s.provider == "elks")
        assert seven_balance(http) == seven_balance(other) == seven_before - sum(s.cost for s in sent if s.provider == "seven")

        # Every report, intermediate and final, accepted by the receiver exactly once.
        finals = {mid: final for s in sent for mid, final in zip(s.ids, s.finals)}
        provider_of = {mid: s.provider for s in sent for mid in s.ids}
        expected_reports = set()
        for mid, final in finals.items():
            if provider_of[mid] == "elks":
                expected_reports |= {("/elks", mid, "sent"), ("/elks", mid, ELKS_NAMES[final])}
            else:
                expected_reports |= {(path, mid, status) for path in SEVEN_HOOKS for status in ("TRANSMITTED", SEVEN_NAMES[final])}
        receiver.wait_until_accepted(expected_reports, DEADLINE_S - (time.monotonic() - sends_done))
        deliveries = wait_for_outbox(http, len(expected_reports), sends_done + DEADLINE_S)
        with receiver.changed:
            accepted = dict(receiver.accepted)
            behaviours = dict(receiver.behaviours)
        assert set(accepted) == expected_reports, "reports for messages nobody sent"
        assert [key for key, count in accepted.items() if count != 1] == []

        # Messages: each stored once, with its cost, at its expected final status; nothing else.
        stored = all_pages(other, "/_emulator/messages", direction="outbound")
        assert len(sent) == CLIENTS * SENDS_PER_CLIENT
        assert Counter(m["id"] for m in stored) == Counter(finals.keys()), "messages lost, duplicated or invented"
        assert {m["id"]: m["status"] for m in stored} == finals
        costs = Counter()
        for message in stored:
            costs[message["provider"]] += message["cost"]
        assert costs == Counter({p: sum(s.cost for s in sent if s.provider == p) for p in ("elks", "seven")})

        # The emulator's view: one delivery per report, all delivered, after retrying each failure kind.
        assert len(deliveries) == len(expected_reports)
        assert Counter(d["state"] for d in deliveries) == {"delivered": len(expected_reports)}
        attempts = [a for d in deliveries for a in d["attempts"]]
        assert sum(a["status"] == 500 for a in attempts) >= 1
        assert any(a["status"] is None and "Timeout" in (a["error"] or "") for a in attempts), "no hang was timed out"
        assert any(a["status"] is None and "Timeout" not in (a["error"] or "") for a in attempts), "no closed connection"
        assert all(d["attempts"][-1]["status"] == 200 for d in deliveries)
        assert behaviours.get("hang", 0) >= 1 and behaviours.get("close", 0) >= 1 and behaviours.get("error", 0) >= 1
        assert behaviours.get("hang ended by the emulator", 0) == behaviours["hang"], behaviours

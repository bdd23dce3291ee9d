"""`telco-emulator --workers N`: N processes on one port sharing one world in a real Redis.

Each answer names the worker that gave it (`X-Telco-Emulator-Worker`, its process id), so the
tests can tell that the load was spread and which process to kill. Clients open a fresh
connection every few requests: the kernel hands each new connection to one worker, so a
long-lived connection would stay with one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qsl

import httpx
import pytest

from processes import launch_emulator, ready_line, url_of
from processes import stop as stop_process
from redis_support import start_redis, stop_redis

READY_TIMEOUT = 90.0  # three fresh interpreters each catching up with the log, on a busy machine
ELKS_AUTH = ("test_user", "test_password")
SEVEN = {"X-Api-Key": "test_api_key", "Accept": "application/json"}
WORKER = "x-telco-emulator-worker"
PER_CONNECTION = 4  # requests on one connection before a client opens another


@dataclass
class Workers:
    process: subprocess.Popen
    url: str
    ready_line: str
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text()

    def worker_pids(self) -> set[int]:
        """The parent's live children (Linux' /proc)."""
        children = set()
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            text = (task / "children").read_text().split()
            children |= {int(pid) for pid in text}
        return children


def launch(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, Path]:
    stderr = tmp_path / f"stderr-{time.monotonic_ns()}.txt"
    return launch_emulator(*args, env=env, stderr=stderr), stderr


def wait_ready(process: subprocess.Popen, stderr: Path) -> Workers:
    line = ready_line(process, lambda: stderr.read_text()[-2000:], READY_TIMEOUT)
    return Workers(process, url_of(line), line, stderr)


def stop_workers(workers: Workers) -> None:
    stop_process(workers.process, timeout=30)


@pytest.fixture
def three_workers(redis_url, tmp_path) -> Iterator[Workers]:
    process, stderr = launch(tmp_path, "--workers", "3", "--store", redis_url, "--time-scale", "600")
    workers = wait_ready(process, stderr)
    pids = workers.worker_pids()
    yield workers
    stop_workers(workers)
    for pid in pids:  # no worker outlives the test
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- the clients ----------------------------------------------------------------------------------
@dataclass
class Ledger:
    """What the senders saw: the answered sends, the workers that answered, the sends whose answer
    never came (their connection broke), all under one lock."""

    answered: dict[str, tuple[str, int]] = field(default_factory=dict)  # text -> (provider, cost)
    ids: dict[str, list[str]] = field(default_factory=dict)  # text -> message ids
    unanswered: set[str] = field(default_factory=set)
    workers: Counter = field(default_factory=Counter)
    report_url: str | None = None  # where 46elks sends report their delivery (whendelivered)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered_by(self) -> set[str]:
        with self.lock:
            return set(self.workers)


def send_one(http: httpx.Client, text: str, number: int, ledger: Ledger) -> None:
    if number % 2 == 0:
        form = {"from": "ElkCo", "to": "+46700000123", "message": text}
        if ledger.report_url:
            form["whendelivered"] = ledger.report_url
        answer = http.post("/a1/SMS", auth=ELKS_AUTH, data=form)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        provider, cost, ids = "elks", body["cost"], [body["id"]]
    else:
        answer = http.post("/api/sms", headers=SEVEN, json={"to": "+4917612345678", "text": text})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["success"] == "100", body
        provider, cost, ids = "seven", round(body["total_price"] * 10_000), [str(m["id"]) for m in body["messages"]]
    with ledger.lock:
        ledger.answered[text] = (provider, cost)
        ledger.ids[text] = ids
        ledger.workers[answer.headers[WORKER]] += 1


def sender(url: str, name: str, ledger: Ledger, count: int | None, stop: threading.Event | None = None) -> None:
    """Send `count` messages (or until `stop`), alternating the providers, on a fresh connection
    every PER_CONNECTION sends; a send whose connection breaks is noted and the next one opens
    another connection."""
    number = 0
    while (count is None or number < count) and not (stop is not None and stop.is_set()):
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(PER_CONNECTION):
                if (count is not None and number >= count) or (stop is not None and stop.is_set()):
                    break
                text = f"workers {name}-{number}"
                number += 1
                try:
                    send_one(http, text, number, ledger)
                except httpx.TransportError:
                    with ledger.lock:
                        ledger.unanswered.add(text)
                    break


def run_senders(url: str, ledger: Ledger, clients: int, count: int | None, stop: threading.Event | None = None, prefix: str = "") -> list[threading.Thread]:
    threads = [threading.Thread(target=sender, args=(url, f"{prefix}{client}", ledger, count, stop), daemon=True) for client in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def balances(url: str) -> tuple[int, int, str]:
    """Both balances, read on one fresh connection, and the worker that answered."""
    with httpx.Client(base_url=url, timeout=30) as http:
        elks = http.get("/a1/me", auth=ELKS_AUTH)
        seven = http.get("/api/balance", headers=SEVEN)
        return elks.json()["balance"], round(seven.json()["amount"] * 10_000), elks.headers[WORKER]


def elks_pages(url: str) -> list[dict]:
    """46elks' own list of sent SMS, each page asked for on a fresh connection (so, most likely,
    of another worker than the page before)."""
    items, start = [], None
    while True:
        with httpx.Client(base_url=url, timeout=30) as http:
            page = http.get("/a1/SMS", auth=ELKS_AUTH, params={"start": start} if start else {}).json()
        items += page["data"]
        start = page.get("next")
        if start is None:
            return items


def stored_messages(url: str) -> list[dict]:
    items, cursor = [], None
    with httpx.Client(base_url=url, timeout=30) as http:
        while True:
            page = http.get("/_emulator/messages", params={"direction": "outbound", "limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
            items += page["data"]
            cursor = page["next"]
            if cursor is None:
                return items


def report_keys(receiver) -> list[tuple[str | None, str | None]]:
    """(message id, status) of each whole 46elks report the receiver got, in order of arrival; a
    report cut short by a kill (its sender died mid-body) is no report."""
    keys = []
    for hit in list(receiver.hits):
        length = {name.lower(): value for name, value in hit.headers.items()}.get("content-length")
        if hit.path == "/elks" and length is not None and int(length) == len(hit.body):
            fields = dict(parse_qsl(hit.body.decode()))
            keys.append((fields.get("id"), fields.get("status")))
    return keys


# -- the tests ----------------------------------------------------------------------------------
def test_three_workers_serve_one_world(three_workers):
    url = three_workers.url
    assert "3 workers" in three_workers.ready_line and "shared world in redis://" in three_workers.ready_line
    assert len(three_workers.worker_pids()) == 3
    elks_before, seven_before, _ = balances(url)

    ledger = Ledger()
    for thread in run_senders(url, ledger, clients=12, count=16):
        thread.join(120)
    assert not ledger.unanswered
    assert len(ledger.answered) == 12 * 16
    assert len(ledger.answered_by()) > 1, f"one worker answered everything: {ledger.workers}"
    assert {int(pid) for pid in ledger.answered_by()} <= three_workers.worker_pids()

    # The books, exact to the unit, read on several connections (so, most likely, from several workers).
    elks_cost = sum(cost for provider, cost in ledger.answered.values() if provider == "elks")
    seven_cost = sum(cost for provider, cost in ledger.answered.values() if provider == "seven")
    readers = set()
    for _ in range(6):
        elks_now, seven_now, reader = balances(url)
        assert (elks_now, seven_now) == (elks_before - elks_cost, seven_before - seven_cost)
        readers.add(reader)

    # Every message listed once, from any connection, with the cost it was answered with.
    for _ in range(2):
        stored = stored_messages(url)
        assert Counter(m["text"] for m in stored) == Counter(set(ledger.answered)), "messages lost, duplicated or invented"
        assert sorted(m["id"] for m in stored) == sorted(i for ids in ledger.ids.values() for i in ids)
        assert {m["text"]: m["cost"] for m in stored} == {text: cost for text, (_, cost) in ledger.answered.items()}
    listed = elks_pages(url)
    assert sorted(m["message"] for m in listed) == sorted(text for text, (provider, _) in ledger.answered.items() if provider == "elks")


def test_a_worker_killed_mid_run_is_replaced_and_the_world_stays_whole(three_workers, webhook_receiver):
    url = three_workers.url
    elks_before, seven_before, _ = balances(url)
    ledger = Ledger(report_url=f"{webhook_receiver.url}/elks")
    stop = threading.Event()
    threads = run_senders(url, ledger, clients=6, count=None, stop=stop)
    try:
        deadline = time.monotonic() + 120
        while len(ledger.answered) < 40:  # the senders are under way, over more than one worker
            assert time.monotonic() < deadline and all(t.is_alive() for t in threads), f"senders stalled: {len(ledger.answered)}"
            time.sleep(0.05)
        victim = int(ledger.workers.most_common(1)[0][0])
        before_kill = three_workers.worker_pids()
        os.kill(victim, signal.SIGKILL)
        answered_at_kill = len(ledger.answered)

        # The parent says so in one line and starts another worker, which answers too.
        while f"(pid {victim}) killed by SIGKILL; starting another" not in three_workers.log():
            assert time.monotonic() < deadline, three_workers.log()[-2000:]
            time.sleep(0.05)
        with webhook_receiver.changed:
            reports_before_notice = len(report_keys(webhook_receiver))  # the victim's own attempts are among these
        while True:
            pids = three_workers.worker_pids()
            replacements = pids - before_kill
            if len(pids) == 3 and replacements and replacements <= {int(p) for p in ledger.answered_by()}:
                break  # the new worker has answered a send
            assert time.monotonic() < deadline, f"no replacement answered: {pids} {ledger.workers}"
            time.sleep(0.05)
        while len(ledger.answered) < answered_at_kill + 40:  # requests keep being answered
            assert time.monotonic() < deadline and all(t.is_alive() for t in threads), f"sends stalled after the kill: {len(ledger.answered)}"
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert victim not in three_workers.worker_pids()
    assert three_workers.log().count("starting another") == 1, three_workers.log()

    # The world is whole: every answered send is stored once, nothing is stored that was not
    # sent, and the balances went down by exactly what the stored messages cost. A send whose
    # connection broke when its worker was killed may or may not have reached the world's log.
    stored = stored_messages(url)
    texts = Counter(m["text"] for m in stored)
    assert [text for text, count in texts.items() if count != 1] == []
    assert set(ledger.answered) <= set(texts)
    assert set(texts) <= set(ledger.answered) | ledger.unanswered, sorted(set(texts) - set(ledger.answered) - ledger.unanswered)[:5]
    assert len(ledger.unanswered) <= 6, ledger.unanswered  # at most one per sender: what was in flight at the kill
    costs = Counter()
    for message in stored:
        costs[message["provider"]] += message["cost"]
        if message["text"] in ledger.answered:
            assert message["cost"] == ledger.answered[message["text"]][1]
    for _ in range(3):
        elks_now, seven_now, _ = balances(url)
        assert elks_now == elks_before - costs["elks"]
        assert seven_now == seven_before - costs["seven"]

    # Every 46elks message stored reports "sent" and "delivered" to the receiver: none is lost,
    # whichever worker held the attempt when it was killed (another takes it over once its lease
    # lapses: the 46elks timeout, 10 s, and a margin).
    expected = {(m["id"], status) for m in stored if m["provider"] == "elks" for status in ("sent", "delivered")}

    with webhook_receiver.changed:
        arrived = webhook_receiver.changed.wait_for(lambda: expected <= set(report_keys(webhook_receiver)), 90)
        received = Counter(report_keys(webhook_receiver))
    assert arrived, f"{len(expected - set(received))} of {len(expected)} reports never arrived"
    assert set(received) == expected, f"reports for messages nobody sent: {sorted(set(received) - expected)[:5]}"
    # A report comes twice only when the worker killed had made it and not yet logged its result
    # (the receiver had answered 2xx): its first copy arrived before the parent noticed the death.
    assert max(received.values()) <= 2, received.most_common(3)
    first_arrival: dict = {}
    for index, key in enumerate(report_keys(webhook_receiver)):
        first_arrival.setdefault(key, index)
    repeated = [key for key, count in received.items() if count == 2]
    assert [key for key in repeated if first_arrival[key] >= reports_before_notice] == [], "a report made again after a 2xx it had logged"


def test_sigterm_stops_every_worker(three_workers):
    pids = three_workers.worker_pids()
    assert len(pids) == 3
    three_workers.process.send_signal(signal.SIGTERM)
    assert three_workers.process.wait(30) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()


def test_the_workers_end_when_their_parent_is_killed(three_workers):
    pids = three_workers.worker_pids()
    three_workers.process.kill()
    three_workers.process.wait()
    deadline = time.monotonic() + 30
    alive = pids
    while alive:
        alive = {pid for pid in alive if Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()}
        assert time.monotonic() < deadline, f"workers outlived their parent: {alive}"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_more_than_one_worker_needs_a_shared_store(how):
    args = ["--workers", "2"] if how == "flag" else []
    env = {**os.environ, "TELCO_EMULATOR_WORKERS": "2"} if how == "environment" else {**os.environ}
    env.pop("TELCO_EMULATOR_STORE", None)
    result = subprocess.run([sys.executable, "-m", "emulator", "--port", "0", *args], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("telco-emulator: --workers 2 needs --store redis://HOST:PORT/DB")


def test_a_worker_that_cannot_start_stops_them_all(tmp_path):
    """Redis goes away after the parent checked it and before the workers join: the parent says
    which worker failed, stops the others and exits non-zero, without a ready line."""
    server = start_redis(tmp_path)
    try:
        process, stderr = launch(tmp_path, "--workers", "3", "--store", server.url(0))
        deadline = time.monotonic() + 60
        while not server.command("EXISTS", "telco-emulator:world"):  # the parent's check is done
            assert time.monotonic() < deadline and process.poll() is None, stderr.read_text()
            time.sleep(0.01)
    finally:
        stop_redis(server)
    try:
        assert process.wait(90) == 1
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stdout.read() == ""
    log = stderr.read_text()
    assert "before it was ready; stopping the others" in log, log
    assert "Traceback" not in log


def test_a_port_in_use_stops_the_workers_before_they_start(redis_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "emulator", "--workers", "2", "--store", redis_url, "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"telco-emulator: cannot listen on 127.0.0.1:{port}") and len(result.stderr.splitlines()) == 1
    assert result.stdout == ""

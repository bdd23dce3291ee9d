"""Broken webhook receivers against the real process: answers that claim a gigabyte, and a
receiver that never answers while another account's receiver waits for its webhook.

Each receiver here is a raw asyncio HTTP server on loopback, run in a thread of the test (its own
event loop), so that it can misbehave on the wire in ways a normal server will not."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Awaitable, Callable, Iterator

import httpx
import pytest

from support import ELKS_AUTH, ELKS_OTHER_AUTH

pytestmark = pytest.mark.parametrize("emulator_process", [("--clock", "virtual")], indirect=True)

GIB = 1 << 30
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawReceivers:
    """Raw HTTP servers on loopback, served by an event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[asyncio.AbstractServer] = []
        self.handlers: set[asyncio.Task] = set()

    def serve(self, handler: Handler) -> str:
        """Start one server (its own port: its own destination) and return its URL."""
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            self.handlers.add(task)
            try:
                await handler(reader, writer)
            finally:
                self.handlers.discard(task)
                writer.transport.abort()

        async def start() -> asyncio.AbstractServer:
            return await asyncio.start_server(tracked, "127.0.0.1", 0)

        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            handlers = list(self.handlers)
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def raw_receivers() -> Iterator[RawReceivers]:
    receivers = RawReceivers()
    yield receivers
    receivers.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))


def rss_kib(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def send_elks_sms(client: httpx.Client, callback: str, auth=ELKS_AUTH) -> None:
    response = client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "hi", "whendelivered": callback}, auth=auth)
    assert response.status_code == 200, response.text


def attempts_to(client: httpx.Client, url_prefix: str) -> list[dict]:
    deliveries = client.get("/_emulator/webhooks", params={"limit": 1000}).json()["data"]
    return [attempt for delivery in deliveries if delivery["url"].startswith(url_prefix) for attempt in delivery["attempts"]]


def test_gigabyte_answers_leave_memory_where_it_was_and_the_api_responsive(emulator_process, webhook_receiver, raw_receivers):
    sent_per_connection: list[int] = []
    stream_cap = 256 << 20  # the bound of this test: what a receiver streams at most per answer

    async def claims_a_gigabyte(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent = 0
        try:
            while True:  # keep-alive: every request on the connection gets the same answer
                await read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % GIB)
                chunk = b"x" * 65_536
                while sent < stream_cap:  # lazily: only as fast as the emulator takes it
                    writer.write(chunk)
                    await writer.drain()
                    sent += len(chunk)
                return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            sent_per_connection.append(sent)

    urls = [raw_receivers.serve(claims_a_gigabyte) for _ in range(20)]
    pid = emulator_process.process.pid
    with httpx.Client(base_url=emulator_process.url, timeout=30) as client:
        # Warm up every path a delivery takes, with a well-behaved receiver, before the baseline.
        for _ in range(5):
            send_elks_sms(client, webhook_receiver.url + "/warm")
        client.post("/_emulator/clock/advance", json={"seconds": 2}).raise_for_status()
        webhook_receiver.wait_for(10, "/warm")
        before = rss_kib(pid)

        for url in urls:
            send_elks_sms(client, url + "/dlr")
        client.post("/_emulator/clock/advance", json={"seconds": 2}).raise_for_status()  # 40 reports due
        slowest_health = 0.0
        deadline = time.monotonic() + 60
        while len(attempts := [a for url in urls for a in attempts_to(client, url)]) < 40:
            assert time.monotonic() < deadline, f"only {len(attempts)} of 40 attempts recorded"
            started = time.monotonic()
            assert client.get("/_emulator/health").status_code == 200
            slowest_health = max(slowest_health, time.monotonic() - started)
        after = rss_kib(pid)

    assert all(a["status"] == 200 and "longer than 64 KiB" in a["error"] for a in attempts)
    assert all(a["response_body"] == "x" * 4096 for a in attempts)
    assert slowest_health < 1.0, f"health took {slowest_health:.2f} s while the answers came in"
    growth_mib = (after["VmRSS"] - before["VmRSS"]) / 1024
    peak_growth_mib = (after["VmHWM"] - before["VmRSS"]) / 1024
    assert growth_mib < 20, f"RSS grew by {growth_mib:.1f} MiB ({before} -> {after})"
    assert peak_growth_mib < 100, f"RSS peaked {peak_growth_mib:.1f} MiB above the baseline"
    # Each answer was cut: what a receiver pushed before its connection was closed is what the
    # socket buffers hold, not the gigabyte (or the 256 MiB this test streams at most).
    assert len(sent_per_connection) >= 20 and max(sent_per_connection) < 64 << 20, sent_per_connection


def test_a_receiver_that_never_answers_does_not_delay_another_accounts_webhook(emulator_process, webhook_receiver, raw_receivers):
    requests_held: list[int] = []

    async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            requests_held.append(1)
            await asyncio.Event().wait()  # until the emulator gives up or the test ends
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    stuck = raw_receivers.serve(never_answers)
    with httpx.Client(base_url=emulator_process.url, timeout=30) as client:
        for _ in range(150):
            send_elks_sms(client, stuck + "/dlr")
        client.post("/_emulator/clock/advance", json={"seconds": 2}).raise_for_status()  # 300 reports stuck
        stuck_since = time.monotonic()
        send_elks_sms(client, webhook_receiver.url + "/healthy", auth=ELKS_OTHER_AUTH)
        client.post("/_emulator/clock/advance", json={"seconds": 2}).raise_for_status()  # its 2 reports due now
        due = time.monotonic()
        webhook_receiver.wait_for(2, "/healthy", timeout=30)
        arrived = time.monotonic()
        held = len(requests_held)
    late = arrived - due
    seen = f"{late:.2f} s late, {held} attempts held by the stuck receiver, {arrived - stuck_since:.2f} s after it got stuck"
    assert late < 2.0, f"the healthy receiver's webhooks arrived after they were due: {seen}"  # 10 s before
    if arrived - stuck_since < 9.0:  # 46elks waits 10 s for an answer: none has been given up yet
        assert held == 32, f"the stuck receiver should hold its share of 32 attempts: {seen}"

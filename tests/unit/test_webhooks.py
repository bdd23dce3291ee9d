"""The outbox: attempts recorded, retries on the provider's schedule, giving up, signing; long
answers cut; each destination's bounded share of the attempts in flight."""

import asyncio
from collections import Counter

import httpx
import pytest

from emulator.core.clock import MICROS, VirtualClock
from emulator.core.ids import IdFactory
from emulator.core import webhooks
from emulator.core.store import Store
from emulator.core.webhooks import GLOBAL_LIMIT, PER_ORIGIN_LIMIT, SPARE, Outbox, RetryPolicy

START = 1_767_225_600 * MICROS


class Answers:
    def __init__(self, *statuses):
        self.statuses = list(statuses)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status, text=f"answer {len(self.seen)}")


@pytest.fixture
async def run_outbox():
    import asyncio

    tasks = []

    def start(policy: RetryPolicy, answers) -> tuple[Outbox, VirtualClock]:
        clock = VirtualClock(START)
        outbox = Outbox(clock, Store(), IdFactory(1), {"p": policy}, transport=httpx.MockTransport(answers))
        tasks.append(asyncio.create_task(outbox.run()))
        return outbox, clock

    yield start
    for task in tasks:
        task.cancel()


def enqueue(outbox: Outbox, **extra):
    return outbox.enqueue(provider="p", account_id="a", event="e", url="http://hook.test/x", body=b"a=1", **extra)


async def test_success_is_recorded_with_request_and_response(run_outbox):
    answers = Answers(200)
    outbox, _ = run_outbox(RetryPolicy(delays=(10,)), answers)
    delivery = enqueue(outbox, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert await outbox.drain()
    assert delivery.state == "delivered"
    (attempt,) = delivery.attempts
    assert (attempt.status, attempt.response_body, attempt.request_body) == (200, "answer 1", "a=1")
    assert attempt.request_headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert answers.seen[0].content == b"a=1"
    assert answers.seen[0].headers["Accept-Encoding"] == "identity"  # answers are read raw


async def test_failures_are_retried_on_schedule_until_success(run_outbox):
    answers = Answers(500, 0, 200)
    outbox, clock = run_outbox(RetryPolicy(delays=(60, 300)), answers)
    delivery = enqueue(outbox)
    assert await outbox.drain()
    assert delivery.state == "pending" and len(delivery.attempts) == 1
    assert delivery.next_attempt_at == START + 60 * MICROS
    clock.advance(59)
    assert await outbox.drain()
    assert len(delivery.attempts) == 1
    clock.advance(1)
    assert await outbox.drain()
    assert delivery.attempts[1].error and delivery.attempts[1].status is None
    clock.advance(300)
    assert await outbox.drain()
    assert delivery.state == "delivered"
    assert [a.status for a in delivery.attempts] == [500, None, 200]


async def test_gives_up_after_the_last_retry_and_skips_non_retryable(run_outbox):
    answers = Answers(500, 500, 404)
    outbox, clock = run_outbox(RetryPolicy(delays=(1,)), answers)
    delivery = enqueue(outbox)
    await outbox.drain()
    clock.advance(1)
    await outbox.drain()
    assert delivery.state == "failed" and len(delivery.attempts) == 2
    strict, _ = run_outbox(RetryPolicy(delays=(1, 1), retry_statuses=frozenset({500})), Answers(404))
    refused = enqueue(strict)
    await strict.drain()
    assert refused.state == "failed" and len(refused.attempts) == 1


async def test_signer_adds_headers_per_attempt(run_outbox):
    answers = Answers(200)
    policy = RetryPolicy(delays=(), sign=lambda delivery: {"X-Signature": f"sig-{delivery.id}"})
    outbox, _ = run_outbox(policy, answers)
    delivery = enqueue(outbox)
    await outbox.drain()
    assert answers.seen[0].headers["X-Signature"] == f"sig-{delivery.id}"
    assert delivery.attempts[0].request_headers["X-Signature"] == f"sig-{delivery.id}"


async def test_result_handler_sees_the_final_attempt(run_outbox):
    outbox, _ = run_outbox(RetryPolicy(delays=()), Answers(201))
    results = []
    enqueue(outbox, on_result=lambda delivery, attempt: results.append((delivery.state, attempt.response_body)))
    await outbox.drain()
    assert results == [("delivered", "answer 1")]


# -- deliveries that cannot be sent end failed, with the reason ------------------------------

class Raising:
    """A transport that raises `error` for every request (and counts them)."""

    def __init__(self, error: Exception):
        self.error = error
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        raise self.error


@pytest.fixture
async def run_raising():
    import asyncio

    tasks = []

    def start(error: Exception, policy: RetryPolicy = RetryPolicy(delays=(60, 60))) -> tuple[Outbox, Raising]:
        raising = Raising(error)
        outbox = Outbox(VirtualClock(START), Store(), IdFactory(1), {"p": policy}, transport=httpx.MockTransport(raising))
        tasks.append(asyncio.create_task(outbox.run()))
        return outbox, raising

    yield start
    for task in tasks:
        task.cancel()


@pytest.mark.parametrize("error", [
    httpx.InvalidURL("Invalid non-printable ASCII character in URL"),
    httpx.UnsupportedProtocol("unsupported scheme 'ftp'"),
    httpx.LocalProtocolError("Illegal header value"),
    RuntimeError("a bug in the transport"),
    UnicodeEncodeError("ascii", "é", 0, 1, "ordinal not in range"),
])
async def test_an_error_that_no_retry_can_mend_fails_the_delivery_at_once(run_raising, error):
    outbox, raising = run_raising(error)
    delivery = enqueue(outbox)
    assert await outbox.drain()
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    (attempt,) = delivery.attempts
    assert attempt.status is None and type(error).__name__ in attempt.error
    assert raising.calls == 1


async def test_a_network_error_is_still_retried(run_raising):
    outbox, _ = run_raising(httpx.ConnectError("refused"))
    delivery = enqueue(outbox)
    assert await outbox.drain()
    assert delivery.state == "pending" and len(delivery.attempts) == 1 and "ConnectError" in delivery.attempts[0].error


@pytest.mark.parametrize("url, reason", [
    ("http://hook.test/a\r\nX-Injected: 1", "line break"),
    ("ftp://hook.test/x", "http or https"),
    ("http:///no-host", "no host"),
    ("http://999.1.1.1/x", "IPv4"),
])
async def test_a_stored_target_that_breaks_the_rules_is_never_sent(run_outbox, url, reason):
    """As a delivery restored from a snapshot written before the rules could be."""
    answers = Answers(200)
    outbox, _ = run_outbox(RetryPolicy(delays=(60,)), answers)
    delivery = outbox.enqueue(provider="p", account_id="a", event="e", url=url)
    assert await outbox.drain()
    assert delivery.state == "failed" and answers.seen == []
    (attempt,) = delivery.attempts
    assert attempt.error.startswith("the target URL cannot be used") and reason in attempt.error


async def test_a_stored_framing_header_is_never_sent(run_outbox):
    answers = Answers(200)
    outbox, _ = run_outbox(RetryPolicy(delays=(60,)), answers)
    delivery = enqueue(outbox, headers={"Transfer-Encoding": "chunked"})
    assert await outbox.drain()
    assert delivery.state == "failed" and answers.seen == []
    assert "Transfer-Encoding" in delivery.attempts[0].error


async def test_a_delivery_whose_provider_is_unknown_still_ends(run_outbox):
    outbox, _ = run_outbox(RetryPolicy(delays=(60,)), Answers(200))
    delivery = outbox.enqueue(provider="gone", account_id="a", event="e", url="http://hook.test/x")
    assert await outbox.drain()
    assert delivery.state == "failed" and "could not attempt" in delivery.attempts[0].error


# -- no loops through the emulator itself ----------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8046/_emulator/reset",
    "http://localhost:8046/_emulator/reset",
    "http://127.0.0.2:8046/_emulator",
    "http://[::1]:8046/_emulator/clock/advance",
    "http://0.0.0.0:8046/_emulator/reset",
    "http://LOCALHOST.:8046/%5Femulator/reset",
    "http://127.0.0.1:8046/a1/../_emulator/reset",
    "http://app.localhost:8046/_emulator/reset",
])
async def test_a_delivery_to_the_own_control_api_is_refused_and_recorded(run_outbox, url):
    answers = Answers(200)
    outbox, _ = run_outbox(RetryPolicy(delays=(60,)), answers)
    outbox.listening_on("127.0.0.1", 8046)
    delivery = outbox.enqueue(provider="p", account_id="a", event="e", url=url)
    assert await outbox.drain()
    assert delivery.state == "failed" and answers.seen == []
    assert "own control API" in delivery.attempts[0].error


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8047/_emulator/reset",  # another port: another program
    "http://127.0.0.1:8046/api/sms",  # the provider API: hop counting stops loops there
    "http://example.com:8046/_emulator/reset",
])
async def test_other_targets_are_sent(run_outbox, url):
    answers = Answers(200)
    outbox, _ = run_outbox(RetryPolicy(delays=(60,)), answers)
    outbox.listening_on("127.0.0.1", 8046)
    delivery = outbox.enqueue(provider="p", account_id="a", event="e", url=url)
    assert await outbox.drain()
    assert delivery.state == "delivered" and len(answers.seen) == 1


async def test_every_delivery_carries_its_hop_count(run_outbox):
    from emulator.core.webhook_targets import HOP_HEADER, current_hop

    answers = Answers(200, 200, 200)
    outbox, _ = run_outbox(RetryPolicy(delays=()), answers)
    first = enqueue(outbox)
    token = current_hop.set(2)  # enqueued while handling a request that was itself hop 2
    try:
        second = enqueue(outbox)
        outbox.note_cause(["m1"], 2)
    finally:
        current_hop.reset(token)
    third = enqueue(outbox, subject_id="m1")  # later, about a message that hop-2 request created
    assert await outbox.drain()
    assert [d.headers[HOP_HEADER] for d in (first, second, third)] == ["1", "3", "3"]
    assert [r.headers[HOP_HEADER] for r in answers.seen] == ["1", "3", "3"]


async def test_a_long_answer_is_recorded_cut_and_noted(run_outbox):
    outbox, _ = run_outbox(RetryPolicy(delays=()), lambda request: httpx.Response(200, content=b"a" * 100_000))
    delivery = enqueue(outbox)
    exchange = outbox.request_once(provider="p", account_id="a", event="e", url="http://hook.test/x", on_result=lambda d, a: None)
    assert await outbox.drain()
    (attempt,) = delivery.attempts
    assert attempt.status == 200 and attempt.response_body == "a" * 4096
    assert attempt.error == "the answer is longer than 64 KiB: only that much was read"
    assert exchange.attempts[0].response_body == "a" * 65_536 and exchange.attempts[0].error == attempt.error
    assert delivery.state == "delivered"  # a receipt's answer body does not matter to 46elks or seven.io


class Destinations:
    """Answers at once, except requests to a host starting with `stuck`, which wait until
    `release` is set (as do those to a host starting with `fast` once `answer_first` of them
    have been answered).
    Counts attempts started and the most in flight at once, per host."""

    def __init__(self, answer_first: int | None = None) -> None:
        self.answer_first = answer_first
        self.answered = 0
        self.release = asyncio.Event()
        self.started: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0
        self.delay: dict[str, float] = {}  # seconds some hosts take to answer

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.started[host] += 1
        self.in_flight[host] += 1
        self.peak_total = max(self.peak_total, sum(self.in_flight.values()))
        self.peak[host] = max(self.peak[host], self.in_flight[host])
        try:
            await asyncio.sleep(self.delay.get(host, 0))
            if host.startswith("fast") and self.answer_first is not None:
                if self.answered >= self.answer_first:
                    await self.release.wait()
                self.answered += 1
            if host.startswith("stuck"):
                await self.release.wait()
            return httpx.Response(200)
        finally:
            self.in_flight[host] -= 1


async def settled(condition, turns: int = 100) -> None:
    """Let the event loop run until `condition()` holds (a bounded number of turns)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    assert condition()


async def delivered(outbox: Outbox, delivery_id: str, timeout: float = 5.0) -> None:
    arrived = asyncio.Event()
    outbox.listeners.append(lambda delivery, attempt: delivery.id == delivery_id and arrived.set())
    await asyncio.wait_for(arrived.wait(), timeout)


async def test_a_stuck_destination_holds_only_its_share_and_others_go_first(run_outbox):
    destinations = Destinations()
    outbox, _ = run_outbox(RetryPolicy(delays=()), destinations)
    stuck = [outbox.enqueue(provider="p", account_id="a", event="e", url="http://stuck.test/x") for _ in range(300)]
    healthy = outbox.enqueue(provider="p", account_id="b", event="e", url="http://healthy.test/y")
    await delivered(outbox, healthy.id)  # with one shared queue it would wait behind the stuck ones
    assert healthy.state == "delivered"
    assert destinations.started["stuck.test"] == PER_ORIGIN_LIMIT  # its share, no more
    assert outbox.in_flight == {("http", "stuck.test", 80): PER_ORIGIN_LIMIT}
    assert outbox.queued == {("http", "stuck.test", 80): 300 - PER_ORIGIN_LIMIT}
    assert not await outbox.drain(0.05)
    destinations.release.set()
    assert await outbox.drain()
    assert all(delivery.state == "delivered" for delivery in stuck)
    assert destinations.started["stuck.test"] == 300 and outbox.in_flight == {} and outbox.queued == {}


async def test_a_quick_destination_borrows_beyond_its_share_but_leaves_the_spare(run_outbox):
    """A receiver that answers quickly may use more than its share (one fast receiver keeps the
    throughput of the whole pool), but never the last SPARE slots: another receiver still gets
    its webhook at once when the borrowed attempts hang."""
    destinations = Destinations(answer_first=PER_ORIGIN_LIMIT)  # quick at first, then hanging
    outbox, _ = run_outbox(RetryPolicy(delays=()), destinations)
    for _ in range(400):
        outbox.enqueue(provider="p", account_id="a", event="e", url="http://fast.test/x")
    await settled(lambda: destinations.started["fast.test"] >= GLOBAL_LIMIT - SPARE + PER_ORIGIN_LIMIT)
    for _ in range(20):
        await asyncio.sleep(0)
    assert destinations.answered == PER_ORIGIN_LIMIT
    assert outbox.in_flight == {("http", "fast.test", 80): GLOBAL_LIMIT - SPARE}  # borrowed, up to the spare
    healthy = outbox.enqueue(provider="p", account_id="b", event="e", url="http://healthy.test/y")
    await delivered(outbox, healthy.id)
    destinations.release.set()
    assert await outbox.drain()
    assert destinations.started["fast.test"] == 400 and outbox.in_flight == {} and outbox.queued == {}


async def test_a_slow_destination_does_not_borrow(run_outbox, monkeypatch):
    monkeypatch.setattr(webhooks, "QUICK_ATTEMPT", 0.01)
    destinations = Destinations()
    destinations.delay["slow.test"] = 0.05  # every attempt slower than QUICK_ATTEMPT
    outbox, _ = run_outbox(RetryPolicy(delays=()), destinations)
    for _ in range(3 * PER_ORIGIN_LIMIT):
        outbox.enqueue(provider="p", account_id="a", event="e", url="http://slow.test/x")
    assert await outbox.drain()
    assert destinations.started["slow.test"] == 3 * PER_ORIGIN_LIMIT
    assert destinations.peak["slow.test"] == PER_ORIGIN_LIMIT  # its share, never more


async def test_the_global_bound_holds_across_destinations(run_outbox):
    destinations = Destinations()
    outbox, _ = run_outbox(RetryPolicy(delays=()), destinations)
    for host in range(10):  # 10 x 30 deliveries: each under its share, all over the global bound
        for _ in range(30):
            outbox.enqueue(provider="p", account_id="a", event="e", url=f"http://stuck{host}.test/x")
    await settled(lambda: sum(destinations.started.values()) >= GLOBAL_LIMIT)
    assert sum(destinations.started.values()) == GLOBAL_LIMIT
    assert sum(outbox.in_flight.values()) == GLOBAL_LIMIT and sum(outbox.queued.values()) == 300 - GLOBAL_LIMIT
    assert max(outbox.in_flight.values()) <= PER_ORIGIN_LIMIT
    destinations.release.set()
    assert await outbox.drain()
    assert destinations.peak_total == GLOBAL_LIMIT and sum(destinations.started.values()) == 300


async def test_reset_drops_the_backlog_and_drain_still_ends(run_outbox):
    destinations = Destinations()
    outbox, _ = run_outbox(RetryPolicy(delays=()), destinations)
    for _ in range(100):
        outbox.enqueue(provider="p", account_id="a", event="e", url="http://stuck.test/x")
    await settled(lambda: destinations.started["stuck.test"] == PER_ORIGIN_LIMIT)
    outbox.reset(Store(), IdFactory(2))
    assert outbox.queued == {}
    assert not await outbox.drain(0.05)  # the attempts already in flight are still unfinished
    destinations.release.set()
    assert await outbox.drain()
    assert destinations.started["stuck.test"] == PER_ORIGIN_LIMIT  # the backlog was never sent
    fresh = enqueue(outbox)
    assert await outbox.drain() and fresh.state == "delivered"


async def test_a_trickling_receiver_cannot_hold_an_attempt_past_its_timeout(run_outbox):
    """The policy's timeout is one deadline for connect, send and the whole read, through the
    outbox's own transport: a byte every 50 ms never lets one read wait long, yet the attempt
    ends at 0.3 s, recorded as a timeout."""
    from emulator.core.transport import StreamTransport

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                await asyncio.sleep(0.05)
                writer.write(b"z")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    try:
        outbox, _ = run_outbox(RetryPolicy(delays=(), timeout=0.3), lambda request: httpx.Response(200))
        outbox.transport = StreamTransport()  # read by `run` when it starts, after this turn
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/dlr"
        delivery = outbox.enqueue(provider="p", account_id="a", event="e", url=url)
        assert await outbox.drain(10)
        (attempt,) = delivery.attempts
        assert attempt.status is None and attempt.error.startswith("ReadTimeout")
        assert 250 <= attempt.latency_ms < 2000
        assert delivery.state == "failed"
    finally:
        server.close()

"""The outbox: attempts recorded, retries on the provider's schedule, giving up, signing."""

import httpx
import pytest

from emulator.core.clock import MICROS, VirtualClock
from emulator.core.ids import IdFactory
from emulator.core.store import Store
from emulator.core.webhooks import Outbox, RetryPolicy

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

    def start(policy: RetryPolicy, answers: Answers) -> tuple[Outbox, VirtualClock]:
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

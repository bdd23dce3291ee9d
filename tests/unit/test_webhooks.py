"""The outbox: attempts recorded, retries on the provider's schedule, giving up, signing; long
answers cut."""

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

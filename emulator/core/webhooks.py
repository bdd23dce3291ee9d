"""The webhook outbox: deliveries queued by the simulation, sent by a background worker.

No user URL is ever called inside a request handler. `Outbox.enqueue` records a `Delivery`; the
worker POSTs (or GETs) it with `httpx`, records every `Attempt` (url, method, headers, body,
status, latency, error) and, on failure, schedules the next attempt on the clock according to the
provider's `RetryPolicy`. Retries therefore follow the virtual clock, or the real clock compressed
by `time_scale`.

An answer is read up to 64 KiB (what a call-control or reply-by-response answer may need) and the
rest is never read (see `transport`); the attempt records the first 4 KiB (64 KiB for a
call-control exchange). An answer longer than 64 KiB is noted in the attempt's `error`, and a
call-control exchange treats it as an invalid answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import httpx

from .clock import Clock
from .ids import IdFactory
from .models import Attempt, Delivery
from .store import Store
from .transport import MAX_ANSWER_BYTES, StreamTransport

__all__ = ["RetryPolicy", "Outbox", "ResultHandler"]

log = logging.getLogger("emulator.webhooks")

ResultHandler = Callable[[Delivery, Attempt], None]
_MAX_RECORDED_BODY = 4096
_MAX_EXCHANGE_BODY = MAX_ANSWER_BYTES  # a call-control answer is read whole, up to this size


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a provider retries: `delays[k]` is the wait before attempt k+2, in seconds."""

    delays: tuple[float, ...]
    success_statuses: range = range(200, 300)
    retry_statuses: frozenset[int] | None = None  # None: retry every non-success status
    timeout: float = 5.0
    sign: Callable[[Delivery], dict[str, str]] | None = field(default=None, compare=False)

    def is_success(self, status: int) -> bool:
        return status in self.success_statuses

    def should_retry(self, status: int | None) -> bool:
        if status is None:  # connection error, timeout
            return True
        return self.retry_statuses is None or status in self.retry_statuses


class Outbox:
    def __init__(
        self,
        clock: Clock,
        store: Store,
        ids: IdFactory,
        policies: dict[str, RetryPolicy],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.clock = clock
        self.transport = transport  # tests may route deliveries to an in-process receiver
        self.store = store
        self.ids = ids
        self.policies = policies
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._handlers: dict[str, ResultHandler] = {}
        self._one_shot: set[str] = set()  # exchanges: one attempt, never retried
        self._in_flight: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._limit = asyncio.Semaphore(200)
        self._unfinished = 0  # queued or in flight
        self._idle = asyncio.Event()
        self._idle.set()
        self.listeners: list[Callable[[Delivery, Attempt], None]] = []

    def enqueue(
        self,
        *,
        provider: str,
        account_id: str,
        event: str,
        url: str,
        method: str = "POST",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        subject_id: str | None = None,
        on_result: ResultHandler | None = None,
    ) -> Delivery:
        created = self.clock.stamp()
        delivery = Delivery(
            id=self.ids.hex_id("w", 24),
            provider=provider,
            account_id=account_id,
            event=event,
            url=url,
            method=method,
            headers=dict(headers or {}),
            body=body,
            created=created,
            subject_id=subject_id,
            next_attempt_at=created,
        )
        self.store.deliveries.add(delivery.id, account_id, created, delivery)
        if on_result is not None:
            self._handlers[delivery.id] = on_result
        self._submit(delivery.id)
        return delivery

    def request_once(
        self,
        *,
        provider: str,
        account_id: str,
        event: str,
        url: str,
        on_result: ResultHandler,
        method: str = "POST",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        subject_id: str | None = None,
    ) -> Delivery:
        """A synchronous exchange such as a call-control request (46elks `voice_start`, `next`):
        sent by the worker like any delivery and recorded with its attempt, but tried once and
        never retried. `on_result` gets the attempt, with the whole answer in `response_body`
        (up to 64 KiB), whether it succeeded or not."""
        delivery = self.enqueue(
            provider=provider, account_id=account_id, event=event, url=url, method=method,
            headers=headers, body=body, subject_id=subject_id, on_result=on_result,
        )
        self._one_shot.add(delivery.id)  # no await since enqueue: the worker has not seen it yet
        return delivery

    def retry_at(self, delivery_id: str, delay_seconds: float) -> None:
        """Attempt a stored pending delivery again after `delay_seconds` (used when state is restored)."""
        self.clock.schedule(delay_seconds, lambda: self._submit(delivery_id))

    def _submit(self, delivery_id: str) -> None:
        self._unfinished += 1
        self._idle.clear()
        self._queue.put_nowait(delivery_id)

    def reset(self, store: Store, ids: IdFactory) -> None:
        self.store = store
        self.ids = ids
        self._handlers.clear()
        self._one_shot.clear()
        while not self._queue.empty():
            self._queue.get_nowait()
            self._done()

    def _done(self) -> None:
        self._unfinished -= 1
        if self._unfinished <= 0:
            self._unfinished = 0
            self._idle.set()

    async def run(self) -> None:
        """The worker: sends due deliveries until cancelled."""
        transport = self.transport or StreamTransport()
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False, transport=transport) as client:
            self._client = client
            try:
                while True:
                    delivery_id = await self._queue.get()
                    await self._limit.acquire()
                    task = asyncio.create_task(self._attempt(delivery_id))
                    self._in_flight.add(task)
                    task.add_done_callback(self._finished)
            finally:
                for task in list(self._in_flight):
                    task.cancel()
                self._client = None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._limit.release()
        self._done()

    async def _attempt(self, delivery_id: str) -> None:
        delivery = self.store.deliveries.get(delivery_id)
        if delivery is None or delivery.state != "pending" or self._client is None:
            return
        policy = self.policies[delivery.provider]
        one_shot = delivery_id in self._one_shot
        if one_shot:
            policy = replace(policy, delays=())
        headers = dict(delivery.headers)
        if policy.sign is not None:
            headers.update(policy.sign(delivery))
        attempt = Attempt(
            number=len(delivery.attempts) + 1,
            at=self.clock.now(),
            url=delivery.url,
            method=delivery.method,
            request_headers=headers,
            request_body=delivery.body.decode("utf-8", "replace"),
        )
        started = time.perf_counter()
        try:
            response = await self._client.request(
                delivery.method,
                delivery.url,
                headers=headers,
                content=delivery.body if delivery.method != "GET" else None,
                timeout=policy.timeout,
            )
            attempt.status = response.status_code
            content = response.content
            attempt.response_body = content[: _MAX_EXCHANGE_BODY if one_shot else _MAX_RECORDED_BODY].decode(
                response.encoding or "utf-8", "replace"
            )
            if response.extensions.get("truncated") or len(content) > _MAX_EXCHANGE_BODY:
                attempt.error = f"the answer is longer than {_MAX_EXCHANGE_BODY // 1024} KiB: only that much was read"
        except (httpx.HTTPError, OSError, ValueError) as exc:
            attempt.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        if self.store.deliveries.get(delivery_id) is not delivery:
            return  # the emulator was reset while this attempt was in flight
        delivery.attempts.append(attempt)
        self._settle(delivery, attempt, policy)

    def _settle(self, delivery: Delivery, attempt: Attempt, policy: RetryPolicy) -> None:
        if attempt.status is not None and policy.is_success(attempt.status):
            delivery.state = "delivered"
            delivery.next_attempt_at = None
        elif policy.should_retry(attempt.status) and attempt.number <= len(policy.delays):
            delay = policy.delays[attempt.number - 1]
            event = self.clock.schedule(delay, lambda: self._submit(delivery.id))
            delivery.next_attempt_at = event.due
        else:
            delivery.state = "failed"
            delivery.next_attempt_at = None
        if delivery.state != "pending":
            self._one_shot.discard(delivery.id)
            handler = self._handlers.pop(delivery.id, None)
            if handler is not None:
                try:
                    handler(delivery, attempt)
                except Exception:  # a provider's follow-up must not kill the worker
                    log.exception("webhook result handler failed for %s", delivery.id)
        for listener in self.listeners:
            listener(delivery, attempt)

    async def drain(self, timeout: float = 5.0) -> bool:
        """Wait until no delivery is queued or in flight; False if `timeout` passed first.
        A retry scheduled on the clock for later does not count as unfinished."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

"""The webhook outbox: deliveries queued by the simulation, sent by a background worker.

No user URL is ever called inside a request handler. `Outbox.enqueue` records a `Delivery`; the
worker POSTs (or GETs) it with `httpx`, records every `Attempt` (url, method, headers, body,
status, latency, error) and, on failure, schedules the next attempt on the clock according to the
provider's `RetryPolicy`. Retries therefore follow the virtual clock, or the real clock compressed
by `time_scale`.

Every delivery carries `X-Telco-Emulator-Hop`: one more than the hop count of the request that
caused it (directly, or by creating the message or call the delivery reports on; see
`note_cause`), so that a webhook pointing back at the emulator's own API stops after a few
rounds. A delivery that can never be sent (a target URL or header broken beyond what the
providers accept today, e.g. restored from an old snapshot; a target that is the emulator's own
control API; an error of the HTTP client that is not the network's) fails at once, with the
reason recorded in its attempt; it never stays pending.

Each destination (origin: scheme, host, port) has its own queue of due deliveries, and
destinations with work take turns. At most `GLOBAL_LIMIT` attempts are in flight in all. Each
destination may always have its share, `PER_ORIGIN_LIMIT`, in flight (while the global bound
allows); beyond it a destination may borrow only while its last attempt ended within
`QUICK_ATTEMPT` seconds, and only while `SPARE` slots stay free for destinations within their
share. So a receiver that never answers holds its share and no more (its backlog waits in its
own queue, not in front of other receivers'), while one fast receiver still gets nearly the
whole pool: its throughput is the pool over its round trip, which a busy process lengthens.

An answer is read up to 64 KiB (what a call-control or reply-by-response answer may need) and the
rest is never read (see `transport`); the attempt records the first 4 KiB, or 64 KiB when a
result handler acts on the answer (a call-control exchange, a 46elks `sms_url` that may reply).
An answer longer than 64 KiB is noted in the attempt's `error`; a call-control exchange treats
it as an invalid answer.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import logging
import socket
import time
from collections import deque
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from .clock import Clock
from .ids import IdFactory
from .models import Attempt, Delivery
from .store import Store
from .webhook_targets import HOP_HEADER, MAX_HOPS, current_hop, header_problem, parse_hop, target_url_problem

if TYPE_CHECKING:
    import httpx

    from ..shared.deliveries import AttemptClaims

__all__ = ["RetryPolicy", "Outbox", "ResultHandler", "GLOBAL_LIMIT", "PER_ORIGIN_LIMIT"]

log = logging.getLogger("emulator.webhooks")

ResultHandler = Callable[[Delivery, Attempt], None]
_MAX_RECORDED_BODY = 4096
MAX_ANSWER_BYTES = 65_536  # the most of an answer that is read (the transport reads no further)
_MAX_EXCHANGE_BODY = MAX_ANSWER_BYTES  # an answer a handler acts on is read whole, up to this size
_CONTROL_PREFIX = "/_emulator"
_SINK_PREFIX = "/_emulator/sink/"
GLOBAL_LIMIT = 200  # attempts in flight, all destinations together
PER_ORIGIN_LIMIT = 32  # attempts in flight a destination may always have: its share
SPARE = 32  # slots that destinations beyond their share leave free for the others
QUICK_ATTEMPT = 1.0  # seconds: a destination whose last attempt took longer does not borrow
SETTLE_GRACE = 2.0  # real seconds a virtual-clock move waits for an attempt at its instant (see `settle`)

Origin = tuple[str, str, int]
_UNKNOWN_ORIGIN: Origin = ("", "", 0)  # a URL that names no destination: its attempt fails alone


@lru_cache(maxsize=4096)
def origin_of(url: str) -> Origin:
    """The destination a URL's deliveries share: scheme, host and port (as a connection sees them)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
        return (scheme, (parts.hostname or "").lower(), port)
    except ValueError:
        return _UNKNOWN_ORIGIN


@dataclass(slots=True)
class _Destination:
    """The outbox's view of one destination while it has deliveries due or in flight."""

    waiting: deque[str] = field(default_factory=deque)  # due, not started, in order
    active: int = 0  # attempts in flight
    quick: bool = False  # its last attempt ended within QUICK_ATTEMPT seconds
    turn: deque[Origin] | None = None  # the queue of turns it stands in, if any


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
        self._handlers: dict[str, ResultHandler] = {}
        self._one_shot: set[str] = set()  # exchanges: one attempt, never retried
        self._in_flight: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self.global_limit = GLOBAL_LIMIT
        self.per_origin_limit = PER_ORIGIN_LIMIT
        self.spare = SPARE
        self._destinations: dict[Origin, _Destination] = {}  # those with work due or in flight
        # Destinations in turn: with a delivery waiting and under their share; or over it, quick,
        # and allowed to borrow (the second turn is only taken while SPARE slots stay free).
        self._within_share: deque[Origin] = deque()
        self._borrowing: deque[Origin] = deque()
        self._unfinished = 0  # queued or in flight
        self._attempting: dict[str, tuple[int, float]] = {}  # delivery id -> (clock, loop) time its attempt started
        self.settle_grace = SETTLE_GRACE
        self._progress = asyncio.Event()  # set whenever an attempt ends
        self._idle = asyncio.Event()
        self._idle.set()
        self.listeners: list[Callable[[Delivery, Attempt], None]] = []
        self.caused: dict[str, int] = {}  # record id -> hop count of the request that created it
        self._own_port: int | None = None
        self._own_hosts: frozenset[str] = frozenset()
        self._sendable_urls: set[str] = set()  # target URLs that passed `_unsendable`'s checks
        # In a shared world (emulator/shared/deliveries.py), who makes each attempt: every copy of
        # the world queues it, one process claims it, and its result comes back through the log.
        self.claims: AttemptClaims | None = None

    def listening_on(self, host: str, port: int) -> None:
        """The address the server listens on: deliveries to its control API there are refused.
        Loopback names and addresses, the unspecified address and this machine's name count as
        the same host when they reach the same port."""
        names = {"localhost", "0.0.0.0", "::", "::1", host.strip("[]").lower()}
        try:
            names.add(socket.gethostname().lower())
        except OSError:
            pass
        self._own_port = port
        self._own_hosts = frozenset(names)
        self._sendable_urls.clear()

    def note_cause(self, record_ids: list[str], hop: int) -> None:
        """Records created while handling a request of hop count `hop` (> 0): the deliveries
        that report on them carry hop + 1."""
        for record_id in record_ids:
            self.caused[record_id] = hop

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
        hop = current_hop.get()
        if subject_id is not None and self.caused:
            hop = max(hop, self.caused.get(subject_id, 0))
        delivery = Delivery(
            id=self.ids.hex_id("w", 24),
            provider=provider,
            account_id=account_id,
            event=event,
            url=url,
            method=method,
            headers={**(headers or {}), HOP_HEADER: str(hop + 1)},
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
        (up to 64 KiB; a longer one is cut there and noted in `error`), whether it succeeded or
        not."""
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
        delivery = self.store.deliveries.get(delivery_id)
        if self.claims is not None and delivery is not None:
            self.claims.submitted(delivery_id, len(delivery.attempts) + 1)
        origin = origin_of(delivery.url) if delivery is not None else _UNKNOWN_ORIGIN
        destination = self._destinations.get(origin)
        if destination is None:
            destination = self._destinations[origin] = _Destination()
        destination.waiting.append(delivery_id)
        if destination.turn is None:
            self._queue_turn(origin, destination)
        self._start_due()

    def _queue_turn(self, origin: Origin, destination: _Destination) -> None:
        """Put a destination in the queue of turns its state allows (or none), at the back."""
        turn = None
        if destination.waiting:
            if destination.active < self.per_origin_limit:
                turn = self._within_share
            elif destination.quick:
                turn = self._borrowing
        if turn is not destination.turn:
            if destination.turn is not None:
                destination.turn.remove(origin)  # only from `_borrowing`: a few entries at most
            if turn is not None:
                turn.append(origin)
            destination.turn = turn

    def _start_due(self) -> None:
        """Start attempts while a destination's turn allows one and the global bound does."""
        if self._client is None:
            return  # the worker is not running: `run` starts what waits
        within_share, borrowing = self._within_share, self._borrowing
        loop = asyncio.get_running_loop()
        while True:
            running = len(self._in_flight)
            if within_share and running < self.global_limit:
                origin = within_share.popleft()
            elif borrowing and running < self.global_limit - self.spare:
                origin = borrowing.popleft()
            else:
                return
            destination = self._destinations[origin]
            destination.turn = None
            delivery_id = destination.waiting.popleft()
            destination.active += 1
            if destination.waiting:
                self._queue_turn(origin, destination)
            self._attempting[delivery_id] = (self.clock.now(), loop.time())
            task = asyncio.create_task(self._attempt(delivery_id))
            self._in_flight.add(task)
            task.add_done_callback(partial(self._finished, origin, delivery_id, loop.time()))

    @property
    def in_flight(self) -> dict[Origin, int]:
        """Attempts in flight per destination."""
        return {origin: d.active for origin, d in self._destinations.items() if d.active}

    @property
    def queued(self) -> dict[Origin, int]:
        """Deliveries due and waiting for their destination's turn, per destination."""
        return {origin: len(d.waiting) for origin, d in self._destinations.items() if d.waiting}

    def reset(self, store: Store, ids: IdFactory) -> None:
        self.store = store
        self.ids = ids
        self._handlers.clear()
        self._one_shot.clear()
        self.caused.clear()
        waiting = 0
        for origin, destination in list(self._destinations.items()):
            waiting += len(destination.waiting)
            destination.waiting.clear()
            destination.turn = None
            if not destination.active:
                del self._destinations[origin]
        self._within_share.clear()
        self._borrowing.clear()
        for _ in range(waiting):
            self._done()

    def _done(self) -> None:
        self._unfinished -= 1
        if self._unfinished <= 0:
            self._unfinished = 0
            self._idle.set()

    async def run(self) -> None:
        """The worker: sends due deliveries until cancelled. The HTTP client is imported in a
        worker thread first (about 50 ms, a sixth of the start-up), while the server gets ready."""
        httpx = await asyncio.to_thread(importlib.import_module, "httpx")
        from .transport import StreamTransport

        transport = self.transport or StreamTransport()
        # Answers are read raw (see `transport`): ask receivers not to compress them.
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, transport=transport, headers={"Accept-Encoding": "identity"}
        ) as client:
            self._client = client
            try:
                self._start_due()
                self._progress.set()  # a clock move may be waiting for the worker to start
                await asyncio.Future()  # attempts start as deliveries come due, until cancelled
            finally:
                self._client = None
                for task in list(self._in_flight):
                    task.cancel()

    def _finished(self, origin: Origin, delivery_id: str, started: float, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._attempting.pop(delivery_id, None)
        self._progress.set()
        destination = self._destinations[origin]
        destination.active -= 1
        destination.quick = asyncio.get_running_loop().time() - started <= QUICK_ATTEMPT
        if destination.active or destination.waiting:
            self._queue_turn(origin, destination)
        else:
            del self._destinations[origin]
        self._done()
        self._start_due()

    async def _attempt(self, delivery_id: str) -> None:
        try:
            if self.claims is not None:
                await self.claims.attempt(self, delivery_id)
            else:
                await self._send(delivery_id)
        except Exception as exc:  # a bug; the delivery must still end, not stay pending for ever
            log.exception("webhook delivery %s could not be attempted", delivery_id)
            self._give_up(delivery_id, f"the emulator could not attempt this delivery: {_describe(exc)}")

    def _give_up(self, delivery_id: str, reason: str) -> None:
        delivery = self.store.deliveries.get(delivery_id)
        if delivery is None or delivery.state != "pending":
            return
        attempt = Attempt(
            number=len(delivery.attempts) + 1, at=self.clock.now(), url=delivery.url, method=delivery.method,
            request_headers=dict(delivery.headers), request_body=delivery.body.decode("utf-8", "replace"), error=reason,
        )
        delivery.attempts.append(attempt)
        self._settle(delivery, attempt, None)

    def _unsendable(self, delivery: Delivery) -> str | None:
        """Why the delivery must not be sent at all; None when it may be."""
        url = delivery.url
        if url not in self._sendable_urls:  # most deliveries go to a URL already checked
            problem = target_url_problem(url, check_length=False)
            if problem is not None:
                return f"the target URL cannot be used: {problem}"
            if self._own_port is not None and self._is_own_control_api(url):
                return (f"the target is the emulator's own control API ({_CONTROL_PREFIX}); deliveries there are "
                        f"refused so that a webhook cannot reset or drive the emulator (its receiver, {_SINK_PREFIX}..., takes them)")
            if len(self._sendable_urls) >= 1024:
                self._sendable_urls.clear()
            self._sendable_urls.add(url)
        for name, value in delivery.headers.items():
            if name == HOP_HEADER:
                continue
            problem = header_problem(name, value) if isinstance(name, str) and isinstance(value, str) else "not text"
            if problem is not None:
                return f"a header cannot be sent: {problem}"
        return None

    def _is_own_control_api(self, url: str) -> bool:
        parts = urlsplit(url)
        if (parts.port or (443 if parts.scheme == "https" else 80)) != self._own_port:
            return False
        host = (parts.hostname or "").rstrip(".")
        if host not in self._own_hosts and not host.endswith(".localhost"):
            try:
                if not ipaddress.ip_address(host).is_loopback:
                    return False
            except ValueError:
                return False
        import httpx

        path = httpx.URL(url).path  # dot segments resolved and escapes decoded, as the server's router will see it
        if path.startswith(_SINK_PREFIX):  # the built-in receiver only records: webhooks are what it is for
            return False
        return path == _CONTROL_PREFIX or path.startswith(_CONTROL_PREFIX + "/")

    async def _send(self, delivery_id: str) -> None:
        made = await self.make_attempt(delivery_id)
        if made is None:
            return
        delivery, attempt, final = made
        if self.store.deliveries.get(delivery_id) is not delivery:
            return  # the emulator was reset while this attempt was in flight
        self.record_attempt(delivery, attempt, final)

    def _policy_of(self, delivery: Delivery) -> RetryPolicy:
        policy = self.policies[delivery.provider]
        return replace(policy, delays=()) if delivery.id in self._one_shot else policy

    async def make_attempt(self, delivery_id: str) -> tuple[Delivery, Attempt, bool] | None:
        """Make the next attempt at a pending delivery (None when there is none to make) and say
        what happened, without recording it: the attempt, and whether no retry can mend it."""
        delivery = self.store.deliveries.get(delivery_id)
        if delivery is None or delivery.state != "pending" or self._client is None:
            return None
        policy = self._policy_of(delivery)
        one_shot = delivery_id in self._one_shot
        headers = dict(delivery.headers)
        if policy.sign is not None:
            headers.update(policy.sign(delivery))
        attempt = Attempt(
            number=len(delivery.attempts) + 1,
            at=self._attempting[delivery_id][0] if delivery_id in self._attempting else self.clock.now(),  # started, not run
            url=delivery.url,
            method=delivery.method,
            request_headers=headers,
            request_body=delivery.body.decode("utf-8", "replace"),
        )
        refusal = self._unsendable(delivery)
        if refusal is not None:
            attempt.error = refusal
            return delivery, attempt, True
        import httpx  # loaded by `run`, which made the client

        final = False
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
            if attempt.status == 508 and (parse_hop(delivery.headers.get(HOP_HEADER, "")) or 0) >= MAX_HOPS:
                final = True  # the emulator refused its own loop: a retry would be refused again
            content = response.content
            acted_on = one_shot or delivery_id in self._handlers
            attempt.response_body = content[: _MAX_EXCHANGE_BODY if acted_on else _MAX_RECORDED_BODY].decode(
                response.encoding or "utf-8", "replace"
            )
            if response.extensions.get("truncated") or len(content) > _MAX_EXCHANGE_BODY:
                attempt.error = f"the answer is longer than {_MAX_EXCHANGE_BODY // 1024} KiB: only that much was read"
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:  # the request cannot be made
            attempt.error, final = _describe(exc), True
        except (httpx.HTTPError, OSError) as exc:  # the network or the receiver: worth a retry
            attempt.error = _describe(exc)
        except Exception as exc:  # anything else (a header httpx cannot encode ...) will not mend either
            attempt.error, final = _describe(exc), True
        attempt.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return delivery, attempt, final

    def record_attempt(self, delivery: Delivery, attempt: Attempt, final: bool) -> None:
        """Record an attempt made at a pending delivery and settle what follows from it."""
        delivery.attempts.append(attempt)
        self._settle(delivery, attempt, self._policy_of(delivery), final=final)

    def _settle(self, delivery: Delivery, attempt: Attempt, policy: RetryPolicy | None, final: bool = False) -> None:
        """`final` (or no policy): the attempt failed in a way no retry can mend."""
        if policy is not None and attempt.status is not None and policy.is_success(attempt.status):
            delivery.state = "delivered"
            delivery.next_attempt_at = None
        elif policy is not None and not final and policy.should_retry(attempt.status) and attempt.number <= len(policy.delays):
            delay = policy.delays[attempt.number - 1]
            # From the attempt's start: under a virtual clock that moved on meanwhile, the retry
            # still falls where it would have had the answer come at once.
            event = self.clock.schedule_at(attempt.at + self.clock.span(delay), lambda: self._submit(delivery.id))
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

    def attempting(self) -> list[str]:
        """The ids of the deliveries whose attempts are in flight, oldest attempt first."""
        return list(self._attempting)

    async def settle(self, seconds: float) -> bool:
        """Wait up to `seconds` of real time until no attempt younger than `settle_grace` real
        seconds is in flight; False if time ran out first. A virtual-clock move waits so at each
        instant: a receiver that answers at once has its attempt, the retry it schedules and its
        event at the instant it fell due, in a fixed order; one slower than the grace (hanging,
        or at its timeout) is left to answer whenever it does, as a real receiver would, and
        does not hold up the clock for everyone. Its retry still counts from the attempt's time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            now = loop.time()
            youngest = max(self._attempting.values(), default=None, key=lambda started: started[1])
            not_started = self._client is None and bool(self._within_share)  # the worker has yet to run
            if not not_started and (youngest is None or now - youngest[1] >= self.settle_grace):
                return True
            if now >= deadline:
                return False
            until = deadline if not_started else min(deadline, youngest[1] + self.settle_grace)
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), until - now)
            except TimeoutError:
                pass

    async def drain(self, timeout: float = 5.0) -> bool:
        """Wait until no delivery is queued or in flight; False if `timeout` passed first.
        A retry scheduled on the clock for later does not count as unfinished."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

"""Webhook attempts in a shared world: every copy of the world queues the same deliveries, but
each attempt is made by one process only, the one that claims it in Redis. The claim is a lease
(the attempt's timeout and a margin): a process killed while it holds one loses it, and another
process takes the attempt over. The result is appended to the log and the claim marked done in
one step, so every copy records the attempt, retries follow the provider's policy from there,
and no process makes an attempt whose result is already in the log.

A process killed after a receiver answered 2xx and before the result reached the log would have
its attempt made again by another (the one window for a repeat): the report's own fields (the
message id and status) and, for seven.io, the attempt's nonce tell a receiver that it is one."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

import orjson
from redis.exceptions import RedisError

from ..core.models import Attempt
from .clock import wall_micros

if TYPE_CHECKING:
    from ..core.webhooks import Outbox
    from .replica import Replica

__all__ = ["AttemptClaims", "DONE_MS", "LEASE_MARGIN"]

log = logging.getLogger("emulator.shared")

LEASE_MARGIN = 5.0  # seconds a claim outlives the attempt's timeout
# Seconds the other processes leave an attempt to the process whose entry set it off (the one a
# request came to, the ticker's) before they try to claim it: in the usual case one process
# claims at once and the others only wait for its result, with no trip to Redis.
DEFERENCE = 0.25
DONE_MS = 600_000  # how long a claim stays marked done (every copy applies the result well within)


class AttemptClaims:
    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.expected: dict[str, int] = {}  # delivery id -> the attempt its latest submission asks for
        self.first: set[str] = set()  # deliveries whose latest attempt was set off by this process's own entry
        self._results: dict[tuple[str, str, int], asyncio.Future[None]] = {}

    def submitted(self, delivery_id: str, number: int) -> None:
        self.expected[delivery_id] = number
        if self.replica.applying_own:
            self.first.add(delivery_id)
        else:
            self.first.discard(delivery_id)

    async def attempt(self, outbox: Outbox, delivery_id: str) -> None:
        """Make the attempt this process's queue holds for `delivery_id` if this process claims
        it; either way return once its result has been applied here."""
        delivery = outbox.store.deliveries.get(delivery_id)
        if delivery is None or delivery.state != "pending":
            return
        number = len(delivery.attempts) + 1
        if self.expected.get(delivery_id) != number:
            return  # the attempt this submission asked for is already in the log
        replica = self.replica
        generation = replica.generation
        claim = f"claim:{generation}:{delivery_id}:{number}"
        lease_ms = int((outbox.policies[delivery.provider].timeout + LEASE_MARGIN) * 1000)
        key = (generation, delivery_id, number)
        if delivery_id in self.first:
            self.first.discard(delivery_id)
        else:  # another process set it off: it claims first
            try:
                await asyncio.wait_for(asyncio.shield(self._future(key)), DEFERENCE)
            except TimeoutError:
                pass
        while True:
            future = self._future(key)  # before looking: the result may be applied at any await
            if self._resolved(outbox, delivery, number, generation):
                return
            try:
                await self._turn(outbox, delivery_id, claim, lease_ms, generation, number, future)
            except RedisError as exc:  # the attempt stays this process's to try again: nothing is recorded without the log
                log.warning("webhook attempt %s:%d waits for Redis: %s", delivery_id, number, exc)
                await asyncio.sleep(0.5)

    async def _turn(self, outbox: Outbox, delivery_id: str, claim: str, lease_ms: int, generation: str, number: int,
                    future: asyncio.Future[None]) -> None:
        """Claim the attempt and make it, or wait for whoever holds it (or for its lease to lapse)."""
        replica = self.replica
        taken, holder, left = await replica.log.claim(claim, replica.me, lease_ms)
        if taken:
            made = await outbox.make_attempt(delivery_id)
            if made is None:
                return
            _, attempt, final = made
            head = orjson.dumps({"g": generation, "d": delivery_id, "n": number, "final": final, "attempt": asdict(attempt)})
            while True:  # the attempt is made: its result must reach the log, or it would be made again
                try:
                    await replica.log.report(claim, DONE_MS, replica.me, wall_micros(), head)
                    break
                except RedisError as exc:
                    log.warning("the result of webhook attempt %s:%d waits for Redis: %s", delivery_id, number, exc)
                    await asyncio.sleep(0.5)
            await asyncio.shield(future)
            return
        # Another process makes it (or made it: `done`): wait for its result, or for its lease to lapse.
        try:
            await asyncio.wait_for(asyncio.shield(future), None if holder == b"done" else max(left, 0) / 1000 + 0.05)
        except TimeoutError:
            pass

    def _resolved(self, outbox: Outbox, delivery, number: int, generation: str) -> bool:
        return (self.replica.generation != generation or outbox.store.deliveries.get(delivery.id) is not delivery
                or delivery.state != "pending" or len(delivery.attempts) >= number)

    def _future(self, key: tuple[str, str, int]) -> asyncio.Future[None]:
        future = self._results.get(key)
        if future is None or future.done():
            future = self._results[key] = asyncio.get_running_loop().create_future()
        return future

    def apply(self, outbox: Outbox, head: dict) -> None:
        """A result entry: record the attempt in this copy of the world."""
        key = (head["g"], head["d"], head["n"])
        future = self._results.pop(key, None)
        if future is not None and not future.done():
            future.set_result(None)
        if head["g"] != self.replica.generation:
            return
        delivery = outbox.store.deliveries.get(head["d"])
        if delivery is None or delivery.state != "pending" or len(delivery.attempts) + 1 != head["n"]:
            return
        outbox.record_attempt(delivery, Attempt(**head["attempt"]), head["final"])

    def forget(self) -> None:
        """The world was replaced (a reset, a restore): whoever waits for an old result stops."""
        self.expected.clear()
        self.first.clear()
        for future in self._results.values():
            if not future.done():
                future.set_result(None)
        self._results.clear()

"""This process's copy of the shared world, kept up with the world's log (see the package's
docstring): the applier that reads the log and applies each entry in order, the way in for the
requests this process receives, the virtual clock's moves, and the real clock's ticker."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
from typing import Any, Awaitable, Callable

import orjson
from redis.exceptions import RedisError
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from ..core.clock import Run, VirtualClock
from ..core.engine import Engine
from ..http.fault_injector import answer_status, provider_at
from ..http.reasons import ECHO, REASON_HEADER, header_value
from .clock import LogClock, wall_micros
from .deliveries import AttemptClaims
from .redis_log import WorldLog
from .requests import DELAY, THROUGH, Capture, body_receive, decode_scope, encode_scope, read_body

__all__ = ["Replica"]

log = logging.getLogger("emulator.shared")

Serve = Callable[[Scope, Receive, Send], Awaitable[None]]

TICK_LATE = 2_000  # microseconds something may be overdue before the ticker appends a tick
QUIET = 10_000  # microseconds without an entry after which the log counts as quiet
TICKER_LEASE_MS = 3_000
_CLOCK_MOVES = ("/_emulator/clock/advance", "/_emulator/clock/set")
_CRASH = b'{"error":{"type":"InternalError","message":"Internal error in the emulator."}}'


async def answer_unavailable(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """The answer when Redis cannot be reached: 503 in the provider's own error shape (the control
    API's otherwise), with the reason; nothing was changed, and the request may be tried again."""
    reason = header_value(f"the shared world's store (Redis) cannot be reached: {exc}; nothing was changed, try again")
    provider = provider_at(scope["path"])
    if provider is not None:
        await answer_status(send, provider, 503, 1, reason)
        return
    response = JSONResponse({"error": {"type": "StoreUnavailable", "message": reason}}, 503, {REASON_HEADER: reason, "Retry-After": "1"})
    await response(scope, receive, send)


def _id_key(entry_id: bytes) -> tuple[int, int]:
    ms, _, seq = entry_id.partition(b"-")
    return int(ms), int(seq or 0)


class Replica:
    def __init__(self, engine: Engine, world_log: WorldLog, *, max_body_size: int, logged_prefixes: tuple[str, ...]) -> None:
        self.engine = engine
        self.log = world_log
        self.me = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self.max_body_size = max_body_size
        self.logged_prefixes = logged_prefixes  # paths whose every request is an entry (the provider mounts, the sink)
        self.serve: Serve | None = None  # the front door, which serves what the replica marks THROUGH
        self.guard: Callable[[Scope, Receive, Send], Awaitable[bool]] | None = None  # its exposure guard: True when it refused
        self.applied = (0, 0)
        self._last = b"0-0"
        self._numbers = itertools.count(1)
        self._answers: dict[str, asyncio.Future[Any]] = {}
        self._caught_up: list[tuple[tuple[int, int], asyncio.Future[None]]] = []
        self._store = engine.store
        self.generation = "0"  # the entry after which the world was last replaced (reset, restore)
        self.claims = AttemptClaims(self)
        engine.outbox.claims = self.claims
        engine.move_clock = self.move_clock  # type: ignore[method-assign]
        self._applier: asyncio.Task[None] | None = None
        self._stopping = False
        self.applying_own = False  # whether the entry being applied is this process's own

    # -- the way in ----------------------------------------------------------------------
    def logged(self, method: str, path: str) -> bool:
        """Whether a request is an entry of the log: everything that may change the world."""
        if path.startswith(self.logged_prefixes):
            return True
        if path.startswith("/_emulator"):
            return method not in ("GET", "HEAD") and path not in _CLOCK_MOVES
        return False

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._handle(scope, receive, send)
        except RedisError as exc:
            log.warning("%s %s: the world's store is unavailable: %s", scope["method"], scope["path"], exc)
            await answer_unavailable(scope, receive, send, exc)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.serve is not None and self.guard is not None
        if self.logged(scope["method"], scope["path"]):
            if scope["path"].startswith("/_emulator") and not scope["path"].startswith(self.logged_prefixes) and await self.guard(scope, receive, send):
                return  # refused by this process's own exposure settings: nothing to log
            capture = await self.submit(scope, receive)
            if capture is None:
                return  # the client left before its body ended: nothing happened
            if capture.delay:
                await asyncio.sleep(capture.delay)
            await capture.replay(send)
            return
        await self.catch_up()  # a clock move too: its checks read the clock as the log has it now
        scope[THROUGH] = True
        await self.serve(scope, receive, send)

    async def submit(self, scope: Scope, receive: Receive) -> Capture | None:
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > self.max_body_size
        body = b"" if too_large else await read_body(receive, self.max_body_size)
        if body is None:
            return None
        return await self._append({b"k": b"r", b"m": encode_scope(scope), b"b": body})

    async def _append(self, fields: dict[bytes, Any]) -> Any:
        """Append an entry of this process's and wait for what applying it gives."""
        origin = f"{self.me}:{next(self._numbers)}"
        future = self._answers[origin] = asyncio.get_running_loop().create_future()
        fields[b"o"] = origin
        fields[b"t"] = wall_micros()
        try:
            await self.log.append(fields)
            return await future
        finally:
            self._answers.pop(origin, None)

    async def catch_up(self) -> None:
        """Return once this copy has applied everything the log holds now."""
        await self.reach(_id_key(await self.log.last_id()))

    async def reach(self, target: tuple[int, int]) -> None:
        if self.applied >= target:
            return
        future = asyncio.get_running_loop().create_future()
        self._caught_up.append((target, future))
        await future

    @property
    def applied_id(self) -> str:
        """The id of the last entry of the log this copy has applied (`0-0` before the first)."""
        return self._last.decode()

    # -- time ----------------------------------------------------------------------------
    async def move_clock(self, instant: int) -> Run:
        """The virtual clock's move (see `VirtualClock.run_to`), one entry per due instant: each
        fires what is due then, and the webhook attempts it set off, made by whichever process
        claims them, are waited for before time goes on."""
        clock = self.engine.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("only a virtual clock can be moved")
        await self.catch_up()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.engine.clock_move_budget
        settle = self.engine.outbox.settle
        fired = 0
        while True:
            if not await settle(max(0.0, deadline - loop.time())):
                return Run(fired, clock.now(), False)
            due = clock.next_due()
            if due is None or due > instant:
                break
            if loop.time() > deadline:
                return Run(fired, clock.now(), False)
            fired += await self._append({b"k": b"f", b"m": orjson.dumps({"until": due})})
        fired += await self._append({b"k": b"f", b"m": orjson.dumps({"until": instant})})
        return Run(fired, clock.now(), True)

    async def tick(self) -> None:
        """Under the real clock: while this process holds the ticker's lease, append a tick
        whenever something fell due that no entry has fired yet."""
        clock = self.engine.clock
        assert isinstance(clock, LogClock)
        leading = False
        while True:
            due = clock.next_due()
            now = wall_micros()
            # Only while the log is quiet: entries that keep coming fire what falls due themselves.
            quiet_until = clock.now() + QUIET
            if due is None or max(due + TICK_LATE, quiet_until) > now:
                wait = 0.05 if due is None else min(0.05, (max(due + TICK_LATE, quiet_until) - now) / 1e6)
                await asyncio.sleep(max(wait, 0.001))
                continue
            try:
                leading = await self.log.lease("ticker", self.me, TICKER_LEASE_MS)
                if leading:
                    await self._append({b"k": b"t"})
            except RedisError as exc:
                log.warning("the ticker could not reach Redis: %s", exc)
                leading = False
            if not leading:
                await asyncio.sleep(0.5)

    # -- the applier ---------------------------------------------------------------------
    async def start(self) -> None:
        """Apply the log from its beginning up to its newest entry, then follow it."""
        await self.log.open()
        target = _id_key(await self.log.last_id())
        self._applier = asyncio.create_task(self._follow())
        await self.reach(target)

    def background(self) -> list[asyncio.Task[None]]:
        """The tasks a serving process runs beside the applier: the ticker, under the real clock."""
        return [asyncio.create_task(self.tick())] if isinstance(self.engine.clock, LogClock) else []

    async def stop(self) -> None:
        self._stopping = True
        if self._applier is not None:
            try:
                await self.log.wake_reader()
                await asyncio.wait_for(asyncio.shield(self._applier), 2.0)
            except (RedisError, TimeoutError):
                pass
            self._applier.cancel()
            await asyncio.gather(self._applier, return_exceptions=True)
        await self.log.close()

    async def _follow(self) -> None:
        while not self._stopping:
            try:
                entries = await self.log.read(self._last)
            except RedisError as exc:
                if self._stopping:  # the client turns a cancelled read into an error of its own
                    return
                log.warning("cannot read the world's log: %s; trying again", exc)
                await asyncio.sleep(0.5)
                continue
            for entry_id, fields in entries:
                await self._apply(entry_id, fields)
                self._last = entry_id
                self.applied = _id_key(entry_id)
            if self._caught_up:
                applied = self.applied
                waiting = []
                for target, future in self._caught_up:
                    if target <= applied:
                        if not future.done():
                            future.set_result(None)
                    else:
                        waiting.append((target, future))
                self._caught_up = waiting

    async def _apply(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        kind = fields[b"k"]
        origin = fields.get(b"o", b"").decode()
        answer: Any = None
        clock = self.engine.clock
        self.applying_own = origin.startswith(self.me)
        try:
            if isinstance(clock, LogClock):
                clock.reach(int(fields[b"t"]))
            if kind == b"r":
                answer = await self._apply_request(fields, origin.startswith(self.me))
            elif kind == b"f":
                if isinstance(clock, VirtualClock):
                    until = orjson.loads(fields[b"m"])["until"]
                    answer = clock.set(max(until, clock.now()))
                else:
                    answer = 0
            elif kind == b"a":
                self.claims.apply(self.engine.outbox, orjson.loads(fields[b"m"]))
        except Exception:  # a bug: the world goes on with the next entry
            log.exception("applying entry %s of the world's log failed", entry_id.decode())
            if kind == b"r":
                answer = Capture({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]}, [_CRASH])
        self.applying_own = False
        if self.engine.store is not self._store:
            self._store = self.engine.store
            self.generation = entry_id.decode()
            self.claims.forget()
        future = self._answers.get(origin) if origin.startswith(self.me) else None
        if future is not None and not future.done():
            future.set_result(answer)

    async def _apply_request(self, fields: dict[bytes, bytes], own: bool) -> Capture:
        assert self.serve is not None
        scope = decode_scope(fields[b"m"])
        if not own:
            scope[ECHO] = True  # its process logs it
        capture = Capture()
        await self.serve(scope, body_receive(fields.get(b"b", b"")), capture.send)
        capture.delay = scope.get(DELAY, 0.0)
        return capture

"""Helpers for the voice call tests: an in-process webhook receiver that answers call-control
requests with the JSON actions a test gives per path, an emulator fixture that uses it, and a
way to run the virtual clock until a call is over."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

import httpx
import pytest

from emulator.core.calls import FINAL_CALL_STATUSES
from support import Emulator, Received, Receiver, make_engine, running_emulator

HOOKS = "http://hooks.test"

Answer = str | dict | tuple[int, str] | Callable[[Received], Any]


@dataclass
class ScriptedReceiver(Receiver):
    """Answers each path with `answers[path]`: an action dict (sent as JSON), a text, a
    `(status, text)` pair, or a function of the request returning one of these. Other paths get
    `200 ok`, as the plain `Receiver` does."""

    answers: dict[str, Answer] = field(default_factory=dict)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        received = Received(request.method, str(request.url), request.headers, body)
        self.requests.append(received)
        answer = self.answers.get(request.url.path)
        while callable(answer):
            answer = answer(received)
        if answer is None:
            return httpx.Response(200, text="ok")
        status, text = answer if isinstance(answer, tuple) else (200, answer)
        if isinstance(text, dict):
            return httpx.Response(status, json=text)
        return httpx.Response(status, text=text)

    def path(self, path: str) -> list[Received]:
        return self.to(HOOKS + path)


@pytest.fixture
async def voice() -> AsyncIterator[Emulator]:
    """Like the shared `emulator` fixture, with a `ScriptedReceiver` as `voice.receiver`."""
    async with running_emulator(make_engine(), ScriptedReceiver()) as running:
        yield running


async def run_call(emulator: Emulator, call_id: str, step: float = 1.0, limit: float = 3600.0) -> float:
    """Advance the clock `step` seconds at a time (letting each call-control exchange finish)
    until the call has ended; returns the simulated seconds it took."""
    elapsed = 0.0
    while emulator.engine.calls.get(call_id).status not in FINAL_CALL_STATUSES:
        assert elapsed < limit, f"call {call_id} still {emulator.engine.calls.get(call_id).status} after {limit} s"
        await emulator.advance(step)
        elapsed += step
    await emulator.engine.outbox.drain()
    return elapsed


def form_json(received: Received, name: str) -> Any:
    return json.loads(received.form[name])

"""End-to-end fixtures: the real `telco-emulator` process on a free port, and a real HTTP webhook
receiver on loopback. Both are stopped by the test that started them."""

from __future__ import annotations

from typing import Iterator

import pytest

from processes import RunningEmulator, start_emulator, stop
from support import WebhookReceiver, serve_webhook_receiver


@pytest.fixture
def emulator_process(request) -> Iterator[RunningEmulator]:
    args = getattr(request, "param", ())
    running = start_emulator(*args)
    yield running
    stop(running.process)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with serve_webhook_receiver() as receiver:
        yield receiver

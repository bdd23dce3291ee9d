"""Robustness fixtures: the real `telco-emulator` process on a free port and a real webhook
receiver on loopback, as in the end-to-end suite. Each test here reproduces one way a hostile
client, a heavy test suite or a broken receiver could hurt the emulator, and asserts that it no
longer does."""

from __future__ import annotations

from typing import Iterator

import pytest

from processes import RunningEmulator, start_emulator, stop
from support import WebhookReceiver, serve_webhook_receiver


@pytest.fixture
def emulator_process(request) -> Iterator[RunningEmulator]:
    """Parametrise indirectly with a tuple of extra command-line flags."""
    args = getattr(request, "param", ())
    running = start_emulator(*args)
    yield running
    stop(running.process)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with serve_webhook_receiver() as receiver:
        yield receiver

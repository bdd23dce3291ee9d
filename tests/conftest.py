"""Shared fixtures: an emulator app on a virtual clock, driven in-process through httpx's
ASGITransport with its lifespan running, and an in-process webhook receiver."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest

from emulator.core.engine import Engine
from support import Emulator, Receiver, make_engine, running_emulator

pytest_plugins = ["pytester"]


@pytest.fixture
def engine() -> Engine:
    return make_engine()


@pytest.fixture
async def emulator(engine: Engine) -> AsyncIterator[Emulator]:
    async with running_emulator(engine, Receiver()) as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> httpx.AsyncClient:
    return emulator.client


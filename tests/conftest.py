"""Shared fixtures: an emulator app on a virtual clock, driven in-process through httpx's
ASGITransport with its lifespan running, and an in-process webhook receiver."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest

from emulator.app import create_app
from emulator.core.engine import Engine
from emulator.settings import Settings
from support import VIRTUAL_START, Emulator, Receiver, make_engine

pytest_plugins = ["pytester"]


@pytest.fixture
def engine() -> Engine:
    return make_engine()


@pytest.fixture
async def emulator(engine: Engine) -> AsyncIterator[Emulator]:
    receiver = Receiver()
    engine.outbox.transport = httpx.MockTransport(receiver.handle)
    app = create_app(Settings(clock="virtual", clock_start=VIRTUAL_START), engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as client:
            yield Emulator(engine, client, receiver)


@pytest.fixture
def client(emulator: Emulator) -> httpx.AsyncClient:
    return emulator.client


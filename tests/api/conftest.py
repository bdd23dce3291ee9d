"""The API suites run against both stores: the world in this process's memory (the default), and a
shared world in a real Redis server, where every change goes through the world's log before it
is answered (emulator/shared/)."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from emulator.core.engine import Engine
from support import Emulator, Receiver, make_engine, running_emulator

STORES = ("memory", "redis")


@pytest.fixture(params=STORES)
def store(request) -> str | None:
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url")


@pytest.fixture
def engine(store: str | None) -> Engine:
    return make_engine(store=store)


@pytest.fixture
async def emulator(engine: Engine, store: str | None) -> AsyncIterator[Emulator]:
    async with running_emulator(engine, Receiver(), store=store) as running:
        yield running

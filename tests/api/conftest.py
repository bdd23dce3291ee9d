"""The API suites run against both stores: the world in this process's memory (the default), and a
shared world in a real Redis server, where every change goes through the world's log before it
is answered (emulator/shared/).

With Redis, a second copy of the world (a follower, as another process would be) runs beside the
one the test drives, on the same log, and makes its share of the webhook attempts to the same
receiver. After the test, once both have applied the whole log, their snapshots must be equal:
every operation of the suite is applied the same way by every copy. A test that changes the
driven copy behind the log's back (setting a balance on the engine) says so with
`@pytest.mark.local_changes`, and runs without a follower."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from emulator.core import snapshot
from emulator.core.engine import Engine
from support import Emulator, Receiver, make_engine, running_emulator

STORES = ("memory", "redis")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "local_changes: the test changes the engine directly, outside the shared world's log")


@pytest.fixture(params=STORES)
def store(request) -> str | None:
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url")


@pytest.fixture
def engine(store: str | None) -> Engine:
    return make_engine(store=store)


@pytest.fixture
async def emulator(request, engine: Engine, store: str | None) -> AsyncIterator[Emulator]:
    receiver = Receiver()
    async with running_emulator(engine, receiver, store=store) as running:
        if store is None or request.node.get_closest_marker("local_changes") is not None:
            yield running
            return
        follower = make_engine(store=store)
        async with running_emulator(follower, receiver, store=store):
            yield running
            await _compare(engine, follower)


async def _compare(driven: Engine, follower: Engine) -> None:
    for copy in (driven, follower):
        await copy.outbox.drain()
    for copy in (driven, follower):
        await copy.outbox.claims.replica.catch_up()
    assert snapshot.take(follower) == snapshot.take(driven), "the follower's copy of the world differs from the driven one"

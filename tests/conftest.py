"""Shared fixtures: an emulator app on a virtual clock, driven in-process through httpx's
ASGITransport with its lifespan running, and an in-process webhook receiver; for the suites that
drive the real process (e2e, robustness), the `telco-emulator` process on a free port and a real
HTTP webhook receiver on loopback, both stopped by the test that started them."""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import httpx
import pytest

from emulator.core.engine import Engine
from processes import RunningEmulator, start_emulator, stop
from redis_support import RedisServer, running_redis
from support import Emulator, Receiver, WebhookReceiver, make_engine, running_emulator, serve_webhook_receiver

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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """One real Redis server on loopback for the whole run (installed by scripts/install-redis.sh
    when missing); each test that uses it empties the databases it takes first."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """An empty Redis database for one shared world."""
    redis_server.command("FLUSHALL")
    return redis_server.url(0)


@pytest.fixture
def emulator_process(request) -> Iterator[RunningEmulator]:
    """The real process; parametrise indirectly with a tuple of extra command-line flags."""
    args = getattr(request, "param", ())
    running = start_emulator(*args)
    yield running
    stop(running.process)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with serve_webhook_receiver() as receiver:
        yield receiver

"""Joining a shared world: the world's identity in Redis (the first process writes its settings,
the others must match them), the clock it runs on, and this process's `Replica`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..control.sink import SINK_PREFIX
from ..core.clock import Clock, VirtualClock, check_time
from ..core.engine import Engine
from ..providers import PROVIDERS
from ..settings import Settings
from ..world.fixtures import default_fixture_text
from .clock import LogClock, wall_micros
from .redis_log import WorldLog, open_world
from .replica import Replica

__all__ = ["shared_clock", "replica_for", "identity_of"]


def identity_of(settings: Settings) -> dict[str, str]:
    """What every process of one world must agree on, as the world's hash in Redis keeps it."""
    text = default_fixture_text() if settings.fixtures is None else Path(settings.fixtures).read_text(encoding="utf-8")
    start = settings.clock_start if settings.clock_start is not None else wall_micros()
    return {
        "seed": str(settings.seed),
        "clock": settings.clock,
        "time_scale": repr(float(settings.time_scale)),
        "fixtures": hashlib.sha256(text.encode()).hexdigest(),
        "max_body_size": str(settings.max_body_size),  # every copy must refuse the same bodies
        "clock_start": str(start),
    }


def shared_clock(settings: Settings) -> Clock:
    """The clock of the world at `settings.store`, starting where the world's first process
    started it (so that every copy stamps the fixtures alike)."""
    assert settings.store is not None
    identity = open_world(settings.store, identity_of(settings))
    start = check_time(int(identity["clock_start"]), "the world's clock start")
    if settings.clock == "virtual":
        return VirtualClock(start, settings.time_scale)
    return LogClock(start, settings.time_scale)


def replica_for(engine: Engine, settings: Settings) -> Replica:
    assert settings.store is not None
    logged = tuple(provider.prefix for provider in PROVIDERS) + (SINK_PREFIX,)  # `/apix` too: a 404, logged
    return Replica(engine, WorldLog(settings.store), max_body_size=settings.max_body_size, logged_prefixes=logged)

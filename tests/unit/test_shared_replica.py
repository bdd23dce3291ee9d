"""Which requests become entries of a shared world's log: everything that may change the world."""

import pytest

from emulator.shared.redis_log import WorldLog
from emulator.shared.replica import Replica
from support import make_engine


@pytest.fixture
def replica() -> Replica:
    return Replica(make_engine(), WorldLog("redis://127.0.0.1:1/0"), max_body_size=1024,
                   logged_prefixes=("/a1", "/api", "/_emulator/sink/"))


@pytest.mark.parametrize(("method", "path", "logged"), [
    ("GET", "/a1/sms", True),  # provider reads are entries too: they are journaled and may be refused (events)
    ("POST", "/api/sms", True),
    ("GET", "/_emulator/sink/anything", True),  # the sink records what arrives
    ("POST", "/_emulator/reset", True),
    ("DELETE", "/_emulator/faults", True),
    ("GET", "/_emulator/messages", False),
    ("GET", "/_emulator/wait", False),
    ("POST", "/_emulator/clock/advance", False),  # a clock move is a series of entries of its own
    ("POST", "/_emulator/clock/set", False),
    ("GET", "/", False),
])
def test_what_is_logged(replica, method, path, logged):
    assert replica.logged(method, path) is logged


def test_a_replica_takes_over_the_engines_clock_moves_and_webhook_attempts(replica):
    engine = replica.engine
    assert engine.outbox.claims is replica.claims
    assert engine.move_clock == replica.move_clock


def test_a_quiet_log_is_waited_on_without_the_reader_timing_out():
    from emulator.shared.redis_log import READ_BLOCK_MS

    log = WorldLog("redis://127.0.0.1:1/0")
    assert log.reader.connection_pool.connection_kwargs["socket_timeout"] > READ_BLOCK_MS / 1000

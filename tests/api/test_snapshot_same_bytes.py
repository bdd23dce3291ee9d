"""Taking a snapshot fast changes nothing in it: `take` writes, byte for byte, the document the
code before it wrote (a frozen copy in `tests/snapshot_reference.py`), for a world with every
kind of record, again after the world moved on, and after records changed in every way a cache
could miss (in place, replaced whole, a value turned into an equal one of another type)."""

from datetime import datetime, timezone

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from emulator.core import snapshot as snapshots
from emulator.core.clock import EARLIEST_TIME, LATEST_TIME, MICROS
from emulator.core.models import StatusChange
from snapshot_reference import reference_take
from snapshot_support import FailingReceiver, build_world
from support import ELKS_AUTH, SEVEN_JSON, make_engine, running_emulator


def same_bytes(engine) -> None:
    taken = orjson.dumps(snapshots.take(engine))
    assert taken == orjson.dumps(reference_take(engine))


@pytest.fixture
async def world():
    async with running_emulator(make_engine(), FailingReceiver()) as running:
        running.made = await build_world(running.client, running.advance)
        yield running


async def test_the_document_is_the_same_bytes_as_before_and_stays_so_as_the_world_changes(world):
    engine = world.engine
    same_bytes(engine)
    same_bytes(engine)  # a second save (what a cache of the first would serve)
    await world.advance(60)  # the in-flight SMS is delivered, the failing webhook retried
    same_bytes(engine)

    message = engine.store.messages.get(world.made["elks_sms"])
    message.attributes["note"] = True  # a new attribute, in place
    same_bytes(engine)
    message.attributes["note"] = 1  # equal to True, yet written otherwise
    same_bytes(engine)
    message.attributes["note"] = 1.0
    same_bytes(engine)
    message.attributes["nested"] = {"list": [1, 2]}
    same_bytes(engine)
    message.attributes["nested"]["list"].append(3)  # deep inside, in place
    same_bytes(engine)
    message.attributes["pair"] = (1, "two")  # a tuple is written as a list
    same_bytes(engine)
    message.history[-1].at += 1  # a history entry changed in place
    same_bytes(engine)
    message.history = list(message.history) + [StatusChange("failed", message.history[-1].at + 5)]
    same_bytes(engine)
    message.status = "failed"
    message.delivered_at = None
    message.cost += 1
    message.text = "changed"
    same_bytes(engine)

    seven = engine.store.messages.get(world.made["seven_sms"])
    replacement = type(seven)(**{name: getattr(seven, name) for name in seven.__slots__})
    replacement.attributes = dict(seven.attributes, replaced=True)
    engine.store.messages.by_id[seven.id] = replacement  # the same id, another record
    same_bytes(engine)
    engine.store.messages.remove(world.made["failing_sms"])
    same_bytes(engine)

    for delivery in engine.store.deliveries:
        delivery.headers["X-Added"] = "1"
        if delivery.attempts:
            delivery.attempts[-1].status = 299
    for call in engine.calls.collection:
        call.attributes["seen"] = [True]
        for leg in call.legs:
            leg.attributes["again"] = 2
    for number in engine.store.numbers:
        number.attributes["expires"] = number.created + 5
    same_bytes(engine)


@given(st.integers(min_value=EARLIEST_TIME, max_value=LATEST_TIME - 1))
@settings(max_examples=300, deadline=None)
def test_every_time_is_written_as_before(micros):
    seconds, fraction = divmod(micros, MICROS)
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    assert snapshots.time_text(micros) == moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:06d}Z"


async def test_a_busy_world_is_the_same_bytes_as_before_at_every_save(world):
    """Many messages through their lives, saved between steps (as autosave does)."""
    client = world.client
    for step in range(6):
        for index in range(40):
            provider = ("elks", "seven")[index % 2]
            if provider == "elks":
                data = {"from": "ElkCo", "to": f"+4670000{step}{index:03d}", "message": f"m{step}-{index}"}
                response = await client.post("/a1/SMS", data=data, auth=ELKS_AUTH)
            else:
                response = await client.post("/api/sms", json={"to": f"+4917600{step}{index:03d}", "text": f"m{step}-{index}"}, headers=SEVEN_JSON)
            assert response.status_code in (200, 201), response.text
        same_bytes(world.engine)
        await world.advance(0.7 * step)
        same_bytes(world.engine)


@pytest.mark.parametrize("bad", [{1: "a number as a name"}, {"nested": {2: "deeper"}}, {"nan": float("nan")}, {"odd": object()}])
async def test_what_json_cannot_hold_is_refused_as_before(world, bad):
    message = world.engine.store.messages.get(world.made["elks_sms"])
    message.attributes.update(bad)
    with pytest.raises(snapshots.SnapshotError) as before:
        reference_take(world.engine)
    with pytest.raises(snapshots.SnapshotError) as now:
        snapshots.take(world.engine)
    assert str(now.value) == str(before.value)

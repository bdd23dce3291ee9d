"""The CLI's collector (`emulator/cli.py`): survivors of a collection are frozen, and a collection
walks only the few thousand objects made since the last one (every request in flight waits for it)."""

import gc

from emulator.cli import YOUNG_GENERATION, _freeze_survivors, tune_collector


def test_survivors_of_a_collection_are_set_aside():
    gc.unfreeze()
    try:
        kept = [{"record": i} for i in range(100)]
        _freeze_survivors("start", {"generation": 0})
        assert gc.get_freeze_count() == 0  # nothing before the collection ends
        _freeze_survivors("stop", {"generation": 0})
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


def _cycle() -> list:
    node: list = [{}]
    node[0]["owner"] = node  # a list and a dict that hold each other
    return node


def test_cycles_frozen_while_alive_are_freed_after_a_reset():
    from emulator.cli import FrozenGarbage

    gc.collect()
    gc.freeze()
    try:
        keeper = FrozenGarbage(slack=1_000)
        storm = [_cycle() for _ in range(5_000)]  # alive (an open wait's objects) during a collection
        _freeze_survivors("stop", {"generation": 0})
        del storm  # the storm ends: cycles the collector no longer sees
        grown = gc.get_freeze_count()
        assert grown >= keeper.baseline + 10_000  # 5,000 lists and 5,000 dicts
        keeper.after_reset()
        assert keeper.collections == 1
        assert gc.get_freeze_count() <= grown - 10_000
        assert gc.get_freeze_count() < keeper.baseline + 1_000
    finally:
        gc.unfreeze()


def test_a_reset_with_nothing_new_frozen_does_not_collect():
    from emulator.cli import FrozenGarbage

    gc.collect()
    gc.freeze()
    try:
        keeper = FrozenGarbage(slack=1_000)
        kept = [{"record": i} for i in range(100)]
        _freeze_survivors("stop", {"generation": 0})
        keeper.after_reset()
        assert keeper.collections == 0 and kept
    finally:
        gc.unfreeze()


def test_resets_with_nothing_frozen_between_them_do_not_count_the_frozen_objects(monkeypatch):
    """Counting walks every frozen object (milliseconds in a served emulator): the reset before
    each test of a suite must not pay for it when no collection has frozen anything since."""
    from emulator import cli

    counts = []
    real_count = gc.get_freeze_count
    keeper = cli.FrozenGarbage(slack=10**9)  # never collects here: only the counting is observed
    monkeypatch.setattr(cli.gc, "get_freeze_count", lambda: counts.append(1) or real_count())
    for _ in range(100):
        keeper.after_reset()
    assert counts == []
    gc.freeze()
    try:
        _freeze_survivors("stop", {"generation": 0})  # a collection froze its survivors: count once
        keeper.after_reset()
        keeper.after_reset()
        assert len(counts) == 1
    finally:
        gc.unfreeze()


def test_a_collection_walks_at_most_a_few_thousand_new_objects_and_freezes_the_survivors():
    saved_threshold, saved_callbacks, was_frozen = gc.get_threshold(), list(gc.callbacks), gc.get_freeze_count()
    pending: list[int] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            pending.append(sum(gc.get_count()))  # objects the collection has to walk

    try:
        tune_collector()
        frozen = gc.get_freeze_count()
        gc.callbacks.insert(0, note)
        kept = [[index] for index in range(60_000)]  # survivors, as the store's records are
        assert len(pending) >= 20
        assert max(pending) <= YOUNG_GENERATION + 100 <= 1_100  # was 20,000, then 2,000: pauses ten, then three times longer
        assert gc.get_freeze_count() - frozen >= 55_000  # the survivors are set aside, not walked again
        del kept
    finally:
        gc.callbacks[:] = saved_callbacks
        gc.set_threshold(*saved_threshold)
        if was_frozen == 0:
            gc.unfreeze()

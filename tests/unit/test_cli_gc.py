"""The CLI's collector hook (`emulator/cli.py`): survivors of a collection are frozen."""

import gc

from emulator.cli import _freeze_survivors


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

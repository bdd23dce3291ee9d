"""The typed fixtures model in the core (`emulator/core/world.py`): what the engine reads of a
fixture file, with no provider or YAML code behind it."""

from __future__ import annotations

import pytest

from emulator.core.clock import VirtualClock
from emulator.core.world import Fixtures
from emulator.world.fixtures import load_fixtures


def test_a_loaded_fixture_file_is_the_cores_model() -> None:
    fixtures = load_fixtures(None)
    assert isinstance(fixtures, Fixtures)
    assert fixtures.price_list("elks", "mms_prices")["default"] > 0
    assert fixtures.price_list("seven", "no_such_prices") == {}
    assert fixtures.price_list("nobody", "rcs_prices") == {}


def test_the_core_model_alone_knows_no_accounts() -> None:
    bare = Fixtures(source="test", data={})
    assert bare.call_rules == [] and bare.price_lists == {} and bare.default_outcome.status == "delivered"
    with pytest.raises(NotImplementedError):
        bare.build_store(VirtualClock(0))

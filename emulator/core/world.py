"""The world a fixture file describes, as the engine uses it: prices, outcome rules for messages
and calls, and the accounts a fresh store starts with.

`emulator/world/fixtures.py` reads and checks the YAML and builds a `Fixtures` (its subclass knows how
each provider's accounts enter a store); the core only reads these fields, so it never imports
YAML code or a provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .billing import PriceTable
from .calls import CallOutcome, CallPrices, CallRule
from .clock import Clock
from .lifecycle import Outcome, OutcomeRule
from .store import Store

__all__ = ["Fixtures"]


@dataclass
class Fixtures:
    source: str
    data: dict[str, Any]  # the checked document, one section per provider
    prices: dict[str, PriceTable] = field(default_factory=dict)
    rules: list[OutcomeRule] = field(default_factory=list)
    default_outcome: Outcome = field(default_factory=Outcome)
    # Other price lists of a provider section (`number_prices`, `mms_prices`, ...): provider ->
    # list name -> {"SE": 12500, ..., "default": 12500}; regions upper case.
    price_lists: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # Voice calls: `call_outcomes` rules, their defaults from `simulation.call_*`, and each
    # provider's `call_prices` (per minute).
    call_rules: list[CallRule] = field(default_factory=list)
    default_call_outcome: CallOutcome = field(default_factory=CallOutcome)
    call_prices: dict[str, CallPrices] = field(default_factory=dict)

    def price_list(self, provider: str, name: str) -> dict[str, int]:
        """One of a provider's price lists (`lookup_prices`, ...); empty when the file has none."""
        return self.price_lists.get(provider, {}).get(name, {})

    def build_store(self, clock: Clock) -> Store:
        """A fresh store holding the fixture accounts, made now."""
        raise NotImplementedError("the fixture loader's subclass adds the providers' accounts")

"""Injected faults: rules that make a provider's API misbehave on purpose, so a client's retry
logic can be tested — answer an error status (429 with `Retry-After`, 5xx) or answer late.

A rule matches on provider, HTTP method and path prefix, and fires for its next `count`
requests, or for a seeded `fraction` of them. Rules are cleared by a reset.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Fault", "FaultSet", "FAULT_KINDS"]

FAULT_KINDS = ("status", "delay")


@dataclass(slots=True)
class Fault:
    id: int
    kind: str  # "status": answer `status` instead; "delay": wait `delay` seconds, then answer normally
    provider: str | None = None
    method: str | None = None
    path_prefix: str | None = None  # the path inside the provider's mount, e.g. "/sms"; case-insensitive
    status: int = 503
    delay: float = 0.0
    retry_after: int | None = None
    remaining: int | None = 1  # None: until cleared
    fraction: float | None = None  # fire for this share of matching requests instead of a count
    fired: int = 0

    def matches(self, provider: str, method: str, path: str) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path_prefix is None or path.lower().startswith(self.path_prefix.lower())


class FaultSet:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(f"faults-{seed}")
        self._next_id = 1
        self.rules: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        fault.id = self._next_id
        self._next_id += 1
        self.rules.append(fault)
        return fault

    def take(self, provider: str, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, if any; counts it against the rule."""
        for fault in self.rules:
            if not fault.matches(provider, method, path):
                continue
            if fault.fraction is not None:
                if self._rng.random() >= fault.fraction:
                    continue
            elif fault.remaining is not None:
                if fault.remaining <= 0:
                    continue
                fault.remaining -= 1
            fault.fired += 1
            return fault
        return None

    def remove(self, fault_id: int) -> bool:
        before = len(self.rules)
        self.rules = [fault for fault in self.rules if fault.id != fault_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules.clear()
        self._rng = random.Random(f"faults-{self.seed}")

"""Deterministic id factories: one seeded RNG, so the same seed and requests give the same ids."""

from __future__ import annotations

import random
import string

__all__ = ["IdFactory"]

_ALNUM = string.ascii_letters + string.digits


class IdFactory:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self._counters: dict[str, int] = {}

    def hex_id(self, prefix: str, length: int = 32) -> str:
        """46elks style: a one-letter prefix and random lower-case hex (`s` + 32 hex)."""
        return prefix + format(self.rng.getrandbits(length * 4), f"0{length}x")

    def secret(self, length: int = 32) -> str:
        return format(self.rng.getrandbits(length * 4), f"0{length}X")

    def token(self, length: int = 32) -> str:
        return "".join(self.rng.choice(_ALNUM) for _ in range(length))

    def sequence(self, name: str, start: int) -> int:
        """Next value of a named increasing counter (seven.io's numeric ids)."""
        value = self._counters.get(name, start - 1) + 1
        self._counters[name] = value
        return value

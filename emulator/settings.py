"""The emulator's settings: one frozen dataclass, filled by the command line or by tests."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings", "CLOCKS", "LOG_LEVELS"]

CLOCKS = ("real", "virtual")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8046
    fixtures: str | None = None  # None: the embedded default fixtures
    seed: int = 46
    clock: str = "real"
    time_scale: float = 1.0
    clock_start: int | None = None  # virtual clock start, microseconds since the epoch
    log_level: str = "info"
    proxy_port: int | None = None  # transparent HTTPS proxy for the providers' hosts; None: off
    proxy_ca_dir: str | None = None  # where the proxy's CA lives; None: proxy_ca.default_ca_dir()
    state: str | None = None  # snapshot file: loaded at start when it exists, written at shutdown

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, got {self.clock!r}")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        if not self.time_scale > 0:
            raise ValueError(f"time scale must be positive, got {self.time_scale}")
        if self.proxy_port is not None and not 0 <= self.proxy_port <= 65535:
            raise ValueError(f"proxy port must be between 0 and 65535, got {self.proxy_port}")

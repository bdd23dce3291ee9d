"""The emulator's settings: one frozen dataclass, filled by the command line or by tests."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Settings", "CLOCKS", "LOG_LEVELS", "DEFAULT_MAX_BODY_SIZE", "DEFAULT_HEADER_TIMEOUT"]

CLOCKS = ("real", "virtual")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024  # above 46elks' 5 MB of MMS images
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds a request's headers may take to arrive
MAX_WORKERS = 64
_TOKEN = re.compile(r"[!#-+\--:<-\[\]-~]{1,256}")  # what a header and a cookie value both carry as is


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
    store: str | None = None  # None: the world lives in this process's memory; redis://...: a shared world (emulator/shared/)
    state: str | None = None  # snapshot file: loaded at start when it exists, written at shutdown
    autosave: float = 5.0  # with `state`: seconds between saves while the world changes; 0: only at shutdown
    # Exposure (see emulator/http/exposure.py): Host names the control API and the inbox answer
    # besides the local ones ("*": any), the token they ask for when set, the largest request
    # body, and how long a request's headers may take to arrive.
    allowed_hosts: tuple[str, ...] = ()
    control_token: str | None = None
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    workers: int = 1  # processes serving one port (emulator/workers.py); more than one needs `store`

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
        if isinstance(self.allowed_hosts, str):
            raise ValueError("allowed hosts must be a tuple of names, not one string")
        if self.control_token is not None and not _TOKEN.fullmatch(self.control_token):
            raise ValueError("the control token must be 1 to 256 visible ASCII characters, without spaces, quotes, commas, semicolons or backslashes")
        if not 1 <= self.max_body_size:
            raise ValueError(f"max body size must be at least 1 byte, got {self.max_body_size}")
        if not (self.autosave >= 0 and math.isfinite(self.autosave)):
            raise ValueError(f"autosave must be 0 (off) or a positive number of seconds, got {self.autosave}")
        if self.store is not None:
            from .shared.redis_log import parse_store_url

            parse_store_url(self.store)
            if self.state is not None:
                raise ValueError("--state and --store do not go together: a shared world is kept in Redis (turn on its AOF to keep it)")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"--workers must be between 1 and {MAX_WORKERS}, got {self.workers}")
        if not self.header_timeout > 0:
            raise ValueError(f"header timeout must be positive, got {self.header_timeout}")

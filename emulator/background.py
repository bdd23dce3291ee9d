"""The emulator served by uvicorn in a background thread, on a free loopback port: the pytest
plugin's `--telco-emulator-mode thread` (by default the plugin and `replay` start the emulator as
a child process: `child.py`). In the thread, the test process's own garbage collection applies:
the command line's policy (freezing what survives a collection) would keep a test suite's cyclic
garbage for good."""

from __future__ import annotations

import socket
import threading
import time

from .settings import DEFAULT_HEADER_TIMEOUT
from .http.server import emulator_server, uvicorn_config

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """The emulator under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, clock: str, fixtures: str | None, seed: int, *, header_timeout: float = DEFAULT_HEADER_TIMEOUT) -> None:
        from .app import create_app
        from .settings import Settings

        settings = Settings(clock=clock, fixtures=fixtures, seed=seed, log_level="warning", header_timeout=header_timeout)
        self.app = create_app(settings)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY, as in cli.main
        self.sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.app.state.engine.outbox.listening_on("127.0.0.1", self.sock.getsockname()[1])
        self.server = emulator_server(uvicorn_config(self.app, settings), self.app.state.engine)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            self.thread.join(0.01)
        if not self.server.started:
            raise RuntimeError("telco-emulator did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

"""The emulator served by uvicorn in a background thread, on a free loopback port — for the
pytest plugin and for replaying scenarios without a separately started emulator."""

from __future__ import annotations

import socket
import threading
import time

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """The emulator under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, clock: str, fixtures: str | None, seed: int) -> None:
        import uvicorn

        from .app import create_app
        from .settings import Settings

        self.app = create_app(Settings(clock=clock, fixtures=fixtures, seed=seed, log_level="warning"))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.app.state.engine.outbox.listening_on("127.0.0.1", self.sock.getsockname()[1])
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
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

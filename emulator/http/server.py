"""The emulator served by uvicorn in a background thread, on a free loopback port — for the
pytest plugin's `--telco-emulator-mode thread` (by default the plugin and `replay` start the
emulator as a child process: `emulator/child.py`) — and what it shares with the command line:
the uvicorn configuration (`uvicorn_config`) and the server that shuts down
promptly (`emulator_server`). In the thread, the test process's own garbage collection
applies: the command line's policy (freezing what survives a collection) would keep a test
suite's cyclic garbage for good."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

from ..settings import DEFAULT_HEADER_TIMEOUT

if TYPE_CHECKING:
    import uvicorn

    from ..settings import Settings

__all__ = ["BackgroundServer", "uvicorn_config", "emulator_server"]


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves the emulator, wherever it runs: the app's lifespan, access logs only at
    debug level, and the HTTP protocol that closes connections whose headers take longer than
    `settings.header_timeout` to arrive (`header_deadline`)."""
    import uvicorn

    from .header_deadline import header_deadline_protocol
    from .reasons import REFUSALS_LOGGER

    config = uvicorn.Config(
        app, log_level=settings.log_level, access_log=settings.log_level == "debug", lifespan="on",
        http=header_deadline_protocol(settings.header_timeout),
        proxy_headers=False,  # nothing reads the client's address: no X-Forwarded-For rewriting on every request
    )
    if settings.log_level == "info":
        # uvicorn's own start-up and shutdown lines ("Started server process", "Waiting for
        # application startup." ...) repeat what the ready line says: shown at debug only. Its
        # warnings and errors still show, and so do the refusals' lines (`reasons.log_refusal`).
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        logging.getLogger(REFUSALS_LOGGER).setLevel(logging.INFO)
    return config


def emulator_server(config: uvicorn.Config, engine: Any, before_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()) -> uvicorn.Server:
    """A uvicorn server that, when asked to stop, first ends the event streams and the waits
    (else uvicorn waits for every client of `/_emulator/events` to hang up, which a browser or a
    forgotten `curl` never does, and for every `/_emulator/wait` to time out) and runs `before_shutdown` (the autosave's last write), then shuts down as
    uvicorn does: open requests finish, the lifespan's shutdown runs."""
    import uvicorn

    class EmulatorServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            engine.events.close()
            for hook in before_shutdown:
                await hook()
            await super().shutdown(sockets)

    return EmulatorServer(config)


class BackgroundServer:
    """The emulator under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, clock: str, fixtures: str | None, seed: int, *, header_timeout: float = DEFAULT_HEADER_TIMEOUT) -> None:
        from .app import create_app
        from ..settings import Settings

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

"""How uvicorn serves the emulator, wherever it runs (the command line, a child process, the
background thread of `emulator/background.py`): the uvicorn configuration (`uvicorn_config`) and
the server that shuts down promptly (`emulator_server`)."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

if TYPE_CHECKING:
    import uvicorn

    from ..settings import Settings

__all__ = ["uvicorn_config", "emulator_server"]


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

"""`create_app(settings)`: the emulator assembled. The front door (`http/front_door.py`), the
providers of the registry (`providers.py`), the control API and the world built from the fixtures
(`world/`), with a lifespan that starts and stops the clock and the webhook worker and saves
`--state` at shutdown. `emulator.app.create_app` is also the public way to embed the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from .control.render import error_response as control_error
from .control.routes import create_control_app
from .core import errors
from .core.clock import create_clock
from .core.engine import Engine
from .http.exposure import ExposureGuard
from .http.front_door import CONTROL_PREFIX, EmulatorApp
from .http.reasons import log_refusal, reason_of, with_reason
from .providers import PROVIDERS
from .settings import Settings
from .world.fixtures import Fixtures, load_fixtures
from .world.state import save_state_file

__all__ = ["create_app", "build_engine", "EmulatorApp"]


def build_engine(settings: Settings, fixtures: Fixtures | None = None) -> Engine:
    fixtures = fixtures if fixtures is not None else load_fixtures(settings.fixtures)
    if settings.store:
        from .shared.setup import shared_clock

        clock = shared_clock(settings)  # the world's clock, as the first process of the world set it
    else:
        clock = create_clock(settings.clock, settings.time_scale, settings.clock_start)
    return Engine(clock=clock, seed=settings.seed, fixtures=fixtures)


async def _root(request: Request) -> Response:
    query = request.url.query  # `/?token=...` signs in to the inbox like `/_emulator/ui?token=...`
    return RedirectResponse("/_emulator/ui" + ("?" + query if query else ""), status_code=307)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> EmulatorApp:
    settings = settings or Settings()
    engine = engine or build_engine(settings)

    replica = None
    if settings.store:
        from .shared.setup import replica_for

        replica = replica_for(engine, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if replica is not None:
            await replica.start()  # this copy of the world catches up with the log first
        tasks = [asyncio.create_task(engine.clock.run()), asyncio.create_task(engine.outbox.run())]
        if replica is not None:
            tasks.extend(replica.background())
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if replica is not None:
                await replica.stop()
            if settings.state:
                save_state_file(engine, settings.state)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        error: errors.EmulatorError = errors.RouteNotFound(request.url.path)
        if status == 405:
            error = errors.MethodNotAllowed(request.method, request.url.path)
        reason = reason_of(error)
        log_refusal(request.scope, status, reason)
        return with_reason(control_error(error), reason)

    async def crashed(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": {"type": "InternalError", "message": "Internal error in the emulator."}}, status_code=500)

    providers = {provider.prefix: provider.create_app(engine) for provider in PROVIDERS}
    control = create_control_app(engine)
    app = EmulatorApp(
        engine=engine,
        providers=providers,
        control=control,
        guard=ExposureGuard(settings.allowed_hosts, settings.control_token),
        max_body_size=settings.max_body_size,
        routes=[
            Route("/", _root, methods=["GET"]),
            *(Mount(prefix, app=provider) for prefix, provider in providers.items()),
            Mount(CONTROL_PREFIX, app=control),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: not_found, Exception: crashed},
    )
    for route in app.routes:
        if isinstance(route, Mount):  # a path parameter may hold any character, a newline included
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    if replica is not None:
        app.share(replica)
    app.state.engine = engine
    app.state.settings = settings
    return app

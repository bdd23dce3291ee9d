"""`create_app(settings)`: the one Starlette application that serves both providers and the
control API, with a lifespan that starts and stops the clock and the webhook worker."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from .control.render import error_response as control_error
from .control.routes import create_control_app
from .core import errors
from .core.clock import create_clock
from .core.engine import Engine
from .elks.routes import create_elks_app
from .faults import FaultInjector
from .fixtures import Fixtures, load_fixtures
from .seven.routes import create_seven_app
from .settings import Settings
from .state import save_state_file

__all__ = ["create_app", "build_engine"]


def build_engine(settings: Settings, fixtures: Fixtures | None = None) -> Engine:
    fixtures = fixtures if fixtures is not None else load_fixtures(settings.fixtures)
    clock = create_clock(settings.clock, settings.time_scale, settings.clock_start)
    return Engine(clock=clock, seed=settings.seed, fixtures=fixtures)


async def _root(request: Request) -> Response:
    return RedirectResponse("/_emulator/ui", status_code=307)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Starlette:
    settings = settings or Settings()
    engine = engine or build_engine(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(engine.clock.run()), asyncio.create_task(engine.outbox.run())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if settings.state:
                save_state_file(engine, settings.state)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if status == 405:
            return control_error(errors.MethodNotAllowed(request.method, request.url.path))
        return control_error(errors.RouteNotFound(request.url.path))

    async def crashed(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": {"type": "InternalError", "message": "Internal error in the emulator."}}, status_code=500)

    app = Starlette(
        middleware=[Middleware(FaultInjector, engine=engine)],
        routes=[
            Route("/", _root, methods=["GET"]),
            Mount("/a1", app=create_elks_app(engine)),
            Mount("/api", app=create_seven_app(engine)),
            Mount("/_emulator", app=create_control_app(engine)),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: not_found, Exception: crashed},
    )
    for route in app.routes:
        if isinstance(route, Mount):  # a path parameter may hold any character, a newline included
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    app.state.engine = engine
    app.state.settings = settings
    return app

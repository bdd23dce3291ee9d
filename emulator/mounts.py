"""Building blocks shared by the provider mounts: a sub-application whose every error, including
unknown paths and wrong methods, goes through the provider's own renderer."""

from __future__ import annotations

import logging
from typing import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .core import errors

__all__ = ["provider_app"]

log = logging.getLogger("emulator")

Renderer = Callable[[Request, errors.EmulatorError], Response]
Crash = Callable[[Request], Response]


def provider_app(routes: list[BaseRoute], render: Renderer, crash: Crash, state: dict) -> Starlette:
    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.EmulatorError)
        return render(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if exc.status_code == 405:
            return render(request, errors.MethodNotAllowed(request.method, path))
        return render(request, errors.RouteNotFound(path))

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return crash(request)

    app = Starlette(
        routes=routes,
        exception_handlers={errors.EmulatorError: on_error, HTTPException: on_http, Exception: on_crash},
    )
    for key, value in state.items():
        setattr(app.state, key, value)
    return app

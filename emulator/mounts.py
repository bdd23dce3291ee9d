"""Building blocks shared by the provider mounts: a sub-application whose every error, including
unknown paths and wrong methods, goes through the provider's own renderer; and the discovery of
a provider's resource modules.

A resource module (`emulator/elks/sms.py`, `emulator/seven/hooks.py`, ...) declares its routes in
a module-level `ROUTES` list and may define `install(engine)` to hook into the simulation (a
lifecycle listener, a retry policy). Modules are taken in name order; inside a module, routes keep
their order, so a module puts `/images/{id}.jpg` before `/images/{id}`.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from types import ModuleType
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .core import errors

__all__ = ["provider_app", "resource_routes"]

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


def resource_routes(package: ModuleType, engine: Any) -> list[BaseRoute]:
    """Every `ROUTES` entry of the package's modules; calls each module's `install(engine)`."""
    routes: list[BaseRoute] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        install = getattr(module, "install", None)
        if callable(install):
            install(engine)
        routes.extend(getattr(module, "ROUTES", ()))
    return routes

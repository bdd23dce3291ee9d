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

from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Router
from starlette.types import Receive, Scope, Send

from .core import errors

__all__ = ["ProviderApp", "provider_app", "resource_routes"]

log = logging.getLogger("emulator")

Renderer = Callable[[Request, errors.EmulatorError], Response]
Crash = Callable[[Request], Response]


class ProviderApp:
    """A provider's routes behind one error boundary.

    Routes are grouped by their first path segment (`/sms`, `/numbers`, ...), so a request is
    matched against the few routes of its resource instead of all of them. Any `EmulatorError`,
    unknown path, wrong method or crash becomes the provider's own answer. Handlers reach shared
    objects through `request.app.state` (the outer application's state).
    """

    def __init__(self, routes: list[BaseRoute], render: Renderer, crash: Crash) -> None:
        self.routes = list(routes)
        self.render = render
        self.crash = crash
        groups: dict[str, list[BaseRoute]] = {}
        for route in self.routes:
            groups.setdefault(_first_segment(getattr(route, "path", "/")), []).append(route)
        self._routers = {segment: Router(routes=members) for segment, members in groups.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        router = self._routers.get(_first_segment(get_route_path(scope)))
        try:
            if router is None:
                raise errors.RouteNotFound(scope["path"])
            await router(scope, receive, send)
            return
        except errors.EmulatorError as exc:
            response = self.render(Request(scope, receive), exc)
        except HTTPException as exc:
            request = Request(scope, receive)
            if exc.status_code == 405:
                allowed = _allowed_methods(router, scope) if router is not None else ()
                response = self.render(request, errors.MethodNotAllowed(request.method, request.url.path, allowed))
            else:
                response = self.render(request, errors.RouteNotFound(request.url.path))
        except Exception:
            request = Request(scope, receive)
            log.exception("internal error on %s %s", request.method, request.url.path)
            response = self.crash(request)
        await response(scope, receive, send)


def _allowed_methods(router: Router, scope: Scope) -> tuple[str, ...]:
    """Every method that some route answers at the request's path (for an `Allow` header):
    Starlette's own 405 names only the first route that matched the path."""
    methods: set[str] = set()
    for route in router.routes:
        if route.matches(scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return tuple(sorted(methods))


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def provider_app(routes: list[BaseRoute], render: Renderer, crash: Crash) -> ProviderApp:
    return ProviderApp(routes, render, crash)


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

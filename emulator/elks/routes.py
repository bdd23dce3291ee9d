"""The `/a1` mount: 46elks routes, matched case-insensitively (`/a1/SMS` and `/a1/sms`), with the
`GET <resource>/POST?...` form that 46elks accepts in place of a POST.

`ROUTES` lists every resource module's routes in matching order (inside a module, `/images/{id}.jpg`
comes before `/images/{id}`); `install` adds 46elks' hooks to the engine."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.engine import Engine
from ..core.errors import EmulatorError, MethodNotAllowed, RouteNotFound
from ..core.webhooks import RetryPolicy
from ..http.mounts import provider_app
from . import account, billing, calls, images, inbound, mms, numbers, recordings, sms, subaccounts
from .render import error_response, text_error

__all__ = ["create_elks_app", "install", "render", "RETRY_POLICY", "ROUTES"]

# 46elks: success is 200-204; anything else is retried every 5 minutes for 6 hours.
RETRY_POLICY = RetryPolicy(delays=(300.0,) * 72, success_statuses=range(200, 205), timeout=10.0)


class _ElksPaths:
    """Folds the path to lower case and turns `GET .../POST` into a POST of the query's fields."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"].lower()
            scope["elks.path"] = scope["path"]
            scope["path"] = path
            if scope["method"] == "GET" and path.endswith("/post"):
                scope["path"] = path[: -len("/post")]
                scope["method"] = "POST"
                scope["elks.get_as_post"] = True
        await self.app(scope, receive, send)


ROUTES = [
    *account.ROUTES, *billing.ROUTES, *calls.ROUTES, *images.ROUTES, *mms.ROUTES, *numbers.ROUTES,
    *recordings.ROUTES, *sms.ROUTES, *subaccounts.ROUTES,
]


def install(engine: Engine) -> None:
    """46elks' retry policy; running call scripts; incoming SMS, MMS and calls to numbers' URLs;
    delivery reports."""
    engine.outbox.policies["elks"] = RETRY_POLICY
    calls.install(engine)
    inbound.install(engine)
    sms.install(engine)


def render(request: Request, exc: EmulatorError) -> Response:
    if isinstance(exc, (RouteNotFound, MethodNotAllowed)):  # name the path as the client wrote it
        exc.path = request.scope.get("elks.path", exc.path)
    return error_response(exc)


def _crash(request: Request) -> Response:
    return text_error(500, "Internal error in the emulator.")


def create_elks_app(engine: Engine) -> ASGIApp:
    install(engine)
    return _ElksPaths(provider_app(ROUTES, render, _crash))

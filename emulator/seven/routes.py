"""The `/api` mount: seven.io routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from ..core.engine import Engine
from ..core.errors import EmulatorError
from ..core.webhooks import RetryPolicy
from ..mounts import provider_app, resource_routes
from . import hooks
from .context import style_of, wants_json
from .render import error_response, json_response

__all__ = ["create_seven_app", "retry_policy"]

# seven.io: 2xx and 3xx are success; 429 and 5xx (and timeouts, connection errors) are retried,
# other 4xx are not. Up to 14 attempts over about a day here (the provider spreads them over days).
RETRY_DELAYS = (60.0, 300.0, 1800.0, 3600.0, 7200.0) + (7200.0,) * 8


def retry_policy(engine: Engine) -> RetryPolicy:
    return RetryPolicy(
        delays=RETRY_DELAYS,
        success_statuses=range(200, 400),
        retry_statuses=frozenset({429, 500, 502, 503, 504}),
        timeout=5.0,
        sign=hooks.make_signer(engine),
    )


def _render(request: Request, exc: EmulatorError) -> Response:
    return error_response(exc, style=style_of(request), as_json=wants_json(request))


def _crash(request: Request) -> Response:
    return json_response({"success": False, "code": "700", "error_message": "Internal error in the emulator."}, 500)


def create_seven_app(engine: Engine) -> ASGIApp:
    import emulator.seven as package

    engine.outbox.policies["seven"] = retry_policy(engine)
    return provider_app(resource_routes(package, engine), _render, _crash)

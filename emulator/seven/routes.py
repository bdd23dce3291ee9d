"""The `/api` mount: seven.io routes.

`ROUTES` lists every resource module's routes in matching order; `install` adds seven.io's hooks
to the engine."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from ..core.engine import Engine
from ..core.errors import EmulatorError
from ..core.webhooks import RetryPolicy
from ..http.mounts import provider_app
from . import (
    account, analytics, contacts, groups, hooks, inbound, journal, legacy_lookup, lookup, numbers, pricing, rcs, sms,
    status, subaccounts, voice, voice_validation,
)
from .context import style_of, wants_json
from .render import crash_response, error_response, refusal_style

__all__ = ["create_seven_app", "install", "render", "retry_policy", "ROUTES"]

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


ROUTES = [
    *account.ROUTES, *analytics.ROUTES, *contacts.ROUTES, *groups.ROUTES, *hooks.ROUTES, *journal.ROUTES,
    *legacy_lookup.ROUTES, *lookup.ROUTES, *numbers.ROUTES, *pricing.ROUTES, *rcs.ROUTES, *sms.ROUTES, *status.ROUTES,
    *subaccounts.ROUTES, *voice.ROUTES, *voice_validation.ROUTES,
]


def install(engine: Engine) -> None:
    """seven.io's retry policy; delivery reports and RCS status webhooks; inbound ids and
    webhooks; sub-account auto top-up; voice calls."""
    engine.outbox.policies["seven"] = retry_policy(engine)
    hooks.install(engine)
    inbound.install(engine)
    rcs.install(engine)
    subaccounts.install(engine)
    voice.install(engine)


def render(request: Request, exc: EmulatorError) -> Response:
    scope = request.scope
    answers = refusal_style(scope)
    return error_response(exc, style=style_of(request), as_json=wants_json(request), answers=answers)


def _crash(request: Request) -> Response:
    return crash_response()


def create_seven_app(engine: Engine) -> ASGIApp:
    install(engine)
    return provider_app(ROUTES, render, _crash)

"""The `/_emulator` mount: health, reset, messages and webhook attempts, the virtual clock."""

from __future__ import annotations

from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from .. import __version__
from ..core.clock import VirtualClock
from ..core.engine import Engine
from ..core.errors import EmulatorError, InvalidParameter, PermissionDenied
from ..core.models import Delivery, Message
from ..mounts import provider_app
from ..params import read_params
from .render import delivery_json, error_response, iso, message_json

__all__ = ["create_control_app"]

MAX_LIMIT = 1000


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _limit(params: dict[str, Any]) -> int:
    raw = params.get("limit", 100)
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise InvalidParameter("limit", raw, f"expected a whole number from 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", raw, f"expected a whole number from 1 to {MAX_LIMIT}")
    return limit


def _cursor(params: dict[str, Any]) -> int | None:
    raw = params.get("cursor")
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise InvalidParameter("cursor", raw, "expected the `next` value of a previous page")
    return int(raw)


def _page_json(page, render: Callable[[Any], dict]) -> dict[str, Any]:
    body: dict[str, Any] = {"data": [render(item) for item in page.items]}
    body["next"] = str(page.items[-1].created) if page.has_more else None
    return body


_CHOICES = {
    "provider": ("elks", "seven"),
    "direction": ("outbound", "inbound"),
    "status": ("scheduled", "created", "sent", "buffered", "delivered", "failed", "expired", "rejected"),
    "state": ("pending", "delivered", "failed"),
}


def _filters(params: dict[str, Any], tests: dict[str, Callable[[Any, str], bool]]) -> Callable[[Any], bool]:
    """One predicate from the filters present in `params`; enumerated filters are checked."""
    active = []
    for name, test in tests.items():
        value = params.get(name)
        if value is None or (value == "" and name not in _CHOICES):
            continue
        if not isinstance(value, str) or (name in _CHOICES and value not in _CHOICES[name]):
            allowed = ", ".join(_CHOICES.get(name, ("text",)))
            raise InvalidParameter(name, value, f"expected one of: {allowed}")
        active.append((test, value))
    return lambda item: all(test(item, value) for test, value in active)


def _same_number(wanted: str, actual: str) -> bool:
    return wanted.lstrip("+") == actual.lstrip("+")


async def health(request: Request) -> Response:
    engine = _engine(request)
    return JSONResponse({
        "status": "ok",
        "version": __version__,
        "clock": "virtual" if engine.clock.virtual else "real",
        "now": iso(engine.clock.now()),
    })


async def reset(request: Request) -> Response:
    engine = _engine(request)
    engine.reset()
    return JSONResponse({"reset": True, "now": iso(engine.clock.now())})


_MESSAGE_FILTERS: dict[str, Callable[[Message, str], bool]] = {
    "provider": lambda m, v: m.provider == v,
    "account": lambda m, v: m.account_id == v,
    "to": lambda m, v: _same_number(v, m.recipient),
    "from": lambda m, v: _same_number(v, m.sender),
    "status": lambda m, v: m.status == v,
    "direction": lambda m, v: m.direction == v,
}

_DELIVERY_FILTERS: dict[str, Callable[[Delivery, str], bool]] = {
    "provider": lambda d, v: d.provider == v,
    "account": lambda d, v: d.account_id == v,
    "url": lambda d, v: d.url.startswith(v),
    "event": lambda d, v: d.event == v,
    "state": lambda d, v: d.state == v,
    "subject": lambda d, v: d.subject_id == v,
}


async def list_messages(request: Request) -> Response:
    params = await read_params(request)
    where = _filters(params, _MESSAGE_FILTERS)
    page = _engine(request).store.messages.page(before=_cursor(params), limit=_limit(params), where=where)
    return JSONResponse(_page_json(page, message_json))


async def list_webhooks(request: Request) -> Response:
    params = await read_params(request)
    where = _filters(params, _DELIVERY_FILTERS)
    page = _engine(request).store.deliveries.page(before=_cursor(params), limit=_limit(params), where=where)
    return JSONResponse(_page_json(page, delivery_json))


def _virtual(engine: Engine) -> VirtualClock:
    if not isinstance(engine.clock, VirtualClock):
        raise PermissionDenied("The clock is real; start the emulator with --clock virtual to move it.")
    return engine.clock


async def get_clock(request: Request) -> Response:
    engine = _engine(request)
    return JSONResponse({
        "clock": "virtual" if engine.clock.virtual else "real",
        "now": iso(engine.clock.now()),
        "pending_events": engine.clock.pending(),
    })


async def advance_clock(request: Request) -> Response:
    engine = _engine(request)
    params = await read_params(request)
    raw = params.get("seconds")
    from_query = isinstance(raw, str) and "seconds" in request.query_params
    if isinstance(raw, bool) or not (isinstance(raw, (int, float)) or from_query):
        raise InvalidParameter("seconds", raw, "expected a number of seconds")
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidParameter("seconds", raw, "expected a number of seconds") from None
    if not 0 <= seconds <= 10 * 365 * 86400:
        raise InvalidParameter("seconds", raw, "expected a number of seconds from 0 to ten years")
    fired = _virtual(engine).advance(seconds)
    return JSONResponse({"now": iso(engine.clock.now()), "fired": fired})


def _render(request: Request, exc: EmulatorError) -> Response:
    return error_response(exc)


def _crash(request: Request) -> Response:
    return JSONResponse({"error": {"type": "InternalError", "message": "Internal error in the emulator."}}, status_code=500)


def create_control_app(engine: Engine) -> ASGIApp:
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/messages", list_messages, methods=["GET"]),
        Route("/webhooks", list_webhooks, methods=["GET"]),
        Route("/clock", get_clock, methods=["GET"]),
        Route("/clock/advance", advance_clock, methods=["POST"]),
    ]
    return provider_app(routes, _render, _crash, {"engine": engine})



"""Control API for voice calls: `GET /_emulator/calls` lists the calls of both providers with their
legs and actions, `POST /_emulator/inbound/call` makes a phone call one of the accounts' numbers
(a 46elks number then runs its `voice_start`, with the caller pressing the keys given)."""

from __future__ import annotations

import re
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.errors import InvalidParameter, NotFound
from ..core.models import Call, Leg
from ..core.phone import parse_e164
from ..http.params import read_params
from ..providers import NAMES
from .inputs import engine_of, filters, list_page, page_json, same_number, text_field
from .render import iso

__all__ = ["call_json", "list_calls", "inbound_call", "ROUTES", "CALL_STATUSES"]

CALL_STATUSES = ("created", "ringing", "answered", "ongoing", "ended", "busy", "no_answer", "failed")
_KEYS = re.compile(r"[0-9*#]{0,100}")


def _leg_json(leg: Leg) -> dict[str, Any]:
    return {
        "id": leg.id,
        "from": leg.sender,
        "to": leg.recipient,
        "status": leg.status,
        "created": iso(leg.created),
        "answered": iso(leg.answered_at),
        "ended": iso(leg.ended_at),
        "duration": leg.duration,
        "cost": leg.cost,
    }


def call_json(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "provider": call.provider,
        "account_id": call.account_id,
        "direction": call.direction,
        "from": call.sender,
        "to": call.recipient,
        "status": call.status,
        "created": iso(call.created),
        "answered": iso(call.answered_at),
        "ended": iso(call.ended_at),
        "duration": call.duration,
        "cost": call.cost,
        "ring_timeout": call.ring_timeout,
        "digits_left": call.digits,
        "ended_by": call.ended_by,
        "error": call.error,
        "history": [{"status": change.status, "at": iso(change.at)} for change in call.history],
        "legs": [_leg_json(leg) for leg in call.legs],
        "actions": list(call.actions),
        "attributes": {key: value for key, value in call.attributes.items() if key != "api_base"},
    }


_CHOICES = {"provider": NAMES, "direction": ("outbound", "inbound"), "status": CALL_STATUSES}
_FILTERS: dict[str, Callable[[Call, str], bool]] = {
    "provider": lambda c, v: c.provider == v,
    "account": lambda c, v: c.account_id == v,
    "to": lambda c, v: same_number(v, c.recipient),
    "from": lambda c, v: same_number(v, c.sender),
    "status": lambda c, v: c.status == v,
    "direction": lambda c, v: c.direction == v,
}


async def list_calls(request: Request) -> Response:
    params = await read_params(request)
    where = filters(params, _FILTERS, _CHOICES)
    page = list_page(engine_of(request).calls.collection, params, where)
    return JSONResponse(page_json(page, call_json))


async def inbound_call(request: Request) -> Response:
    """A phone calls one of the accounts' numbers; the platform answers at once."""
    engine = engine_of(request)
    params = await read_params(request)
    to = parse_e164(text_field(params, "to") or "", "to").e164
    caller = parse_e164(text_field(params, "from") or "", "from").e164
    digits = text_field(params, "digits", required=False)
    if digits is not None and not _KEYS.fullmatch(digits):
        raise InvalidParameter("digits", digits, "expected up to 100 keys from 0-9, * and #")
    talk_time = params.get("talk_time")
    if talk_time is not None and (isinstance(talk_time, bool) or not isinstance(talk_time, (int, float)) or not 0 <= talk_time <= 86400):
        raise InvalidParameter("talk_time", talk_time, "expected seconds from 0 to 86400")
    number = engine.store.active_number(to)
    if number is None:
        raise NotFound("number", to)
    if "voice" not in number.capabilities:
        raise InvalidParameter("to", to, "the number cannot take calls (no voice capability)")
    call = engine.calls.receive(
        number,
        caller,
        digits=digits,
        talk_time=float(talk_time) if talk_time is not None else None,
        attributes={"api_base": f"{request.url.scheme}://{request.url.netloc}"},
    )
    return JSONResponse(call_json(call))


ROUTES = [
    Route("/calls", list_calls, methods=["GET"]),
    Route("/inbound/call", inbound_call, methods=["POST"]),
]

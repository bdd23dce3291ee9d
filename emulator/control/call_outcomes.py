"""`/_emulator/call-outcomes`: what called parties do (answer, busy, no answer, fail, press keys),
by number; a rule added here is checked before all others until the next reset."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.calls import CallOutcome, CallRule
from ..core.errors import InvalidParameter
from ..core.lifecycle import InvalidRule
from ..core.snapshot import call_rule_to_resource
from ..http.params import read_params
from .inputs import engine_of, provider_field, text_field

__all__ = ["ROUTES"]


rule_json = call_rule_to_resource  # the control API shows a rule as the snapshot keeps it


async def list_call_outcomes(request: Request) -> Response:
    calls = engine_of(request).calls
    return JSONResponse({"data": [rule_json(rule) for rule in calls.rules], "default": rule_json(CallRule("*", calls.default))})


async def add_call_outcome(request: Request) -> Response:
    """Checked whole before it is added (a pattern that compiles, times from 0 to a year): a
    refused rule changes nothing."""
    calls = engine_of(request).calls
    params = await read_params(request)
    match = text_field(params, "match")
    provider = provider_field(params)
    base = calls.default
    options: dict[str, Any] = {}
    for name in ("ring_time", "talk_time", "digits_after"):
        value = params.get(name, getattr(base, name))
        options[name] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    for name, default in (("status", "answered"), ("digits", "")):
        value = params.get(name, default)
        if not isinstance(value, str):
            raise InvalidParameter(name, value, "expected a string")
        options[name] = value
    try:
        rule = CallRule(match=match or "", outcome=CallOutcome(**options), provider=provider)
    except InvalidRule as exc:
        raise InvalidParameter(exc.field, params.get(exc.field), str(exc)) from None
    calls.add_rule(rule)
    return JSONResponse(rule_json(rule), status_code=201)


ROUTES = [
    Route("/call-outcomes", list_call_outcomes, methods=["GET"]),
    Route("/call-outcomes", add_call_outcome, methods=["POST"]),
]

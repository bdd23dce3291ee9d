"""The `/_emulator` mount: health, reset, messages and webhook attempts, the virtual clock,
inbound traffic, outcome rules, and waiting for or streaming events."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable
from weakref import WeakKeyDictionary

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from .. import __version__
from ..core.clock import MICROS, TimeOutOfRange, VirtualClock, check_time, micros_of
from ..core.engine import Engine
from ..core.errors import Conflict, EmulatorError, InvalidParameter, MissingParameter, NotFound
from ..core.events import Closed, Event, EventLog, TooBusy
from ..core.lifecycle import InvalidRule, Outcome, OutcomeRule
from ..core.models import Delivery, Message
from ..core.snapshot import outcome_rule_to_resource
from ..core.phone import parse_e164
from ..core.store import SANDBOX
from ..http.mounts import provider_app
from ..http.params import query_dict, read_params
from ..http.responses import JSONBody
from ..providers import NAMES
from ..http.reasons import refused
from . import (
    accounts, call_outcomes, calls, elks_mms, faults, media, redeliver, requests, sandboxes, scenarios, seven_tokens,
    seven_tracking, sink, snapshot, ui,
)
from .inputs import engine_of, filters, limit, list_page, page_json, provider_field, same_number, text_field
from .render import delivery_json, error_response, iso, message_json, minimal_answer, wants_minimal

__all__ = ["create_control_app", "ROUTES"]



_CHOICES = {
    "provider": NAMES,
    "direction": ("outbound", "inbound"),
    "status": ("scheduled", "created", "sent", "buffered", "delivered", "failed", "expired", "rejected", "received"),
    "state": ("pending", "delivered", "failed"),
}


def _both(first: Callable[[Any], bool], second: Callable[[Any], bool] | None) -> Callable[[Any], bool]:
    return first if second is None else (lambda item: first(item) and second(item))


async def health(request: Request) -> Response:
    engine = engine_of(request)
    body = {
        "status": "ok",
        "version": __version__,
        "clock": "virtual" if engine.clock.virtual else "real",
        "now": iso(engine.clock.now()),
        "store": "memory",
    }
    replica = getattr(request.app, "replica", None)
    if replica is not None:  # a shared world: this process has applied the log up to `applied` (it caught up first)
        body |= {"store": "redis", "process": replica.me, "applied": replica.applied_id}
    return JSONBody(body)


async def reset(request: Request) -> Response:
    engine = engine_of(request)
    engine.reset()
    if wants_minimal(request):
        return minimal_answer()
    return JSONBody({"reset": True, "now": iso(engine.clock.now())})


_MESSAGE_FILTERS: dict[str, Callable[[Message, str], bool]] = {
    "provider": lambda m, v: m.provider == v,
    "account": lambda m, v: m.account_id == v,
    "to": lambda m, v: same_number(v, m.recipient),
    "from": lambda m, v: same_number(v, m.sender),
    "status": lambda m, v: m.status == v,
    "direction": lambda m, v: m.direction == v,
}

# Filters the store indexes (`MESSAGE_FIELDS`), with how a filter's value is written there.
_MESSAGE_INDEXES: dict[str, Callable[[str], str]] = {
    "to": lambda value: value.lstrip("+"),
    "from": lambda value: value.lstrip("+"),
    "status": str,
}


def _owners(request: Request, params: dict[str, Any], everyone: bool = False) -> list[str] | None:
    """The accounts whose records `provider=` and `sandbox=` allow (read through their own
    indexes), or None when neither is given (all of them with `everyone`)."""
    provider, sandbox = params.get("provider"), params.get("sandbox")
    provider = provider if isinstance(provider, str) and provider else None
    sandbox = sandbox if isinstance(sandbox, str) and sandbox else None
    if provider is None and sandbox is None and not everyone:
        return None
    return [account.id for account in engine_of(request).store.accounts.values()
            if (provider is None or account.provider == provider) and (sandbox is None or account.attributes.get(SANDBOX) == sandbox)]

_DELIVERY_FILTERS: dict[str, Callable[[Delivery, str], bool]] = {
    "provider": lambda d, v: d.provider == v,
    "account": lambda d, v: d.account_id == v,
    "url": lambda d, v: d.url.startswith(v),
    "event": lambda d, v: d.event == v,
    "state": lambda d, v: d.state == v,
    "subject": lambda d, v: d.subject_id == v,
}


def _in_sandbox(request: Request, params: dict[str, Any]) -> Callable[[Any], bool] | None:
    """`sandbox=<id>`: only records of that sandbox's accounts (None: no such filter)."""
    wanted = params.get("sandbox")
    if wanted in (None, ""):
        return None
    accounts = engine_of(request).store.accounts
    return lambda item: (account := accounts.get(item.account_id)) is not None and account.attributes.get(SANDBOX) == wanted


async def list_messages(request: Request) -> Response:
    params = await read_params(request)
    where = _both(filters(params, _MESSAGE_FILTERS, _CHOICES), _in_sandbox(request, params))
    direction = params.get("direction") or None  # checked by `filters`: one of the directions
    page = list_page(engine_of(request).store.messages, params, where, _MESSAGE_INDEXES,
                     owners=_owners(request, params, everyone=direction is not None), kind=direction)
    return JSONResponse(page_json(page, message_json))


async def list_webhooks(request: Request) -> Response:
    params = await read_params(request)
    where = _both(filters(params, _DELIVERY_FILTERS, _CHOICES), _in_sandbox(request, params))
    page = list_page(engine_of(request).store.deliveries, params, where, owners=_owners(request, params))
    return JSONResponse(page_json(page, delivery_json))


def _virtual(engine: Engine) -> VirtualClock:
    if not isinstance(engine.clock, VirtualClock):
        raise Conflict("The clock is real; start the emulator with --clock virtual to move it.")
    return engine.clock


async def get_clock(request: Request) -> Response:
    engine = engine_of(request)
    return JSONResponse({
        "clock": "virtual" if engine.clock.virtual else "real",
        "now": iso(engine.clock.now()),
        "pending_events": engine.clock.pending(),
    })


async def advance_clock(request: Request) -> Response:
    engine = engine_of(request)
    params = await read_params(request)
    raw = params.get("seconds")
    from_query = isinstance(raw, str) and "seconds" in request.query_params
    if isinstance(raw, bool) or not (isinstance(raw, (int, float)) or from_query):
        raise InvalidParameter("seconds", raw, "expected a number of seconds")
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidParameter("seconds", raw, "expected a number of seconds") from None
    if not 0 <= seconds <= 10 * 365 * 86400:  # NaN fails this too
        raise InvalidParameter("seconds", raw, "expected a number of seconds from 0 to ten years")
    clock = _virtual(engine)
    try:
        check_time(clock.now() + int(seconds * MICROS), "the clock")
    except TimeOutOfRange as exc:
        raise InvalidParameter("seconds", raw, f"{exc}; this advance would move it past the end") from None
    return await _move_clock(engine, clock.now() + int(seconds * MICROS))


async def set_clock(request: Request) -> Response:
    engine = engine_of(request)
    params = await read_params(request)
    raw = params.get("time")
    if not isinstance(raw, str) or not raw:
        raise MissingParameter("time")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter("time", raw, "expected an ISO 8601 time such as 2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    target = micros_of(moment)
    try:
        check_time(target, "the clock")
    except TimeOutOfRange as exc:
        raise InvalidParameter("time", raw, str(exc)) from None
    clock = _virtual(engine)
    if target < clock.now():
        raise InvalidParameter("time", raw, "the virtual clock cannot go back")
    return await _move_clock(engine, target)


async def _move_clock(engine: Engine, target: int) -> Response:
    """Move the virtual clock step by step (see `Engine.move_clock`). When webhook receivers keep
    it waiting too long, answer 504 saying where it stopped: everything due up to there has
    happened, and another advance goes on from there."""
    run = await engine.move_clock(target)
    if run.complete:
        return JSONResponse({"now": iso(run.now), "fired": run.fired})
    waiting = engine.unsettled_deliveries()
    urls = ", ".join(sorted({delivery.url for delivery in waiting})) or "none left"
    message = (
        f"webhook receivers kept the clock waiting: what fell due at {iso(run.now)} had not settled within "
        f"{engine.clock_move_budget:g} s of real time (waiting on {urls}); the clock stopped there, "
        f"{(target - run.now) / MICROS:g} s short of {iso(target)}. Advance again to go on."
    )
    return refused(JSONResponse(
        {"error": {"type": "ClockStalled", "message": message}, "now": iso(run.now), "fired": run.fired, "target": iso(target)},
        status_code=504,
    ), message)


async def inject_sms(request: Request) -> Response:
    """A phone sends an SMS to one of the accounts' numbers (either provider)."""
    engine = engine_of(request)
    params = await read_params(request)
    to = parse_e164(text_field(params, "to") or "", "to").e164
    sender_raw = text_field(params, "from") or ""
    sender = parse_e164(sender_raw, "from").e164 if sender_raw.startswith("+") else sender_raw
    text = text_field(params, "text")
    number = engine.store.active_number(to)
    if number is None:
        raise NotFound("number", to)
    message = engine.receive_message(number, sender, text or "")
    return JSONResponse(message_json(message))


def event_json(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": iso(event.at),
        "kind": event.kind,
        "provider": event.provider,
        "account_id": event.account_id,
        "sandbox": event.sandbox,
        "data": event.data,
    }


_WAIT_CONTROL = {"after", "timeout"}
_EVENTS_CONTROL = {"after", "limit"}
STREAM_BACKLOG = 10_000  # events a stream replays at most before it goes live


MAX_SEQ = 2**63 - 1  # event numbers never grow past a signed 64-bit integer


def _after(params: dict[str, Any]) -> int:
    """`after`: the `seq` of an event already seen; at most 19 digits (read before `int()`, which
    refuses numbers of thousands of digits with an error of its own)."""
    raw = params.get("after", "0")
    text = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_SEQ:
        raise InvalidParameter("after", raw if len(text) <= 40 else f"{text[:40]}...", "expected the `seq` of an event already seen")
    return int(text)


def _busy(message: str) -> Response:
    """The answer when this process already holds as many waits or streams as it allows."""
    return refused(JSONResponse({"error": {"type": "TooBusy", "message": message}}, status_code=429, headers={"Retry-After": "1"}), message)


async def _client_gone(request: Request) -> None:
    """Returns when the client has closed the connection (the request has no body to read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def wait(request: Request) -> Response:
    """Long-poll until an event after `after` matches every other query parameter."""
    params = query_dict(request.scope)
    after = _after(params)
    try:
        timeout = float(params.get("timeout", "10"))
    except ValueError:
        raise InvalidParameter("timeout", params.get("timeout"), "expected seconds") from None
    if not 0 <= timeout <= 300:
        raise InvalidParameter("timeout", timeout, "expected 0 to 300 seconds")
    filters = {key: value for key, value in params.items() if key not in _WAIT_CONTROL}
    events = engine_of(request).events
    try:
        event = await events.wait_for(filters, after, timeout, gone=partial(_client_gone, request))
    except TooBusy as exc:
        return _busy(f"{exc}: retry later")
    except Closed as exc:
        return JSONResponse({"error": {"type": "ShuttingDown", "message": str(exc)}}, status_code=503, headers={"Connection": "close"})
    if event is None:
        return JSONResponse(
            {"error": {"type": "Timeout", "message": f"no matching event within {timeout:g} s"}, "last_seq": events.last_seq},
            status_code=408,
        )
    return JSONBody({"event": event_json(event)})


_SSE_CACHE_SIZE = 16384  # events: about 5 MB; streams that lag further make their own


def _sse_text(cache: OrderedDict, event: Event) -> bytes:
    """One event as Server-Sent Events bytes, made once for every stream that sends it."""
    text = cache.get(event)
    if text is None:
        text = cache[event] = f"id: {event.seq}\nevent: {event.kind}\ndata: {json.dumps(event_json(event))}\n\n".encode()
        if len(cache) > _SSE_CACHE_SIZE:
            cache.popitem(last=False)
    return text


async def list_events(request: Request) -> Response:
    """Events after `after` that match every other query parameter: a JSON page, or a live
    Server-Sent Events stream when asked for (from now without `after`; with it, replaying at
    most STREAM_BACKLOG events first)."""
    params = query_dict(request.scope)
    after = _after(params)
    engine = engine_of(request)
    log = engine.events
    filters = {key: value for key, value in params.items() if key not in _EVENTS_CONTROL}
    if "text/event-stream" not in request.headers.get("accept", ""):
        events = await log.matching_in_turns(filters, after, limit(params))
        return JSONResponse({"data": [event_json(e) for e in events], "last_seq": log.last_seq})
    if log.streams >= log.max_streams:
        return _busy(f"{log.streams} event streams are open; at most {log.max_streams} at once: retry later")
    start: int | None = None
    skipped = 0
    if "after" in params:
        start = max(after, log.last_seq - STREAM_BACKLOG)
        skipped = start - after
    render = _sse_renderers.get(log)
    if render is None:
        render = _sse_renderers[log] = partial(_sse_text, OrderedDict())

    async def stream():
        yield b": telco-emulator events\n\n"
        if skipped > 0:
            yield f": {skipped} older events skipped (a stream replays at most {STREAM_BACKLOG}); page through them with GET /_emulator/events?after={after}\n\n".encode()
        async for chunk in log.follow_rendered(render, start, filters):
            yield chunk

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


_sse_renderers: "WeakKeyDictionary[EventLog, partial]" = WeakKeyDictionary()  # one per log: streams of everything share its broadcast


_rule_json = outcome_rule_to_resource  # the control API shows a rule as the snapshot keeps it


async def list_outcomes(request: Request) -> Response:
    engine = engine_of(request)
    return JSONResponse({"data": [_rule_json(rule) for rule in engine.lifecycle.rules], "default": _rule_json(OutcomeRule("*", engine.lifecycle.default))})


async def add_outcome(request: Request) -> Response:
    """A rule for outbound messages, checked before every other rule until the next reset. The
    rule is checked whole before it is added (a pattern that compiles, delays from 0 to a year):
    a refused rule changes nothing."""
    engine = engine_of(request)
    params = await read_params(request)
    match = text_field(params, "match")
    provider = provider_field(params)
    base = engine.lifecycle.default
    status = params.get("status", "delivered")
    if not isinstance(status, str):
        raise InvalidParameter("status", status, "expected a string")
    try:
        outcome = Outcome(
            status=status,
            sent_after=_seconds(params.get("sent_after", base.sent_after)),
            final_after=_seconds(params.get("final_after", base.final_after)),
            buffered=params.get("buffered", False),
        )
        rule = OutcomeRule(match=match or "", outcome=outcome, provider=provider)
    except InvalidRule as exc:
        raise InvalidParameter(exc.field, params.get(exc.field), str(exc)) from None
    engine.add_rule(rule)
    return JSONResponse(_rule_json(rule), status_code=201)


def _seconds(value: Any) -> Any:
    """A number of seconds as a float (for the rule's answer); anything else as it came, for the
    rule's own check to refuse."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _render(request: Request, exc: EmulatorError) -> Response:
    return error_response(exc)


def _crash(request: Request) -> Response:
    return JSONResponse({"error": {"type": "InternalError", "message": "Internal error in the emulator."}}, status_code=500)


ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/messages", list_messages, methods=["GET"]),
    Route("/webhooks", list_webhooks, methods=["GET"]),
    Route("/clock", get_clock, methods=["GET"]),
    Route("/clock/advance", advance_clock, methods=["POST"]),
    Route("/clock/set", set_clock, methods=["POST"]),
    Route("/inbound/sms", inject_sms, methods=["POST"]),
    Route("/outcomes", list_outcomes, methods=["GET"]),
    Route("/outcomes", add_outcome, methods=["POST"]),
    Route("/wait", wait, methods=["GET"]),
    Route("/events", list_events, methods=["GET"]),
]


def create_control_app(engine: Engine) -> ASGIApp:
    sandboxes.install(engine)
    routes = [
        *accounts.ROUTES, *call_outcomes.ROUTES, *calls.ROUTES, *elks_mms.ROUTES, *faults.ROUTES, *media.ROUTES,
        *redeliver.ROUTES, *requests.ROUTES, *ROUTES, *sandboxes.ROUTES, *scenarios.ROUTES, *seven_tokens.ROUTES,
        *seven_tracking.ROUTES, *sink.ROUTES, *snapshot.ROUTES, *ui.ROUTES,
    ]
    return provider_app(routes, _render, _crash, hop_limit=1)  # no webhook may drive it

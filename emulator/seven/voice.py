"""seven.io voice: `POST /api/voice` places text-to-speech calls on the call engine,
`POST /api/voice/{call_id}/hangup` ends one, and the call lifecycle fires seven's voice webhooks.

An outbound call rings the recipient for `ringtime` seconds (the number's call outcome rule
decides whether it answers, is busy, fails or never picks up). Once answered, the text is spoken
for `speech_seconds(text)` and the call then ends, unless the callee hangs up first; the keys the
callee's rule presses are reported one by one as `voice_dtmf` while the call is up. Every status
change (ringing, in-progress, completed, busy, no-answer, failed) fires `voice_status`.

A phone that calls one of the account's seven numbers (`POST /_emulator/inbound/call`) is
answered at once: `voice_call` fires, then a `voice_dtmf` for each key the caller presses.

Price: the recipient's per-minute `call_prices`. Placing the calls needs credit for one minute
of each; every started minute of answered time is debited when the call ends (the call engine's
rule). Call ids are integers, as seven gives them.
"""

from __future__ import annotations

import math
import re
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.calls import FINAL_CALL_STATUSES, CallPrices
from ..core.clock import MICROS
from ..core.engine import Engine
from ..core.errors import Conflict, InsufficientBalance, InvalidNumber, InvalidParameter, InvalidSender, NotFound, TextTooLong
from ..core.models import INBOUND, OUTBOUND, Account, Call, StatusChange
from ..core.phone import parse_loose
from .addressbook import recipients_for
from .context import RequestContext, begin
from .hooks import dispatch
from .journal import voice_status
from .render import LINES_STYLE, RESULT_STYLE, answering, euro_text, euros, json_response, text_response
from .validate import boolean, required, tag, text
from .voice_validation import caller_id

__all__ = ["send_voice", "hangup", "speech_seconds", "install", "ROUTES", "SYSTEM_CALLER_ID", "MAX_TEXT_LENGTH"]

MAX_TEXT_LENGTH = 10_000
MAX_CALLER_ID_LENGTH = 16
DEFAULT_RINGTIME = 30.0
RINGTIME_RANGE = (5.0, 60.0)
FIRST_VOICE_ID = 1_384_001
DEBUG_CALL_ID = 123_456_789  # seven's dummy id in debug mode
# The caller id of a call without `from` when the account has no voice number of its own.
SYSTEM_CALLER_ID = "+4930575908110"
# Speaking rate of the text-to-speech voice, and the shortest announcement.
CHARACTERS_PER_SECOND = 12
MIN_SPEECH_SECONDS = 3
# How long a key prompt waits at most; keys come after the rule's `digits_after` anyway.
KEY_WAIT_SECONDS = 3600.0

_TAGS = re.compile(r"<[^>]*>")
_LIVE = ("answered", "ongoing")


def _digits(number: str) -> str:
    return number[1:] if number.startswith("+") and number[1:].isdigit() else number


def is_xml(body: str) -> bool:
    """SSML or the older TwiML-like `<Response>` markup rather than plain text."""
    return body.lstrip().startswith("<")


def speech_seconds(body: str) -> int:
    """How long reading `body` out takes (markup is not spoken)."""
    spoken = " ".join(_TAGS.sub(" ", body).split()) if is_xml(body) else body
    return max(MIN_SPEECH_SECONDS, math.ceil(len(spoken) / CHARACTERS_PER_SECOND))


# -- POST /voice ----------------------------------------------------------------------------

def _default_caller(engine: Engine, account: Account) -> str:
    numbers = engine.store.numbers.page(
        account.id, limit=1_000, where=lambda n: n.provider == "seven" and n.active and "voice" in n.capabilities,
    ).items
    return numbers[-1].number if numbers else SYSTEM_CALLER_ID


def _caller(engine: Engine, account: Account, raw: str | None) -> str:
    """`from`: a number of the account or one it validated with `/validate_for_voice`."""
    if raw is None or raw.strip() == "":
        return _default_caller(engine, account)
    value = raw.strip()
    if len(value) > MAX_CALLER_ID_LENGTH:
        raise InvalidSender(raw, f"a caller id has at most {MAX_CALLER_ID_LENGTH} characters")
    try:
        number = parse_loose(value, "from")
    except InvalidNumber:
        raise InvalidSender(raw, "a caller id must be a phone number") from None
    owned = engine.store.active_number(number.e164, "seven")
    if owned is not None and owned.account_id == account.id:
        return number.e164
    validated = caller_id(engine, account.id, number.e164)
    if validated is not None and validated.validated is not None:
        return number.e164
    raise InvalidSender(raw, "the caller id must be a number of the account or one validated with /validate_for_voice")


def _ringtime(params: dict[str, Any]) -> float:
    raw = params.get("ringtime")
    if isinstance(raw, list):
        raw = raw[-1] if raw else None
    if raw is None or raw == "":
        return DEFAULT_RINGTIME
    low, high = RINGTIME_RANGE
    reason = f"expected seconds from {low:g} to {high:g}"
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise InvalidParameter("ringtime", raw, reason)
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidParameter("ringtime", raw, reason) from None
    if not math.isfinite(seconds) or not low <= seconds <= high:
        raise InvalidParameter("ringtime", raw, reason)
    return seconds


def _cost_text(units: int) -> str:
    return "0" if units == 0 else euro_text(units)


def _place(ctx: RequestContext) -> Response:
    engine, account, params = ctx.engine, ctx.account, ctx.params
    numbers = recipients_for(params, engine.store, account)
    body = required(params, "text")
    if len(body) > MAX_TEXT_LENGTH:
        raise TextTooLong("text", len(body), MAX_TEXT_LENGTH)
    caller = _caller(engine, account, text(params, "from"))
    ringtime = _ringtime(params)
    foreign_id = tag(params, "foreign_id", 64)
    debug = boolean(params, "debug")
    if debug:
        ids = [DEBUG_CALL_ID] * len(numbers)
        prices = [0] * len(numbers)
    else:
        prices = [engine.calls.price_per_minute("seven", number.e164) for number in numbers]
        if sum(prices) > account.balance:  # all calls or none
            raise InsufficientBalance(sum(prices), account.balance)
        attributes = {"text": body, "xml": is_xml(body), "foreign_id": foreign_id, "speech_seconds": speech_seconds(body)}
        placed = [
            engine.calls.place(account, caller, number.e164, ring_timeout=ringtime, attributes=attributes)
            for number in numbers
        ]
        ids = [int(placed_call.id) for placed_call in placed]
    total = sum(prices)
    if not ctx.as_json:
        return text_response(f"100\n{','.join(str(i) for i in ids)}\n{_cost_text(total)}")
    return json_response({
        "success": "100",
        "total_price": euros(total),
        "balance": euros(account.balance),
        "debug": debug,
        "messages": [
            {
                "id": call_id,
                "sender": _digits(caller),
                "recipient": number.digits,
                "text": body,
                "price": euros(price),
                "success": True,
                "error": None,
                "error_text": None,
            }
            for call_id, number, price in zip(ids, numbers, prices)
        ],
    })


async def send_voice(request: Request) -> Response:
    return _place(await begin(request))


# -- POST /voice/{call_id}/hangup -----------------------------------------------------------

async def hangup(request: Request) -> Response:
    """End a call that is in progress (answered and not over)."""
    ctx = await begin(request)
    call_id = request.path_params["call_id"]
    found = ctx.engine.calls.get(call_id)
    if found is None or found.provider != "seven" or found.account_id != ctx.account.id:
        raise NotFound("call", call_id, f"Call {call_id} not found.")
    if found.status not in _LIVE:
        reason = "has already ended" if found.status in FINAL_CALL_STATUSES else "is not in progress yet"
        raise Conflict(f"Call {call_id} {reason}.")
    ctx.engine.calls.hangup(found, by="api")
    return json_response({"success": True, "error": None})


# -- webhooks -------------------------------------------------------------------------------

def _filters(*numbers: str) -> tuple[str, ...]:
    return tuple(value for number in numbers for value in (number, _digits(number)))


def _talked(engine: Engine, call: Call) -> int:
    return round(engine.calls.elapsed(call.answered_at)) if call.answered_at is not None else 0


def _report_status(engine: Engine, call: Call, change: StatusChange) -> None:
    data = {
        "callerId": _digits(call.sender),
        "duration": str(call.duration),
        "id": int(call.id),
        "pricePerMinute": euros(call.price_per_minute),
        "recipient": _digits(call.recipient),
        "status": voice_status(call),
        "timestamp": change.at // MICROS,
        "foreign_id": call.attributes.get("foreign_id"),
    }
    dispatch(engine, call.account_id, "voice_status", data, _filters(call.recipient, call.sender))


def _report_key(engine: Engine, call: Call, key: str) -> None:
    system = call.recipient if call.direction == INBOUND else call.sender
    talked = _talked(engine, call)
    data = {
        "callerId": _digits(call.sender),
        "dtmf_digit": key,
        "duration": str(talked),
        "id": int(call.id),
        "pricePerMinute": euros(call.price_per_minute),
        "recipient": _digits(call.recipient),
        "status": voice_status(call),
        "system": _digits(system),
        "timestamp": engine.clock.now() // MICROS,
        "total_price": euros(CallPrices.cost(call.price_per_minute, talked)),
        "foreign_id": call.attributes.get("foreign_id"),
    }
    dispatch(engine, call.account_id, "voice_dtmf", data, _filters(call.recipient, call.sender))


def _report_inbound(engine: Engine, call: Call) -> None:
    data = {"caller": _digits(call.sender), "id": int(call.id), "system": _digits(call.recipient), "time": call.created // MICROS}
    dispatch(engine, call.account_id, "voice_call", data, _filters(call.recipient) + ("00" + _digits(call.recipient),))


def _collect_keys(engine: Engine, call: Call) -> None:
    """Report each key the party on the line presses, one at a time, while the call is up."""

    def pressed(key: str) -> None:
        if key:
            _report_key(engine, call, key)
        if call.digits:
            engine.calls.prompt(call, 1, KEY_WAIT_SECONDS, pressed)

    if call.digits:
        engine.calls.prompt(call, 1, KEY_WAIT_SECONDS, pressed)


def on_call_change(engine: Engine, call: Call, change: StatusChange) -> None:
    """Call listener: drive seven.io calls and fire their webhooks."""
    if call.provider != "seven":
        return
    status = change.status
    if call.direction == OUTBOUND:
        if status == "answered":
            _collect_keys(engine, call)
            engine.calls.after(call, call.attributes.get("speech_seconds", MIN_SPEECH_SECONDS),
                               lambda: engine.calls.hangup(call, by="script"))
        if status not in ("created", "ongoing"):
            _report_status(engine, call, change)
    elif status == "answered":
        _report_inbound(engine, call)
        _collect_keys(engine, call)


def install(engine: Engine) -> None:
    engine.calls.listeners.append(partial(on_call_change, engine))
    engine.calls.id_factories["seven"] = lambda: str(engine.ids.sequence("seven.voice", FIRST_VOICE_ID))


ROUTES = [
    *answering(LINES_STYLE, [Route("/voice", send_voice, methods=["POST"])]),
    *answering(RESULT_STYLE, [Route("/voice/{call_id}/hangup", hangup, methods=["POST"])]),
]

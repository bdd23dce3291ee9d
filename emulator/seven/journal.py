"""seven.io journal: `GET /api/journal/outbound`, `/inbound`, `/replies`, `/voice`, and the
legacy `GET /api/journal?type=...`.

Rows are newest first, every value a string as seven.io sends them (prices `"0.0750"`, times
`YYYY-MM-DD HH:MM:SS.fff` UTC). Filters: `id`, `date_from`/`date_to` (`YYYY-MM-DD`, inclusive),
`state` (the report status, e.g. `DELIVERED`; a call's status for voice), `to` (any format),
`limit` (1-100, default 100) and `offset`. `replies` are the inbound messages that answer an
outbound message of the account.

Voice rows are the account's outbound seven.io calls of the call engine (the store's `calls`
collection): `voice_row` reads a call's `sender`, `recipient`, `created`, `cost`, `duration`,
`status` and `error`, and the `text` and `xml` the voice module keeps in its `attributes`.
"""

from __future__ import annotations

from functools import lru_cache

from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.billing import format_units
from ..core.clock import MICROS
from ..core.engine import Engine
from ..core.errors import InvalidNumber, InvalidParameter, MissingParameter
from ..core.models import INBOUND, OUTBOUND, Account, Message
from ..core.phone import parse_loose
from .context import begin
from .networks import facts
from .paging import day, day_end, day_start, whole_number, window
from .render import STATUS_NAMES, json_response, moment
from .validate import text

__all__ = ["JournalQuery", "outbound_row", "inbound_row", "voice_row", "voice_status", "journal", "ROUTES", "KINDS", "CALLS"]

KINDS = ("outbound", "inbound", "replies", "voice")
CALLS = "calls"  # the call engine's collection, both providers
# The call engine's statuses as seven.io names them.
VOICE_STATUSES = {
    "created": "queued", "ringing": "ringing", "answered": "in-progress", "ongoing": "in-progress",
    "ended": "completed", "busy": "busy", "no_answer": "no-answer", "failed": "failed",
}
MAX_LIMIT = 100
_UNREPORTED = ("scheduled", "created")  # no delivery report has arrived yet
_FINAL = ("delivered", "failed", "expired", "rejected")


class JournalQuery:
    """The filters of a journal request, checked up front."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.limit, self.offset = window(params, MAX_LIMIT, MAX_LIMIT)
        self.id = whole_number(params, "id", 0, 1) or None
        start, end = day(params, "date_from"), day(params, "date_to")
        self.after = day_start(start) - 1 if start else None  # exclusive bounds on `created`
        self.before = day_end(end) if end else None
        self.state = (text(params, "state") or "").strip().casefold() or None
        to = (text(params, "to") or "").strip()
        self.to = parse_loose(to, "to").e164 if to else None

    @property
    def filtered(self) -> bool:
        """Whether a row filter other than the dates is set."""
        return self.id is not None or self.state is not None or self.to is not None

    def rows(
        self, collection, account: Account, matches: Callable[[Any], bool] | None, render: Callable[[Any], dict[str, Any]],
        kind: str | None = None,
    ) -> list[dict[str, Any]]:
        if self.before is not None and self.after is not None and self.before <= self.after:
            return []
        found = collection.page(
            account.id, kind=kind, before=self.before, after=self.after, limit=self.limit, where=matches, offset=self.offset,
        ).items
        return [render(item) for item in found]


def _digits(number: str | None) -> str:
    if not number:
        return ""
    return number[1:] if number.startswith("+") and number[1:].isdigit() else number


def _latency(message: Message) -> str | None:
    final = next((change for change in reversed(message.history) if change.status in _FINAL), None)
    if final is None:
        return None
    started = message.attributes.get("send_at") or message.created
    return f"{max(0, final.at - started) / MICROS:.3f}"


@lru_cache(maxsize=65_536)
def _mccmnc(e164: str) -> str | None:
    """The recipient's network as the lookups name it (None for fixed lines, unknown ranges, and a
    recipient that is no phone number, as a restored snapshot may hold)."""
    try:
        number = parse_loose(e164)
    except InvalidNumber:
        return None
    network = facts(number).network
    return network.mccmnc if network is not None and network.mccmnc else None


def outbound_row(message: Message) -> dict[str, Any]:
    reported = message.status not in _UNREPORTED
    return {
        "id": message.id,
        "from": message.sender,
        "to": _digits(message.recipient),
        "text": message.text,
        "timestamp": moment(message.created),
        "price": format_units(message.cost),
        "dlr": STATUS_NAMES.get(message.status) if reported else None,
        "dlr_timestamp": moment(message.status_at) if reported else None,
        "mccmnc": _mccmnc(message.recipient),
        "latency": _latency(message),
        "type": "direct",
        "channel": message.attributes.get("channel") or "SMS",
        "connection": "http",
        "label": message.attributes.get("label"),
        "foreign_id": message.attributes.get("foreign_id"),
    }


def inbound_row(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "from": _digits(message.sender),
        "to": _digits(message.recipient),
        "text": message.text,
        "timestamp": moment(message.created),
        "price": format_units(message.cost),
        "reply_to_message_id": message.attributes.get("reply_to"),
    }


def voice_status(call: Any) -> str:
    status = getattr(call, "status", "")
    return VOICE_STATUSES.get(status, status)


def voice_row(call: Any) -> dict[str, Any]:
    attributes = getattr(call, "attributes", None) or {}
    return {
        "id": str(call.id),
        "from": _digits(getattr(call, "sender", "")),
        "to": _digits(getattr(call, "recipient", "")),
        "text": str(attributes.get("text") or ""),
        "timestamp": moment(call.created),
        "price": format_units(getattr(call, "cost", 0) or 0),
        "duration": str(getattr(call, "duration", 0) or 0),
        "error": getattr(call, "error", None) or "",
        "status": voice_status(call),
        "xml": bool(attributes.get("xml")),
    }


def _message_filter(query: JournalQuery, direction: str, replies: bool = False) -> Callable[[Message], bool]:
    def matches(message: Message) -> bool:
        if message.provider != "seven" or message.direction != direction:
            return False
        if replies and not message.attributes.get("reply_to"):
            return False
        if query.id is not None and message.id != str(query.id):
            return False
        if query.to is not None and message.recipient != query.to:
            return False
        if query.state is not None and direction == OUTBOUND and STATUS_NAMES.get(message.status, "").casefold() != query.state:
            return False
        return True

    return matches


def _call_filter(query: JournalQuery) -> Callable[[Any], bool]:
    def matches(call: Any) -> bool:
        if getattr(call, "provider", None) != "seven" or getattr(call, "direction", OUTBOUND) != OUTBOUND:
            return False
        if query.id is not None and str(call.id) != str(query.id):
            return False
        if query.to is not None and getattr(call, "recipient", None) != query.to:
            return False
        if query.state is not None and voice_status(call).casefold() != query.state:
            return False
        return True

    return matches


def journal(engine: Engine, account: Account, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    query = JournalQuery(params)
    messages = engine.store.messages
    if kind in ("outbound", "inbound"):
        direction, render = (OUTBOUND, outbound_row) if kind == "outbound" else (INBOUND, inbound_row)
        if not query.filtered:  # the account's messages of that direction, all of them seven.io's
            return query.rows(messages, account, None, render, kind=direction)
        return query.rows(messages, account, _message_filter(query, direction), render)
    if kind == "replies":
        return query.rows(messages, account, _message_filter(query, INBOUND, replies=True), inbound_row)
    return query.rows(engine.store.collection(CALLS), account, _call_filter(query), voice_row)


def _handler(kind: str):
    async def handle(request: Request) -> Response:
        ctx = await begin(request)
        return json_response(journal(ctx.engine, ctx.account, kind, ctx.params))

    handle.__name__ = f"journal_{kind}"
    return handle


async def legacy_journal(request: Request) -> Response:
    """`GET /api/journal?type=outbound|inbound|replies|voice`, as older clients call it."""
    ctx = await begin(request)
    kind = (text(ctx.params, "type") or "").strip().lower()
    if not kind:
        raise MissingParameter("type")
    if kind not in KINDS:
        raise InvalidParameter("type", kind, f"expected one of {', '.join(KINDS)}")
    return json_response(journal(ctx.engine, ctx.account, kind, ctx.params))


ROUTES = [Route(f"/journal/{kind}", _handler(kind), methods=["GET"]) for kind in KINDS] + [
    Route("/journal", legacy_journal, methods=["GET"]),
]

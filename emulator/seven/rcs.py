"""seven.io RCS: `POST /api/rcs/messages` sends Rich Communication Services messages,
`DELETE /api/rcs/messages/{id}` cancels a scheduled one, `POST /api/rcs/events` sends a typing
indicator or read receipt to a phone, `GET /api/rcs/agents` lists the account's agent; status
changes of RCS messages fire `rcs` webhooks.

Whether a recipient can take RCS is what `GET /api/lookup/rcs` says of its number (a non-empty
`rcs_capabilities`). A recipient that cannot gets the text as an SMS when the request says
`fallback=sms` (SMS price, `dlr` webhooks like any SMS); otherwise the whole request is refused
and nothing is sent or billed. RCS messages are kept with the account's SMS (same numeric ids,
same lifecycle and outcome rules, `/api/status`, the journal) with `attributes["channel"]` =
`"RCS"`, and cost one `seven.rcs_prices` price each whatever their length. `from` is the RCS
agent id (default `agent_<account id>`); `ttl` and `performance_tracking` are kept on the message
but have no effect. An event sent with `/rcs/events` is recorded in the emulator's event log as
`rcs.event` (nothing else happens to the phone).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine, Outgoing, Quote
from ..core.errors import Conflict, InvalidNumber, InvalidParameter, InvalidSender, MissingParameter, NotFound, TextTooLong, ValidationError
from ..core.models import INBOUND, Account, Message, StatusChange
from ..core.phone import ParsedNumber, parse_loose
from .addressbook import recipients_for
from .context import begin
from .hooks import dispatch
from .lookup import rcs_capabilities
from .render import RESULT_STYLE, STATUS_NAMES, answering, euros, json_response, moment
from .sms import MAX_TEXT_LENGTH as MAX_SMS_LENGTH, message_json, next_sms_id
from .validate import boolean, required, send_time, tag, text

__all__ = ["send_rcs", "delete_rcs", "send_event", "list_agents", "rcs_price", "is_rcs", "install", "ROUTES", "CHANNEL", "RCS_EVENTS"]

CHANNEL = "channel"  # message attribute: "RCS", or "SMS" for a fallback
RCS, SMS = "RCS", "SMS"
FALLBACKS = ("sms", "webview")
RCS_EVENTS = ("IS_TYPING", "READ")
MAX_TEXT_LENGTH = 3072  # what an RCS text message may hold (RBM's limit)
DEFAULT_PRICE = 700
_AGENT = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")


class NotRcsCapable(InvalidNumber):
    """A recipient whose phone cannot take RCS (seven's return code 202, recipient invalid)."""

    def __init__(self, number: ParsedNumber, why: str) -> None:
        super().__init__("to", number.e164)
        self.message = f"Invalid to: {number.e164} cannot receive RCS{why}"


def rcs_price(engine: Engine, recipient: ParsedNumber) -> int:
    listed = engine.fixtures.price_list("seven", "rcs_prices")
    return listed.get(recipient.region or "", listed.get("default", DEFAULT_PRICE))


def is_rcs(message: Message) -> bool:
    """A message sent through `/rcs/messages` (as RCS or as its SMS fallback)."""
    return message.provider == "seven" and "agent_id" in message.attributes


def _digits(number: str) -> str:
    return number[1:] if number.startswith("+") and number[1:].isdigit() else number


def _agent(account: Account, raw: str | None) -> str:
    if raw is None or raw.strip() == "":
        return f"agent_{account.id}"
    value = raw.strip()
    if not _AGENT.fullmatch(value):
        raise InvalidSender(raw, "an RCS agent id has at most 64 of A-Z a-z 0-9 _ . @ -")
    return value


def _fallback(params: dict[str, Any]) -> str | None:
    value = text(params, "fallback")
    if value is None or value.strip() == "":
        return None
    if value.strip().lower() not in FALLBACKS:
        raise InvalidParameter("fallback", value, "expected sms or webview")
    return value.strip().lower()


def _ttl(params: dict[str, Any]) -> int | None:
    """Validity in minutes; empty or 0 is unset, as clients that send every field mean it."""
    value = text(params, "ttl")
    if value is None or value.strip() in ("", "0"):
        return None
    if not value.strip().isascii() or not value.strip().isdigit() or len(value.strip()) > 9:
        raise InvalidParameter("ttl", value, "expected whole minutes")
    return int(value.strip())


def _message_json(message: Message | None, item: Outgoing, price: int, fallback: str | None) -> dict[str, Any]:
    return message_json(message, item, price) | {"channel": (item.attributes or {})[CHANNEL], "fallback": fallback}


async def send_rcs(request: Request) -> Response:
    ctx = await begin(request)
    engine, account, params = ctx.engine, ctx.account, ctx.params
    numbers = recipients_for(params, engine.store, account)
    body = required(params, "text")
    if len(body) > MAX_TEXT_LENGTH:
        raise TextTooLong("text", len(body), MAX_TEXT_LENGTH)
    agent = _agent(account, text(params, "from"))
    fallback = _fallback(params)
    shared = {
        "agent_id": agent,
        "fallback": fallback,
        "label": tag(params, "label", 100),
        "foreign_id": tag(params, "foreign_id", 64),
        "performance_tracking": boolean(params, "performance_tracking"),
        "ttl": _ttl(params),
    }
    send_at = send_time(params)
    debug = boolean(params, "debug")
    sms_sender = account.attributes.get("default_sender") or "seven.io"
    batch = []
    for number in numbers:
        if rcs_capabilities(engine, number):
            quote = engine.quote_sms("seven", number, body)
            quote = Quote(number, replace(quote.segmentation, parts=1), rcs_price(engine, number))
            batch.append(Outgoing(quote, agent, body, None, {**shared, CHANNEL: RCS}))
        elif fallback == "sms":
            if len(body) > MAX_SMS_LENGTH:
                raise TextTooLong("text", len(body), MAX_SMS_LENGTH)
            batch.append(Outgoing(engine.quote_sms("seven", number, body), sms_sender, body, None, {**shared, CHANNEL: SMS}))
        else:
            why = "the webview fallback is not emulated" if fallback == "webview" else "no fallback was requested"
            raise NotRcsCapable(number, f" and {why}; send with fallback=sms")
    if debug:
        messages: list[Message | None] = [None] * len(batch)
        prices = [0] * len(batch)
    else:
        messages = list(engine.send_messages(account, batch, lambda: next_sms_id(engine), send_at))
        prices = [item.quote.cost for item in batch]
    return json_response({
        "success": "100",
        "total_price": euros(sum(prices)),
        "balance": euros(account.balance),
        "debug": "true" if debug else "false",
        "sms_type": "direct",
        "messages": [_message_json(m, item, p, fallback) for m, item, p in zip(messages, batch, prices)],
    })


async def delete_rcs(request: Request) -> Response:
    """Cancel a scheduled RCS message (or its SMS fallback); the price is refunded."""
    ctx = await begin(request)
    message_id = request.path_params["id"]
    message = ctx.engine.store.messages.get(message_id)
    if message is None or message.account_id != ctx.account.id or not is_rcs(message):
        raise NotFound("RCS message", message_id)
    if not ctx.engine.cancel_scheduled(ctx.account, [message_id]):
        raise Conflict("The message has already been sent and cannot be deleted.")
    return json_response({"success": True})


def _rcs_message(engine: Engine, account: Account, message_id: str) -> Message:
    message = engine.store.messages.get(message_id.strip())
    if message is None or message.account_id != account.id or message.attributes.get(CHANNEL) != RCS:
        raise NotFound("RCS message", message_id)
    return message


def _last_received(engine: Engine, account: Account) -> Message:
    found = engine.store.messages.page(
        account.id, limit=1, where=lambda m: m.direction == INBOUND and m.attributes.get(CHANNEL) == RCS,
    ).items
    if not found:
        raise ValidationError("to", "No RCS message has been received yet: give `to` or `msg_id`.")
    return found[0]


async def send_event(request: Request) -> Response:
    """`IS_TYPING` or `READ` to a phone: by number (`to`) or for a message (`msg_id`; by
    default the newest RCS message received)."""
    ctx = await begin(request)
    engine, account = ctx.engine, ctx.account
    event = (text(ctx.params, "event") or "").strip()
    if not event:
        raise MissingParameter("event")
    if event not in RCS_EVENTS:
        raise InvalidParameter("event", event, "expected IS_TYPING or READ")
    raw_to = (text(ctx.params, "to") or "").strip()
    raw_id = (text(ctx.params, "msg_id") or "").strip()
    phone = parse_loose(raw_to, "to") if raw_to else None
    if phone is not None and not rcs_capabilities(engine, phone):
        raise NotRcsCapable(phone, "")
    message = _rcs_message(engine, account, raw_id) if raw_id else (None if phone else _last_received(engine, account))
    if phone is not None:
        target = phone.e164
    else:
        assert message is not None
        target = message.sender if message.direction == INBOUND else message.recipient
    engine.events.emit("rcs.event", "seven", account.id, event=event, to=target, msg_id=message.id if message else None)
    return json_response({"success": True})


async def list_agents(request: Request) -> Response:
    """`GET /api/rcs/agents`: the account's RCS agents. Every account has its default one,
    `agent_<account id>` (what a send without `from` comes from), named after the account; a
    send from another agent id is taken as it is and does not add one here."""
    ctx = await begin(request)
    account = ctx.account
    agent = {"id": _agent(account, None), "display_name": account.name, "status": "active", "logo_url": None,
             "created": moment(account.created, fraction=0), "is_generic": True}
    return json_response({"agents": [agent]})


def report_status(engine: Engine, message: Message, change: StatusChange) -> None:
    """Lifecycle listener: an `rcs` event for each status change of an RCS message."""
    if message.provider != "seven" or message.attributes.get(CHANNEL) != RCS:
        return
    agent = message.attributes.get("agent_id")
    data = {
        "agent_id": agent,
        "sender": _digits(message.recipient),
        "status": STATUS_NAMES[change.status],
        "foreign_id": message.attributes.get("foreign_id"),
        "msg_id": message.id,
        "timestamp": moment(change.at, fraction=6),
    }
    dispatch(engine, message.account_id, "rcs", data, (message.recipient, _digits(message.recipient), agent))


def install(engine: Engine) -> None:
    engine.lifecycle.listen("seven", partial(report_status, engine))


ROUTES = [
    Route("/rcs/messages", send_rcs, methods=["POST"]),
    Route("/rcs/agents", list_agents, methods=["GET"]),
    *answering(RESULT_STYLE, [
        Route("/rcs/messages/{id}", delete_rcs, methods=["DELETE"]),
        Route("/rcs/events", send_event, methods=["POST"]),
    ]),
]

"""46elks SMS: send (`POST /a1/SMS`), list, get one, delete; delivery reports to `whendelivered`.

Two destinations behave as 46elks documents: `+46700000000` (the sink) is accepted and listed
but costs nothing; a US recipient gets an alphanumeric sender replaced by a number (46elks picks
one of its own; here the first free US number of the seeded pool)."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine, Outgoing
from ..core.errors import NotFound, TextTooLong
from ..core.models import Message, StatusChange
from .context import begin
from .number_pool import free_number
from .render import STATUS_NAMES, json_response, sms_json, timestamp
from .validate import flag, optional_text, paging, recipient, required_text, sender, url

__all__ = [
    "send_sms", "list_sms", "get_sms", "delete_sms", "report_delivery", "install", "ROUTES", "MAX_MESSAGE_LENGTH",
    "SINK_NUMBER", "NO_ALPHA_SENDER_REGIONS",
]

MAX_MESSAGE_LENGTH = 1530  # 10 concatenated GSM parts; longer texts are refused
# 46elks' sink: accepted and listed, never sent, never charged (the official GitHub Action's default `to`).
SINK_NUMBER = "+46700000000"
# Destinations that take no alphanumeric sender: 46elks sends from a number of its own instead.
NO_ALPHA_SENDER_REGIONS = frozenset({"US"})


async def send_sms(request: Request) -> Response:
    ctx = await begin(request)
    engine, account, params = ctx.engine, ctx.account, ctx.params
    raw_sender = required_text(params, "from")
    to = recipient(params)
    text = required_text(params, "message")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise TextTooLong("message", len(text), MAX_MESSAGE_LENGTH)
    from_ = sender(engine.store, account, raw_sender)
    callback = url(params, "whendelivered")
    flash = flag(params, "flashsms")
    dryrun = flag(params, "dryrun")
    dontlog = (optional_text(params, "dontlog") or "").strip().lower() == "message"
    if not from_.startswith("+") and to.region in NO_ALPHA_SENDER_REGIONS:
        from_ = free_number(engine.store, engine.seed, to.region, "mobile") or from_
    quote = engine.quote_sms("elks", to, text)
    if to.e164 == SINK_NUMBER:
        quote.price_per_part = 0
    if dryrun:
        return json_response({
            "status": "created",
            "direction": "outgoing",
            "from": from_,
            "to": to.e164,
            "message": text,
            "parts": quote.segmentation.parts,
            "estimated_cost": quote.cost,
        })
    outgoing = Outgoing(quote, from_, text, callback, {"flashsms": flash, "dontlog": dontlog})
    (message,) = engine.send_messages(account, [outgoing], lambda: engine.ids.hex_id("s"))
    return json_response(sms_json(message))  # with dontlog=message, the answer has no `message` either


async def list_sms(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    to_filter = optional_text(ctx.params, "to")
    where = (lambda m: not is_mms(m) and m.recipient == to_filter) if to_filter else (lambda m: not is_mms(m))
    page = ctx.engine.store.messages.page(ctx.account.id, before=start, after=end, limit=limit, where=where)
    body: dict = {"data": [sms_json(m) for m in page.items]}
    if page.has_more:
        body["next"] = timestamp(page.items[-1].created)
    return json_response(body)


def _own_message(engine: Engine, account_id: str, message_id: str) -> Message:
    message = engine.store.messages.get(message_id)
    if message is None or message.account_id != account_id or message.provider != "elks" or is_mms(message):
        raise NotFound("SMS", message_id)
    return message


async def get_sms(request: Request) -> Response:
    ctx = await begin(request)
    return json_response(sms_json(_own_message(ctx.engine, ctx.account.id, request.path_params["id"])))


async def delete_sms(request: Request) -> Response:
    ctx = await begin(request)
    message = _own_message(ctx.engine, ctx.account.id, request.path_params["id"])
    ctx.engine.store.messages.remove(message.id)
    return json_response({"id": message.id, "deleted": timestamp(ctx.engine.clock.now())})


def is_mms(message: Message) -> bool:
    """MMS share the message store (see `mms.py`); SMS operations leave them alone."""
    return message.kind == "mms"


def report_delivery(engine: Engine, message: Message, change: StatusChange) -> None:
    """Lifecycle listener: POST each 46elks status change to the message's `whendelivered`."""
    if message.provider != "elks" or not message.callback_url or change.status == "buffered":
        return
    fields = {"id": message.id, "status": STATUS_NAMES[change.status]}
    if change.status == "delivered":
        fields["delivered"] = timestamp(change.at)
    engine.outbox.enqueue(
        provider="elks",
        account_id=message.account_id,
        event="mms.status" if is_mms(message) else "sms.status",
        url=message.callback_url,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(fields).encode(),
        subject_id=message.id,
    )


def install(engine: Engine) -> None:
    engine.lifecycle.listen("elks", partial(report_delivery, engine))


ROUTES = [
    Route("/sms", send_sms, methods=["POST"]),
    Route("/sms", list_sms, methods=["GET"]),
    Route("/sms/{id}", get_sms, methods=["GET"]),
    Route("/sms/{id}", delete_sms, methods=["DELETE"]),
]

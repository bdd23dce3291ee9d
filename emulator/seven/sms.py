"""seven.io SMS: `POST /api/sms` (JSON, form or legacy query), delivery reports to `dlr` hooks."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine, Outgoing
from ..core.errors import InvalidNumber, InvalidParameter, TextTooLong
from ..core.text import Segmentation, segment, segment_binary, segment_ucs2
from ..core.models import Message
from . import reload_lock, short_links
from .addressbook import recipients_for
from .context import begin
from .render import euro_text, euros, json_response, text_response
from .validate import boolean, id_list, required, send_time, sender, tag, text

__all__ = ["message_json", "send_sms", "delete_sms", "MAX_TEXT_LENGTH", "next_sms_id", "ROUTES"]

MAX_TEXT_LENGTH = 1520
FIRST_SMS_ID = 77_000_000_001


def next_sms_id(engine: Engine) -> str:
    return str(engine.ids.sequence("seven.sms", FIRST_SMS_ID))


def message_json(message: Message | None, outgoing: Outgoing, price: int) -> dict[str, Any]:
    """One `messages[]` entry of seven's send answer (RCS adds `channel` and `fallback`)."""
    attributes = outgoing.attributes or {}
    return {
        "id": message.id if message else None,
        "sender": outgoing.sender,
        "recipient": outgoing.quote.recipient.digits,
        "text": outgoing.text,
        "encoding": outgoing.quote.segmentation.encoding,
        "label": attributes.get("label"),
        "parts": outgoing.quote.segmentation.parts,
        "udh": attributes.get("udh"),
        "is_binary": bool(attributes.get("is_binary")),
        "price": euros(price),
        "success": True,
        "error": None,
        "error_text": None,
    }


_HEX = frozenset("0123456789abcdefABCDEF")


def _is_hex(value: str) -> bool:
    return bool(value) and len(value) % 2 == 0 and _HEX.issuperset(value)


def _udh(params: dict[str, Any]) -> str | None:
    """`udh`: a user data header written in hex (`050003CC0201`), or None."""
    value = (text(params, "udh") or "").strip()
    if not value:
        return None
    if not _is_hex(value) or len(value) > 2 * 140:
        raise InvalidParameter("udh", value, "expected a user data header in hexadecimal")
    return value


def _forced_segmentation(params: dict[str, Any], body: str, attributes: dict[str, Any]) -> Segmentation | None:
    """A `udh` with a hex text sends the text as 8-bit binary data (`is_binary`); `unicode=1`
    sends it as UCS-2 whatever its characters. None: the encoding follows from the text."""
    force_ucs2 = boolean(params, "unicode")
    udh = attributes.get("udh")
    if udh and _is_hex(body):
        attributes["is_binary"] = True
        return segment_binary((len(udh) + len(body)) // 2)
    if force_ucs2:
        return segment_ucs2(body)
    return None


def _linked_batch(engine: Engine, account_id: str, numbers: list, from_: str, body: str,
                  attributes: dict[str, Any], files: list[short_links.Attachment]) -> list[Outgoing]:
    """The messages of a send whose text gets short links: `[[name]]` of attached files, and with
    `performance_tracking` every URL, by a tracking link of each recipient's own."""
    linked, kept = short_links.with_file_links(engine, account_id, body, files) if files else (body, [])
    batch = []
    for number in numbers:
        item_attributes = dict(attributes)
        if kept:
            item_attributes["files"] = kept
        text_ = linked
        if attributes["performance_tracking"]:
            text_, links = short_links.tracked_text(engine, account_id, number.e164, linked)
            if links:
                item_attributes["short_links"] = links
        batch.append(Outgoing(engine.quote_sms("seven", number, text_), from_, text_, None, item_attributes))
    return batch


def _rejected_json(item: str, exc: InvalidNumber, sender_: str, body: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """The `messages[]` entry of a recipient that is not a phone number (nor a contact or group
    name) in a send to several: nothing sent, nothing charged, seven's code 202."""
    segmentation = segment(body)
    return {
        "id": None, "sender": sender_, "recipient": item, "text": body, "encoding": segmentation.encoding,
        "label": attributes.get("label"), "parts": segmentation.parts, "udh": attributes.get("udh"), "is_binary": False,
        "price": 0, "success": False, "error": "202", "error_text": exc.message,
    }


async def send_sms(request: Request) -> Response:
    ctx = await begin(request)
    engine, account, params = ctx.engine, ctx.account, ctx.params
    # A recipient that is not a number is refused alone when others are (seven's 101, "sending to
    # at least one of several recipients failed"); when none is, the whole request (202).
    rejected: list[tuple[int, str, InvalidNumber]] = []
    numbers = recipients_for(params, engine.store, account, rejected=rejected)
    body = required(params, "text")
    if len(body) > MAX_TEXT_LENGTH:
        raise TextTooLong("text", len(body), MAX_TEXT_LENGTH)
    raw_sender = text(params, "from")
    from_ = sender(raw_sender) if raw_sender else (account.attributes.get("default_sender") or "seven.io")
    attributes = {
        "label": tag(params, "label", 100),
        "foreign_id": tag(params, "foreign_id", 64),
        "flash": boolean(params, "flash"),
        "udh": _udh(params),
        "performance_tracking": boolean(params, "performance_tracking"),
    }
    sms_type = (text(params, "type") or "").strip().lower() or reload_lock.DEFAULT_TYPE
    if sms_type not in reload_lock.SMS_TYPES:
        raise InvalidParameter("type", sms_type, "expected direct or economy")
    if sms_type != reload_lock.DEFAULT_TYPE:
        attributes["sms_type"] = sms_type
    send_at = send_time(params)
    debug = boolean(params, "debug")
    files = short_links.attachments(params)
    if files or attributes["performance_tracking"]:
        batch = _linked_batch(engine, account.id, numbers, from_, body, attributes, files)
    else:
        batch = [Outgoing(engine.quote_sms("seven", number, body), from_, body, None, attributes) for number in numbers]
    for item in batch:
        forced = _forced_segmentation(params, item.text, item.attributes)
        if forced is not None:
            item.quote.segmentation = forced
    if not boolean(params, "no_reload"):
        reload_lock.check(engine, account, (number.e164 for number in numbers), sms_type, body)
    if debug:
        messages: list[Message | None] = [None] * len(batch)
        prices = [0] * len(batch)
    else:
        messages = list(engine.send_messages(account, batch, lambda: next_sms_id(engine), send_at))
        reload_lock.note(engine, messages)
        if attributes["performance_tracking"]:
            short_links.note_links(engine, messages)
        prices = [item.quote.cost for item in batch]
    total = sum(prices)
    code = "101" if rejected else "100"
    if ctx.as_json:
        entries = [message_json(m, item, p) for m, item, p in zip(messages, batch, prices)]
        for shift, (place, item_text, exc) in enumerate(rejected):  # where they stood among the recipients
            entries.insert(place + shift, _rejected_json(item_text, exc, from_, body, attributes))
        return json_response({
            "success": code,
            "total_price": euros(total),
            "balance": euros(account.balance),
            "debug": "true" if debug else "false",
            "sms_type": sms_type,
            "messages": entries,
        })
    lines = [code]
    if boolean(params, "return_msg_id"):
        lines.append(",".join("1234567890" if m is None else m.id for m in messages))
    if boolean(params, "details"):
        first = batch[0]
        lines += [
            f"Verbucht: {sum(item.quote.segmentation.parts for item in batch)}",
            f"Preis: {euro_text(total)}",
            f"Guthaben: {euro_text(account.balance)}",
            f"Text: {body}",
            f"SMS-Typ: {sms_type}",
            f"Flash SMS: {'true' if attributes['flash'] else 'false'}",
            f"Encoding: {first.quote.segmentation.encoding}",
            f"GSM0338: {'true' if first.quote.segmentation.encoding == 'gsm' else 'false'}",
            f"Debug: {'true' if debug else 'false'}",
        ]
    return text_response("\n".join(lines))


async def delete_sms(request: Request) -> Response:
    """Cancel scheduled messages that have not been sent yet; their price is refunded."""
    ctx = await begin(request)
    deleted = ctx.engine.cancel_scheduled(ctx.account, id_list(ctx.params, "ids"))
    return json_response({"success": bool(deleted), "deleted": deleted})


ROUTES = [
    Route("/sms", send_sms, methods=["POST", "GET"]),
    Route("/sms", delete_sms, methods=["DELETE"]),
]

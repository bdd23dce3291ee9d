"""46elks MMS: send (`POST /a1/MMS`), list, get one, delete.

An MMS is a `Message` in the engine's message store with `kind == "mms"` and the
ids of its images in `attributes["images"]`: it shares the SMS machinery (atomic charge, the
created -> sent -> delivered lifecycle and outcome rules, events, the control API's message
list) while `/a1/SMS` and `/a1/MMS` each list only their own kind. One MMS costs the fixtures'
`mms_prices` price for the destination, whatever its text and images.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine, Outgoing, Quote
from ..core.errors import InvalidParameter, InvalidSender, MissingParameter, NotFound, TextTooLong
from ..core.models import INBOUND, Account, Message
from ..core.phone import parse_e164
from ..core.text import Segmentation, segment
from .context import begin
from .image_data import MAX_IMAGE_BYTES, ImagePayload, read_image
from .images import remove_images, store_images
from .number_pool import free_number
from .render import STATUS_NAMES, json_response, list_json, timestamp
from .sms import is_mms
from .validate import optional_text, paging, recipient, required_text, url

__all__ = ["mms_json", "mms_price", "read_images", "ROUTES", "MAX_IMAGES", "MAX_MMS_TEXT"]

MAX_IMAGES = 10
MAX_MMS_TEXT = 5000
_IMAGE_FIELD = re.compile(r"image(\d*)")


def mms_json(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "direction": "incoming" if message.direction == INBOUND else "outgoing",
        "from": message.sender,
        "to": message.recipient,
        "created": timestamp(message.created),
        "owner": message.account_id,
    }
    if message.text:
        data["message"] = message.text
    if message.attributes.get("images"):
        data["images"] = list(message.attributes["images"])
    if message.direction != INBOUND:
        data["status"] = STATUS_NAMES.get(message.status, message.status)
        data["cost"] = message.cost
    else:
        data["status"] = "recieved"  # sic: 46elks' own word for a received MMS
    if message.delivered_at is not None:
        data["delivered"] = timestamp(message.delivered_at)
    return data


def mms_price(engine: Engine, region: str | None) -> int:
    prices = engine.fixtures.price_list("elks", "mms_prices")
    return prices.get(region or "", prices.get("default", 0))


def read_images(params: dict[str, Any]) -> list[ImagePayload]:
    """`image`, `image2`, `image3` ... in that order (a repeated key counts once per value)."""
    fields = []
    for key in params:
        match = _IMAGE_FIELD.fullmatch(key)
        if match:
            fields.append((int(match.group(1) or 1), key))
    payloads: list[ImagePayload] = []
    for _, key in sorted(fields):
        values = params[key] if isinstance(params[key], list) else [params[key]]
        for value in values:
            if not isinstance(value, str):
                raise InvalidParameter(key, value, "expected a URL or a data: URI")
            if value.strip():
                payloads.append(read_image(key, value))
    if len(payloads) > MAX_IMAGES:
        raise InvalidParameter("image", len(payloads), f"at most {MAX_IMAGES} images per MMS")
    if sum(len(p.data or b"") for p in payloads) > MAX_IMAGE_BYTES:
        raise InvalidParameter("image", "<data>", f"the images together are larger than {MAX_IMAGE_BYTES} bytes")
    return payloads


def _mms_sender(engine: Engine, account: Account, raw: str) -> str:
    """`noreply` (46elks then sends from a number of its own) or an MMS number of the account."""
    if raw.strip().lower() == "noreply":
        return free_number(engine.store, engine.seed, "SE", "mobile") or "noreply"
    number = parse_e164(raw, "from").e164
    held = engine.store.numbers.page(
        account.id, limit=1, where=lambda n: n.active and n.provider == "elks" and n.number == number
    ).items
    if not held or "mms" not in held[0].capabilities:
        raise InvalidSender(raw, "not an MMS number of this account")
    return number


async def send_mms(request: Request) -> Response:
    ctx = await begin(request)
    engine, account, params = ctx.engine, ctx.account, ctx.params
    raw_sender = required_text(params, "from")
    to = recipient(params)
    text = optional_text(params, "message") or ""
    if len(text) > MAX_MMS_TEXT:
        raise TextTooLong("message", len(text), MAX_MMS_TEXT)
    payloads = read_images(params)
    if not text and not payloads:
        raise MissingParameter("message")
    sender = _mms_sender(engine, account, raw_sender)
    callback = url(params, "whendelivered")
    counted = segment(text)
    quote = Quote(to, Segmentation(counted.encoding, counted.units, 1, counted.characters), mms_price(engine, to.region))
    outgoing = Outgoing(quote, sender, text, callback, kind="mms")
    # The id is drawn only once the charge went through: a refused MMS leaves the seeded ids alone.
    (message,) = engine.send_messages(account, [outgoing], lambda: engine.ids.hex_id("m"))  # charges, or stores nothing
    message.attributes["images"] = [f"{message.id}-i{k}" for k in range(len(payloads))]
    store_images(engine, account.id, message.id, payloads)
    return json_response(mms_json(message))


def _own_mms(engine: Engine, account: Account, message_id: str) -> Message:
    message = engine.store.messages.get(message_id)
    if message is None or message.account_id != account.id or message.provider != "elks" or not is_mms(message):
        raise NotFound("MMS", message_id)
    return message


async def list_mms(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    page = ctx.engine.store.messages.page(ctx.account.id, before=start, after=end, limit=limit, where=is_mms)
    return json_response(list_json(page.items, page.has_more, mms_json))


async def get_mms(request: Request) -> Response:
    ctx = await begin(request)
    return json_response(mms_json(_own_mms(ctx.engine, ctx.account, request.path_params["id"])))


async def delete_mms(request: Request) -> Response:
    """Forget the MMS and its images."""
    ctx = await begin(request)
    message = _own_mms(ctx.engine, ctx.account, request.path_params["id"])
    ctx.engine.store.messages.remove(message.id)
    remove_images(ctx.engine, list(message.attributes.get("images") or []))
    return json_response({"id": message.id, "deleted": timestamp(ctx.engine.clock.now())})


ROUTES = [
    Route("/mms", send_mms, methods=["POST"]),
    Route("/mms", list_mms, methods=["GET"]),
    Route("/mms/{id}", get_mms, methods=["GET"]),
    Route("/mms/{id}", delete_mms, methods=["DELETE"]),
]

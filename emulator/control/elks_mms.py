"""`/_emulator/inbound/mms`: a phone sends an MMS (text and/or images) to a 46elks number.

Images are `data:` URIs of JPEG, PNG or GIF images, checked like those of `POST /a1/MMS`. The MMS
is stored as inbound for the number's account, its images become `/a1/images/<mms id>-i<k>`,
and the number's `mms_url` receives 46elks' incoming-MMS webhook with download URLs built from
the address this request was made to.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidParameter, MissingParameter, NotFound
from ..core.phone import parse_e164
from ..elks.image_data import ImagePayload, read_image
from ..elks.images import image_url, store_images
from ..elks.mms import MAX_IMAGES, MAX_MMS_TEXT
from ..params import read_params
from .render import message_json

__all__ = ["ROUTES"]


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParameter(name, value, "expected a string")
    return value


def _images(params: dict[str, Any]) -> list[ImagePayload]:
    raw = params.get("images")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) > MAX_IMAGES:
        raise InvalidParameter("images", raw, f"expected a list of at most {MAX_IMAGES} data: URIs")
    payloads = []
    for k, value in enumerate(raw):
        field = f"images[{k}]"
        if not isinstance(value, str) or value[:5].lower() != "data:":
            raise InvalidParameter(field, value, "expected a data: URI of a JPEG, PNG or GIF image")
        payloads.append(read_image(field, value))
    return payloads


async def inject_mms(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    params = await read_params(request)
    raw_to = _text(params, "to")
    if raw_to is None:
        raise MissingParameter("to")
    to = parse_e164(raw_to, "to").e164
    raw_from = _text(params, "from")
    if raw_from is None:
        raise MissingParameter("from")
    sender = parse_e164(raw_from, "from").e164 if raw_from.startswith("+") else raw_from
    text = _text(params, "text") or ""
    if len(text) > MAX_MMS_TEXT:
        raise InvalidParameter("text", len(text), f"at most {MAX_MMS_TEXT} characters")
    payloads = _images(params)
    if not text and not payloads:
        raise MissingParameter("text")
    number = engine.store.active_number(to, "elks")
    if number is None:
        raise NotFound("number", to)
    if "mms" not in number.capabilities:
        raise InvalidParameter("to", to, "this 46elks number cannot receive MMS")
    mms_id = engine.ids.hex_id("m")
    image_ids = store_images(engine, number.account_id, mms_id, payloads)
    base = f"{request.url.scheme}://{request.url.netloc}"
    attributes = {"kind": "mms", "images": image_ids, "image_urls": [image_url(base, i) for i in image_ids]}
    message = engine.receive_message(number, sender, text, attributes, make_id=lambda: mms_id)
    return JSONResponse(message_json(message))


ROUTES = [
    Route("/inbound/mms", inject_mms, methods=["POST"]),
]

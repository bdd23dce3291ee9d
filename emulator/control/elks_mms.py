"""`/_emulator/inbound/mms`: a phone sends an MMS (text and/or images) to a number of the
provider that takes inbound MMS (`Provider.inbound_mms`: 46elks).

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
from ..core.errors import InvalidParameter, MissingParameter
from ..core.phone import parse_e164
from ..core.provider import InboundMms
from ..http.params import read_params
from ..providers import PROVIDERS
from .render import message_json

__all__ = ["ROUTES"]


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParameter(name, value, "expected a string")
    return value


_MMS: InboundMms = next(provider.inbound_mms for provider in PROVIDERS if provider.inbound_mms is not None)


def _images(params: dict[str, Any]) -> list[Any]:
    raw = params.get("images")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) > _MMS.max_images:
        raise InvalidParameter("images", raw, f"expected a list of at most {_MMS.max_images} data: URIs")
    payloads = []
    for k, value in enumerate(raw):
        field = f"images[{k}]"
        if not isinstance(value, str) or value[:5].lower() != "data:":
            raise InvalidParameter(field, value, "expected a data: URI of a JPEG, PNG or GIF image")
        payloads.append(_MMS.read_image(field, value))
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
    if len(text) > _MMS.max_text:
        raise InvalidParameter("text", len(text), f"at most {_MMS.max_text} characters")
    payloads = _images(params)
    if not text and not payloads:
        raise MissingParameter("text")
    base = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse(message_json(_MMS.receive(engine, to, sender, text, payloads, base)))


ROUTES = [
    Route("/inbound/mms", inject_mms, methods=["POST"]),
]

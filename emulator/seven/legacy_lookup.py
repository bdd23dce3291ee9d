"""seven.io's legacy lookup: `GET /api/lookup?type=format|hlr|mnp|cnam&number=...` (also POSTed
by older clients), answered as its REST twin `GET /api/lookup/<type>` is (same facts, same
prices, same failures), except one case: an MNP lookup without `Accept: application/json` or
`json=1` answers the short name of the current network in plain text, as the old API did:
`d1` (Telekom), `d2` (Vodafone), `o2` (Telefónica) for German mobile numbers, `int` for a mobile
number of another country, `N/A` for a number without a mobile network (one line per number).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import InvalidParameter, MissingParameter
from .context import begin
from .lookup import TYPES, _numbers, perform
from .render import json_response, text_response
from .validate import text

__all__ = ["legacy_lookup", "network_short_name", "ROUTES"]

# German MCC/MNC -> the old API's short network names (E-Plus has been part of O2 since 2014).
_GERMAN_NETWORKS = {"26201": "d1", "26206": "d1", "26202": "d2", "26209": "d2", "26203": "o2", "26207": "o2", "26205": "eplus", "26277": "eplus"}


def network_short_name(answer: dict[str, Any]) -> str:
    """The plain-text MNP answer for one JSON MNP answer."""
    mnp = answer.get("mnp") or {}
    mccmnc = mnp.get("mccmnc") or ""
    if not answer.get("success") or not mccmnc:
        return "N/A"
    return _GERMAN_NETWORKS.get(mccmnc, "N/A" if mccmnc.startswith("262") else "int")


async def legacy_lookup(request: Request) -> Response:
    ctx = await begin(request)
    kind = (text(ctx.params, "type") or "").strip().lower()
    if not kind:
        raise MissingParameter("type")
    if kind not in TYPES:
        raise InvalidParameter("type", kind, f"expected one of {', '.join(TYPES)}")
    numbers = _numbers(ctx.params)
    status, body = perform(ctx.engine, ctx.account, kind, numbers)
    if kind != "mnp" or ctx.as_json:
        return json_response(body, status)
    answers = body if isinstance(body, list) else [body]
    if status != 200:
        return text_response(str(answers[0].get("code", 202)), status)
    return text_response("\n".join(network_short_name(answer) for answer in answers))


ROUTES = [Route("/lookup", legacy_lookup, methods=["GET", "POST"])]

"""46elks account: `GET /a1/me` and `POST /a1/me` (credit alert level)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import InvalidParameter
from ..core.models import Account
from .context import begin
from .render import json_response, timestamp
from .validate import required_text

__all__ = ["get_me", "update_me", "account_json", "ROUTES"]


def account_json(account: Account) -> dict[str, Any]:
    if account.parent_id is not None:
        data: dict[str, Any] = {
            "id": account.id,
            "name": account.name,
            "created": timestamp(account.created),
            "currency": account.currency,
            "balance": account.balance,
        }
        return data
    data = {
        "id": account.id,
        "displayname": account.name,
        "email": account.email,
        "currency": account.currency,
        "balance": account.balance,
        "trialactivated": timestamp(account.created),  # when the account could first send (the seed's example)
    }
    if account.attributes.get("mobilenumber"):
        data["mobilenumber"] = account.attributes["mobilenumber"]
    if account.attributes.get("creditalert") is not None:
        data["creditalert"] = account.attributes["creditalert"]
    return data


async def get_me(request: Request) -> Response:
    ctx = await begin(request)
    return json_response(account_json(ctx.account))


async def update_me(request: Request) -> Response:
    ctx = await begin(request)
    raw = required_text(ctx.params, "creditalert").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:  # as every other amount: JSON numbers stay exact
        raise InvalidParameter("creditalert", raw, "expected a whole number of 1/10000 units")
    ctx.account.attributes["creditalert"] = int(raw)
    return json_response(account_json(ctx.account))


ROUTES = [
    Route("/me", get_me, methods=["GET"]),
    Route("/me", update_me, methods=["POST"]),
]

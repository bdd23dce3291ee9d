"""seven.io account: `GET /api/balance`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .context import begin
from .render import euro_text, euros, json_response, text_response

__all__ = ["get_balance", "ROUTES"]


async def get_balance(request: Request) -> Response:
    ctx = await begin(request)
    if ctx.as_json:
        return json_response({"amount": euros(ctx.account.balance), "currency": ctx.account.currency})
    return text_response(euro_text(ctx.account.balance))


ROUTES = [Route("/balance", get_balance, methods=["GET"])]

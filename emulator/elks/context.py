"""What every 46elks handler starts with: the engine, the authenticated account, the parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..core.engine import Engine
from ..core.models import Account
from ..http.params import engine_of, read_params
from .auth import authenticate

__all__ = ["RequestContext", "begin"]


@dataclass(slots=True)
class RequestContext:
    engine: Engine
    account: Account
    params: dict[str, Any]


async def begin(request: Request) -> RequestContext:
    engine: Engine = engine_of(request)
    account = authenticate(engine.store, request.headers.get("authorization"))
    request.scope["emulator.account"] = account.id  # for the request journal
    # `GET /a1/<resource>/POST?...` carries a POST's fields in the query string.
    include_query = request.method == "GET" or request.scope.get("elks.get_as_post", False)
    params = await read_params(request, json_allowed=False, include_query=include_query)
    return RequestContext(engine, account, params)

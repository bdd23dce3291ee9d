"""What every seven.io handler starts with: parameters from query and body, the answer format
the client asked for (JSON or text), and the authenticated account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..core.engine import Engine
from ..core.models import Account
from ..params import read_params
from .auth import authenticate
from .render import CODE_STYLE, REST_STYLE

__all__ = ["Call", "begin", "wants_json", "style_of", "truthy"]

# Endpoints that answer bare return codes on failure; all others answer JSON failure objects.
_CODE_STYLE_ROOTS = frozenset({"sms", "status", "balance", "voice"})


def truthy(value: Any) -> bool:
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on")


def wants_json(request: Request) -> bool:
    known = getattr(request.state, "seven_json", None)
    if known is not None:
        return known
    return "application/json" in request.headers.get("accept", "").lower() or truthy(request.query_params.get("json"))


def style_of(request: Request) -> str:
    root = request.url.path.removeprefix(request.scope.get("root_path", "")).strip("/").split("/")[0]
    return CODE_STYLE if root in _CODE_STYLE_ROOTS else REST_STYLE


@dataclass(slots=True)
class Call:
    engine: Engine
    account: Account
    params: dict[str, Any]
    as_json: bool


async def begin(request: Request) -> Call:
    engine: Engine = request.app.state.engine
    params = await read_params(request)
    as_json = "application/json" in request.headers.get("accept", "").lower() or truthy(params.get("json"))
    request.state.seven_json = as_json
    legacy_key = params.get("p")
    account = authenticate(engine.store, request.headers, legacy_key if isinstance(legacy_key, str) else None)
    return Call(engine, account, params, as_json)

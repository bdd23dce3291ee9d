"""What every seven.io handler starts with: parameters from query and body, the answer format
the client asked for (JSON or text), and the authenticated account: its request signature checked
(`request_signing`), checked against the scopes of an OAuth access token, and switched to a
subaccount when the main account's credentials come with `X-Account-Id`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..core.engine import Engine
from ..core.errors import PermissionDenied
from ..core.models import Account
from ..http.mounts import route_path
from ..http.params import engine_of, read_params
from .auth import identify, require_scope
from .request_signing import carries_signature, verify_request
from .render import CODE_STYLE, REST_STYLE

__all__ = ["RequestContext", "begin", "wants_json", "style_of", "mount_path", "truthy"]

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
    known = request.scope.get("seven.json")
    if known is not None:
        return known
    return "application/json" in request.headers.get("accept", "").lower() or truthy(request.query_params.get("json"))


def mount_path(request: Request) -> str:
    """The request's path inside the `/api` mount (`/lookup/hlr`)."""
    return route_path(request.scope)


def style_of(request: Request) -> str:
    root = mount_path(request).strip("/").split("/")[0]
    return CODE_STYLE if root in _CODE_STYLE_ROOTS else REST_STYLE


@dataclass(slots=True)
class RequestContext:
    engine: Engine
    account: Account
    params: dict[str, Any]
    as_json: bool


async def begin(request: Request) -> RequestContext:
    engine: Engine = engine_of(request)
    signed = carries_signature(request)
    if signed:
        await request.body()  # kept for the signature check, before a multipart parser consumes it
    params = await read_params(request)
    as_json = "application/json" in request.headers.get("accept", "").lower() or truthy(params.get("json"))
    request.scope["seven.json"] = as_json
    legacy_key, legacy_user = params.get("p"), params.get("u")
    credential = identify(engine.store, request.headers, legacy_key if isinstance(legacy_key, str) else None,
                          legacy_user if isinstance(legacy_user, str) else None)
    request.scope["emulator.account"] = credential.account.id  # for the request journal
    if signed:
        await verify_request(request, credential.account, engine.clock)
    if credential.scopes is not None:
        require_scope(credential, mount_path(request))
    account = _acting_account(engine, credential.account, request.headers.get("x-account-id"))
    request.scope["seven.begun"] = True  # from here on, refusals take the route's declared style (render.py)
    return RequestContext(engine, account, params, as_json)


def _acting_account(engine: Engine, account: Account, acting_id: str | None) -> Account:
    """`X-Account-Id: <subaccount id>` with the main account's credentials: act as the subaccount."""
    if acting_id is None or acting_id.strip() in ("", account.id):
        return account
    subaccount = engine.store.accounts.get(acting_id.strip())
    if subaccount is None or subaccount.provider != "seven" or subaccount.parent_id != account.id:
        raise PermissionDenied("X-Account-Id: not a subaccount of this account.")
    return subaccount

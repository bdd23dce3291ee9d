"""46elks subaccounts: create (`POST /a1/subaccounts`), list, get one, update or deactivate
(`POST /a1/subaccounts/{id}`). Only a main account manages subaccounts, and only its own.

A subaccount is an `Account` with `parent_id`; it logs in with its id and secret at once. It
spends its own balance, which is what is left of its `usagelimit` (as the fixtures build
subaccounts): `balanceused` = credit granted - balance. Raising or lowering the limit keeps what
was used. Without a limit a subaccount has no credit of its own (46elks would bill the main
account; the emulator does not draw on it). Deactivation (`active=no`) is permanent: the
credentials stop working and the secret is no longer shown.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidParameter, NotFound, PermissionDenied, ValidationError
from ..core.models import Account
from .context import begin
from .render import json_response, list_json, timestamp
from .validate import CLEAR, credit_amount, label, optional_text, paging, required_text, yes_no

__all__ = ["subaccount_json", "ROUTES"]

MAX_NAME_LENGTH = 100
_SECRET = re.compile(r"[A-Za-z0-9]{16,64}")


def _granted(account: Account) -> int:
    """Credit given to the subaccount so far: its usage limit, or what it had used when the limit changed."""
    granted = account.attributes.get("granted")
    return granted if granted is not None else account.attributes.get("usagelimit") or 0


def subaccount_json(account: Account) -> dict[str, Any]:
    data: dict[str, Any] = {"id": account.id, "name": account.name, "created": timestamp(account.created)}
    if account.attributes.get("usagelimit") is not None:
        data["usagelimit"] = account.attributes["usagelimit"]
    used = _granted(account) - account.balance
    if used > 0:
        data["balanceused"] = used
    if account.attributes.get("active") is False:
        data["active"] = "no"
        data["deactivated"] = timestamp(account.attributes["deactivated"])
    else:
        data["secret"] = account.credentials["password"]
    return data


def _main_account(account: Account) -> Account:
    if account.parent_id is not None:
        raise PermissionDenied("Subaccounts cannot manage subaccounts; use the main account's credentials.")
    return account


def _own_subaccount(engine: Engine, parent: Account, subaccount_id: str) -> Account:
    account = engine.store.accounts.get(subaccount_id)
    if account is None or account.parent_id != parent.id:
        raise NotFound("Subaccount", subaccount_id)
    return account


def _set_limit(account: Account, limit: int | str) -> None:
    used = _granted(account) - account.balance
    if limit == CLEAR:
        account.attributes["usagelimit"] = None
        account.attributes["granted"] = used
        account.balance = 0
        return
    assert isinstance(limit, int)
    account.attributes["usagelimit"] = limit
    account.attributes["granted"] = max(limit, used)
    account.balance = max(limit - used, 0)


async def list_subaccounts(request: Request) -> Response:
    ctx = await begin(request)
    parent = _main_account(ctx.account)
    start, end, limit = paging(ctx.params)
    only_active = yes_no(ctx.params, "active")
    newest_first = sorted(
        (a for a in ctx.engine.store.accounts.values() if a.parent_id == parent.id),
        key=lambda a: (a.created, a.id),
        reverse=True,
    )
    chosen = [
        a for a in newest_first
        if (start is None or a.created < start)
        and (end is None or a.created > end)
        and (only_active is None or (a.attributes.get("active") is not False) == only_active)
    ]
    return json_response(list_json(chosen[:limit], len(chosen) > limit, subaccount_json))


async def create_subaccount(request: Request) -> Response:
    ctx = await begin(request)
    engine, params = ctx.engine, ctx.params
    parent = _main_account(ctx.account)
    required_text(params, "name")
    name = label(params, "name", MAX_NAME_LENGTH)
    if name is None or name == CLEAR:
        raise InvalidParameter("name", optional_text(params, "name"), "a subaccount needs a name")
    limit = credit_amount(params, "usagelimit")
    usagelimit = None if limit in (None, CLEAR) else limit
    subaccount = Account(
        id=engine.ids.hex_id("a", 31),
        provider="elks",
        name=name,
        currency=parent.currency,
        balance=usagelimit or 0,
        created=engine.clock.stamp(),
        parent_id=parent.id,
        attributes={"usagelimit": usagelimit},
    )
    subaccount.credentials = {"username": subaccount.id, "password": engine.ids.secret(32)}
    engine.store.add_account(subaccount, subaccount.id)
    engine.events.emit("subaccount.created", "elks", parent.id, id=subaccount.id, name=name)
    return json_response(subaccount_json(subaccount))


async def get_subaccount(request: Request) -> Response:
    ctx = await begin(request)
    parent = _main_account(ctx.account)
    return json_response(subaccount_json(_own_subaccount(ctx.engine, parent, request.path_params["id"])))


async def update_subaccount(request: Request) -> Response:
    ctx = await begin(request)
    engine, params = ctx.engine, ctx.params
    parent = _main_account(ctx.account)
    subaccount = _own_subaccount(engine, parent, request.path_params["id"])
    name = label(params, "name", MAX_NAME_LENGTH)
    if name == CLEAR:
        raise InvalidParameter("name", optional_text(params, "name"), "a subaccount needs a name")
    limit = credit_amount(params, "usagelimit")
    secret = optional_text(params, "secret")
    if secret is not None and secret != "" and not _SECRET.fullmatch(secret):
        raise InvalidParameter("secret", secret, "expected 16 to 64 letters or digits")
    active = yes_no(params, "active")
    if name is None and limit is None and not secret and active is None:
        raise ValidationError("body", "Unable to update subaccount. Give at least one of name, usagelimit, secret, active.")
    if subaccount.attributes.get("active") is False:
        raise PermissionDenied("Unable to update subaccount. It has been deactivated.")
    if active is False:
        held = engine.store.numbers.page(subaccount.id, limit=1, where=lambda n: n.active).items
        if held:
            raise PermissionDenied("Unable to update subaccount. It still has active numbers; deallocate them first.")
    if name is not None:
        subaccount.name = name
    if limit is not None:
        _set_limit(subaccount, limit)
    if secret:
        subaccount.credentials["password"] = secret
    if active is False:
        subaccount.attributes["active"] = False
        subaccount.attributes["deactivated"] = engine.clock.stamp()
        engine.events.emit("subaccount.deactivated", "elks", parent.id, id=subaccount.id)
    return json_response(subaccount_json(subaccount))


ROUTES = [
    Route("/subaccounts", list_subaccounts, methods=["GET"]),
    Route("/subaccounts", create_subaccount, methods=["POST"]),
    Route("/subaccounts/{id}", get_subaccount, methods=["GET"]),
    Route("/subaccounts/{id}", update_subaccount, methods=["POST"]),
]

"""seven.io subaccounts: `GET /api/subaccounts/list` (also `/read` and the legacy
`?action=read`), `POST /api/subaccounts/{create,update,transfer_credits,delete}` (also
`POST /api/subaccounts` with `action=`).

A subaccount is an `Account` with `parent_id`, its own balance and its own API key (answered by
`create` and in the list, an emulator addition), which authenticates at once. The main account
may also act as it by sending `X-Account-Id` (see `context.py`). Credit moves between the two
with no await between debit and credit. Automatic top-up: after anything the subaccount does
(every seven.io event of the account: a message sent, a lookup, a number ordered ...), a balance
below its `threshold` gets `amount` from the main account, if the main account has it.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.billing import charge, format_units, refund
from ..core.engine import Engine
from ..core.errors import InvalidParameter, MissingParameter, NotFound, PermissionDenied
from ..core.models import INBOUND, Account
from .context import RequestContext, begin
from .lookup import LOOKUPS
from .render import RESULT_STYLE, answering, json_response
from .results import euro_units, success
from .validate import text

__all__ = ["create_subaccount", "top_up", "install", "ROUTES"]

FIRST_SUBACCOUNT_ID = 1_000_101
API_KEY_LENGTH = 64
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _main_account(ctx: RequestContext) -> Account:
    if ctx.account.parent_id is not None:
        raise PermissionDenied("A subaccount cannot manage subaccounts.")
    return ctx.account


def _subaccounts(engine: Engine, parent: Account) -> list[Account]:
    found = [a for a in engine.store.accounts.values() if a.provider == "seven" and a.parent_id == parent.id]
    return sorted(found, key=lambda a: a.created)


def _find(engine: Engine, parent: Account, params: dict[str, Any]) -> Account:
    raw = text(params, "id")
    if raw is None or raw.strip() == "":
        raise MissingParameter("id")
    account = engine.store.accounts.get(raw.strip())
    if account is None or account.provider != "seven" or account.parent_id != parent.id:
        raise NotFound("subaccount", raw)
    return account


def _total_usage(engine: Engine, account: Account) -> int:
    store = engine.store
    return (sum(m.cost for m in store.messages.of_owner(account.id) if m.direction != INBOUND)
            + sum(r.price for r in store.collection(LOOKUPS).of_owner(account.id))
            + sum(n.attributes.get("billed", 0) for n in store.numbers.of_owner(account.id)))


def _subaccount_json(engine: Engine, account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": None,
        "company": None,
        "balance": format_units(account.balance),
        "total_usage": format_units(_total_usage(engine, account)),
        "auto_topup": {
            "threshold": format_units(account.attributes.get("auto_topup_threshold", 0)),
            "amount": format_units(account.attributes.get("auto_topup_amount", 0)),
        },
        "contact": {"name": account.name, "email": account.email},
        "api_key": account.credentials.get("api_key"),
    }


# -- operations ----------------------------------------------------------------------------

async def list_subaccounts(ctx: RequestContext) -> Response:
    parent = _main_account(ctx)
    found = _subaccounts(ctx.engine, parent)
    wanted = text(ctx.params, "id")
    if wanted is not None and wanted.strip():
        found = [a for a in found if a.id == wanted.strip()]
    return json_response([_subaccount_json(ctx.engine, a) for a in found])


def _next_id(engine: Engine) -> str:
    while True:
        candidate = str(engine.ids.sequence("seven.subaccount", FIRST_SUBACCOUNT_ID))
        if candidate not in engine.store.accounts:
            return candidate


def create_subaccount(engine: Engine, parent: Account, name: str, email: str) -> Account:
    api_key = engine.ids.token(API_KEY_LENGTH)
    while engine.store.account_for_login("seven", api_key) is not None:
        api_key = engine.ids.token(API_KEY_LENGTH)
    account = Account(
        id=_next_id(engine),
        provider="seven",
        name=name,
        currency=parent.currency,
        balance=0,
        created=engine.clock.stamp(),
        email=email,
        parent_id=parent.id,
        credentials={"api_key": api_key},
        attributes={
            "default_sender": parent.attributes.get("default_sender"),
            "auto_topup_threshold": 0,
            "auto_topup_amount": 0,
        },
    )
    engine.store.add_account(account, api_key)
    engine.events.emit("subaccount.created", "seven", account.id, parent=parent.id)
    return account


async def create(ctx: RequestContext) -> Response:
    parent = _main_account(ctx)
    name = text(ctx.params, "name")
    email = text(ctx.params, "email")
    if name is None or not name.strip():
        raise MissingParameter("name")
    if email is None or not email.strip():
        raise MissingParameter("email")
    if not _EMAIL.fullmatch(email.strip()):
        raise InvalidParameter("email", email, "expected an e-mail address")
    account = create_subaccount(ctx.engine, parent, name.strip(), email.strip())
    return success(subaccount=_subaccount_json(ctx.engine, account))


async def update(ctx: RequestContext) -> Response:
    """Automatic top-up: `amount` from the main account whenever the balance falls below
    `threshold`; an amount of 0 switches it off."""
    parent = _main_account(ctx)
    account = _find(ctx.engine, parent, ctx.params)
    threshold = euro_units(ctx.params, "threshold")
    amount = euro_units(ctx.params, "amount")
    account.attributes["auto_topup_threshold"] = threshold
    account.attributes["auto_topup_amount"] = amount
    return success()


async def transfer_credits(ctx: RequestContext) -> Response:
    parent = _main_account(ctx)
    account = _find(ctx.engine, parent, ctx.params)
    amount = euro_units(ctx.params, "amount", positive=True)
    charge(parent, amount)
    refund(account, amount)
    ctx.engine.events.emit("subaccount.transfer", "seven", account.id, parent=parent.id, amount=amount, balance=account.balance)
    return success()


async def delete(ctx: RequestContext) -> Response:
    """The subaccount's credentials stop working at once; what is left of its balance goes back
    to the main account, and the subaccount goes with all it owns (its numbers are released, its
    tokens, messages, lookups and hooks removed: nobody can read them through the API any more)."""
    parent = _main_account(ctx)
    engine = ctx.engine
    account = _find(engine, parent, ctx.params)
    refund(parent, account.balance)
    account.balance = 0
    engine.events.emit("subaccount.deleted", "seven", account.id, parent=parent.id)  # while it is there: a sandbox's event
    engine.remove_accounts([account.id], "subaccount deleted")
    return success()


# -- automatic top-up ------------------------------------------------------------------------

def top_up(engine: Engine, account: Account) -> None:
    """Billing rule, after each charge: refill a subaccount that fell below its threshold from
    its main account (when the main account can pay)."""
    if account.provider != "seven" or account.parent_id is None:
        return
    amount = account.attributes.get("auto_topup_amount") or 0
    if amount <= 0 or account.balance >= (account.attributes.get("auto_topup_threshold") or 0):
        return
    parent = engine.store.accounts.get(account.parent_id)
    if parent is None or parent.balance < amount:
        return
    charge(parent, amount)
    refund(account, amount)
    engine.events.emit("subaccount.topup", "seven", account.id, parent=parent.id, amount=amount, balance=account.balance)


def install(engine: Engine) -> None:
    engine.billing_rules.append(partial(top_up, engine))


# -- routes ----------------------------------------------------------------------------------

Operation = Callable[[RequestContext], Awaitable[Response]]
ACTIONS: dict[str, Operation] = {
    "create": create,
    "update": update,
    "transfer_credits": transfer_credits,
    "delete": delete,
}


def _route(operation: Operation):
    async def handle(request: Request) -> Response:
        return await operation(await begin(request))

    handle.__name__ = operation.__name__
    return handle


async def legacy(request: Request) -> Response:
    """`GET /api/subaccounts?action=read` and `POST /api/subaccounts` with `action=...`."""
    ctx = await begin(request)
    action = (text(ctx.params, "action") or "read").strip().lower()
    if request.method == "GET" or action == "read":
        if action != "read":
            raise InvalidParameter("action", action, "expected read")
        return await list_subaccounts(ctx)
    operation = ACTIONS.get(action)
    if operation is None:
        raise InvalidParameter("action", action, f"expected one of read, {', '.join(ACTIONS)}")
    return await operation(ctx)


ROUTES = [
    Route("/subaccounts/list", _route(list_subaccounts), methods=["GET"]),
    *answering(RESULT_STYLE, [
        Route(f"/subaccounts/{name}", _route(operation), methods=["POST"]) for name, operation in ACTIONS.items()
    ]),
    # Forms older clients use: the JS SDK's `/read`, the PHP SDK's `?action=`.
    Route("/subaccounts/read", _route(list_subaccounts), methods=["GET"]),
    *answering(RESULT_STYLE, [Route("/subaccounts", legacy, methods=["GET", "POST"])]),
]

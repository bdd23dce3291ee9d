"""46elks billing and transactions: `GET /a1/billing` and `GET /a1/transactions`, the two lists
the official 46elks CLI reads (`elks billing`, `elks transactions`) and the Swagger spec leaves out.

Both answer from what the account was really charged, read off the records that carry the money:

- billing: one row per charge, `{id, created, reference, cost}`. `reference` names what was
  charged as a path (`/sms/<id>`, `/mms/<id>`, `/calls/<id>`, `/numbers/<id>`); the CLI groups
  its summary by the path's first segment. An SMS or MMS is billed when it is accepted, a call
  when it ends (what was debited: a call never takes the balance below zero), a number when it
  is allocated (its first month; renewals are not charged). A main account also sees the
  charges of its subaccounts, each row naming its `subaccount`; a subaccount sees its own.
- transactions: credit put on the account, `{id, details, created, amount}`. The emulator takes
  no payments, so the one transaction of a main account is its opening balance from the
  fixtures; subaccounts have none (their credit is a `usagelimit`, not a payment).

Row ids are derived from what they bill (`b` + 32 hex of the reference's SHA-1), so they are the
same in every run. Both lists page like the other 46elks lists: newest first, `start` (older
than), `end` (newer than), `limit` (at most 100) and `next` while older rows remain. A record
deleted through the API (`DELETE /a1/SMS/{id}` ...) leaves billing with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.models import OUTBOUND, Account
from .context import begin
from .render import json_response, list_json, timestamp
from .validate import paging

__all__ = ["BillingRow", "billing_rows", "opening_balance", "list_billing", "list_transactions", "ROUTES", "OPENING_BALANCE"]

OPENING_BALANCE = "opening_balance"  # account attribute: the balance the fixtures gave a main account


@dataclass(frozen=True, slots=True)
class BillingRow:
    created: int
    reference: str
    cost: int
    account_id: str

    @property
    def id(self) -> str:
        return "b" + hashlib.sha1(self.reference.encode()).hexdigest()[:32]


def _charged_accounts(engine: Engine, account: Account) -> list[Account]:
    """The account itself and, for a main account, its subaccounts."""
    if account.parent_id is not None:
        return [account]
    return [account, *(a for a in engine.store.accounts.values() if a.parent_id == account.id)]


def _account_rows(engine: Engine, owner: str, before: int | None, after: int | None, limit: int) -> Iterable[tuple[list[BillingRow], bool]]:
    """Per source (messages, calls, numbers): the newest `limit` charges of `owner` in the
    window, and whether the source has older ones."""
    store = engine.store
    messages = store.messages.page(owner, kind=OUTBOUND, before=before, after=after, limit=limit,
                                   where=lambda m: m.provider == "elks" and m.cost > 0)
    yield [BillingRow(m.created, f"/{m.kind}/{m.id}", m.cost, owner)
           for m in messages.items], messages.has_more
    calls = store.collection("calls").page(owner, before=before, after=after, limit=limit,
                                           where=lambda c: c.provider == "elks" and _call_charge(c) > 0)
    yield [BillingRow(c.created, f"/calls/{c.id}", _call_charge(c), owner) for c in calls.items], calls.has_more
    numbers = store.numbers.page(owner, before=before, after=after, limit=limit,
                                 where=lambda n: n.provider == "elks" and n.attributes.get("cost", 0) > 0)
    yield [BillingRow(n.created, f"/numbers/{n.id}", n.attributes["cost"], owner) for n in numbers.items], numbers.has_more


def _call_charge(call: Any) -> int:
    """What a call's end debited (`unpaid` is the part a short balance could not cover)."""
    return call.cost - call.attributes.get("unpaid", 0)


def billing_rows(engine: Engine, account: Account, before: int | None, after: int | None, limit: int) -> tuple[list[BillingRow], bool]:
    """The account's newest `limit` charges in the window, newest first, and whether older ones
    remain. Each source is read newest first for at most `limit` rows, so a page costs the same
    however long the history."""
    found: list[BillingRow] = []
    more = False
    for owner in _charged_accounts(engine, account):
        for rows, has_more in _account_rows(engine, owner.id, before, after, limit):
            found.extend(rows)
            more = more or has_more
    found.sort(key=lambda row: row.created, reverse=True)
    return found[:limit], more or len(found) > limit


def opening_balance(account: Account) -> int | None:
    value = account.attributes.get(OPENING_BALANCE)
    return value if isinstance(value, int) and account.parent_id is None else None


async def list_billing(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    rows, has_more = billing_rows(ctx.engine, ctx.account, start, end, limit)

    def render(row: BillingRow) -> dict[str, Any]:
        data: dict[str, Any] = {"id": row.id, "created": timestamp(row.created), "reference": row.reference, "cost": row.cost}
        if row.account_id != ctx.account.id:
            data["subaccount"] = row.account_id
        return data

    return json_response(list_json(rows, has_more, render))


async def list_transactions(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    account = ctx.account
    amount = opening_balance(account)
    rows = []
    if amount is not None and (start is None or account.created < start) and (end is None or account.created > end):
        rows.append({
            "id": "t" + hashlib.sha1(f"{account.id}/opening".encode()).hexdigest()[:32],
            "details": "Opening balance (fixtures)",
            "created": timestamp(account.created),
            "amount": amount,
        })
    return json_response({"data": rows[:limit]})


ROUTES = [
    Route("/billing", list_billing, methods=["GET"]),
    Route("/transactions", list_transactions, methods=["GET"]),
]

"""seven.io statistics: `GET /api/analytics/date|label|subaccount|country` and the legacy
`GET /api/analytics?group_by=...`, computed from what the accounts really did.

Range: `start` and `end` (`YYYY-MM-DD`, UTC days, both included; by default the 30 days before
today by the emulator's clock, and today). `label`: `all` (default) or one label; with a label
only labelled traffic counts (inbound messages carry none). `subaccounts`: `only_main`
(default: the calling account), `all` (it and its sub-accounts) or the id of one sub-account.

Each row counts outbound SMS (`sms`; an RCS fallback sent as SMS counts here too), outbound RCS
messages (`rcs`: messages whose `channel` attribute is `RCS`, and records of the store's
`seven.rcs` collection), inbound SMS (`inbound`), outbound seven.io calls of the call engine
(`voice`, the store's `calls` collection), and the records of the store's `seven.lookups`
collection (`hlr`, `mnp`, by their `type`); `usage_eur` is what all of it cost.
Rows exist only for keys with traffic, in ascending key order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import phonenumbers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.clock import utc
from ..core.engine import Engine
from ..core.errors import InvalidParameter, NotFound
from ..core.models import INBOUND, OUTBOUND, Account
from ..core.phone import region_of
from .context import begin
from .paging import DAY, day, day_end, day_start
from .render import euros, json_response
from .validate import text

__all__ = ["Activity", "activities", "analytics", "GROUPS", "ROUTES"]

DEFAULT_DAYS = 30
# path segment -> the key each row is grouped under
GROUPS = {"date": "date", "label": "label", "subaccount": "account", "country": "country"}
COUNTERS = ("sms", "rcs", "voice", "hlr", "mnp", "inbound")


@dataclass(frozen=True, slots=True)
class Activity:
    """One billable or countable thing an account did: a message, a call, a lookup."""

    kind: str  # one of COUNTERS
    account_id: str
    created: int
    cost: int
    label: str | None
    number: str | None  # the other party, E.164, for the country


def _field(record: Any, *names: str) -> Any:
    for name in names:
        value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
        if value is not None:
            return value
    return None


def _record_label(record: Any) -> str | None:
    attributes = _field(record, "attributes")
    return _field(record, "label") or (attributes.get("label") if isinstance(attributes, dict) else None)


def _outbound_seven_call(call: Any) -> bool:
    return getattr(call, "provider", None) == "seven" and getattr(call, "direction", OUTBOUND) == OUTBOUND


def activities(engine: Engine, account_ids: list[str], after: int, before: int) -> Iterator[Activity]:
    """Everything the accounts did with `after <= created < before`."""
    store = engine.store
    calls = store.collection("calls")
    rcs = store.collection("seven.rcs")
    lookups = store.collection("seven.lookups")
    for account_id in account_ids:
        window = {"before": before, "after": after - 1, "limit": 10**9}
        for message in store.messages.page(account_id, where=lambda m: m.provider == "seven", **window).items:
            if message.direction == OUTBOUND:
                kind = "rcs" if message.attributes.get("channel") == "RCS" else "sms"
                yield Activity(kind, account_id, message.created, message.cost, message.attributes.get("label"), message.recipient)
            elif message.direction == INBOUND:
                yield Activity("inbound", account_id, message.created, message.cost, None, message.sender)
        for call in calls.page(account_id, where=_outbound_seven_call, **window).items:
            yield Activity("voice", account_id, call.created, call.cost, _record_label(call), call.recipient)
        for record in rcs.page(account_id, **window).items:
            yield Activity("rcs", account_id, _field(record, "created"), int(_field(record, "cost") or 0),
                           _record_label(record), _field(record, "recipient", "to", "number"))
        for record in lookups.page(account_id, **window).items:
            kind = str(_field(record, "type", "kind") or "").lower()
            if kind in ("hlr", "mnp"):
                yield Activity(kind, account_id, _field(record, "created"), int(_field(record, "cost") or 0),
                               None, _field(record, "number", "recipient"))


def _country(number: str | None) -> str:
    if not number or not number.startswith("+"):
        return ""
    region = region_of(number)
    if region:
        return region
    try:
        return str(phonenumbers.parse(number, None).country_code)
    except phonenumbers.NumberParseException:
        return ""


_KEYS: dict[str, Callable[[Activity], str]] = {
    "date": lambda a: utc(a.created).strftime("%Y-%m-%d"),
    "label": lambda a: a.label or "",
    "account": lambda a: a.account_id,
    "country": lambda a: _country(a.number),
}


def _accounts(engine: Engine, account: Account, params: dict[str, Any]) -> list[str]:
    choice = (text(params, "subaccounts") or "").strip() or "only_main"
    subaccounts = [
        a.id for a in engine.store.accounts.values() if a.provider == account.provider and a.parent_id == account.id
    ]
    if choice == "only_main":
        return [account.id]
    if choice == "all":
        return [account.id] + sorted(subaccounts)
    if choice in subaccounts:
        return [choice]
    if not choice.isdigit():
        raise InvalidParameter("subaccounts", choice, "expected only_main, all or a sub-account id")
    raise NotFound("subaccount", choice)


def analytics(engine: Engine, account: Account, group: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    key_name = GROUPS[group]
    today = utc(engine.clock.now()).date()
    end = day(params, "end") or today
    start = day(params, "start")
    if start is not None and start > end:
        raise InvalidParameter("start", start.isoformat(), "the start lies after the end")
    # In microseconds: the default start of 0001-01-05 would lie before the first `date`.
    after = day_start(start) if start is not None else day_start(end) - DEFAULT_DAYS * DAY
    label = (text(params, "label") or "").strip()
    label = None if label in ("", "all") else label
    account_ids = _accounts(engine, account, params)
    rows: dict[str, dict[str, Any]] = {}
    costs: dict[str, int] = {}
    for activity in activities(engine, account_ids, after, day_end(end)):
        if label is not None and activity.label != label:
            continue
        key = _KEYS[key_name](activity)
        row = rows.setdefault(key, {key_name: key, **{counter: 0 for counter in COUNTERS}})
        row[activity.kind] += 1
        costs[key] = costs.get(key, 0) + activity.cost
    return [{**rows[key], "usage_eur": euros(costs[key])} for key in sorted(rows)]


def _handler(group: str):
    async def handle(request: Request) -> Response:
        ctx = await begin(request)
        return json_response(analytics(ctx.engine, ctx.account, group, ctx.params))

    handle.__name__ = f"analytics_by_{group}"
    return handle


async def legacy_analytics(request: Request) -> Response:
    """`GET /api/analytics?group_by=date|label|subaccount|country` (default `date`)."""
    ctx = await begin(request)
    group = (text(ctx.params, "group_by") or "").strip().lower() or "date"
    if group not in GROUPS:
        raise InvalidParameter("group_by", group, f"expected one of {', '.join(GROUPS)}")
    return json_response(analytics(ctx.engine, ctx.account, group, ctx.params))


ROUTES = [Route(f"/analytics/{group}", _handler(group), methods=["GET"]) for group in GROUPS] + [
    Route("/analytics", legacy_analytics, methods=["GET"]),
]

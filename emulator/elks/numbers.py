"""46elks numbers: allocate (`POST /a1/numbers`), list, get one, configure or deallocate
(`POST /a1/numbers/{id}`).

Numbers come from the pool of `number_pool` (valid numbers generated from phonenumbers'
metadata). Allocation charges the country's monthly price from the fixtures' `number_prices`;
a country without a price offers no numbers. Deallocation (`active=no`) is irreversible: the number
keeps its record (listed with `active: "no"` and `deallocated`) but receives no more traffic.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.clock import MICROS
from ..core.engine import Engine
from ..core.errors import InvalidNumber, InvalidParameter, NotFound, PermissionDenied, ValidationError
from ..core.models import Account, Number
from ..core.phone import parse_e164, region_of
from .context import begin
from .number_pool import CATEGORIES, category_of, free_number, is_available
from .render import json_response, list_json, timestamp
from .validate import CLEAR, hook_setting, label, optional_text, paging, required_text, yes_no

__all__ = ["number_json", "own_number", "monthly_price", "ROUTES", "CAPABILITIES", "HOOK_SETTINGS"]

CAPABILITIES = ("sms", "mms", "voice")
HOOK_SETTINGS = ("sms_url", "mms_url", "voice_start")
MAX_NAME_LENGTH = 50
RENTAL_PERIOD = 30 * 86400 * MICROS  # numbers are rented by the month; `expires` is the next renewal
UNABLE = "Unable to allocate number."
UPDATABLE = (*HOOK_SETTINGS, "sms_replies", "name", "active")


def _expires(allocated: int, now: int) -> int:
    """The end of the rental period running at `now` (renewals are not charged)."""
    return allocated + (max(now - allocated, 0) // RENTAL_PERIOD + 1) * RENTAL_PERIOD


def number_json(number: Number, now: int) -> dict[str, Any]:
    settings = number.attributes
    data: dict[str, Any] = {
        "id": number.id,
        "active": "yes" if number.active else "no",
        "country": number.country or (region_of(number.number) or "").lower(),
        "number": number.number,
        "capabilities": list(number.capabilities),
        "category": settings.get("category") or category_of(number.number) or "mobile",
    }
    for name in HOOK_SETTINGS:
        if settings.get(name):
            data[name] = settings[name]
    data["sms_replies"] = "no" if settings.get("sms_replies") is False else "yes"
    if settings.get("name"):
        data["name"] = settings["name"]
    data["created"] = timestamp(number.created)
    data["allocated"] = timestamp(number.created)
    if number.active:
        data["expires"] = timestamp(_expires(number.created, now))[:19]
    elif settings.get("deallocated") is not None:
        data["deallocated"] = timestamp(settings["deallocated"])
    return data


def own_number(engine: Engine, account: Account, number_id: str) -> Number:
    number = engine.store.numbers.get(number_id)
    if number is None or number.account_id != account.id or number.provider != "elks":
        raise NotFound("Number", number_id)
    return number


def monthly_price(engine: Engine, region: str) -> int | None:
    """The monthly rent of a number in `region`, or None when the country offers no numbers."""
    prices = engine.fixtures.price_list("elks", "number_prices")
    return prices.get(region, prices.get("default"))


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    """The configurable fields present in the request; CLEAR where the caller clears one."""
    found: dict[str, Any] = {}
    for name in HOOK_SETTINGS:
        value = hook_setting(params, name)
        if value is not None:
            found[name] = value
    replies = yes_no(params, "sms_replies")
    if replies is not None:
        found["sms_replies"] = replies
    name = label(params, "name", MAX_NAME_LENGTH)
    if name is not None:
        found["name"] = name
    return found


def _apply(number: Number, settings: dict[str, Any]) -> None:
    for name, value in settings.items():
        if value == CLEAR:
            number.attributes.pop(name, None)
        else:
            number.attributes[name] = value


def _capabilities(params: dict[str, Any], category: str) -> tuple[str, ...]:
    raw = optional_text(params, "capabilities")
    if raw is None or raw.strip() == "":
        return ("sms", "voice") if category == "mobile" else ("voice",)
    wanted: list[str] = []
    for item in raw.split(","):
        capability = item.strip().lower()
        if capability not in CAPABILITIES:
            raise InvalidParameter("capabilities", raw, "expected a comma-separated list of sms, mms, voice")
        if capability not in wanted:
            wanted.append(capability)
    if category == "fixed" and ("sms" in wanted or "mms" in wanted):
        raise ValidationError("capabilities", f"{UNABLE} A fixed number cannot have sms or mms.")
    return tuple(wanted)


async def allocate_number(request: Request) -> Response:
    ctx = await begin(request)
    engine, account, params = ctx.engine, ctx.account, ctx.params
    country = required_text(params, "country").strip()
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise ValidationError("country", f"{UNABLE} Unknown country {country!r}: expected a two-letter ISO code.")
    region = country.upper()
    category = (optional_text(params, "category") or "").strip().lower() or "mobile"
    if category not in CATEGORIES:
        raise InvalidParameter("category", category, "expected mobile or fixed")
    capabilities = _capabilities(params, category)
    settings = {name: value for name, value in _settings(params).items() if value != CLEAR}
    price = monthly_price(engine, region)
    if price is None:
        raise ValidationError("country", f"{UNABLE} No numbers are offered in {region}.")
    wanted = optional_text(params, "number")
    if wanted not in (None, ""):
        try:
            e164: str | None = parse_e164(wanted, "number").e164
        except InvalidNumber:
            raise ValidationError("number", f"{UNABLE} {wanted!r} is not a phone number.") from None
        if not is_available(engine.store, e164, region, category):
            raise ValidationError("number", f"{UNABLE} {e164} is not a free {category} number of {region}.")
    else:
        e164 = free_number(engine.store, engine.seed, region, category)
        if e164 is None:
            raise ValidationError("country", f"{UNABLE} No free {category} numbers in {region}.")
    assert e164 is not None
    engine.charge(account, price)  # no await between the checks above and the record below
    created = engine.clock.stamp()
    number = Number(
        id=engine.ids.hex_id("n"),
        provider="elks",
        account_id=account.id,
        number=e164,
        country=region.lower(),
        capabilities=capabilities,
        created=created,
        attributes={"category": category, "cost": price, **settings},  # cost: what allocation charged (billing.py)
    )
    engine.store.numbers.add(number.id, account.id, created, number)
    engine.events.emit("number.allocated", "elks", account.id, id=number.id, number=e164, cost=price)
    return json_response(number_json(number, engine.clock.now()))


async def list_numbers(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    page = ctx.engine.store.numbers.page(
        ctx.account.id, before=start, after=end, limit=limit, where=lambda n: n.provider == "elks"
    )
    now = ctx.engine.clock.now()
    return json_response(list_json(page.items, page.has_more, lambda n: number_json(n, now)))


async def get_number(request: Request) -> Response:
    ctx = await begin(request)
    number = own_number(ctx.engine, ctx.account, request.path_params["id"])
    return json_response(number_json(number, ctx.engine.clock.now()))


async def update_number(request: Request) -> Response:
    ctx = await begin(request)
    engine = ctx.engine
    number = own_number(engine, ctx.account, request.path_params["id"])
    settings = _settings(ctx.params)
    active = yes_no(ctx.params, "active")
    if not settings and active is None:
        raise ValidationError("body", f"Unable to change number. Give at least one of {', '.join(UPDATABLE)}.")
    if not number.active:
        raise PermissionDenied("Unable to change number. It has been deallocated.")
    _apply(number, settings)
    if active is False:
        number.active = False
        number.attributes["deallocated"] = engine.clock.stamp()
        engine.events.emit("number.deallocated", "elks", number.account_id, id=number.id, number=number.number)
        return json_response({
            "id": number.id,
            "active": "no",
            "deallocated": timestamp(number.attributes["deallocated"]),
        })
    return json_response(number_json(number, engine.clock.now()))


ROUTES = [
    Route("/numbers", allocate_number, methods=["POST"]),
    Route("/numbers", list_numbers, methods=["GET"]),
    Route("/numbers/{id}", get_number, methods=["GET"]),
    Route("/numbers/{id}", update_number, methods=["POST"]),
]

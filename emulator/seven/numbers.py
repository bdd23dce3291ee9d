"""seven.io phone numbers: offers (`GET /api/numbers/available`), ordering
(`POST /api/numbers/order`) and the account's active numbers (`GET /api/numbers/active`,
`GET/PATCH/DELETE /api/numbers/active/{number}`).

Offers are made up per country from `phonenumbers`' example numbers, their last digits drawn
from an RNG seeded with the emulator's seed and the country, and kept only when `phonenumbers`
finds them valid; so every run with the same seed offers the same numbers, less the ones in use.
Fees come from the fixtures (`seven.number_prices`: basic charge per month, a year costing ten
months; `seven.number_setup_prices`); only countries with a price offer numbers.

An order bills the setup fee and the first period and makes an active `Number` of the account,
so inbound SMS to it reach the account like those to a fixture number. Later periods are not
billed. Deleting at once deactivates the number; otherwise it stays active until the end of its
billing period (`expires`), when the clock deactivates it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import phonenumbers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.clock import MICROS, micros_of, utc
from ..core.engine import Engine
from ..core.errors import InvalidNumber, InvalidParameter, MissingParameter, NotFound, ValidationError
from ..core.models import Account, Number
from ..core.phone import parse_loose, region_of
from .context import begin
from .render import RESULT_STYLE, answering, euros, json_response, moment
from .results import success, text_list
from .validate import boolean, text

__all__ = ["Offer", "offers", "fees_for", "ROUTES"]

PAYMENT_INTERVALS = {"annually": 12, "monthly": 1}
MONTHS_CHARGED_PER_YEAR = 10
OFFERS = ((phonenumbers.PhoneNumberType.MOBILE, 6), (phonenumbers.PhoneNumberType.FIXED_LINE, 4))
MAX_FRIENDLY_NAME = 100
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class Fees:
    setup: int
    monthly: int

    def basic_charge(self, interval: str) -> int:
        return self.monthly * (MONTHS_CHARGED_PER_YEAR if interval == "annually" else 1)


@dataclass(frozen=True, slots=True)
class Offer:
    e164: str
    region: str
    formatted: str
    sms: bool
    a2p_sms: bool
    voice: bool


def _price_list(engine: Engine, name: str) -> dict[str, int]:
    return engine.fixtures.price_list("seven", name)


def fees_for(engine: Engine, region: str) -> Fees | None:
    """The fees of a number of `region`, or None when the country offers no numbers."""
    monthly_prices = _price_list(engine, "number_prices")
    monthly = monthly_prices.get(region, monthly_prices.get("default"))
    if monthly is None:
        return None
    setup_prices = _price_list(engine, "number_setup_prices")
    return Fees(setup_prices.get(region, setup_prices.get("default", 0)), monthly)


def _offering_regions(engine: Engine) -> list[str]:
    return sorted(region for region in _price_list(engine, "number_prices") if region in phonenumbers.SUPPORTED_REGIONS)


def offers(engine: Engine, region: str) -> list[Offer]:
    """Every number the country offers with this seed, in use or not."""
    if fees_for(engine, region) is None:
        return []
    rng = random.Random(f"{engine.seed}-seven-numbers-{region}")
    found: list[Offer] = []
    seen: set[str] = set()
    for number_type, wanted in OFFERS:
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is None:
            continue
        national = str(example.national_number)
        kept = max(2, len(national) - 6)
        made = 0
        for _ in range(60):
            if made == wanted:
                break
            digits = national[:kept] + "".join(rng.choice("0123456789") for _ in range(len(national) - kept))
            a2p_draw = rng.random()
            candidate = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(digits))
            if not phonenumbers.is_valid_number(candidate) or phonenumbers.number_type(candidate) != number_type:
                continue
            e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
            if e164 in seen:
                continue
            seen.add(e164)
            mobile = number_type == phonenumbers.PhoneNumberType.MOBILE
            found.append(Offer(
                e164=e164,
                region=region,
                formatted=phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                sms=mobile,
                a2p_sms=mobile and a2p_draw < 0.67,
                voice=True,
            ))
            made += 1
    return found


def _fees_json(fees: Fees) -> dict[str, Any]:
    return {
        "monthly": {"basic_charge": euros(fees.basic_charge("monthly")), "setup": euros(fees.setup)},
        "annually": {"basic_charge": euros(fees.basic_charge("annually")), "setup": euros(fees.setup)},
        "sms_mo": 0,
        "voice_mo": 0,
    }


def _offer_json(engine: Engine, offer: Offer) -> dict[str, Any]:
    fees = fees_for(engine, offer.region)
    assert fees is not None
    return {
        "country": offer.region,
        "number": offer.e164.lstrip("+"),
        "number_parsed": offer.formatted,
        "fees": _fees_json(fees),
        "features": {"sms": offer.sms, "a2p_sms": offer.a2p_sms, "voice": offer.voice},
    }


def _region_param(params: dict[str, Any]) -> str | None:
    raw = text(params, "country")
    if raw is None or raw.strip() == "":
        return None
    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidParameter("country", raw, "expected an ISO 3166-1 alpha-2 country code")
    return region


async def list_available(request: Request) -> Response:
    ctx = await begin(request)
    engine, params = ctx.engine, ctx.params
    region = _region_param(params)
    wanted = {feature: boolean(params, f"features_{feature}") for feature in ("sms", "a2p_sms", "voice")}
    listed = []
    for country in [region] if region else _offering_regions(engine):
        for offer in offers(engine, country):
            if any(wanted[feature] and not getattr(offer, feature) for feature in wanted):
                continue
            if engine.store.active_number(offer.e164) is None:
                listed.append(_offer_json(engine, offer))
    return json_response({"availableNumbers": listed})


def _next_number_id(engine: Engine, e164: str) -> str:
    base = e164.lstrip("+")
    candidate, suffix = base, 1
    while engine.store.numbers.get(candidate) is not None:
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


async def order(request: Request) -> Response:
    ctx = await begin(request)
    engine, account, params = ctx.engine, ctx.account, ctx.params
    raw = text(params, "number")
    if raw is None or raw.strip() == "":
        raise MissingParameter("number")
    interval = (text(params, "payment_interval") or "annually").strip().lower()
    if interval not in PAYMENT_INTERVALS:
        raise InvalidParameter("payment_interval", interval, "expected annually or monthly")
    wanted = parse_loose(raw, "number")
    offer = next((o for o in offers(engine, wanted.region or "") if o.e164 == wanted.e164), None)
    if offer is None or engine.store.active_number(offer.e164) is not None:
        raise ValidationError("number", "This number is not available.")
    fees = fees_for(engine, offer.region)
    assert fees is not None
    cost = fees.setup + fees.basic_charge(interval)
    engine.charge(account, cost)
    created = engine.clock.stamp()
    number = Number(
        id=_next_number_id(engine, offer.e164),
        provider="seven",
        account_id=account.id,
        number=offer.e164,
        country=offer.region.lower(),
        capabilities=tuple(name for name, on in (("sms", offer.sms), ("voice", offer.voice)) if on),
        created=created,
        attributes={
            "friendly_name": "",
            "payment_interval": interval,
            "setup": fees.setup,
            "basic_charge": fees.basic_charge(interval),
            "a2p_sms": offer.a2p_sms,
            "billed": cost,
        },
    )
    engine.store.numbers.add(number.id, account.id, created, number)
    engine.events.emit("number.ordered", "seven", account.id, id=number.id, number=number.number, price=cost, payment_interval=interval)
    return success()


# -- active numbers -------------------------------------------------------------------------

def _interval(number: Number) -> str:
    return number.attributes.get("payment_interval") or "annually"


def _number_fees(engine: Engine, number: Number) -> tuple[int, int]:
    """(setup, basic charge per period): as ordered, or today's fees for a fixture number."""
    if "basic_charge" in number.attributes:
        return number.attributes.get("setup", 0), number.attributes["basic_charge"]
    fees = fees_for(engine, _region(number)) or Fees(0, 0)
    return fees.setup, fees.basic_charge(_interval(number))


def _region(number: Number) -> str:
    return (number.country or region_of(number.number) or "").upper()


def _active_json(engine: Engine, number: Number) -> dict[str, Any]:
    attributes = number.attributes
    setup, basic_charge = _number_fees(engine, number)
    sms_forward = list(attributes.get("sms_forward") or [])
    email_forward = list(attributes.get("email_forward") or [])
    slack_forward = list(attributes.get("slack_forward") or [])
    friendly_name = attributes["friendly_name"] if "friendly_name" in attributes else attributes.get("name") or ""
    expires = attributes.get("expires")
    return {
        "number": number.number.lstrip("+"),
        "country": _region(number),
        "friendly_name": friendly_name,
        "billing": {
            "fees": {"setup": euros(setup), "basic_charge": euros(basic_charge), "sms_mo": 0, "voice_mo": 0},
            "payment_interval": _interval(number),
        },
        "features": {
            "sms": "sms" in number.capabilities,
            "a2p_sms": bool(attributes.get("a2p_sms", "sms" in number.capabilities)),
            "voice": "voice" in number.capabilities,
        },
        "forward_sms_mo": {
            "sms": {"number": sms_forward, "enabled": bool(sms_forward)},
            "email": {"address": email_forward, "enabled": bool(email_forward)},
            "slack": {"uri": slack_forward[0] if slack_forward else "", "enabled": bool(slack_forward)},
        },
        "expires": moment(expires, fraction=0) if expires is not None else None,
        "created": moment(number.created, fraction=0),
    }


def _active_numbers(engine: Engine, account: Account) -> list[Number]:
    page = engine.store.numbers.page(account.id, limit=100_000, where=lambda n: n.active and n.provider == "seven")
    return list(reversed(page.items))


def _find(engine: Engine, account: Account, raw: str) -> Number:
    try:
        e164 = parse_loose(raw, "number").e164
    except InvalidNumber:
        raise NotFound("number", raw) from None
    for number in _active_numbers(engine, account):
        if number.number == e164:
            return number
    raise NotFound("number", raw)


async def list_active(request: Request) -> Response:
    ctx = await begin(request)
    return json_response({"activeNumbers": [_active_json(ctx.engine, n) for n in _active_numbers(ctx.engine, ctx.account)]})


async def get_active(request: Request) -> Response:
    ctx = await begin(request)
    number = _find(ctx.engine, ctx.account, request.path_params["number"])
    return json_response(_active_json(ctx.engine, number))


def _forward_numbers(values: list[str]) -> list[str]:
    return [parse_loose(value, "sms_forward").digits for value in values]


def _forward_emails(values: list[str]) -> list[str]:
    for value in values:
        if not _EMAIL.fullmatch(value):
            raise InvalidParameter("email_forward", value, "expected e-mail addresses")
    return values


def _forward_urls(values: list[str]) -> list[str]:
    for value in values:
        if not value.startswith(("http://", "https://")):
            raise InvalidParameter("slack_forward", value, "expected https URLs")
    return values


async def update_active(request: Request) -> Response:
    ctx = await begin(request)
    number = _find(ctx.engine, ctx.account, request.path_params["number"])
    params = ctx.params
    changes: dict[str, Any] = {}
    friendly_name = text(params, "friendly_name")
    if friendly_name is not None:
        if len(friendly_name) > MAX_FRIENDLY_NAME:
            raise InvalidParameter("friendly_name", friendly_name, f"at most {MAX_FRIENDLY_NAME} characters")
        changes["friendly_name"] = friendly_name
    for name, check in (("sms_forward", _forward_numbers), ("email_forward", _forward_emails), ("slack_forward", _forward_urls)):
        values = text_list(params, name)
        if values is not None:
            changes[name] = check(values)
    number.attributes.update(changes)
    return json_response(_active_json(ctx.engine, number))


def _add_months(moment_: datetime, months: int) -> datetime:
    month_index = moment_.month - 1 + months
    year, month = moment_.year + month_index // 12, month_index % 12 + 1
    for day in range(moment_.day, 27, -1):
        try:
            return moment_.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment_.replace(year=year, month=month, day=min(moment_.day, 28))


def _period_end(number: Number, now: int) -> int:
    """The end of the billing period that `now` lies in."""
    step = PAYMENT_INTERVALS[_interval(number)]
    start, periods = utc(number.created), 1
    while micros_of(_add_months(start, step * periods)) <= now:
        periods += 1
    return micros_of(_add_months(start, step * periods))


def _expire(engine: Engine, number_id: str, expires: int) -> None:
    number = engine.store.numbers.get(number_id)
    if number is not None and number.active and number.attributes.get("expires") == expires:
        number.active = False
        engine.events.emit("number.released", "seven", number.account_id, id=number.id, number=number.number)


async def delete_active(request: Request) -> Response:
    ctx = await begin(request)
    engine = ctx.engine
    number = _find(engine, ctx.account, request.path_params["number"])
    immediately = boolean(ctx.params, "delete_immediately")
    if immediately:
        number.active = False
        number.attributes["expires"] = engine.clock.now()
        engine.events.emit("number.released", "seven", number.account_id, id=number.id, number=number.number)
    elif number.attributes.get("expires") is None:
        expires = _period_end(number, engine.clock.now())
        number.attributes["expires"] = expires
        engine.clock.schedule((expires - engine.clock.now()) / MICROS, partial(_expire, engine, number.id, expires))
    return json_response({"success": True})


ROUTES = [
    Route("/numbers/available", list_available, methods=["GET"]),
    *answering(RESULT_STYLE, [Route("/numbers/order", order, methods=["POST"])]),
    Route("/numbers/active", list_active, methods=["GET"]),
    Route("/numbers/active/{number}", get_active, methods=["GET"]),
    Route("/numbers/active/{number}", update_active, methods=["PATCH"]),
    Route("/numbers/active/{number}", delete_active, methods=["DELETE"]),
]

"""seven.io number lookups: `GET /api/lookup/{format,hlr,mnp,cnam,rcs}?number=a,b`.

One number answers one object, several (comma-separated) an array. Formats, country, carrier and
number type come from `phonenumbers`; what only the network knows (reachability, porting,
roaming, caller name, RCS capabilities) is drawn from an RNG seeded with the emulator's seed and
the number, so the same number always gets the same answer, HLR and MNP agree on porting, and a
number whose SMS the simulation fails (an outcome rule) reads as undeliverable or absent.

Each lookup is billed from the account (`seven.lookup_prices` in the fixtures), all numbers of a
request at once, and recorded in the `seven.lookups` collection for analytics. A number that is
not a phone number refuses the whole request (4xx) with seven's per-type failure answer, and
nothing is billed or recorded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..http.reasons import refused
from ..core.engine import Engine
from ..core.errors import InvalidNumber, InvalidParameter, MissingParameter
from ..core.models import Account
from ..core.phone import ParsedNumber, parse_loose
from .context import begin
from .networks import Network, NumberFacts, facts, networks_of
from .render import euros, json_response

__all__ = ["Lookup", "LOOKUPS", "TYPES", "lookup_price", "rcs_capabilities", "ROUTES"]

LOOKUPS = "seven.lookups"
TYPES = ("format", "hlr", "mnp", "cnam", "rcs")
DEFAULT_PRICES = {"format": 0, "hlr": 150, "mnp": 50, "cnam": 40, "rcs": 40}
MAX_NUMBERS = 50

RCS_FEATURES = (
    "REVOCATION", "RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_CREATE_CALENDAR_EVENT",
    "ACTION_DIAL", "ACTION_OPEN_URL", "ACTION_SHARE_LOCATION", "ACTION_VIEW_LOCATION",
)
_GSM = {
    "reachable": ("0", "No error"),
    "absent": ("27", "Absent Subscriber"),
    "undeliverable": ("1", "Unknown Subscriber"),
    "bad_number": ("1", "Unknown Subscriber"),
    "unknown": ("0", "No error"),
}


@dataclass(slots=True)
class Lookup:
    """One billed lookup, as analytics counts them."""

    id: str
    account_id: str
    type: str  # format, hlr, mnp, cnam, rcs
    number: str  # E.164
    price: int  # 1/10000 of the account's currency
    created: int

    @property
    def cost(self) -> int:
        """The price under the name other billed records use."""
        return self.price


@dataclass(frozen=True, slots=True)
class Profile:
    """What the network says about a number, drawn once per seed and number."""

    current: Network | None
    ported: bool
    reachable: str
    roaming: Network | None
    rcs: tuple[str, ...]
    name: str


def lookup_price(engine: Engine, kind: str) -> int:
    listed = engine.fixtures.price_list("seven", "lookup_prices")
    return listed.get(kind.upper(), listed.get("default", DEFAULT_PRICES[kind]))


@lru_cache(maxsize=1)
def _faker() -> Any:
    from faker import Faker  # imported at the first lookup: it costs start-up time and memory

    return Faker("en_US")


def _profile(engine: Engine, info: NumberFacts) -> Profile:
    rng = random.Random(f"{engine.seed}-{info.e164}")
    port_draw, reach_draw, roam_draw, rcs_draw = rng.random(), rng.random(), rng.random(), rng.random()
    mobile = info.network is not None
    current, ported = info.network, False
    alternatives = [n for n in networks_of(info.region) if info.network and n.mccmnc != info.network.mccmnc]
    if mobile and alternatives and port_draw < 0.15:
        current, ported = alternatives[rng.randrange(len(alternatives))], True
    if not info.valid:
        reachable = "bad_number"
    elif not mobile:
        reachable = "unknown"
    else:
        fate = engine.outcome_for("seven", info.e164).status
        if fate in ("failed", "rejected"):
            reachable = "undeliverable"
        elif fate in ("expired", "none"):
            reachable = "absent"
        else:
            reachable = "reachable" if reach_draw < 0.9 else "absent"
    roaming = None
    if reachable == "reachable" and roam_draw < 0.05:
        abroad = [n for region in ("AT", "CH", "GB", "SE", "DE") if region != info.region for n in networks_of(region)]
        roaming = abroad[rng.randrange(len(abroad))]
    rcs: tuple[str, ...] = ()
    if mobile and info.valid and rcs_draw < 0.7:
        rcs = tuple(feature for feature in RCS_FEATURES if rng.random() < 0.8) or ("RICHCARD_STANDALONE",)
    faker = _faker()
    faker.seed_instance(f"{engine.seed}-{info.e164}")
    return Profile(current, ported, reachable, roaming, rcs, faker.name())


def rcs_capabilities(engine: Engine, number: ParsedNumber) -> tuple[str, ...]:
    """The RCS features `GET /api/lookup/rcs` reports for `number` (empty: not RCS-capable);
    nothing is billed or recorded."""
    return _profile(engine, facts(number)).rcs


# -- answers --------------------------------------------------------------------------------

def _format_json(info: NumberFacts) -> dict[str, Any]:
    return {
        "success": info.valid,
        "national": info.national,
        "international": info.e164,
        "international_formatted": info.international_formatted,
        "country_name": info.country_name,
        "country_code": info.country_prefix,
        "country_iso": info.region or "",
        "carrier": info.carrier,
        "network_type": info.network_type,
    }


def _carrier_json(network: Network | None, info: NumberFacts) -> dict[str, Any]:
    return {
        "network_code": network.mccmnc if network else "",
        "name": network.name if network else info.carrier,
        "country": network.region if network else (info.region or ""),
        "network_type": info.network_type,
    }


def _hlr_json(info: NumberFacts, profile: Profile) -> dict[str, Any]:
    gsm_code, gsm_message = _GSM[profile.reachable]
    roaming: Any = "not_roaming"
    if profile.roaming is not None:
        roaming = {
            "status": "roaming",
            "roaming_country_code": profile.roaming.region,
            "roaming_network_code": profile.roaming.mccmnc,
            "roaming_network_name": profile.roaming.name,
        }
    mobile = info.network is not None
    return {
        "status": True,
        "status_message": "success",
        "lookup_outcome": info.valid,
        "lookup_outcome_message": "success" if info.valid else "Number is not valid",
        "international_format_number": info.digits,
        "international_formatted": info.international_formatted,
        "national_format_number": info.national,
        "country_code": info.region or "",
        "country_name": info.country_name,
        "country_prefix": info.country_prefix,
        "current_carrier": _carrier_json(profile.current, info),
        "original_carrier": _carrier_json(info.network, info),
        "valid_number": "valid" if info.valid else "not_valid",
        "reachable": profile.reachable,
        "ported": ("ported" if profile.ported else "not_ported") if mobile else "unknown",
        "roaming": roaming,
        "gsm_code": gsm_code,
        "gsm_message": gsm_message,
    }


def _mnp_json(info: NumberFacts, profile: Profile, price: int) -> dict[str, Any]:
    return {
        "success": True,
        "code": 100,
        "price": euros(price),
        "mnp": {
            "country": info.region or "",
            "number": info.e164,
            "national_format": info.national,
            "international_formatted": info.international_formatted,
            "network": profile.current.name if profile.current else info.carrier,
            "mccmnc": profile.current.mccmnc if profile.current else "",
            "isPorted": profile.ported,
            "network_type": info.network_type,
        },
    }


def _answer(kind: str, info: NumberFacts, profile: Profile, price: int) -> dict[str, Any]:
    if kind == "format":
        return _format_json(info)
    if kind == "rcs":
        return {**_format_json(info), "rcs_capabilities": list(profile.rcs)}
    if kind == "hlr":
        return _hlr_json(info, profile)
    if kind == "mnp":
        return _mnp_json(info, profile, price)
    return {"success": "true", "code": "100", "number": info.e164, "name": profile.name}


def _failure(kind: str, raw: str) -> dict[str, Any]:
    """seven's answer for something that is not a phone number."""
    if kind in ("format", "rcs"):
        answer: dict[str, Any] = {
            "success": False, "national": "", "international": "+", "international_formatted": "",
            "country_name": None, "country_code": False, "country_iso": None, "carrier": None, "network_type": None,
        }
        return answer | {"rcs_capabilities": []} if kind == "rcs" else answer
    if kind == "hlr":
        empty_carrier = {"network_code": "", "name": None, "country": "", "network_type": None}
        return {
            "status": True, "status_message": "success", "lookup_outcome": False,
            "lookup_outcome_message": "Number is not valid", "international_format_number": "",
            "international_formatted": "", "national_format_number": "", "country_code": "",
            "country_name": None, "country_prefix": False, "current_carrier": empty_carrier,
            "original_carrier": empty_carrier, "valid_number": "not_valid", "reachable": "bad_number",
            "ported": "unknown", "roaming": "unknown", "gsm_code": None, "gsm_message": None,
        }
    if kind == "mnp":
        return {"success": False, "code": 202, "price": 0}
    return {"code": 202}


# -- handlers -------------------------------------------------------------------------------

def _numbers(params: dict[str, Any]) -> list[str]:
    raw = params.get("number")
    items: list[str] = []
    for value in raw if isinstance(raw, list) else [raw]:
        if value is None or value == "undefined":
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidParameter("number", value, "expected phone numbers separated by commas")
        items.extend(part.strip() for part in str(value).split(","))
    items = [item for item in items if item]
    if not items:
        raise MissingParameter("number")
    if len(items) > MAX_NUMBERS:
        raise InvalidParameter("number", len(items), f"at most {MAX_NUMBERS} numbers per request")
    return items


def _parse(raw: str) -> ParsedNumber | None:
    try:
        return parse_loose(raw, "number")
    except InvalidNumber:
        return None


def perform(engine: Engine, account: Account, kind: str, raws: list[str]) -> tuple[int, Any]:
    """Look up every number (all valid, or nothing is billed); (HTTP status, JSON answer)."""
    parsed = [_parse(raw) for raw in raws]
    if any(number is None for number in parsed):
        failures = [_failure(kind, raw) for raw, number in zip(raws, parsed) if number is None]
        return 400, failures[0] if len(raws) == 1 else failures
    price = lookup_price(engine, kind)
    infos = [facts(number) for number in parsed if number is not None]
    profiles = [_profile(engine, info) for info in infos]
    answers = [_answer(kind, info, profile, price) for info, profile in zip(infos, profiles)]  # before the charge
    engine.charge(account, price * len(infos))
    lookups = engine.store.collection(LOOKUPS)
    for info in infos:
        created = engine.clock.stamp()
        record = Lookup(str(engine.ids.sequence("seven.lookup", 1)), account.id, kind, info.e164, price, created)
        lookups.add(record.id, account.id, created, record)
        engine.events.emit("lookup.created", "seven", account.id, id=record.id, type=kind, number=info.e164, price=price)
    return 200, answers[0] if len(raws) == 1 else answers


def _handler(kind: str):
    async def handle(request: Request) -> Response:
        ctx = await begin(request)
        numbers = _numbers(ctx.params)
        status, body = perform(ctx.engine, ctx.account, kind, numbers)
        if status >= 400:
            bad = ", ".join(repr(raw[:40]) for raw in numbers if _parse(raw) is None)
            return refused(json_response(body, status), f"number: {bad} is not a phone number; nothing was looked up or billed")
        return json_response(body, status)

    handle.__name__ = f"lookup_{kind}"
    return handle


ROUTES = [Route(f"/lookup/{kind}", _handler(kind), methods=["GET"]) for kind in TYPES]

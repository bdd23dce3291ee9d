"""seven.io price list: `GET /api/pricing` (`country`, `format=json|csv`).

Prices are the fixtures' seven.io SMS price table (`engine.prices["seven"]`): a country listed
there costs its own price, every other country the table's default. Countries are every region
`phonenumbers` knows. Networks: where the lookups' network table (`networks.networks_of`) knows a
country's main mobile networks, those, with their MCC and MNC; elsewhere the carriers of
`phonenumbers`' carrier data, whose MCC and MNCs are not known (`""` and `[]`), or one generic
network when there is no carrier data. Every network of a country has the country's price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.billing import PriceTable
from ..core.errors import InvalidParameter
from .context import begin
from .networks import load_geocoder, networks_of
from .render import euros, json_response
from .validate import text

__all__ = ["PricedNetwork", "networks", "price_list", "get_pricing", "ROUTES"]

FEATURES = ["alpha", "numeric", "dlr"]
GENERIC_NETWORK = "All networks"

# Regions `phonenumbers` knows but has no English name for.
_NAMES = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}


@dataclass(frozen=True, slots=True)
class PricedNetwork:
    name: str
    mcc: str
    mncs: tuple[str, ...]


def _region_of_prefix(prefix: str) -> str | None:
    """The region a carrier-data prefix (country code + leading digits) belongs to."""
    for length in (1, 2, 3):
        regions = phonenumbers.region_codes_for_country_code(int(prefix[:length]))
        if regions and regions != ("ZZ",):
            rest = prefix[length:]
            for region in regions[1:]:  # regions sharing a code are told apart by leading digits
                metadata = PhoneMetadata.metadata_for_region(region)
                if metadata is not None and metadata.leading_digits and re.match(metadata.leading_digits, rest):
                    return region
            return regions[0]
    return None


@lru_cache(maxsize=1)
def _carriers() -> dict[str, tuple[str, ...]]:
    """Carrier names per region, from the carrier data of `phonenumbers`."""
    from phonenumbers.carrierdata import CARRIER_DATA  # large: imported when first needed

    names: dict[str, set[str]] = {}
    for prefix, by_language in CARRIER_DATA.items():
        name = by_language.get("en")
        region = _region_of_prefix(prefix) if name else None
        if region is not None and region != "001":
            names.setdefault(region, set()).add(name)
    return {region: tuple(sorted(found, key=str.casefold)) for region, found in names.items()}


def country_name(region: str) -> str:
    return load_geocoder()._region_display_name(region, "en") or _NAMES.get(region, region)


def networks(region: str) -> list[PricedNetwork]:
    known = networks_of(region)
    if known:
        return [PricedNetwork(n.name, n.mccmnc[:3], (n.mccmnc[3:],)) for n in known]
    names = _carriers().get(region, ()) or (GENERIC_NETWORK,)
    return [PricedNetwork(name, "", ()) for name in names]


@lru_cache(maxsize=1)
def _regions() -> list[str]:
    return sorted((r for r in phonenumbers.SUPPORTED_REGIONS if r != "001"), key=lambda r: country_name(r).casefold())


def price_list(prices: PriceTable, country: str | None) -> list[dict[str, Any]]:
    regions = _regions() if country is None else [country] if country in phonenumbers.SUPPORTED_REGIONS else []
    countries = []
    for region in regions:
        price = euros(prices.sms_price(region))
        countries.append({
            "countryCode": region,
            "countryName": country_name(region),
            "countryPrefix": str(phonenumbers.country_code_for_region(region)),
            "networks": [
                {
                    "mcc": network.mcc,
                    "mncs": list(network.mncs),
                    "networkName": network.name,
                    "price": price,
                    "features": list(FEATURES),
                    "comment": "",
                }
                for network in networks(region)
            ],
        })
    return countries


def _csv_field(value: Any) -> str:
    written = ",".join(value) if isinstance(value, list) else str(value)
    return '"' + written.replace('"', '""') + '"'


_CSV_COLUMNS = ("countryCode", "countryName", "countryPrefix", "mcc", "mncs", "networkName", "price", "features", "comment")


def _csv(countries: list[dict[str, Any]]) -> str:
    lines = [";".join(f'"{column}"' for column in _CSV_COLUMNS)]
    for entry in countries:
        for network in entry["networks"]:
            row = {**entry, **network}
            lines.append(";".join(_csv_field(row[column]) for column in _CSV_COLUMNS))
    return "\n".join(lines) + "\n"


async def get_pricing(request: Request) -> Response:
    ctx = await begin(request)
    raw_country = (text(ctx.params, "country") or "").strip()
    country = raw_country.upper() or None
    output = (text(ctx.params, "format") or "").strip().lower() or "json"
    if output not in ("json", "csv"):
        raise InvalidParameter("format", output, "expected json or csv")
    countries = price_list(ctx.engine.prices["seven"], country)
    if output == "csv":
        return Response(_csv(countries), media_type="text/csv; charset=utf-8")
    return json_response({
        "countCountries": len(countries),
        "countNetworks": sum(len(entry["networks"]) for entry in countries),
        "countries": countries,
    })


ROUTES = [Route("/pricing", get_pricing, methods=["GET"])]

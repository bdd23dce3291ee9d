"""What seven.io's lookups and number offers say about a phone number: its national and
international formats, country, carrier and number type (all from `phonenumbers`), and the
MCC/MNC of its network.

`phonenumbers` knows the original carrier of a mobile range but not MCC/MNC codes, so a small
table holds the mobile country codes and the networks of the countries seven's users send to
most; elsewhere the MNC is derived from the carrier's name, stable but made up.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import phonenumbers

from ..core.phone import ParsedNumber

__all__ = ["Network", "NumberFacts", "facts", "networks_of", "NETWORK_TYPES"]

# seven's `network_type` values are libphonenumber's number types in lower case.
NETWORK_TYPES = {
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed_line",
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium_rate",
    phonenumbers.PhoneNumberType.SHARED_COST: "shared_cost",
    phonenumbers.PhoneNumberType.VOIP: "voip",
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    phonenumbers.PhoneNumberType.PAGER: "pager",
    phonenumbers.PhoneNumberType.UAN: "uan",
    phonenumbers.PhoneNumberType.VOICEMAIL: "voicemail",
    phonenumbers.PhoneNumberType.UNKNOWN: "unknown",
}

# ITU E.212 mobile country codes.
_MCC = {
    "AT": "232", "AU": "505", "BE": "206", "BG": "284", "BR": "724", "CA": "302", "CH": "228",
    "CN": "460", "CY": "280", "CZ": "230", "DE": "262", "DK": "238", "EE": "248", "ES": "214",
    "FI": "244", "FR": "208", "GB": "234", "GG": "234", "GR": "202", "HR": "219", "HU": "216",
    "IE": "272", "IM": "234", "IN": "404", "IS": "274", "IT": "222", "JE": "234", "JP": "440",
    "LI": "295", "LT": "246", "LU": "270", "LV": "247", "MT": "278", "MX": "334", "NL": "204",
    "NO": "242", "NZ": "530", "PL": "260", "PT": "268", "RO": "226", "RU": "250", "SE": "240",
    "SI": "293", "SK": "231", "TR": "286", "UA": "255", "US": "310", "ZA": "655",
}

# Main mobile networks: (words in libphonenumber's carrier name, MNC, name seven shows).
_NETWORKS = {
    "DE": (
        (("t-mobile", "telekom"), "01", "Telekom Deutschland GmbH"),
        (("vodafone",), "02", "Vodafone GmbH"),
        (("o2", "eplus", "e-plus", "telef"), "03", "Telefónica Germany GmbH & Co. oHG (O2)"),
    ),
    "AT": (
        (("a1",), "01", "A1 Telekom Austria"),
        (("t-mobile", "magenta"), "03", "Magenta Telekom"),
        (("drei", "3", "hutchison", "h3g"), "05", "Hutchison Drei Austria"),
    ),
    "CH": (
        (("swisscom",), "01", "Swisscom"),
        (("sunrise",), "02", "Sunrise"),
        (("salt",), "03", "Salt Mobile"),
    ),
    "GB": (
        (("o2",), "10", "O2 (UK)"),
        (("vodafone",), "15", "Vodafone UK"),
        (("three", "hutchison"), "20", "Three UK"),
        (("ee", "t-mobile", "orange"), "30", "EE"),
    ),
    "SE": (
        (("telia",), "01", "Telia"),
        (("tele2",), "07", "Tele2"),
        (("telenor",), "08", "Telenor"),
        (("hi3g", "3"), "02", "Hi3G Access"),
    ),
}


def load_geocoder():
    """phonenumbers' geocoder, imported on first use: loading its data costs a quarter of a
    second and about 100 MB, which an emulator that never looks up a number should not pay."""
    from phonenumbers import geocoder

    return geocoder


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    mccmnc: str
    region: str


@dataclass(frozen=True, slots=True)
class NumberFacts:
    e164: str
    region: str | None  # ISO 3166 alpha-2, upper case
    country_prefix: str  # "49"
    country_name: str
    national: str  # "01579 9912345"
    international_formatted: str  # "+49 1579 9912345"
    carrier: str  # libphonenumber's name of the original carrier, "" when unknown
    network_type: str
    valid: bool
    network: Network | None  # the original mobile network, when there is one

    @property
    def digits(self) -> str:
        return self.e164.lstrip("+")


def _mnc_from_name(name: str, region: str) -> str:
    width = 3 if region in ("US", "CA", "MX", "IN") else 2
    return str(10 + zlib.crc32(name.encode()) % 80).zfill(width)


def networks_of(region: str | None) -> tuple[Network, ...]:
    """The main mobile networks of a country, which numbers can be ported between."""
    mcc = _MCC.get(region or "")
    if mcc is None:
        return ()
    return tuple(Network(name, mcc + mnc, region or "") for _, mnc, name in _NETWORKS.get(region or "", ()))


def _network(carrier: str, region: str | None, network_type: str) -> Network | None:
    if not carrier or network_type not in ("mobile", "fixed_line_or_mobile", "pager"):
        return None
    mcc = _MCC.get(region or "")
    lowered = carrier.lower()
    words = set(lowered.replace("/", " ").replace("-", " ").split()) | {lowered.split("/")[0]}
    for keys, mnc, name in _NETWORKS.get(region or "", ()):
        if any(key in words or lowered.startswith(key) for key in keys):
            return Network(name, (mcc or "") + mnc, region or "")
    if mcc is None:
        return Network(carrier, "", region or "")
    return Network(carrier, mcc + _mnc_from_name(carrier, region or ""), region or "")


def facts(number: ParsedNumber) -> NumberFacts:
    parsed = phonenumbers.parse(number.e164, None)
    region = number.region
    network_type = NETWORK_TYPES.get(phonenumbers.number_type(parsed), "unknown")
    from phonenumbers import carrier as carriers  # large: imported when first needed

    carrier = carriers.name_for_number(parsed, "en")
    return NumberFacts(
        e164=number.e164,
        region=region,
        country_prefix=str(parsed.country_code),
        country_name=load_geocoder().country_name_for_number(parsed, "en") or (region or ""),
        national=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        international_formatted=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        carrier=carrier,
        network_type=network_type,
        valid=phonenumbers.is_valid_number(parsed),
        network=_network(carrier, region, network_type),
    )

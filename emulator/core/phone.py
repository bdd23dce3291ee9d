"""Phone number parsing and validation on top of `phonenumbers`.

Numbers are kept in E.164 (`+46700000000`) everywhere inside the emulator. A number is accepted
when `phonenumbers` finds it possible for its region (right length for the country); the region
(ISO 3166 alpha-2) decides the price.

Both parsers are cached: the same recipients come back again and again, and a parse is the
largest part of a send's cost. Failures raise and are not cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from .errors import InvalidNumber

__all__ = ["ParsedNumber", "parse_e164", "parse_loose", "region_of"]


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    e164: str
    region: str | None  # ISO 3166 alpha-2, upper case; None when the country code is not geographic

    @property
    def digits(self) -> str:
        """The number without its leading '+', as seven.io renders recipients."""
        return self.e164[1:]


def _finish(parsed: phonenumbers.PhoneNumber, raw: str, field: str) -> ParsedNumber:
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(field, raw)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not _stable(e164):
        raise InvalidNumber(field, raw)
    return ParsedNumber(e164=e164, region=_region(parsed))


def _stable(e164: str) -> bool:
    """Whether `e164` is a number the strict parser reads back as itself: `+` and 6 to 15 digits,
    which `phonenumbers` formats unchanged. Numbers whose national part is only zeros or a
    trunk prefix (`+49000000`) would lose a zero at every reading, and very short national
    numbers (`01` read in Germany) would be stored where no strict parse finds them again."""
    if not 7 <= len(e164) <= 16:
        return False
    try:
        again = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(again, phonenumbers.PhoneNumberFormat.E164) == e164


def _region(parsed: phonenumbers.PhoneNumber) -> str | None:
    # A number outside every allocated range still belongs to its country code's main region.
    region = phonenumbers.region_code_for_number(parsed) or phonenumbers.region_code_for_country_code(parsed.country_code)
    return None if region in (None, "ZZ", "001") else region


@lru_cache(maxsize=65_536)
def parse_e164(raw: str, field: str = "to") -> ParsedNumber:
    """Strict form: `+` and digits only (46elks), or an ISO country code then a national number
    (`SE0723175800`), which 46elks also accepts."""
    value = raw.strip()
    if len(value) > 2 and value[:2].isalpha() and value[2:].isdigit():
        try:
            parsed = phonenumbers.parse(value[2:], value[:2].upper())
        except phonenumbers.NumberParseException:
            raise InvalidNumber(field, raw) from None
        return _finish(parsed, raw, field)
    if not (value.startswith("+") and value[1:].isdigit() and 7 <= len(value) <= 16):
        raise InvalidNumber(field, raw)
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise InvalidNumber(field, raw) from None
    return _finish(parsed, raw, field)


@lru_cache(maxsize=65_536)
def parse_loose(raw: str, field: str = "to", default_region: str = "DE") -> ParsedNumber:
    """Any common written form: `+49171...`, `0049171...`, `49171...`, national `0171...`
    (read in `default_region`), with spaces, dashes, dots or brackets between digits."""
    value = raw.strip()
    compact = "".join(ch for ch in value if ch not in " -./()")
    if not compact or not (compact.lstrip("+").isdigit()) or compact.count("+") > 1 or "+" in compact[1:]:
        raise InvalidNumber(field, raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif not compact.startswith("+") and not compact.startswith("0"):
        compact = "+" + compact
    try:
        parsed = phonenumbers.parse(compact, None if compact.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        raise InvalidNumber(field, raw) from None
    return _finish(parsed, raw, field)


def region_of(e164: str) -> str | None:
    try:
        return _region(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None

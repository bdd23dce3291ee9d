"""The pool of numbers 46elks can rent out, generated from `phonenumbers` metadata.

For a country and a category (`mobile` or `fixed`) the pool is the stream of numbers made by
replacing the last digits of phonenumbers' example number of that type with digits from an RNG
seeded by the emulator's seed, the country and the category, keeping only those that
phonenumbers says are valid and of the right type. The stream is the same after every reset, so
the same requests allocate the same numbers; a number already in the store (any provider, active
or not) or used as an account's own mobile number is skipped.
"""

from __future__ import annotations

import random
from typing import Iterator

import phonenumbers
from phonenumbers import PhoneNumberType

from ..core.store import Store

__all__ = ["CATEGORIES", "category_of", "free_number", "is_available", "taken_numbers"]

_TYPES = {
    "mobile": PhoneNumberType.MOBILE,
    "fixed": PhoneNumberType.FIXED_LINE,
}
# A type phonenumbers gives to both categories, as in the United States.
_EITHER = PhoneNumberType.FIXED_LINE_OR_MOBILE
CATEGORIES = tuple(_TYPES)

_VARIED_DIGITS = 6
_MAX_TRIES = 5000


def category_of(e164: str) -> str | None:
    """`mobile` or `fixed` for a number of either kind, else None."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    if kind in (PhoneNumberType.MOBILE, _EITHER):
        return "mobile"
    if kind == PhoneNumberType.FIXED_LINE:
        return "fixed"
    return None


def _fits(parsed: phonenumbers.PhoneNumber, region: str, category: str) -> bool:
    return (
        phonenumbers.is_valid_number_for_region(parsed, region)
        and phonenumbers.number_type(parsed) in (_TYPES[category], _EITHER)
    )


def taken_numbers(store: Store) -> set[str]:
    taken = {number.number for number in store.numbers}
    taken.update(a.attributes.get("mobilenumber") for a in store.accounts.values() if a.attributes.get("mobilenumber"))
    return taken


def _candidates(seed: int, region: str, category: str) -> Iterator[str]:
    example = phonenumbers.example_number_for_type(region, _TYPES[category])
    if example is None:
        return
    national = phonenumbers.national_significant_number(example)
    varied = min(_VARIED_DIGITS, len(national) - 2)
    if varied < 1:
        return
    stem = national[:-varied]
    rng = random.Random(f"{seed}:{region}:{category}")
    for _ in range(_MAX_TRIES):
        digits = "".join(rng.choice("0123456789") for _ in range(varied))
        parsed = phonenumbers.parse(f"+{example.country_code}{stem}{digits}", None)
        if _fits(parsed, region, category):
            yield phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def free_number(store: Store, seed: int, region: str, category: str) -> str | None:
    """The first number of the pool that nobody holds, or None when the country has none."""
    if region not in phonenumbers.SUPPORTED_REGIONS or category not in _TYPES:
        return None
    taken = taken_numbers(store)
    return next((e164 for e164 in _candidates(seed, region, category) if e164 not in taken), None)


def is_available(store: Store, e164: str, region: str, category: str) -> bool:
    """Whether a number asked for by name is a valid `category` number of `region` that nobody holds."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    if category not in _TYPES or not _fits(parsed, region, category):
        return False
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) not in taken_numbers(store)

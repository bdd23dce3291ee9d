"""seven.io input rules: values that may arrive as JSON types or form strings, recipient lists,
sender ids, labels, booleans."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable

from ..core.clock import LATEST_TIME, micros_of, utc
from ..core.errors import InvalidNumber, InvalidParameter, InvalidSender, MissingParameter
from ..core.phone import ParsedNumber, parse_loose

__all__ = ["text", "required", "boolean", "recipients", "sender", "tag", "send_time", "id_list"]

_TAG = re.compile(r"[A-Za-z0-9.\-_@]+")
_ALPHA_SENDER = re.compile(r"[A-Za-z0-9 /.\-@_!()+$,&]{1,11}")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def text(params: dict[str, Any], name: str) -> str | None:
    """A scalar parameter as text; absent, null and "undefined" (sent by some clients) are None."""
    value = params.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None or value == "undefined":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise InvalidParameter(name, value, "expected a string")
    return value


def required(params: dict[str, Any], name: str) -> str:
    value = text(params, name)
    if value is None or value.strip() == "":
        raise MissingParameter(name)
    return value


def boolean(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidParameter(name, value, "expected a boolean (1/0, true/false)")


def recipients(
    params: dict[str, Any], field: str = "to", names: Callable[[str], list[ParsedNumber] | None] | None = None,
    rejected: list[tuple[int, str, InvalidNumber]] | None = None,
) -> list[ParsedNumber]:
    """`to` as a comma-separated string or a JSON array of numbers. With `names`, an item that is
    not a phone number is looked up there (contact and group names, see `addressbook`) and adds
    the numbers it stands for that are not in the list yet; an item that is neither is an invalid
    number. With `rejected`, such an item is noted there instead (the place among the numbers it
    would have taken, the item, the refusal), unless no item is valid."""
    raw = params.get(field)
    if type(raw) is str and "," not in raw:  # one number, the common case
        items = [item] if (item := raw.strip()) else []
    else:
        items = []
        for value in raw if isinstance(raw, list) else [raw]:
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise InvalidParameter(field, value, "expected phone numbers separated by commas")
            items.extend(stripped for part in str(value).split(",") if (stripped := part.strip()))
    if not items:
        raise MissingParameter(field)
    numbers: list[ParsedNumber] = []
    for item in items:
        try:
            numbers.append(parse_loose(item, field))
        except InvalidNumber as exc:
            named = names(item) if names is not None else None
            if not named:
                if rejected is None:
                    raise
                rejected.append((len(numbers), item, exc))
                continue
            numbers.extend(number for number in named if number not in numbers)  # one message per person
    if not numbers and rejected:
        raise rejected[0][2]
    return numbers


def sender(raw: str) -> str:
    """At most 16 digits (optionally with a leading +), or at most 11 alphanumeric characters."""
    value = raw.strip()
    digits = value[1:] if value.startswith("+") else value
    if digits.isascii() and digits.isdigit():
        if len(digits) > 16:
            raise InvalidSender(raw, "a numeric sender has at most 16 digits")
        return value
    if not _ALPHA_SENDER.fullmatch(value):
        raise InvalidSender(raw, "an alphanumeric sender has at most 11 characters, each a letter, a digit, a space or one of / . - @ _ ! ( ) + $ , &")
    return value


def tag(params: dict[str, Any], name: str, limit: int) -> str | None:
    """`label` and `foreign_id`: letters, digits and . - _ @, at most `limit` characters."""
    value = text(params, name)
    if value is None or value == "":
        return None
    if len(value) > limit or not _TAG.fullmatch(value):
        raise InvalidParameter(name, value, f"at most {limit} of A-Z a-z 0-9 . - _ @")
    return value


_DELAY_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %I:%M %p")


def send_time(params: dict[str, Any], name: str = "delay") -> int | None:
    """`delay`: a Unix timestamp (seconds, or milliseconds as some clients send) or a date and
    time `YYYY-MM-DD hh:mm[:ss]`, read as UTC. Returns microseconds since the epoch, or None.
    A time past the end of the clock's range (`LATEST_TIME`) is refused: the message could
    never be sent, and its time never written."""
    raw = text(params, name)
    if raw is None or raw.strip() in ("", "0"):
        return None
    value = raw.strip()
    if value.isascii() and value.isdigit():
        if len(value) > 19:
            raise InvalidParameter(name, f"{value[:20]}...", f"the time must lie before {LATEST_TEXT}")
        seconds = int(value)
        micros = seconds * 1000 if seconds > 100_000_000_000 else seconds * 1_000_000  # milliseconds, or seconds
        return _within_range(name, raw, micros)
    for fmt in _DELAY_FORMATS:
        try:
            moment = datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return _within_range(name, raw, micros_of(moment))
    raise InvalidParameter(name, raw, "expected a Unix timestamp or YYYY-MM-DD hh:mm:ss")


def _within_range(name: str, raw: str, micros: int) -> int:
    if micros > LATEST_TIME:
        raise InvalidParameter(name, raw, f"the time must lie before {LATEST_TEXT}")
    return micros


LATEST_TEXT = utc(LATEST_TIME).strftime("%Y-%m-%d %H:%M:%S")


def id_list(params: dict[str, Any], name: str) -> list[str]:
    """Ids as a JSON array, repeated `ids[]`/`ids[0]` form keys, or one comma-separated string."""
    values: list[Any] = []
    for key, value in params.items():
        if key == name or key == f"{name}[]" or (key.startswith(f"{name}[") and key.endswith("]")):
            values.extend(value if isinstance(value, list) else [value])
    ids = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidParameter(name, value, "expected message ids")
        ids.extend(part.strip() for part in str(value).split(",") if part.strip())
    for item in ids:
        if not (item.isascii() and item.isdigit()):
            raise InvalidParameter(name, item, "message ids are numbers")
    if not ids:
        raise MissingParameter(name)
    return ids

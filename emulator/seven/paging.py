"""Paging and dates of seven.io's REST lists: `limit`/`offset` as whole numbers within bounds,
`{data, pagingMetadata}` envelopes, and `YYYY-MM-DD` day bounds read as UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any, Sequence

from ..core.clock import MICROS, micros_of
from ..core.errors import InvalidParameter
from .validate import text

__all__ = ["whole_number", "window", "paged", "day", "day_start", "day_end", "DAY"]


def whole_number(params: dict[str, Any], name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """An optional integer parameter (JSON number or decimal text) within [minimum, maximum]."""
    raw = params.get(name)
    if isinstance(raw, bool):
        raise InvalidParameter(name, raw, "expected a whole number")
    if isinstance(raw, int):
        value = raw
    else:
        written = text(params, name)
        if written is None:
            return default
        written = written.strip()
        if not written.isascii() or not (written.isdigit() or (written[:1] == "-" and written[1:].isdigit())):
            raise InvalidParameter(name, raw, "expected a whole number")
        if len(written) > 19:  # beyond any bound; and int() refuses thousands of digits by itself
            raise InvalidParameter(name, f"{written[:20]}...", "expected a whole number of at most 19 digits")
        value = int(written)
    if abs(value) >= 10**19:  # JSON numbers too: answers write 64-bit integers at most
        raise InvalidParameter(name, raw if abs(value) < 10**40 else "<huge>", "expected a whole number of at most 19 digits")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidParameter(name, raw, f"expected a whole number {bound}")
    return value


def window(params: dict[str, Any], default_limit: int, max_limit: int) -> tuple[int, int]:
    """(limit, offset) of a list request."""
    limit = whole_number(params, "limit", default_limit, 1, max_limit)
    offset = whole_number(params, "offset", 0, 0)
    return limit, offset


def paged(items: Sequence[Any], limit: int, offset: int) -> tuple[list[Any], dict[str, Any]]:
    """One page of `items` and seven's `pagingMetadata` for it."""
    page = list(items[offset: offset + limit])
    return page, {
        "offset": offset,
        "count": len(page),
        "total": len(items),
        "limit": limit,
        "has_more": offset + len(page) < len(items),
    }


def day(params: dict[str, Any], name: str) -> date | None:
    """A `YYYY-MM-DD` parameter; absent, empty and "undefined" are None."""
    raw = text(params, name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise InvalidParameter(name, raw, "expected a date YYYY-MM-DD") from None


def day_start(value: date) -> int:
    """The first microsecond of `value` (UTC)."""
    return micros_of(datetime.combine(value, time(0), tzinfo=timezone.utc))


def day_end(value: date) -> int:
    """The first microsecond after `value` (UTC): an exclusive bound. Counted in microseconds,
    not dates, so 9999-12-31 (whose next day `date` cannot hold) has one too."""
    return day_start(value) + DAY


DAY = 86_400 * MICROS

"""The success answer of seven.io operations that report `{"success": bool, "error": text or null}`
(`/subaccounts/*`, `POST /numbers/order`), and reading lists and euro amounts from their
parameters.

Their refusals (`{"success": false, "error": "<text>"}`) are built by `render.error_response`:
their routes declare `RESULT_STYLE`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.responses import Response

from ..core.billing import UNITS
from ..core.errors import InvalidParameter, MissingParameter
from .render import json_response

__all__ = ["success", "euro_units", "text_list"]


def success(**extra: Any) -> Response:
    return json_response({"success": True, "error": None, **extra})


def euro_units(params: dict[str, Any], name: str, *, positive: bool = False) -> int:
    """A euro amount (`1.23`, `"1.23"`, `5`) as 1/10000 units; at most four decimals."""
    value = params.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None or value == "":
        raise MissingParameter(name)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidParameter(name, value, "expected an amount in euros")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidParameter(name, value, "expected an amount in euros") from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0) or amount > 1_000_000_000:
        raise InvalidParameter(name, value, "expected a positive amount in euros" if positive else "expected an amount in euros, not negative")
    units = amount * UNITS
    if units != units.to_integral_value():
        raise InvalidParameter(name, value, "at most four decimals")
    return int(units)


def text_list(params: dict[str, Any], name: str) -> list[str] | None:
    """A list parameter sent as a JSON array, repeated `name[]`/`name[0]` form keys, or one
    comma-separated string; None when it was not sent at all, [] when sent empty."""
    values: list[Any] = []
    present = False
    for key, value in params.items():
        if key == name or key == f"{name}[]" or (key.startswith(f"{name}[") and key.endswith("]")):
            present = True
            values.extend(value if isinstance(value, list) else [value])
    if not present:
        return None
    items: list[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidParameter(name, value, "expected a list of texts")
        items.extend(part.strip() for part in str(value).split(",") if part.strip())
    return items

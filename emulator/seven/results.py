"""The answer shape of seven.io operations that report `{"success": bool, "error": text or null}`
(`/subaccounts/*`, `POST /numbers/order`), and reading lists and euro amounts from their
parameters.

A refused request answers `{"success": false, "error": "<text>"}` with the 4xx status the
emulator gives the same failure elsewhere (seven itself sends HTTP 200); credentials and scope
failures still answer seven's return codes through the mount's renderer.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.responses import Response

from ..reasons import reason_of, refused
from ..core.billing import UNITS
from ..core.errors import EmulatorError, InsufficientBalance, InvalidParameter, MissingParameter, NotFound, ValidationError
from .render import json_response, return_code

__all__ = ["REFUSALS", "failure", "success", "euro_units", "text_list"]

# Errors a handler answers in the success/error shape; anything else goes to the mount's renderer.
REFUSALS = (ValidationError, InsufficientBalance, NotFound)


def success(**extra: Any) -> Response:
    return json_response({"success": True, "error": None, **extra})


def failure(exc: EmulatorError) -> Response:
    return refused(json_response({"success": False, "error": exc.message}, return_code(exc)[1]), reason_of(exc))


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

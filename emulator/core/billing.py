"""Prices and balances, in integer units of 1/10000 of the account's currency.

`charge` checks and debits in one synchronous step (no await in between), so concurrent requests
can never spend the same money twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InsufficientBalance
from .models import Account

__all__ = ["PriceTable", "charge", "refund", "format_units"]

UNITS = 10_000


@dataclass(slots=True)
class PriceTable:
    """Per-part SMS prices by destination region (ISO alpha-2, upper case), with a default."""

    sms: dict[str, int] = field(default_factory=dict)
    default_sms: int = 0

    def sms_price(self, region: str | None) -> int:
        if region is not None and region in self.sms:
            return self.sms[region]
        return self.default_sms


def charge(account: Account, amount: int) -> None:
    """Debit `amount` or raise InsufficientBalance, leaving the balance untouched."""
    if amount < 0:
        raise ValueError("cannot charge a negative amount")
    if amount > account.balance:
        raise InsufficientBalance(amount, account.balance)
    account.balance -= amount


def refund(account: Account, amount: int) -> None:
    account.balance += amount


def format_units(amount: int, decimals: int = 4) -> str:
    """`1234567` -> `'123.4567'` (exact; no float rounding)."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), UNITS)
    text = f"{sign}{whole}.{frac:04d}"
    return text[: len(text) - (4 - decimals)] if decimals < 4 else text

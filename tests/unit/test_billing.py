"""Prices, charging all or nothing, and exact decimal formatting of units."""

import pytest

from emulator.core.billing import PriceTable, charge, format_units, refund
from emulator.core.errors import InsufficientBalance
from emulator.core.models import Account


def account(balance: int) -> Account:
    return Account(id="a", provider="elks", name="A", currency="SEK", balance=balance, created=0)


def test_price_by_region_with_default():
    table = PriceTable(sms={"SE": 3500}, default_sms=8000)
    assert table.sms_price("SE") == 3500
    assert table.sms_price("FR") == 8000
    assert table.sms_price(None) == 8000


def test_charge_debits_exactly():
    acct = account(10_000)
    charge(acct, 3_500)
    assert acct.balance == 6_500
    charge(acct, 6_500)
    assert acct.balance == 0


def test_charge_over_balance_changes_nothing():
    acct = account(3_499)
    with pytest.raises(InsufficientBalance) as info:
        charge(acct, 3_500)
    assert acct.balance == 3_499
    assert (info.value.required, info.value.available) == (3_500, 3_499)


def test_negative_charge_is_refused_and_refund_adds():
    acct = account(100)
    with pytest.raises(ValueError):
        charge(acct, -1)
    refund(acct, 50)
    assert acct.balance == 150


@pytest.mark.parametrize(("units", "text"), [(0, "0.0000"), (750, "0.0750"), (10_000_000, "1000.0000"), (-3_500, "-0.3500")])
def test_format_units(units, text):
    assert format_units(units) == text

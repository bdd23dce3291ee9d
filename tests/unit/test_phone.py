"""Phone number parsing: strict E.164 for 46elks, loose written forms for seven.io."""

import pytest

from emulator.core.errors import InvalidNumber
from emulator.core.phone import parse_e164, parse_loose, region_of


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("+46700000000", "+46700000000", "SE"),
        ("+4917612345678", "+4917612345678", "DE"),
        ("+447700900123", "+447700900123", "GB"),
        ("SE0723175800", "+46723175800", "SE"),
    ],
)
def test_parse_e164(raw, e164, region):
    parsed = parse_e164(raw)
    assert (parsed.e164, parsed.region) == (e164, region)


@pytest.mark.parametrize("raw", ["46700000000", "+46 70 000 00 00", "+4670", "hello", "", "+467000000001234567", "++46700000000"])
def test_parse_e164_refuses(raw):
    with pytest.raises(InvalidNumber) as info:
        parse_e164(raw, "to")
    assert info.value.field == "to"


@pytest.mark.parametrize(
    "raw", ["+4917612345678", "004917612345678", "4917612345678", "017612345678", "+49 176 1234-5678", "(0176) 12345678"]
)
def test_parse_loose_forms(raw):
    parsed = parse_loose(raw)
    assert parsed.e164 == "+4917612345678"
    assert parsed.digits == "4917612345678"


@pytest.mark.parametrize("raw", ["abc", "+49+176", "", "49", "+"])
def test_parse_loose_refuses(raw):
    with pytest.raises(InvalidNumber):
        parse_loose(raw)


def test_region_of():
    assert region_of("+14155550100") == "US"
    assert region_of("+999") is None


@pytest.mark.parametrize(("parse", "raw"), [
    (parse_e164, "+49000000"),  # phonenumbers read it as +4900000, then +490000: no fixed point
    (parse_loose, "+49000000"),
    (parse_loose, "01"),  # read in Germany as +4901, which the strict parser refuses
    (parse_loose, "0 1"),
])
def test_numbers_that_would_not_read_back_as_themselves_are_refused(parse, raw):
    """Found by fuzzing: a stored number must parse back to itself."""
    with pytest.raises(InvalidNumber):
        parse(raw, "to")

"""Segment counting: GSM-7 and UCS-2 limits, extension characters, surrogate pairs."""

import pytest

from emulator.core.text import segment


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("", "gsm", 1),
        ("a" * 160, "gsm", 1),
        ("a" * 161, "gsm", 2),
        ("a" * 306, "gsm", 2),
        ("a" * 307, "gsm", 3),
        ("€" * 80, "gsm", 1),  # extension characters count twice: 160 septets
        ("€" * 81, "gsm", 2),
        ("[" + "a" * 159, "gsm", 2),  # 161 septets
        ("å" * 70, "gsm", 1),  # å is in the GSM basic table
        ("ж" * 70, "ucs2", 1),
        ("ж" * 71, "ucs2", 2),
        ("ж" * 134, "ucs2", 2),
        ("ж" * 135, "ucs2", 3),
        ("😀" * 35, "ucs2", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "ucs2", 2),
        ("Hello 😀", "ucs2", 1),
    ],
)
def test_encoding_and_parts(text, encoding, parts):
    result = segment(text)
    assert (result.encoding, result.parts) == (encoding, parts)


def test_extension_character_is_not_split_across_parts():
    # 152 plain septets then a 2-septet character: it cannot start in part one's last slot.
    text = "a" * 152 + "€" + "a" * 152
    result = segment(text)
    assert result.units == 152 + 2 + 152
    assert result.parts == 3


def test_units_count_septets_and_code_units():
    assert segment("a€").units == 3
    assert segment("a😀").units == 3
    assert segment("a😀").characters == 2

"""Reading request parameters (`emulator/params.py`): the form parser gives exactly the pairs of
`urllib.parse.parse_qsl`, and the strict JSON reader refuses what JSON does not have."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings, strategies as st

from emulator.params import form_fields, strict_json

FORM_ALPHABET = st.sampled_from(list("ab=&+%2B4F0zé ;\u00e5") + ["%C3%A5", "%", "%zz", "%E2%82", "==", "%2B", "%2b", "%7E", "%0A", "%3D%26"])


@pytest.mark.parametrize("text", [
    "", "&", "a", "a=", "=b", "a=1&a=2", "to=%2B46700000123&from=ElkCo&message=Hello",
    "message=Hej+p%C3%A5+dig", "a=%ZZ&b=%", "a=b=c", "&&a=1&&", "x=%E2%82", "a;b=c",
])
def test_form_fields_match_parse_qsl(text):
    assert form_fields(text) == parse_qsl(text, keep_blank_values=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(FORM_ALPHABET, max_size=30).map("".join))
def test_form_fields_match_parse_qsl_on_any_text(text):
    assert form_fields(text) == parse_qsl(text, keep_blank_values=True)


@pytest.mark.parametrize("text, expected", [
    (b'{"a": 1.5, "b": [1, "x"]}', {"a": 1.5, "b": [1, "x"]}),
    (b"\xef\xbb\xbf{}", {}),  # bytes with a BOM: as json.loads
    ('{"n": 123456789012345678901234567890}', {"n": 123456789012345678901234567890}),
])
def test_strict_json_reads_json(text, expected):
    assert strict_json(text) == expected


@pytest.mark.parametrize("text", [b"NaN", b'{"a": Infinity}', b"-Infinity", b"1e999", "\ufeff{}", b"{", b"[1,]"])
def test_strict_json_refuses_what_json_does_not_have(text):
    with pytest.raises(ValueError):
        strict_json(text)


JSON_CASES = [
    b'{"to": "+4917612345678", "text": "Hej p\\u00e5 dig"}', b' {"a" : [1.5e3, -0.0, true, null]} ', b'{"a":1,"a":2}',
    b'{"n": 123456789012345678901234567890}', b'{"n": -9223372036854775809}', b'{"s": "\\ud800"}', b"\xef\xbb\xbf{}",
    '{"t": "\u00e5"}'.encode("utf-16"), b'"text"', b"[]", b"12", b"1.7976931348623157e308",
]


@pytest.mark.parametrize("text", JSON_CASES)
def test_strict_json_gives_the_standard_librarys_values(text):
    import json

    expected = json.loads(text)
    assert strict_json(text) == expected
    assert type(strict_json(text)) is type(expected)

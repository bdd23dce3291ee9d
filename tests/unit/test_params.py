"""Reading request parameters (`emulator/http/params.py`): the form parser gives exactly the pairs of
`urllib.parse.parse_qsl`, and the strict JSON reader refuses what JSON does not have, nesting
deeper than `MAX_JSON_DEPTH`, and text that no answer could write (lone surrogates)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings, strategies as st

from emulator.http.params import MAX_JSON_DEPTH, TooDeep, UnencodableText, form_fields, query_dict, strict_json, unencodable_path

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


@settings(max_examples=300, deadline=None)
@given(st.lists(FORM_ALPHABET, max_size=30).map("".join))
def test_query_dict_is_what_starlette_reads_of_the_query_string(text):
    from starlette.requests import Request

    scope = {"type": "http", "query_string": text.encode("utf-8")}
    assert query_dict(scope) == dict(Request(scope).query_params)


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
    b'{"n": 123456789012345678901234567890}', b'{"n": -9223372036854775809}', b'{"s": "\\ud83d\\ude00"}', b"\xef\xbb\xbf{}",
    '{"t": "\u00e5"}'.encode("utf-16"), b'"text"', b"[]", b"12", b"1.7976931348623157e308",
]


@pytest.mark.parametrize("text", JSON_CASES)
def test_strict_json_gives_the_standard_librarys_values(text):
    import json

    expected = json.loads(text)
    assert strict_json(text) == expected
    assert type(strict_json(text)) is type(expected)


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize("as_bytes", [True, False])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 2_000, 100_000])
def test_strict_json_refuses_nesting_deeper_than_the_limit(depth, as_bytes):
    """Both parsers: orjson (up to its own 1024 levels) and the standard library (whose
    recursive parser would overflow the stack: RecursionError, not ValueError, before)."""
    text = '{"to": "+1", "x": ' + nested(depth) + "}"
    with pytest.raises(TooDeep):
        strict_json(text.encode() if as_bytes else text)
    # a long integer sends the text to the standard library's parser
    with pytest.raises(TooDeep):
        strict_json(text.replace("1]", "1234567890123456789012]", 1))


def test_strict_json_refuses_deep_unbalanced_text_with_a_value_error():
    with pytest.raises(ValueError):
        strict_json("[" * 50_000)
    with pytest.raises(ValueError):
        strict_json(b'{"a": "' + b"[" * 5_000)


@pytest.mark.parametrize("text", [
    nested(MAX_JSON_DEPTH), '{"a": ' + nested(MAX_JSON_DEPTH - 1) + "}",
    '{"text": "' + "[" * 500 + '", "b": ' + nested(10) + "}",  # brackets in strings do not count
    '{"text": "\\"[[[[" , "b": [' + "[1]," * 500 + "[2]]}",  # many brackets, shallow; an escaped quote
])
def test_strict_json_reads_nesting_up_to_the_limit(text):
    import json

    assert strict_json(text) == json.loads(text)
    assert strict_json(text.encode()) == json.loads(text)


@pytest.mark.parametrize(("text", "field"), [
    (b'{"text": "x\\ud800"}', "text"),
    (b'{"to": "+1", "text": "\\udc00y"}', "text"),
    (b'{"text": "x\xed\xa0\x80"}', "text"),  # a surrogate written as raw (invalid) UTF-8
    (b'{"text": ["ok", {"deep": "\\ud800"}]}', "text"),
    (b'{"\\ud800": 1}', "body"),  # a key at fault cannot name itself
    (b'{"n": 12345678901234567890, "s": "\\ud800"}', "s"),  # through the long-integer path
    (b'"\\ud800"', "body"),
])
def test_strict_json_refuses_lone_surrogates_naming_the_field(text, field):
    with pytest.raises(UnencodableText) as refused:
        strict_json(text)
    assert refused.value.field == field


def test_unencodable_path_finds_the_text_no_encoder_can_write():
    assert unencodable_path({"a": ["ok", "\U0001F600", {"b": "x\ud800"}]}) == ["a", 2, "b"]
    assert unencodable_path({"a": ["ok", "\u00e5"], "b": None, "c": 1.5}) is None
    assert unencodable_path({"\udfff": 1}) == ["\udfff"]


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


TRICKY_TEXT = st.lists(st.sampled_from(list('[]{}"\\,:ab é') + ["\\u005b", "\U0001F600"]), max_size=12).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | TRICKY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.integers(0, 80), st.booleans())
def test_strict_json_measures_nesting_whatever_the_strings_hold(value, extra, ensure_ascii):
    """Brackets, quotes and backslashes inside strings never count; arrays and objects do."""
    import json

    wrapped = value
    for _ in range(extra):
        wrapped = [wrapped]
    text = json.dumps(wrapped, ensure_ascii=ensure_ascii)
    if _depth(wrapped) > MAX_JSON_DEPTH:
        with pytest.raises(TooDeep):
            strict_json(text)
        with pytest.raises(TooDeep):
            strict_json(text.encode())
    else:
        assert strict_json(text) == wrapped
        assert strict_json(text.encode()) == wrapped

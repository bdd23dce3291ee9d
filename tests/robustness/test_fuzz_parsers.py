"""Bounded fuzzing of the parsers every request goes through (issue 12, item 12): the form and
JSON readers (`emulator/http/params.py`), the phone-number parsers (`emulator/core/phone.py`) and the
text segmentation (`emulator/core/text.py`). Each may refuse what it is given, but only with the
emulator's own errors (a provider renders those as its refusal; anything else would be a 500),
and what it accepts is consistent: forms read as `parse_qsl` reads them, JSON as the standard
library reads it, E.164 numbers round-trip, segments add up.

Each test runs a few hundred examples at most, with no deadline (the machine may be busy).
`tests/unit/test_params.py` already holds the form parser's agreement with `parse_qsl` on a
form-like alphabet; the tests here widen it to any text and to whole request bodies."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st
from starlette.requests import Request

from emulator.core.errors import EmulatorError, InvalidNumber, InvalidParameter, MalformedBody
from emulator.core.phone import parse_e164, parse_loose
from emulator.core.text import GSM_BASIC, GSM_EXTENSION, GSM_PART, GSM_SINGLE, UCS2_PART, UCS2_SINGLE, segment
from emulator.http.params import form_fields, read_params, strict_json, unencodable_path

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every code point, lone surrogates included (hypothesis leaves category Cs out unless asked).
ANY_CHARACTER = st.characters(blacklist_categories=())
ANY_TEXT = st.text(ANY_CHARACTER, max_size=60)
GSM_BASIC_TEXT = st.text(st.sampled_from(sorted(GSM_BASIC)), max_size=700)
GSM_TEXT = st.text(st.sampled_from(sorted(GSM_BASIC | GSM_EXTENSION)), max_size=400)
NON_GSM = st.characters(blacklist_categories=("Cs",)).filter(lambda ch: ch not in GSM_BASIC and ch not in GSM_EXTENSION)


# -- form bodies --------------------------------------------------------------------------------

@FUZZ
@given(ANY_TEXT)
def test_form_fields_read_any_text_as_parse_qsl_does(text):
    assert form_fields(text) == parse_qsl(text, keep_blank_values=True)


@FUZZ
@given(st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=6))
def test_form_fields_read_back_what_a_client_encodes(pairs):
    """What an HTTP client writes (percent-encoded UTF-8) reads back as the pairs it encoded."""
    pairs = [(name, value) for name, value in pairs if _utf8(name) and _utf8(value) and name]
    body = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)
    assert form_fields(body) == pairs


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- whole request bodies -----------------------------------------------------------------------

def _request(body: bytes, content_type: str | None, query: bytes = b"") -> Request:
    headers = [(b"content-type", content_type.encode("latin-1"))] if content_type is not None else []
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": query, "headers": headers}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def _read(body: bytes, content_type: str | None, query: bytes = b"") -> dict[str, Any] | EmulatorError:
    """The parameters read, or the core error that refused them; anything else propagates."""
    try:
        return asyncio.run(read_params(_request(body, content_type, query)))
    except EmulatorError as refusal:
        return refusal


CONTENT_TYPES = st.sampled_from([
    None, "", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
    "application/json", "APPLICATION/JSON; charset=utf-8", "multipart/form-data", "multipart/form-data; boundary=xyz",
    "text/plain", "application/xml",
])


@FUZZ
@given(st.binary(max_size=200), CONTENT_TYPES, st.binary(max_size=30))
@example(b"\xff\xfe", "application/x-www-form-urlencoded", b"")
@example(b'{"a": NaN}', "application/json", b"")
@example(b"--xyz\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=xyz", b"")
@example(b"[1, 2]", "application/json", b"a=1")
def test_any_body_is_read_or_refused_with_a_core_error(body, content_type, query):
    result = _read(body, content_type, query)
    if isinstance(result, EmulatorError):
        assert isinstance(result, MalformedBody)
        return
    assert isinstance(result, dict)
    for key in result:
        assert isinstance(key, str)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(JSON_VALUES)
def test_strict_json_reads_what_the_standard_library_writes(value):
    text = json.dumps(value)
    if unencodable_path(value) is not None:  # a lone surrogate: no answer could render it
        with pytest.raises(ValueError):
            strict_json(text)
        return
    assert strict_json(text) == json.loads(text)
    assert strict_json(text.encode()) == json.loads(text.encode())


@FUZZ
@given(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=5))
def test_a_json_object_body_is_read_whole(value):
    result = _read(json.dumps(value).encode(), "application/json")
    if unencodable_path(value) is not None:  # a lone surrogate: refused, never stored
        assert isinstance(result, InvalidParameter), result
    else:
        assert result == value


@FUZZ
@given(st.binary(max_size=120) | ANY_TEXT)
@example(b"1e999")
@example(b'{"a": -Infinity}')
@example("\ufeff{}")
@example(b'"\\ud800"')
def test_strict_json_refuses_only_with_value_errors(text):
    try:
        value = strict_json(text)
    except ValueError:
        return
    # what it reads has no number JSON lacks
    def finite(item: Any) -> bool:
        if isinstance(item, float):
            return math.isfinite(item)
        if isinstance(item, list):
            return all(finite(element) for element in item)
        if isinstance(item, dict):
            return all(finite(element) for element in item.values())
        return True

    assert finite(value)


# -- phone numbers ------------------------------------------------------------------------------

PHONE_LIKE = st.lists(st.sampled_from(list("+0123456789 -./()x\u0663\u00b2\uff11") + ["SE", "DE", "gb", "00"]), max_size=20).map("".join)


@FUZZ
@given(ANY_TEXT | PHONE_LIKE)
@example("+\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2")  # superscript digits: str.isdigit() says yes
@example("+4670\u0663\u0663\u0663\u0663\u0663\u0663")  # Arabic-Indic digits
@example("SE\u0663\u0663\u0663\u0663\u0663\u0663\u0663")
@example("+\uff14\uff16\uff17\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10")  # full-width digits
def test_phone_parsers_accept_or_refuse_with_invalid_number(raw):
    for parse in (parse_e164, parse_loose):
        try:
            parsed = parse(raw, "to")
        except InvalidNumber as refusal:
            assert refusal.field == "to"
            continue
        e164 = parsed.e164
        assert e164.startswith("+") and e164[1:].isascii() and e164[1:].isdigit() and 7 <= len(e164) <= 16
        assert parsed.digits == e164[1:]
        assert parse_e164(e164).e164 == e164  # E.164 round-trips, through both parsers
        assert parse_loose(e164).e164 == e164
        assert parse_e164(e164).region == parsed.region


@FUZZ
@given(st.sampled_from(["+46", "+49", "+44", "+1", "+33", "+358", "+86"]), st.text(st.sampled_from("0123456789"), min_size=4, max_size=13))
def test_numbers_in_plus_and_digits_round_trip(country, national):
    raw = country + national
    try:
        parsed = parse_e164(raw)
    except InvalidNumber:
        return
    assert parse_e164(parsed.e164) == parsed
    assert parse_loose(raw).e164 == parsed.e164
    assert parse_loose("00" + raw[1:]).e164 == parsed.e164


# -- text segmentation --------------------------------------------------------------------------

def _check_bounds(units: int, parts: int, single: int, per_part: int, widest: int) -> None:
    """Parts times the part size bound the length, from above and (a wide character is never
    split, so a part may end up to `widest - 1` short) from below."""
    if parts == 1:
        assert units <= single
    else:
        assert units > single
        assert units <= parts * per_part
        assert units >= (parts - 1) * (per_part - (widest - 1)) + 1


@FUZZ
@given(GSM_BASIC_TEXT)
@example("a" * 160)
@example("a" * 161)
@example("a" * 306)
@example("a" * 307)
def test_gsm_basic_texts_use_160_then_153_per_part(text):
    result = segment(text)
    n = len(text)
    assert (result.encoding, result.units, result.characters) == ("gsm", n, n)
    assert result.parts == (1 if n <= GSM_SINGLE else math.ceil(n / GSM_PART))


@FUZZ
@given(GSM_TEXT)
@example("€" * 80)
@example("€" * 81)
@example("a" * 152 + "€")
def test_extension_characters_count_double(text):
    result = segment(text)
    extension = sum(ch in GSM_EXTENSION for ch in text)
    assert result.encoding == "gsm"
    assert result.units == len(text) + extension
    _check_bounds(result.units, result.parts, GSM_SINGLE, GSM_PART, 2 if extension else 1)


@FUZZ
@given(st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=300), NON_GSM.filter(lambda ch: ord(ch) <= 0xFFFF), st.integers(0, 300))
def test_ucs2_texts_use_70_then_67_per_part(text, foreign, where):
    text = text[:where] + foreign + text[where:]
    result = segment(text)
    n = len(text)
    assert (result.encoding, result.units) == ("ucs2", n)
    assert result.parts == (1 if n <= UCS2_SINGLE else math.ceil(n / UCS2_PART))


@FUZZ
@given(st.text(ANY_CHARACTER, max_size=400))
@example("x\ud800")
@example("\udfff" * 71)
@example("😀" * 36)
def test_any_text_is_segmented_consistently(text):
    result = segment(text)  # never raises, lone surrogates included
    gsm = all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)
    assert result.encoding == ("gsm" if gsm else "ucs2")
    assert result.characters == len(text)
    if gsm:
        assert result.units == len(text) + sum(ch in GSM_EXTENSION for ch in text)
        _check_bounds(result.units, result.parts, GSM_SINGLE, GSM_PART, 2)
    else:
        assert result.units == len(text) + sum(ord(ch) > 0xFFFF for ch in text)  # UTF-16 code units
        _check_bounds(result.units, result.parts, UCS2_SINGLE, UCS2_PART, 2)

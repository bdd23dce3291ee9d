"""`emulator/http/responses.py` (JSON answers) and `ProviderRequest.body` (`emulator/http/params.py`)."""

from __future__ import annotations

import json

import pytest
from starlette.responses import JSONResponse

from emulator.http.params import ProviderRequest
from emulator.http.responses import JSONBody, encode_json


@pytest.mark.parametrize("value", [
    {"id": "s1", "to": "+46700000000", "parts": 1, "cost": 3500, "ok": True, "none": None},
    {"text": "Hej på dig \u2028 \U0001F600", "price": 0.075, "big": 1e20, "list": [1, 2.5, "x"]},
    [],
    {"nested": {"a": [{"b": None}]}},
])
def test_body_is_what_starlette_would_send(value):
    ours, theirs = JSONBody(value), JSONResponse(value)
    assert ours.body == theirs.body
    assert sorted(ours.raw_headers) == sorted(theirs.raw_headers)
    assert ours.status_code == 200


def test_values_orjson_refuses_fall_back_to_the_standard_encoder():
    assert json.loads(encode_json({"huge": 2**70})) == {"huge": 2**70}
    assert json.loads(encode_json({1: "a"})) == {"1": "a"}


def test_an_encoded_answer_takes_the_memory_of_its_size():
    """The request journal keeps thousands of answers: each must not hold the encoder's buffer."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [encode_json({"id": f"s{number:032x}", "status": "created", "cost": 3500}) for number in range(200)]
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert used < 200 * 300, f"{used / len(kept):.0f} bytes an answer of {len(kept[0])}"


def test_status_and_extra_headers():
    response = JSONBody({"a": 1}, 201, {"Retry-After": "3"})
    assert response.status_code == 201
    assert (b"retry-after", b"3") in response.raw_headers
    assert (b"content-type", b"application/json") in response.raw_headers


def _request(messages):
    async def receive():
        return messages.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    return ProviderRequest(scope, receive)


async def test_a_body_in_one_piece_is_read_once():
    request = _request([{"type": "http.request", "body": b"a=1", "more_body": False}])
    assert await request.body() == b"a=1"
    assert await request.body() == b"a=1"  # no second receive (the list is empty now)


async def test_a_body_in_pieces_is_joined():
    request = _request([
        {"type": "http.request", "body": b"a=", "more_body": True},
        {"type": "http.request", "body": b"1&b=2", "more_body": False},
    ])
    assert await request.body() == b"a=1&b=2"
    assert await request.body() == b"a=1&b=2"


def test_indexed_headers_answer_as_starlette_headers_do():
    from starlette.datastructures import Headers

    from emulator.http.params import IndexedHeaders

    raw = [(b"content-type", b"application/json"), (b"x-api-key", b"first"), (b"x-api-key", b"second")]
    ours, theirs = IndexedHeaders({"headers": raw}), Headers(raw=raw)
    for name in ("Content-Type", "x-api-key", "X-API-KEY", "missing"):
        assert ours.get(name) == theirs.get(name)
        assert (name in ours) == (name in theirs)
    assert ours["x-api-key"] == "first" and ours.getlist("x-api-key") == ["first", "second"]
    with pytest.raises(KeyError):
        ours["missing"]


# -- what Starlette must still read from the private attributes we write ----------------------
# (`pyproject.toml` bounds Starlette below 2; these fail first if a release reads them otherwise)

async def test_starlettes_own_readers_see_a_body_read_in_one_piece():
    request = ProviderRequest(
        {"type": "http", "method": "POST", "path": "/", "query_string": b"",
         "headers": [(b"content-type", b"application/x-www-form-urlencoded")]},
        _receiver([{"type": "http.request", "body": b"a=1&b=%C3%A5", "more_body": False}]),
    )
    assert await request.body() == b"a=1&b=%C3%A5"
    assert dict(await request.form()) == {"a": "1", "b": "å"}  # from `_body`, no second receive
    assert b"".join([chunk async for chunk in request.stream()]) == b"a=1&b=%C3%A5"
    assert request.headers.items() == [("content-type", "application/x-www-form-urlencoded")]  # `_list`


async def test_a_json_body_is_sent_as_starlette_sends_a_response():
    sent = []

    async def send(message):
        sent.append(message)

    await JSONBody({"a": 1}, 201)({"type": "http", "method": "GET", "path": "/"}, _receiver([]), send)
    assert sent[0]["status"] == 201 and sorted(sent[0]["headers"]) == [(b"content-length", b"7"), (b"content-type", b"application/json")]
    assert sent[1]["body"] == b'{"a":1}'


def _receiver(messages):
    async def receive():
        return messages.pop(0)

    return receive

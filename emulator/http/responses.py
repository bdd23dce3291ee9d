"""JSON answers for the hot paths: encoded with orjson (compact, UTF-8, the same text as the
standard library's `json.dumps(..., separators=(",", ":"), ensure_ascii=False)` for the values the
emulator answers with) and sent with their headers built once.

`JSONBody` is a Starlette `Response`, so handlers, renderers and tests treat it like any other.
Values orjson does not take (integers beyond 64 bits, keys that are not strings) fall back to the
standard library encoder.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import orjson
from starlette.responses import Response

__all__ = ["JSONBody", "encode_json"]

_CONTENT_TYPE = (b"content-type", b"application/json")


def encode_json(content: Any) -> bytes:
    try:
        # orjson's bytes keep the 4 KiB buffer it wrote into, however short the text; the request
        # journal keeps the last 2,000 answers, so each answer is copied to its own size.
        return memoryview(orjson.dumps(content)).tobytes()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class JSONBody(Response):
    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body = encode_json(content)
        if headers is None:
            self.raw_headers = [(b"content-length", str(len(body)).encode()), _CONTENT_TYPE]
        else:
            self.init_headers(headers)

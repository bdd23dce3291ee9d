"""Reading request parameters the way the providers accept them: query string, form-encoded or
multipart bodies, and JSON bodies, merged into one flat mapping. Form-encoded bodies are read with
`form_fields` (the pairs of the standard library's `parse_qsl`, with less overhead; the common
case, and several times cheaper than a streaming parser for bodies this small); multipart bodies
with python-multipart (`multipart_fields`), their fields read as UTF-8 whatever charset the
Content-Type names, as clients of both providers send them.

Shared by both providers; a body that cannot be parsed raises `MalformedBody`.

Every text read here can be written as UTF-8, so every record made from it can be rendered:
form bodies and multipart fields are strict UTF-8 (invalid UTF-8 is `MalformedBody`, as in a
form body) and form escapes decode with replacement characters; JSON is
refused when nested deeper than `MAX_JSON_DEPTH` (checked before the standard library's
recursive parser sees it) and when a string holds a lone surrogate (`"\\ud800"`, which JSON's
grammar allows and no encoder can write): `InvalidParameter` naming the field.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Message, Receive, Scope

from ..core.errors import InvalidParameter, MalformedBody

try:
    from python_multipart.multipart import MultipartParser, parse_options_header
except ModuleNotFoundError:  # python-multipart before 0.0.13
    from multipart.multipart import MultipartParser, parse_options_header  # type: ignore[no-redef]

if TYPE_CHECKING:
    from ..core.engine import Engine

__all__ = [
    "read_params", "form_fields", "multipart_fields", "strict_json", "Params", "ProviderRequest", "IndexedHeaders", "engine_of",
    "headers_by_name",
    "MAX_JSON_DEPTH", "TooDeep", "UnencodableText", "unencodable_path",
]

Params = dict[str, Any]

_JSON_WHITESPACE = b" \t\r\n"
MAX_JSON_DEPTH = 64  # arrays and objects inside each other; far beyond what any API call sends
MAX_MULTIPART_PARTS = 1000  # as Starlette's own form parser allows


def headers_by_name(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case raw name (the first of repeated names wins, as in
    Starlette's `Headers`), kept in the scope so that whoever asks next reuses it."""
    by_name = scope.get("emulator.headers")
    if by_name is None:
        raw = scope["headers"]
        if not isinstance(raw, list):
            raw = scope["headers"] = list(raw)
        by_name = scope["emulator.headers"] = dict(reversed(raw))
    return by_name


class IndexedHeaders(Headers):
    """Starlette's headers with a dict by raw name for lookups (the first of repeated names wins,
    as in `Headers`): a handler asks for several headers, each otherwise a scan of the list."""

    def __init__(self, scope: Scope) -> None:
        self._by_name = headers_by_name(scope)  # the front door (emulator/http/front_door.py) has usually built it
        self._list = scope["headers"]

    def __getitem__(self, key: str) -> str:
        value = self._by_name.get(key.lower().encode("latin-1"))
        if value is None:
            raise KeyError(key)
        return value.decode("latin-1")

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower().encode("latin-1") in self._by_name

    def get(self, key: str, default: Any = None) -> Any:
        value = self._by_name.get(key.lower().encode("latin-1"))
        return default if value is None else value.decode("latin-1")

    def raw(self, name: bytes) -> bytes | None:
        """The value of the header `name` (lower-case bytes) as received; None when absent."""
        return self._by_name.get(name)


def engine_of(request: Request) -> Engine:
    """The engine behind a request: put in the scope by the application's front door, else
    found on the application's state."""
    engine = request.scope.get("emulator.engine")
    return engine if engine is not None else request.app.state.engine


class ProviderRequest(Request):
    """A Starlette request with indexed headers, whose `body()` takes a body that arrived in one
    piece (nearly every API call) from a single `receive()`, without the streaming machinery;
    anything else goes the usual way."""

    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_headers"):
            self._headers = IndexedHeaders(self.scope)
        return self._headers

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            message = await self._receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                self._body = message.get("body", b"")
                self._stream_consumed = True
            else:
                self._receive = _replaying(message, self._receive)
                return await super().body()
        return self._body


def _replaying(first: Message, receive: Receive) -> Receive:
    """`receive`, but answering `first` before anything else."""
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def read_params(request: Request, *, json_allowed: bool = True, include_query: bool = True) -> Params:
    """Query parameters first, then the body's fields on top. Repeated keys become lists."""
    params: Params = {}
    if include_query and request.scope.get("query_string"):
        for key, value in request.query_params.multi_items():
            _put(params, key, value)
    if request.method in ("GET", "HEAD"):
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" and json_allowed:
        body = await request.body()
        if not body.strip(_JSON_WHITESPACE):  # only JSON's own whitespace; b"\x0b" is no JSON at all
            return params
        try:
            data = strict_json(body)
        except UnencodableText as exc:
            raise InvalidParameter(exc.field, "<text>", "not valid Unicode text (it holds a lone surrogate)") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedBody(f"invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedBody("the JSON body must be an object")
        params.update(data)
        return params
    if content_type in ("application/x-www-form-urlencoded", ""):
        body = await request.body()
        try:
            fields = form_fields(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedBody(str(exc) or type(exc).__name__) from None
        for key, value in fields:
            if key in params:
                _put(params, key, value)
            else:
                params[key] = value
        return params
    if content_type == "multipart/form-data":
        body = await request.body()
        for key, value in multipart_fields(body, request.headers.get("content-type", "")):
            _put(params, key, value)
        return params
    raise MalformedBody(f"unsupported content type {content_type!r}")


def multipart_fields(body: bytes, content_type: str) -> list[tuple[str, str | bytes]]:
    """The parts of a `multipart/form-data` body as (name, value) pairs: a field's value is its
    text, read as UTF-8 (Starlette's parser follows a `charset` in the Content-Type and falls
    back to Latin-1 on invalid UTF-8, which garbles what clients send); a file's value is its
    bytes. A broken body, invalid UTF-8 in a name or a field, or more than MAX_MULTIPART_PARTS
    parts raise MalformedBody."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedBody("missing boundary in multipart")
    parts: list[tuple[list[tuple[bytes, bytes]], bytearray]] = []
    header = [b"", b""]

    def on_part_begin() -> None:
        if len(parts) >= MAX_MULTIPART_PARTS:
            raise MalformedBody(f"more than {MAX_MULTIPART_PARTS} parts in multipart")
        parts.append(([], bytearray()))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        parts[-1][0].append((header[0].lower(), header[1]))
        header[:] = [b"", b""]

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    callbacks = {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except MalformedBody:
        raise
    except Exception as exc:  # python-multipart raises several types for broken bodies
        raise MalformedBody(str(exc) or type(exc).__name__) from None
    fields: list[tuple[str, str | bytes]] = []
    for headers, data in parts:
        disposition = next((value for name, value in headers if name == b"content-disposition"), b"")
        _, disposition_options = parse_options_header(disposition)
        if b"name" not in disposition_options:
            raise MalformedBody('a multipart part without a name in its Content-Disposition')
        try:
            name = disposition_options[b"name"].decode("utf-8")
            value: str | bytes = bytes(data) if b"filename" in disposition_options else data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedBody(f"multipart field is not UTF-8: {exc}") from None
        fields.append((name, value))
    return fields


def query_dict(scope: Scope) -> dict[str, str]:
    """The query string's parameters, the last of a repeated one winning: what
    `dict(request.query_params)` gives, without Starlette's multi-dict in between."""
    query = scope.get("query_string")
    return dict(form_fields(query.decode("latin-1"))) if query else {}


def form_fields(text: str) -> list[tuple[str, str]]:
    """`urllib.parse.parse_qsl(text, keep_blank_values=True)`, the same pairs, without its
    generality (separator and type checks, bytes): the form body of nearly every API call."""
    fields = []
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = _unquote(name)
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = _unquote(value)
        fields.append((name, value))
    return fields


# Percent-escapes of ASCII characters (`%2B` in every E.164 number of a form body), both cases.
_ASCII_ESCAPES = {f"{code:02{case}}": chr(code) for code in range(0x80) for case in "xX"}


def _unquote(text: str) -> str:
    """`urllib.parse.unquote`, with a short way for text whose escapes are all ASCII."""
    first, *rest = text.split("%")
    pieces = [first]
    for piece in rest:
        char = _ASCII_ESCAPES.get(piece[:2])
        if char is None:  # a UTF-8 sequence or a broken escape: the full decoder
            return unquote(text)
        pieces.append(char)
        pieces.append(piece[2:])
    return "".join(pieces)


class TooDeep(ValueError):
    """JSON nested deeper than `MAX_JSON_DEPTH`."""


class UnencodableText(ValueError):
    """A JSON string (or key) that cannot be written as UTF-8; `field`: the top-level key it is
    under (`body` when the document is no object)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: not valid Unicode text (a lone surrogate)")
        self.field = field


def strict_json(text: str | bytes) -> Any:
    """`json.loads`, but NaN, Infinity and numbers too large for a float are errors (ValueError),
    as in every JSON parser but Python's: a value the emulator could never answer in JSON. So
    are nesting deeper than `MAX_JSON_DEPTH` (`TooDeep`) and strings holding a lone surrogate
    (`UnencodableText`): values no answer could ever render.

    orjson reads what it can (the same values, several times faster); whatever it refuses, and
    any text with an integer it would read as a float (19 digits or more), goes to the standard
    library, whose answer (a value or an error) is the one given."""
    if not _long_digits(text):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:  # orjson stops at 1024 levels by itself, and never reads a lone surrogate
            check_json_depth(text)
            return value
    check_json_depth(text)
    if isinstance(text, (bytes, bytearray)):  # what json.loads does before decoding
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    elif text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        value = _DECODER.decode(text)
    except RecursionError:  # unbalanced brackets that `check_json_depth` could not measure
        raise TooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    path = unencodable_path(value)
    if path is not None:  # named by its top-level key, unless that key is the text at fault
        top = path[0] if path else None
        raise UnencodableText(top if isinstance(top, str) and _encodable(top) else "body")
    return value


def check_json_depth(text: str | bytes) -> None:
    """Raise TooDeep when arrays and objects nest deeper than `MAX_JSON_DEPTH` (brackets inside
    strings do not count). Costs two counts of the text unless it holds more brackets than
    that; then one pass over its brackets, which ends at the first level too deep."""
    binary = not isinstance(text, str)
    opening = (b"[", b"{") if binary else ("[", "{")
    if text.count(opening[0]) + text.count(opening[1]) <= MAX_JSON_DEPTH:  # type: ignore[arg-type]
        return
    if binary:
        brackets = _JSON_STRING_BYTES.sub(b"", text).translate(None, _NOT_BRACKET_BYTES)
        openers = _OPENER_BYTES
    else:
        brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
        openers = "[{"
    depth = 0
    for bracket in brackets:
        if bracket in openers:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise TooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels")
        else:
            depth -= 1


def unencodable_path(value: Any) -> list[Any] | None:
    """The path (keys and indexes) to the first string in `value` (dicts, lists, scalars; keys
    included) that cannot be encoded as UTF-8, or None when there is none. Walks without
    recursion, so any depth is fine."""
    pending: list[tuple[list[Any], Any]] = [([], value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and not _encodable(key):
                    return [*path, key]
                pending.append(([*path, key], child))
        elif isinstance(item, (list, tuple)):
            pending.extend(([*path, index], child) for index, child in enumerate(item))
    return None


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# A JSON string, escapes included; possessive, so text with an unterminated one costs one pass.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_JSON_STRING_BYTES = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NOT_BRACKET_BYTES = bytes(code for code in range(256) if code not in b"[]{}")
_OPENER_BYTES = frozenset(b"[{")


def _long_digits(text: str | bytes) -> bool:
    return (_LONG_DIGITS if isinstance(text, str) else _LONG_DIGIT_BYTES).search(text) is not None


def _not_json(name: str) -> float:
    """Python's json reads NaN and Infinity, which JSON does not have."""
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e999 overflows to infinity
        raise ValueError(f"{text} is out of range")
    return value


_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGIT_BYTES = re.compile(rb"[0-9]{19}")
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def _put(params: Params, key: str, value: Any) -> None:
    if key in params:
        existing = params[key]
        if isinstance(existing, list):
            existing.append(value)
        else:
            params[key] = [existing, value]
    else:
        params[key] = value

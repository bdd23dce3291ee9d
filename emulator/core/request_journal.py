"""The request journal: every request a provider mount answered, newest last, bounded in count
and in bytes.

Recording sits on the hot path of every provider request, so `add` only keeps references to
what the request already holds (method, path, query string, the raw header list, the body
bytes it read, the response's status and body, the account its credentials named, the refusal
reason if any) in one tuple, and counts bytes; bodies longer than `max_body` are cut there.
When the server hands over the request's bytes as they came (its head and whole body in one
object, see `http/inline_requests.py`), the entry keeps that one object in place of the header
pairs and the body (`headers_of` and `body_of` read either).
The ring's default size is a measured trade: what an entry keeps alive costs every later request
some cache (in process, about 2 µs per send at 200 entries, 3 at 1,000, 4 at 5,000; see
tests/bench/bench_journal.py). Everything a reader sees is made when it asks (`entries`, `entry_json`): parameters parsed
from the query and the body, secrets masked (passwords, API keys, tokens, `Authorization`),
text decoded. The oldest entries go when either bound is reached.

Provider-neutral: a provider is a name, a request is bytes. No HTTP framework is imported.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl

__all__ = [
    "RequestJournal", "Entry", "journal_of", "mask_params", "mask_headers", "request_params", "answer_body", "path_of", "headers_of",
    "body_of", "SECRET_NAMES", "MASK",
]

MASK = "***"
# Parameter and header names whose values are secrets: compared lower-case, `-` as `_`.
SECRET_NAMES = frozenset({
    "password", "secret", "api_key", "apikey", "key", "p", "token", "access_token", "auth_token",
    "authorization", "x_api_key", "cookie", "set_cookie", "x_telco_emulator_token", "client_secret",
    "signing_key", "x_signature",
})
_SECRET_PARTS = ("password", "secret", "token", "apikey", "api_key")
ENTRY_OVERHEAD = 400  # bytes one entry costs besides its bodies (tuple, header list, strings): an estimate
MAX_RAW_HEAD = 16 * 1024  # a request's head longer than this is kept as header pairs, not as it came


def _secret(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return lowered in SECRET_NAMES or any(part in lowered for part in _SECRET_PARTS)


MAX_DEPTH = 32  # nesting shown; deeper values are shown as "..."


def mask_params(params: Any, depth: int = 0, hide: bool = True) -> Any:
    """A copy of decoded parameters with every secret value replaced by `***` (nested too, down
    to MAX_DEPTH levels; with `hide` false, only cut at that depth)."""
    if depth >= MAX_DEPTH and isinstance(params, (dict, list)):
        return "..."
    if isinstance(params, dict):
        return {key: (MASK if hide and isinstance(key, str) and _secret(key) and value not in (None, "") else mask_params(value, depth + 1, hide))
                for key, value in params.items()}
    if isinstance(params, list):
        return [mask_params(item, depth + 1, hide) for item in params]
    return params


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def showable_json(data: bytes, masked: bool = True) -> Any:
    """`data` parsed as strict JSON that can be shown again (no NaN, no lone surrogates, not
    nested past MAX_DEPTH, which the masking cuts); raises ValueError otherwise."""
    try:
        parsed = json.loads(data, parse_constant=_refuse_constant)
        shown = mask_params(parsed, hide=masked)
        json.dumps(shown, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (RecursionError, UnicodeError) as exc:
        raise ValueError(str(exc)) from None
    return shown


def mask_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Raw ASGI headers as a name -> value mapping (repeats joined by `, `), secrets masked
    (`Authorization` keeps its scheme: `Basic ***`)."""
    shown: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if _secret(name):
            scheme, sep, _ = value.partition(" ")
            value = f"{scheme} {MASK}" if sep and name == "authorization" else MASK
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown


# The fields of an entry tuple, in order.
SEQ, AT, PROVIDER, METHOD, PATH, QUERY, HEADERS, BODY, BODY_SIZE, ACCOUNT, STATUS, ANSWER, ANSWER_SIZE, ANSWER_TYPE, DURATION, REASON, COST = range(17)
Entry = tuple


class RequestJournal:
    """A ring of the newest requests: at most `max_entries` of them and about `max_bytes` of
    bodies and bookkeeping together; each body cut at `max_body` bytes."""

    def __init__(self, now: Callable[[], int], max_entries: int = 2000, max_bytes: int = 16 * 1024 * 1024,
                 max_body: int = 16 * 1024) -> None:
        self._now = now
        self.max_bytes = max_bytes
        self.max_body = max_body
        self._entries: deque[Entry] = deque(maxlen=max_entries)
        self._bytes = 0
        self._next_seq = 1
        self.listeners: list[Callable[[Entry], None]] = []  # told of each refusal (an entry with a reason)

    @property
    def max_entries(self) -> int:
        return self._entries.maxlen or 0

    @max_entries.setter
    def max_entries(self, count: int) -> None:
        """A new bound on the count: the oldest entries over it go."""
        kept = list(self._entries)[-count:] if count else []
        self._entries = deque(kept, maxlen=count)
        self._bytes = sum(entry[COST] for entry in kept)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes the journal counts against `max_bytes` now."""
        return self._bytes

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def add(self, provider: str, method: str, path: str | bytes, query: bytes, headers: list, body: bytes | None,
            account: str | None, status: int, answer: bytes | None, answer_type: str | None,
            duration_ns: int, reason: str | None, raw: bytes | None = None) -> Entry:
        """Record one answered request (references only; bodies over `max_body` are cut). `path`
        may be the raw bytes the client sent (as the client wrote it: a mount may fold case).
        `raw`, when given, is the request as it came: its head (the request line and `headers`,
        each ending in CRLF, then an empty line) and then `body`, whole."""
        limit = self.max_body
        body_size = 0 if body is None else len(body)
        answer_size = 0 if answer is None else len(answer)
        if body_size > limit or answer_size > limit:
            body, answer = body and body[:limit], answer and answer[:limit]
        cost = ENTRY_OVERHEAD + (body_size if body_size < limit else limit) + (answer_size if answer_size < limit else limit)
        seq = self._next_seq
        self._next_seq = seq + 1
        if raw is not None and body is not None and body_size <= limit and len(raw) - body_size <= MAX_RAW_HEAD and raw.endswith(body):
            kept: Any = raw  # one object for the head and the body
            body = None
        else:
            # The headers as a tuple of tuples of bytes: an entry then holds nothing the garbage
            # collector must follow, and thousands of kept entries cost it nothing.
            kept = tuple(headers)
        entry = (seq, self._now(), provider, method, path, query, kept, body, body_size, account, status,
                 answer, answer_size, answer_type, duration_ns, reason, cost)
        entries = self._entries
        if len(entries) == entries.maxlen:  # the deque drops the oldest itself: count it out
            self._bytes -= entries[0][COST]
        entries.append(entry)
        self._bytes += cost
        if self._bytes > self.max_bytes:
            self._trim()
        if reason is not None:
            for listener in self.listeners:
                listener(entry)
        return entry

    def _trim(self) -> None:
        entries = self._entries
        while entries and self._bytes > self.max_bytes:
            self._bytes -= entries.popleft()[COST]

    def clear(self) -> None:
        """Forget every entry (numbering goes on, so a cursor never points at a newer entry)."""
        self._entries.clear()
        self._bytes = 0

    def get(self, seq: int) -> Entry | None:
        entries = self._entries
        if not entries:
            return None
        index = seq - entries[0][SEQ]
        if 0 <= index < len(entries) and entries[index][SEQ] == seq:
            return entries[index]
        return None

    def newest_first(self, before: int | None = None) -> Iterator[Entry]:
        """Entries newest first, only those with a number below `before` when given."""
        entries = self._entries
        if not entries:
            return iter(())
        end = len(entries)
        if before is not None:
            end = max(0, min(end, before - entries[0][SEQ]))
        return (entries[index] for index in range(end - 1, -1, -1))


def headers_of(entry: Entry) -> tuple[tuple[bytes, bytes], ...]:
    """The request's headers as ASGI gives them (names in lower case), whichever way the entry
    keeps them."""
    kept = entry[HEADERS]
    if type(kept) is not bytes:
        return kept
    head = kept[: len(kept) - entry[BODY_SIZE]]
    pairs = []
    for line in head.split(b"\r\n")[1:]:  # after the request line
        name, colon, value = line.partition(b":")
        if colon and name:
            pairs.append((name.lower(), value.strip(b" \t")))
    return tuple(pairs)


def body_of(entry: Entry) -> bytes | None:
    """The request's body as kept (cut at `max_body`; None when it was not kept)."""
    kept = entry[HEADERS]
    if type(kept) is bytes:
        return kept[len(kept) - entry[BODY_SIZE]:]
    return entry[BODY]


def path_of(entry: Entry) -> str:
    path = entry[PATH]
    return path.decode("latin-1") if isinstance(path, bytes) else path


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    return data.decode("utf-8", "replace")


def _content_type(headers: tuple[tuple[bytes, bytes], ...]) -> str:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def request_params(entry: Entry, masked: bool = True) -> tuple[dict[str, Any], str | None]:
    """The parameters the request carried (query, then a form or JSON body's fields), secrets
    masked unless `masked` is false; and a note on a body that is not shown as parameters (its
    kind and size)."""
    params: dict[str, Any] = {}
    for key, value in parse_qsl(entry[QUERY].decode("latin-1"), keep_blank_values=True):
        _put(params, key, value)
    body, size, headers = body_of(entry), entry[BODY_SIZE], headers_of(entry)
    note = None
    if body is None and entry[METHOD] not in ("GET", "HEAD"):
        kind = _content_type(headers)
        if kind.startswith("multipart/"):  # read as a stream by the form parser: not kept
            note = f"a {kind} body (its fields are not kept in the journal)"
    if size:
        kind = _content_type(headers)
        cut = body is None or len(body) < size
        if cut:
            note = f"{size} bytes of {kind or 'body'} (not kept whole: the journal keeps {len(body or b'')})"
        elif kind == "application/json":
            try:
                data = showable_json(body, masked)
            except ValueError:
                note = f"{size} bytes of JSON that does not parse as strict JSON, or cannot be shown"
            else:
                if isinstance(data, dict):
                    params.update(data)
                else:
                    note = f"{size} bytes of JSON that is not an object"
        elif kind in ("application/x-www-form-urlencoded", ""):
            for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                _put(params, key, value)
        else:
            note = f"{size} bytes of {kind}"
    return (mask_params(params) if masked else params), note  # a JSON body's fields are masked already


def _put(params: dict[str, Any], key: str, value: str) -> None:
    if key in params:
        current = params[key]
        params[key] = current + [value] if isinstance(current, list) else [current, value]
    else:
        params[key] = value


def answer_body(entry: Entry) -> Any:
    """The answer's body: parsed JSON when it was JSON and kept whole, else its text (cut)."""
    answer = entry[ANSWER]
    if answer is None:
        return None
    kind = (entry[ANSWER_TYPE] or "").split(";")[0].strip().lower()
    whole = len(answer) == entry[ANSWER_SIZE]
    if whole and kind == "application/json":
        try:
            return showable_json(answer)
        except ValueError:
            pass
    if kind and not (kind.startswith("text/") or kind.endswith("json") or kind.endswith("xml")):
        return f"<{entry[ANSWER_SIZE]} bytes of {kind}>"
    return _text(answer)


def journal_of(engine: Any) -> RequestJournal:
    """The engine's request journal, made on first use: cleared by a reset, and each refusal
    told as a `request.refused` event (successful requests are not: an event per request would
    cost the send path more than the journal itself; their own events say what they did)."""
    found = getattr(engine, "request_journal", None)
    if found is None:
        found = engine.request_journal = RequestJournal(engine.clock.now)
        engine.reset_listeners.append(found.clear)
        events = engine.events

        def tell(entry: Entry) -> None:
            events.emit("request.refused", entry[PROVIDER], entry[ACCOUNT], request=entry[SEQ], method=entry[METHOD],
                        path=path_of(entry), status=entry[STATUS], reason=entry[REASON])

        found.listeners.append(tell)
    return found

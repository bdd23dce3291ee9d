"""The built-in webhook receiver: `/_emulator/sink/{anything}` answers any method with 200 `OK`
and records what arrived (method, path, query, headers, body cut at 64 KiB); `GET
/_emulator/sink` lists it newest first (filters `method`, `path` (a prefix of the path after
`/sink`), cursor paging), `DELETE /_emulator/sink` forgets it, and a reset clears it. Each
arrival is also an event (`sink.received`, with `method`, `path` and `id`), so a test can wait
for a webhook with `/_emulator/wait?kind=sink.received`.

Point a callback URL at `http://127.0.0.1:8046/_emulator/sink/sms` to see what the emulator
sends without running a receiver of your own. The receiving side is open to the emulator's own
webhooks: it takes requests that carry the outbox's hop header (the rest of the control API
refuses them) and skips the exposure guard's Host and token checks (it answers nothing but
`OK`, and it never sends anything, so it cannot loop). Listing what arrived is part of the
control API and guarded like the rest of it. Bodies are bounded like every request's.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..core import request_journal as rj
from ..core.errors import BodyTooLarge, InvalidParameter
from ..core.request_journal import RequestJournal
from ..http.params import read_params
from .inputs import engine_of
from .render import error_response, iso
from .requests import _plain_headers, journal_page

__all__ = ["SINK_PREFIX", "SinkApp", "sink_of", "ROUTES"]

SINK_PREFIX = "/_emulator/sink/"
_OK = b"OK"


def sink_of(engine: Any) -> RequestJournal:
    """The engine's sink record, made on first use and cleared by a reset."""
    found = getattr(engine, "sink", None)
    if found is None:
        found = engine.sink = RequestJournal(engine.clock.now, max_entries=1000, max_bytes=16 * 1024 * 1024, max_body=64 * 1024)
        engine.reset_listeners.append(found.clear)
    return found


class SinkApp:
    """The receiving side, served by the application before the exposure guard."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.record = sink_of(engine)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        try:
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
        except BodyTooLarge as exc:
            await error_response(exc)(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        inside = path[len(root):] if root and path.startswith(root) else path
        record_arrival(self.engine, scope, inside[len(SINK_PREFIX) - 1:] or "/", b"".join(chunks))
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else _OK})


def record_arrival(engine: Any, scope: Scope, where: str, body: bytes) -> None:
    """Keep one arrival at `where` (the path after `/sink`) and tell it as an event."""
    entry = sink_of(engine).add("sink", scope["method"], where, scope.get("query_string", b""), scope["headers"], body,
                                None, 200, None, None, 0, None)
    engine.events.emit("sink.received", None, None, id=entry[rj.SEQ], method=scope["method"], path=where, size=len(body))


async def arrived(request: Request) -> Response:
    """The same receiver as a control route (what the spec documents; the application serves
    `/sink/...` itself, ahead of the guard, so requests reach this only when the control app is
    used on its own)."""
    record_arrival(engine_of(request), request.scope, "/" + request.path_params["path"], await request.body())
    return PlainTextResponse("OK")


def arrival_json(entry: tuple) -> dict[str, Any]:
    body, size = rj.body_of(entry), entry[rj.BODY_SIZE]
    params, note = rj.request_params(entry, masked=False)
    return {
        "id": entry[rj.SEQ],
        "at": iso(entry[rj.AT]),
        "method": entry[rj.METHOD],
        "path": entry[rj.PATH],
        "query": entry[rj.QUERY].decode("latin-1"),
        "headers": _plain_headers(rj.headers_of(entry)),
        "body": (body or b"").decode("utf-8", "replace"),
        "body_size": size,
        "truncated": size > len(body or b""),
        "params": params if note is None else None,
    }


async def list_sink(request: Request) -> Response:
    params = await read_params(request)
    tests = []
    method = params.get("method")
    if method not in (None, ""):
        if not isinstance(method, str):
            raise InvalidParameter("method", method, "expected an HTTP method such as POST")
        tests.append(lambda entry: entry[rj.METHOD] == method.upper())
    path = params.get("path")
    if isinstance(path, str) and path:
        tests.append(lambda entry: entry[rj.PATH].startswith(path))
    return JSONResponse(journal_page(sink_of(engine_of(request)), params, tests, arrival_json))


async def clear_sink(request: Request) -> Response:
    record = sink_of(engine_of(request))
    forgotten = len(record)
    record.clear()
    return JSONResponse({"cleared": forgotten})


ROUTES = [
    Route("/sink", list_sink, methods=["GET"]),
    Route("/sink", clear_sink, methods=["DELETE"]),
    Route("/sink/{path}", arrived, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]),
]

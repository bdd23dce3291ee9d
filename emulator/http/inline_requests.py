"""The per-request path of the server's httptools protocol: lean, and inline for a request that
arrives whole.

uvicorn starts a task for every request as soon as its headers are parsed, and the response
goes out in two writes (the head, then the body): for a small API call that is a task to
create and schedule, a trip through the event loop and two system calls, about as much as the
emulator's own work. `InlineRequests`, mixed in before uvicorn's `HttpToolsProtocol`, keeps
uvicorn's connection handling (flow control, upgrades, pipelining, shutdown, the 400 for a
request it cannot parse) and replaces what it does for each request:

- Where the whole request (headers and body) is in the bytes just received (nearly every API
  call) and the application's `runs_inline(path)` says yes (the provider mounts and the control
  API's resets, waits and health: their handlers never ask for the current task, as anyio's task
  groups, worker threads and Starlette's streaming and file responses do), the application is
  run right there, in a copy of the context as a task would be, and the response's writes are
  held and sent as one. If the application has to wait for anything (a long-poll, a stream, a
  webhook), the rest of it goes on as an ordinary task, with what it wrote so far sent first. A
  request whose head came without all of its body (httpx writes the two apart) waits for the
  rest and then runs inline, where the application's `waits_for_body(path, length)` allows it
  and nothing needs the application earlier: a declared length within the flow control's limit,
  no `Expect: 100-continue`. Any other body still to come, and a pipelined request started
  later, take a task as uvicorn starts it, so a refusal of a too-large body still goes out
  before the body is read.
- Every request's cycle is a `Cycle`: uvicorn's request-response cycle with the same checks
  and the same bytes on the wire (the status line, the server's default headers, a refusal of a
  header with a control character, `Content-Length` kept to, `connection: close` when the
  connection ends), for less work: the default headers are rendered once a second (uvicorn
  renews their date then), not per response, and the response's headers are checked with one
  pattern over the whole head instead of two per header.
- A request run inline whose bytes are exactly the chunk just received (its head and its whole
  body, nothing before or after) carries that chunk in its scope (`RAW_REQUEST`): the request
  journal keeps that one object instead of the parsed header pairs and the body, which a
  journal of a few thousand requests would otherwise keep alive as some fifteen objects each.
"""

from __future__ import annotations

import asyncio
import contextvars
import http
import re
import types
import urllib.parse
from typing import Any, Callable, Coroutine, Generator

import httptools
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from .params import headers_by_name

__all__ = ["InlineRequests", "Cycle", "RAW_REQUEST"]

RAW_REQUEST = "emulator.raw_request"  # scope key: the request's bytes as received (see above)

# A head's header lines as uvicorn allows them (its HEADER_RE for names, HEADER_VALUE_RE for
# values), all at once: a name cannot hold ':' or ' ', so where each line splits is certain, and
# counting the lines tells a value that holds a line break.
_HEADER_LINES = re.compile(rb'(?:[^\x00-\x1f\x7f()<>@,;:\[\]={} \t\\"]*: [^\x00-\x08\x0a-\x1f\x7f]*\r\n)*')
_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = http.HTTPStatus(status).phrase.encode()
        except ValueError:
            phrase = b""
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d %s\r\n" % (status, phrase)
    return line


class _Head:
    """Header lines rendered and checked, and what they said (as uvicorn's `send` reads them):
    a length, chunking, a `connection: close`. Rendered after other lines (the server's default
    headers before a response's own), it starts from what those said."""

    __slots__ = ("lines", "length", "chunked", "close")

    def __init__(self, headers: Any, after: _Head | None = None) -> None:
        self.length = after.length if after is not None else None
        self.chunked = after.chunked if after is not None else False
        self.close = after.close if after is not None else False
        lines = []
        for name, value in headers:
            name = name.lower()
            if name == b"content-length":
                if self.length is None and not self.chunked:
                    self.length = int(value.decode())
            elif name == b"transfer-encoding":
                if value.lower() == b"chunked":
                    self.length = None
                    self.chunked = True
            elif name == b"connection" and b"close" in [token.lower().strip() for token in value.split(b",")]:
                self.close = True
            lines.append(b"%s: %s\r\n" % (name, value))
        self.lines = b"".join(lines)  # a value with a line break in it would make two lines of one
        if _HEADER_LINES.fullmatch(self.lines) is None or self.lines.count(b"\n") != len(lines):
            raise RuntimeError("Invalid HTTP header name or value.")


# The server's default headers (`date`, `server`), rendered for the list they came from: uvicorn
# replaces the list when the date changes, once a second.
_defaults: tuple[Any, _Head] = ((), _Head(()))


def _default_head(source: list[tuple[bytes, bytes]]) -> _Head:
    global _defaults
    if source is not _defaults[0]:
        _defaults = (source, _Head(source))
    return _defaults[1]


class Cycle(RequestResponseCycle):
    """One request and its response on a connection: uvicorn's `RequestResponseCycle`, with a
    leaner `send` and writes that can be held (`hold`, `release`) while the request runs inline.
    Its attributes are uvicorn's, which the protocol reads and sets (`body`, `more_body`,
    `message_event`, `response_complete`, `disconnected`, `keep_alive`)."""

    def __init__(self, scope: Any, protocol: Any, keep_alive: bool, expect_100_continue: bool) -> None:
        self.scope = scope
        self.transport = protocol.transport
        self.flow = protocol.flow
        self.logger = protocol.logger
        self.access_logger = protocol.access_logger
        self.access_log = protocol.access_log
        self.default_headers = protocol.server_state.default_headers
        self.message_event = asyncio.Event()
        self.on_response = protocol.on_response_complete
        self.disconnected = False
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = expect_100_continue
        self.body = bytearray()
        self.more_body = True
        self.response_started = False
        self.response_complete = False
        self.chunked_encoding: bool | None = None
        self.expected_content_length = 0
        self.held: list[bytes] | None = None

    # -- writes ---------------------------------------------------------------------------
    def hold(self) -> None:
        """Keep what is written until `release`."""
        self.held = []

    def release(self) -> None:
        """Send what was held, in one write, and write directly from now on."""
        held, self.held = self.held, None
        if held:
            self.transport.write(held[0] if len(held) == 1 else b"".join(held))

    def _write(self, data: bytes) -> None:
        if self.held is not None:
            self.held.append(data)
        else:
            self.transport.write(data)

    def _close(self) -> None:
        self.release()
        self.transport.close()

    # -- the ASGI interface ---------------------------------------------------------------
    async def run_asgi(self, app: Any) -> None:
        try:
            result = await app(self.scope, self.receive, self.send)
        except BaseException as exc:
            self.logger.error("Exception in ASGI application\n", exc_info=exc)
            if not self.response_started:
                await self.send_500_response()
            else:
                self._close()
        else:
            if result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
                self._close()
            elif not self.response_started and not self.disconnected:
                self.logger.error("ASGI callable returned without starting response.")
                await self.send_500_response()
            elif not self.response_complete and not self.disconnected:
                self.logger.error("ASGI callable returned without completing response.")
                self._close()
        finally:
            self.on_response = lambda: None

    async def send(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started:
            if message["type"] != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{message['type']}'.")
            self._start(message)
        elif not self.response_complete:
            if message["type"] != "http.response.body":
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{message['type']}'.")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected ASGI message '{message['type']}' sent, after response already completed.")

    def _start(self, message: Any) -> None:
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        scope = self.scope
        if self.access_log:
            from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), scope["method"],
                                    get_path_with_query_string(scope), scope["http_version"], status)
        defaults = _default_head(self.default_headers)
        head = _head_of(message.get("headers", ()), defaults)
        lines = [_status_line(status), defaults.lines, head.lines]
        if head.close:
            self.keep_alive = False
        elif not self.keep_alive:
            lines.append(b"connection: close\r\n")
        if head.chunked:
            self.chunked_encoding = True
        elif head.length is not None:
            self.chunked_encoding = False
            self.expected_content_length = head.length
        elif scope["method"] != "HEAD" and status not in (204, 304):
            self.chunked_encoding = True  # neither a length nor chunking named
            lines.append(b"transfer-encoding: chunked\r\n")
        lines.append(b"\r\n")
        self._write(b"".join(lines))

    def _body(self, body: bytes, more_body: bool) -> None:
        if self.scope["method"] == "HEAD":
            self.expected_content_length = 0
        elif self.chunked_encoding:
            content = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
            if not more_body:
                content.append(b"0\r\n\r\n")
            self._write(b"".join(content))
        else:
            if len(body) > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= len(body)
            self._write(body)
        if not more_body:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self._close()
            self.on_response()

    async def receive(self) -> Any:
        if self.waiting_for_100_continue and not self.transport.is_closing():
            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            self.flow.resume_reading()
            event = self.message_event
            if not event.is_set():
                await event.wait()
            event.clear()
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        message = {"type": "http.request", "body": bytes(self.body), "more_body": self.more_body}
        self.body = bytearray()
        return message


# Heads by their headers (and what the default headers before them said, which is the same from
# one second to the next): an API's answers repeat a few heads (the same type, a few lengths).
_HEADS: dict[Any, _Head] = {}
_HEADS_KEPT = 1024


def _head_of(headers: Any, defaults: _Head) -> _Head:
    """The rendered and checked lines of a response's `headers` (raises RuntimeError for a bad
    name or value)."""
    if not isinstance(headers, (list, tuple)):
        headers = list(headers)  # any iterable, as ASGI allows: read once
    try:
        key = (tuple(headers), defaults.length, defaults.chunked, defaults.close)
        head = _HEADS.get(key)
    except TypeError:  # headers given as lists: rendered each time
        key, head = None, None
    if head is None:
        head = _Head(headers, defaults)
        if key is not None:
            if len(_HEADS) >= _HEADS_KEPT:
                _HEADS.clear()
            _HEADS[key] = head
    return head


def _never(*_: Any) -> bool:
    """What an application without `runs_inline` or `waits_for_body` answers."""
    return False


@types.coroutine
def _go_on(coroutine: Coroutine[Any, Any, Any], waiting_for: Any) -> Generator[Any, Any, Any]:
    """Drive `coroutine`, which has already run up to yielding `waiting_for`, as a task would."""
    while True:
        try:
            sent = yield waiting_for
        except BaseException as exc:  # a cancellation, thrown in by the task
            try:
                waiting_for = coroutine.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                waiting_for = coroutine.send(sent)
            except StopIteration as stop:
                return stop.value


async def _rest_of(coroutine: Coroutine[Any, Any, Any], waiting_for: Any) -> Any:
    return await _go_on(coroutine, waiting_for)


class InlineRequests:
    """Mixed in before uvicorn's `HttpToolsProtocol` (see the module's docstring); the header
    deadline's mixin (`header_deadline.py`), before this one, notes when headers begin and end."""

    _receiving = False  # inside data_received: a request started now may run inline
    _deferred: Any = None  # (cycle, app) whose body is still being parsed
    _chunk: bytes | None = None  # the bytes being parsed, when they began at a request's first byte
    _begun = 0  # requests begun in them
    _in_request = False  # between a request's first byte and its end

    def data_received(self, data: bytes) -> None:
        self._receiving = True
        self._chunk = None if self._in_request else data
        self._begun = 0
        try:
            super().data_received(data)  # type: ignore[misc]
        finally:
            self._receiving = False
            self._chunk = None
            deferred, self._deferred = self._deferred, None
            if deferred is not None:  # the body did not all come
                if self._in_request and self._waits_for_body(deferred[0]):
                    self._deferred = deferred  # run whole when the rest has come (on_message_complete)
                else:
                    super()._start_asgi_task(*deferred)  # type: ignore[misc]  # the usual task

    def _waits_for_body(self, cycle: Any) -> bool:
        """Whether a request whose head came without all of its body waits for the rest before
        it runs (inline then), instead of starting a task that waits: a body of a declared length
        the flow control never pauses for, no `Expect: 100-continue` (the client waits for the
        application's first read), and the application's `waits_for_body(path, length)`."""
        if self.expect_100_continue:  # type: ignore[attr-defined]
            return False
        length = headers_by_name(cycle.scope).get(b"content-length")
        if length is None or not length.isdigit() or len(length) > 6 or int(length) > HIGH_WATER_LIMIT:
            return False
        return self._hook("waits_for_body")(cycle.scope["path"], int(length))

    def on_headers_complete(self) -> None:
        parser = self.parser  # type: ignore[attr-defined]
        if self.limit_concurrency is not None or parser.should_upgrade():  # type: ignore[attr-defined]
            super().on_headers_complete()  # type: ignore[misc]  # uvicorn's own (503s, websockets)
            return
        scope = self.scope  # type: ignore[attr-defined]
        version = parser.get_http_version()
        scope["method"] = parser.get_method().decode("ascii")
        if version != "1.1":
            scope["http_version"] = version
        url = httptools.parse_url(self.url)  # type: ignore[attr-defined]
        raw_path = url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        root = self.root_path  # type: ignore[attr-defined]
        scope["path"] = root + path if root else path
        scope["raw_path"] = root.encode("ascii") + raw_path if root else raw_path
        scope["query_string"] = url.query or b""
        existing = self.cycle  # type: ignore[has-type]
        cycle = self.cycle = Cycle(scope, self, version != "1.0" and parser.should_keep_alive(), self.expect_100_continue)  # type: ignore[attr-defined]
        app = self.app  # type: ignore[attr-defined]
        if existing is not None and not existing.response_complete:  # pipelined: queued, as uvicorn does
            self.flow.pause_reading()  # type: ignore[attr-defined]
            self.pipeline.appendleft((cycle, app))  # type: ignore[attr-defined]
        else:
            self._start_asgi_task(cycle, app)

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if self._receiving and self._deferred is None:
            self._deferred = (cycle, app)  # run when the message is complete (see below)
        else:
            super()._start_asgi_task(cycle, app)  # type: ignore[misc]

    def on_message_begin(self) -> None:
        self._in_request = True
        self._begun += 1
        super().on_message_begin()  # type: ignore[misc]

    def on_message_complete(self) -> None:
        self._in_request = False
        super().on_message_complete()  # type: ignore[misc]
        deferred = self._deferred
        if deferred is not None and deferred[0] is self.cycle and self._hook("runs_inline")(deferred[0].scope["path"]):  # type: ignore[attr-defined]
            self._deferred = None
            self._run_inline(*deferred)

    def _hook(self, name: str) -> Callable[..., bool]:
        """The application's method `name` (looked for through wrappers' `.app`), or `_never`."""
        hooks = self.__dict__.setdefault("_hooks_of_app", {})
        found = hooks.get(name)
        if found is None:
            app = self.app  # type: ignore[attr-defined]
            while app is not None and not hasattr(app, name):
                app = getattr(app, "app", None)
            found = hooks[name] = getattr(app, name, _never)
        return found

    def _run_inline(self, cycle: Any, app: Any) -> None:
        context = contextvars.copy_context()  # what a task started here would run in
        held = isinstance(cycle, Cycle)
        if held:
            chunk = self._chunk
            if chunk is not None and self._begun == 1:
                head_end = chunk.find(b"\r\n\r\n")
                if head_end >= 0 and head_end + 4 + len(cycle.body) == len(chunk):
                    cycle.scope[RAW_REQUEST] = chunk  # exactly this request: its head, then its whole body
            cycle.hold()
        coroutine = cycle.run_asgi(app)
        try:
            waiting_for = context.run(coroutine.send, None)
        except StopIteration:
            return
        finally:
            if held:
                cycle.release()
        task = self.loop.create_task(_rest_of(coroutine, waiting_for), context=context)  # type: ignore[attr-defined]
        task.add_done_callback(self.tasks.discard)  # type: ignore[attr-defined]
        self.tasks.add(task)  # type: ignore[attr-defined]

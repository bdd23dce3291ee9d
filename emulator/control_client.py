"""Client-side help for the control API, shared by the pytest plugin and the scenario runner:
reading lists across pages, passing the control token of a shared emulator, and a lean
keep-alive connection (`ControlConnection`, a socket read with httptools) for the calls a test makes
most (the reset before it, its waits): some 60 us of the client's time a call, where an httpx
request takes 400 and `http.client` 150."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
from typing import Any, Callable, Iterator
from urllib.parse import urlencode, urlsplit

import httptools
import httpx

__all__ = ["collect", "ControlConnection", "ControlToken", "control_token_auth", "TOKEN_ENV", "TOKEN_HEADER"]

TOKEN_ENV = "TELCO_EMULATOR_CONTROL_TOKEN"
TOKEN_HEADER = "X-Telco-Emulator-Token"


class ControlToken(httpx.Auth):
    """httpx authentication that adds the control token to requests for `/_emulator/...` only:
    the providers' mounts never see it (nor record it in a request journal)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if "/_emulator" in request.url.path:
            request.headers[TOKEN_HEADER] = self.token
        yield request


def control_token_auth(token: str | None = None) -> ControlToken | None:
    """`token`, else the `TELCO_EMULATOR_CONTROL_TOKEN` environment variable, as httpx auth;
    None when there is neither (an emulator without a token)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    return ControlToken(token) if token else None


def collect(fetch: Callable[[dict[str, str]], dict[str, Any]], params: dict[str, str], limit: int = 100) -> list[dict[str, Any]]:
    """Up to `limit` records of a control-API list, newest first. `fetch(params)` answers one
    page; `next` is followed, since a filtered list can answer short (even empty) pages before
    the end (the server looks at a bounded number of records per request)."""
    items: list[dict[str, Any]] = []
    cursor = params.get("cursor", "")
    while len(items) < limit:
        page = fetch({**params, "limit": str(min(1000, limit - len(items))), "cursor": cursor})
        items += page["data"]
        if page["next"] is None:
            break
        cursor = page["next"]
    return items[:limit]


class _Answer:
    """What httptools reads of one response: its body, whether it is complete, and whether the
    connection stays open after it (asked of the parser while it is still on this response)."""

    __slots__ = ("parts", "complete", "keep_alive", "parser")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.parser: Any = httptools.HttpResponseParser(self)

    def on_body(self, data: bytes) -> None:
        self.parts.append(data)

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()


class _Wire:
    """One keep-alive HTTP/1.1 connection: a socket, and httptools to read each answer (a quarter
    of the client's time that `http.client`, which parses headers with the `email` package, takes
    for the same request)."""

    def __init__(self, host: str, port: int, https: bool) -> None:
        self.host, self.port, self.https = host, port, https
        self.sock: socket.socket | None = None

    def send(self, data: bytes, timeout: float) -> None:
        if self.sock is None:
            sock = socket.create_connection((self.host, self.port), timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.https:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            self.sock = sock
        self.sock.settimeout(timeout)
        self.sock.sendall(data)

    def read(self) -> tuple[int, bytes]:
        """The status and body of the next answer; the connection is closed after it when the
        server says so. Raises `RemoteDisconnected` when the server closed the connection before
        any of it came, and `IncompleteRead` when it closed it in the middle."""
        if self.sock is None:
            raise http.client.RemoteDisconnected("no connection to read an answer from")
        answer = _Answer()
        received = 0
        while not answer.complete:
            data = self.sock.recv(65536)
            if not data:
                self.close()
                if received:
                    raise http.client.IncompleteRead(b"".join(answer.parts))
                raise http.client.RemoteDisconnected("the emulator closed the connection without answering")
            received += len(data)
            try:
                answer.parser.feed_data(data)
            except httptools.HttpParserError as exc:
                self.close()
                raise http.client.HTTPException(f"an unreadable answer from the emulator: {exc}") from None
        status = answer.parser.get_status_code()
        answer.parser = None  # the two refer to each other: let them go without the collector
        if not answer.keep_alive:
            self.close()
        return status, b"".join(answer.parts)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class ControlConnection:
    """Requests to `<url>/_emulator` over one keep-alive connection per thread (a wait in one
    thread never holds up a clock move in another), with the control token when there is one.
    A connection the server has closed meanwhile (an idle keep-alive timing out between tests)
    is opened again once, before any answer was read."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/") + "/_emulator"
        self.timeout = timeout
        token = token or os.environ.get(TOKEN_ENV) or None
        head = f"Host: {parts.netloc}\r\nAccept: application/json\r\n" + (f"{TOKEN_HEADER}: {token}\r\n" if token else "")
        self._head = head.encode("latin-1")
        self._local = threading.local()
        self._opened: list[_Wire] = []

    def _connection(self) -> _Wire:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _Wire(self.host, self.port, self.https)
            self._opened.append(connection)
        return connection

    def _prepare(self, method: str, path: str, params: dict[str, Any] | None, body: Any, minimal: bool = False) -> bytes:
        """The request's bytes: its line, the connection's headers, and the body as JSON; with
        `minimal`, asking for an answer without a body (`Prefer: return=minimal`)."""
        target = self.prefix + path + ("?" + urlencode(params) if params else "")
        head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1") + self._head
        if minimal:
            head += b"Prefer: return=minimal\r\n"
        if body is not None:
            payload = json.dumps(body).encode()
            return head + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload
        if method in ("POST", "PUT", "PATCH"):
            return head + b"Content-Length: 0\r\n\r\n"
        return head + b"\r\n"

    def send_ahead(self, method: str, path: str, minimal: bool = False) -> None:
        """Send `method /_emulator<path>` now and read its answer later (`collect_ahead`, or
        before the next request of this thread), so the emulator does the work while the caller
        does its own. A failure to send is kept quiet: `collect_ahead` then answers None."""
        self.collect_ahead()
        connection = self._connection()
        try:
            connection.send(self._prepare(method, path, None, None, minimal), self.timeout)
        except (OSError, http.client.HTTPException):
            connection.close()
            return
        self._local.ahead = (method, path)

    def collect_ahead(self, expected: tuple[str, str] | None = None) -> tuple[int, bytes] | None:
        """The answer of the request `send_ahead` sent on this thread (when it was `expected`,
        if given), or None when there is none or the connection failed meanwhile."""
        ahead = getattr(self._local, "ahead", None)
        if ahead is None:
            return None
        self._local.ahead = None
        connection = self._connection()
        try:
            answer = connection.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            return None
        return answer if expected is None or ahead == expected else None

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                timeout: float | None = None, minimal: bool = False) -> tuple[int, bytes]:
        """(status, body) of `method /_emulator<path>?params` with `body` sent as JSON (see
        `_prepare` for `minimal`)."""
        self.collect_ahead()
        data = self._prepare(method, path, params, body, minimal)
        for attempt in (1, 2):
            connection = self._connection()
            reused = connection.sock is not None
            try:
                connection.send(data, timeout or self.timeout)
                return connection.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                if attempt == 2 or not reused:
                    raise
            except BaseException:
                connection.close()  # a timeout or an interrupted read leaves the connection unusable
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.collect_ahead()
        for connection in self._opened:
            connection.close()
        self._opened.clear()
        self._local = threading.local()

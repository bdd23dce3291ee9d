"""Client-side help for the control API, shared by the pytest plugin and the scenario runner:
reading lists across pages, passing the control token of a shared emulator, and a lean
keep-alive connection (`ControlConnection`) for the calls a test makes most (the reset before it,
its waits): a third of what an httpx request costs on the client side."""

from __future__ import annotations

import http.client
import json
import os
import threading
from typing import Any, Callable, Iterator
from urllib.parse import urlencode, urlsplit

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
        self.headers = {"Host": parts.netloc, "Accept": "application/json", **({TOKEN_HEADER: token} if token else {})}
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            connection = self._local.connection = kind(self.host, self.port, timeout=self.timeout)
            self._opened.append(connection)
        return connection

    def _prepare(self, method: str, path: str, params: dict[str, Any] | None, body: Any) -> tuple[str, dict[str, str], bytes | None]:
        target = self.prefix + path + ("?" + urlencode(params) if params else "")
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT", "PATCH"):
            payload = b""
        return target, headers, payload

    def send_ahead(self, method: str, path: str) -> None:
        """Send `method /_emulator<path>` now and read its answer later (`collect_ahead`, or
        before the next request of this thread), so the emulator does the work while the caller
        does its own. A failure to send is kept quiet: `collect_ahead` then answers None."""
        self.collect_ahead()
        target, headers, payload = self._prepare(method, path, None, None)
        connection = self._connection()
        try:
            connection.request(method, target, body=payload, headers=headers)
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
            response = connection.getresponse()
            answer = response.status, response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            return None
        return answer if expected is None or ahead == expected else None

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                timeout: float | None = None) -> tuple[int, bytes]:
        """(status, body) of `method /_emulator<path>?params` with `body` sent as JSON."""
        self.collect_ahead()
        target, headers, payload = self._prepare(method, path, params, body)
        for attempt in (1, 2):
            connection = self._connection()
            reused = connection.sock is not None
            try:
                connection.timeout = timeout or self.timeout
                if connection.sock is not None:
                    connection.sock.settimeout(connection.timeout)
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, http.client.CannotSendRequest):
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

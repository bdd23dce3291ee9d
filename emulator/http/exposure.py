"""What keeps the emulator safe to expose: the checks on requests to the control API and the
inbox, and the bound on every request body.

Everything outside the providers' mounts (`/_emulator/...`, the inbox, the root redirect) is
checked here before it is routed:

- **Host.** A web page on another site can make a browser send requests to the emulator under
  the page's own name (DNS rebinding: `evil.example` first resolves to the attacker, then to
  127.0.0.1) and read the answers, `/_emulator/snapshot` with every credential among them. So only
  names that cannot be rebound are answered: `localhost` and `*.localhost` (browsers resolve
  them to loopback themselves), IP literals (a page served from an address is served by whatever
  listens there: the emulator itself), a request without a `Host`, and the names given with
  `--allowed-hosts` (`name`, `.suffix` for a domain and its subdomains, `*` for any).
- **Cross-site writes.** A `POST`/`PUT`/`PATCH`/`DELETE` that a browser sends for another site
  (a form posted from a page elsewhere, which needs no CORS permission) is refused: when its
  `Sec-Fetch-Site` is `cross-site`, or it has an `Origin` that is neither the request's own
  `Host` nor a name given with `--allowed-hosts`. Browsers send `Origin` with every such
  request; clients that are not browsers (curl, SDKs, the pytest plugin) send none and pass.
- **Token.** With `--control-token`, every request needs it (`Authorization: Bearer <token>`,
  `X-Telco-Emulator-Token: <token>`, or the inbox's cookie), except `GET /_emulator/health`
  (for probes) and the root redirect. A person opens `/_emulator/ui?token=<token>` once: the
  answer sets an HttpOnly, SameSite=Strict cookie for `/_emulator` and redirects to the inbox
  without the token in its address.

The providers' mounts (`/a1`, `/api`) are never checked here: SDKs and the transparent HTTPS
proxy send the real providers' host names there, and their own credentials protect them.

Every request, on every mount, may carry at most `max_body_size` bytes of body: a declared
`Content-Length` above it is answered 413 before any of the body is read, a chunked body is
counted as it arrives and refused when it goes over (`BodyTooLarge`, rendered by the mount's own
error renderer), and the connection is closed after that answer rather than read to its end.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Iterable
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import Message, Receive, Scope

from ..core.errors import BodyTooLarge
from .params import headers_by_name
from .reasons import refused

__all__ = [
    "HostPolicy",
    "ExposureGuard",
    "TOKEN_HEADER",
    "TOKEN_COOKIE",
    "OPEN_PATHS",
    "declared_too_large",
    "bounded_receive",
    "is_loopback_host",
]

TOKEN_HEADER = "X-Telco-Emulator-Token"
TOKEN_COOKIE = "telco_emulator_token"
CONTROL_PREFIX = "/_emulator"
INBOX_PREFIX = "/_emulator/ui"
# Answered without the token (still only under an allowed Host): a probe's health check and the
# root, which only redirects to the inbox.
OPEN_PATHS = frozenset({"/_emulator/health", "/_emulator/health/", "/"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def declared_too_large(by_name: dict[bytes, bytes], limit: int) -> bool:
    """Whether the request declares a body longer than `limit` bytes. (An unreadable
    `Content-Length` never reaches the app: the server refuses it.)"""
    length = by_name.get(b"content-length")
    if length is None:
        return False
    try:
        return int(length) > limit
    except ValueError:
        return False


def bounded_receive(receive: Receive, limit: int) -> Receive:
    """`receive`, raising `BodyTooLarge` once more than `limit` bytes of body have come in."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return bounded


def _split_host(value: str) -> str | None:
    """The name of a `Host` value (`name[:port]`, `[v6]:port`), lower case, without a final dot;
    None when it is not one."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1:] and not _is_port(value[end + 1:])):
            return None
        return value[1:end]
    name, colon, port = value.partition(":")
    if colon and not _is_port(":" + port):
        return None
    name = name[:-1] if name.endswith(".") else name
    return name or None


def _is_port(text: str) -> bool:
    return text.startswith(":") and text[1:].isascii() and text[1:].isdigit() and len(text) <= 6


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """Whether a bind address reaches this machine only (`127.0.0.1`, `::1`, `localhost`)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


MAX_REMEMBERED_HOSTS = 256  # distinct Host values whose verdict is kept (then forgotten all at once)


class HostPolicy:
    """Which `Host` names the control API and the inbox answer, and which `Origin`s may change
    state through them."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        names = [name.strip().lower().rstrip(".") for name in allowed if name.strip()]
        self.any = "*" in names
        # a port given with a name (`emulator:8046`) is ignored, as in the check itself
        self.exact = frozenset(_split_host(name) or name for name in names if name != "*" and not name.startswith("."))
        self.suffixes = tuple(name for name in names if name.startswith(".") and len(name) > 1)
        self._verdicts: dict[bytes, bool] = {}  # Host value -> allowed: a client sends the same one every time

    def _listed(self, name: str) -> bool:
        return name in self.exact or any(name == suffix[1:] or name.endswith(suffix) for suffix in self.suffixes)

    def allows_host(self, host: bytes | None) -> bool:
        if host is None or self.any:
            return True
        verdict = self._verdicts.get(host)
        if verdict is None:
            if len(self._verdicts) >= MAX_REMEMBERED_HOSTS:
                self._verdicts.clear()
            verdict = self._verdicts[host] = self._judge_host(host)
        return verdict

    def _judge_host(self, host: bytes) -> bool:
        name = _split_host(host.decode("latin-1"))
        if name is None:
            return False
        return name == "localhost" or name.endswith(".localhost") or _is_ip(name) or self._listed(name)

    def allows_origin(self, origin: bytes, host: bytes | None) -> bool:
        """An `Origin` is the emulator's own when it names the same host and port as the request's
        `Host` (the inbox's own calls), or a name given with `--allowed-hosts` (the emulator
        behind a reverse proxy that rewrites `Host`). Never `null`, never by `*` alone."""
        text = origin.decode("latin-1").strip().lower()
        scheme, separator, authority = text.partition("://")
        if not separator or scheme not in ("http", "https") or not authority or "/" in authority:
            return False
        if host is not None and authority == host.decode("latin-1").strip().lower():
            return True
        name = _split_host(authority)
        return name is not None and self._listed(name)


class ExposureGuard:
    """The checks on a request outside the providers' mounts: `refusal(scope)` is the answer to
    give instead of routing it, or None to let it through."""

    def __init__(self, allowed_hosts: Iterable[str] = (), control_token: str | None = None) -> None:
        self.hosts = HostPolicy(allowed_hosts)
        self.token = control_token.encode("ascii") if control_token else None

    def refusal(self, scope: Scope, path: str) -> Response | None:
        """`path`: the request's path under the application's root path."""
        headers = headers_by_name(scope)
        host = headers.get(b"host")
        if not self.hosts.allows_host(host):
            shown = host.decode("latin-1") if host is not None else ""
            name = _split_host(shown) or shown
            return _refused(403, "HostNotAllowed", (
                f"The Host {shown!r} may not reach the control API or the inbox (a guard against DNS rebinding). "
                f"To allow it, start the emulator with --allowed-hosts {name} (or TELCO_EMULATOR_ALLOWED_HOSTS={name})."
            ))
        if scope["method"] in UNSAFE_METHODS:
            if headers.get(b"sec-fetch-site", b"").lower() == b"cross-site":
                return _refused(403, "CrossSiteRequest", "A browser request from another site may not change the emulator's state.")
            origin = headers.get(b"origin")
            if origin is not None and not self.hosts.allows_origin(origin, host):
                return _refused(403, "CrossSiteRequest", (
                    f"A request from the page {origin.decode('latin-1')!r} may not change the emulator's state: "
                    "only the emulator's own pages and the origins of --allowed-hosts may."
                ))
        if self.token is None or path in OPEN_PATHS:
            return None
        if self._carries_token(headers):
            return None
        if scope["method"] == "GET" and path.startswith(INBOX_PREFIX):
            return self._sign_in(scope, path)
        return self._unauthorized(path)

    def _carries_token(self, headers: dict[bytes, bytes]) -> bool:
        assert self.token is not None
        given = headers.get(b"x-telco-emulator-token")
        if given is None:
            authorization = headers.get(b"authorization", b"")
            scheme, _, value = authorization.partition(b" ")
            if scheme.lower() == b"bearer":
                given = value.strip()
        if given is None:
            given = _cookie(headers.get(b"cookie", b""), TOKEN_COOKIE.encode("ascii"))
        return given is not None and hmac.compare_digest(given, self.token)

    def _sign_in(self, scope: Scope, path: str) -> Response:
        """`GET /_emulator/ui...?token=<token>`: the cookie, and the same address without the token."""
        query = [(key, value) for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)]
        given = next((value for key, value in query if key == "token"), None)
        if given is None or not hmac.compare_digest(given.encode("latin-1"), self.token or b""):
            return self._unauthorized(path)
        rest = urlencode([(key, value) for key, value in query if key != "token"])
        root = scope.get("root_path", "")
        response = RedirectResponse(root + path + ("?" + rest if rest else ""), status_code=303)
        response.set_cookie(TOKEN_COOKIE, given, path=root + CONTROL_PREFIX, httponly=True, samesite="strict")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @staticmethod
    def _unauthorized(path: str) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="telco-emulator"'}
        if path.startswith(INBOX_PREFIX):
            return refused(PlainTextResponse(
                "This emulator is shared with a control token. Open /_emulator/ui?token=<token> once: "
                "a cookie keeps this browser signed in.\n", status_code=401, headers=headers,
            ), "this emulator is shared with a control token: open /_emulator/ui?token=<token> once")
        return _refused(401, "TokenRequired", (
            f"This emulator asks for its control token: send 'Authorization: Bearer <token>' or '{TOKEN_HEADER}: <token>' "
            "(the pytest plugin and the replay command read TELCO_EMULATOR_CONTROL_TOKEN)."
        ), headers)


def _refused(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


def _cookie(header: bytes, name: bytes) -> bytes | None:
    for part in header.split(b";"):
        key, separator, value = part.strip().partition(b"=")
        if separator and key == name:
            return value.strip().strip(b'"')
    return None

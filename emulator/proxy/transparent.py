"""Transparent HTTPS mode: an HTTP proxy that answers for the providers' real hosts itself.

A client run with `HTTPS_PROXY=http://127.0.0.1:PORT` and the emulator's CA bundle sends
`CONNECT api.46elks.com:443`; the proxy terminates TLS with a certificate for that host (issued by
the local CA of `proxy_ca`), reads the decrypted HTTP/1.1 requests with h11 and answers each one by
calling the emulator's own ASGI app in this event loop, with the scheme `https` and the client's
Host header, so the app sees `https://gateway.seven.io/api/sms` exactly as the client addressed it
(seven.io request signatures cover the full URL). Plain-HTTP proxy requests
(`GET http://api.46elks.com/a1/me`, or `GET https://...` as axios sends it) are answered the same
way, with the scheme of their URL.

Nothing is ever forwarded: a CONNECT to any other host or port, or a plain request for any other
host, gets 403 with a short text and the connection is closed.

The proxy holds clients to the main server's limits: a request's headers (the CONNECT's, then each
request's in the tunnel) must all arrive within `header_timeout` seconds of its first byte (of the
connection's opening, for the first request), or the connection is closed (`--header-timeout`);
and at most `max_body_size` bytes of a body are read (`--max-body-size`). A body declared larger
reaches the app unread, a chunked one with its first `max_body_size + 1` bytes: the app refuses
either with 413 in the provider's own shape, and the proxy closes the connection after that
answer instead of reading the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import unquote, urlsplit

import h11

from ..settings import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY_SIZE

__all__ = ["PROVIDER_HOSTS", "ProviderProxy", "ProxyListener", "ProxySetupError", "prepare_proxy"]

# Host -> the mount that serves it: https://api.46elks.com/a1/... is /a1/... of the emulator.
PROVIDER_HOSTS: Mapping[str, str] = {
    "api.46elks.com": "/a1",
    "gateway.seven.io": "/api",
    "gateway.sms77.io": "/api",  # seven.io's former name; older clients still call it
}
TLS_PORT = 443
PLAIN_PORT = 80
IDLE_TIMEOUT = 60.0  # seconds a connection may wait for the client's next bytes
HANDSHAKE_TIMEOUT = 10.0
MAX_HEAD = 64 * 1024
_DROPPED_HEADERS = {b"proxy-connection", b"proxy-authorization"}
REFUSAL = (
    "telco-emulator's proxy only answers for {hosts} (ports 443 and 80); "
    "it never forwards requests anywhere else.\n"
).format(hosts=", ".join(PROVIDER_HOSTS))

log = logging.getLogger("uvicorn.error")


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    raw_path: bytes
    query: bytes


class ProviderProxy:
    """Serves proxy connections: `handle` is the callback of `asyncio.start_server`."""

    def __init__(
        self, app, contexts: Mapping[str, ssl.SSLContext], *,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE, header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    ) -> None:
        self.app = app
        self.contexts = contexts
        self.max_body_size = max_body_size
        self.header_timeout = header_timeout

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except _Refused as refusal:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write(_plain_response(refusal.status, refusal.text))
                await writer.drain()
        except h11.RemoteProtocolError as exc:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write(_plain_response(exc.error_status_hint, "Bad request.\n"))
                await writer.drain()
        except asyncio.LimitOverrunError:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write(_plain_response(431, "Request head too large.\n"))
                await writer.drain()
        except (OSError, ssl.SSLError, EOFError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                h11.ProtocolError) as exc:
            log.debug("proxy connection ended: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _address(writer.get_extra_info("peername"))
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        # Only the head is read: the bytes after a CONNECT belong to the TLS handshake.
        conn.receive_data(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.header_timeout))
        first = conn.next_event()
        if not isinstance(first, h11.Request):
            raise _Refused(400, "Bad request.\n")
        if first.method == b"CONNECT":
            host = self._tunnel_host(first.target)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await writer.start_tls(self.contexts[host], ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
            await self._serve_requests(h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD), reader, writer, peer, tunnel=host)
        else:
            await self._serve_requests(conn, reader, writer, peer, tunnel=None, first=first)

    def _tunnel_host(self, authority: bytes) -> str:
        host, port = _split_authority(authority.decode("ascii", "replace"))
        if host not in PROVIDER_HOSTS or port != TLS_PORT:
            log.info("proxy refused CONNECT %s", authority.decode("ascii", "replace"))
            raise _Refused(403, REFUSAL)
        return host

    async def _serve_requests(self, conn: h11.Connection, reader, writer, peer, *, tunnel: str | None, first: h11.Request | None = None) -> None:
        request = first
        first_in_tunnel = tunnel is not None
        while True:
            if request is None:
                event = await _next_request(conn, reader, self.header_timeout, first_in_tunnel=first_in_tunnel)
                first_in_tunnel = False
                if isinstance(event, h11.ConnectionClosed):
                    return
                if not isinstance(event, h11.Request):
                    raise _Refused(400, "Bad request.\n")
                request = event
            target = self._target(request, tunnel)
            if _declared_length(request) > self.max_body_size:
                body = b""  # the app refuses it from its Content-Length alone
            else:
                if conn.they_are_waiting_for_100_continue:
                    writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                body = await _read_body(conn, reader, self.max_body_size)
            status, headers, content = await self._answer(request, target, body, peer)
            writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
            if content:
                writer.write(conn.send(h11.Data(data=content)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
            request = None

    def _target(self, request: h11.Request, tunnel: str | None) -> _Target:
        raw = request.target
        if raw.startswith(b"/") and tunnel is not None:
            path, _, query = raw.partition(b"?")
            return _Target("https", tunnel, TLS_PORT, path, query)
        parts = urlsplit(raw.decode("ascii", "replace"))
        host = (parts.hostname or "").rstrip(".")
        try:
            port = parts.port
        except ValueError:
            port = -1
        # Outside a tunnel some clients (axios) send `GET https://host/...` in the clear: answered
        # like the same request through a tunnel.
        default_port = {"http": PLAIN_PORT, "https": TLS_PORT}.get(parts.scheme)
        allowed = host == tunnel and parts.scheme == "https" if tunnel else host in PROVIDER_HOSTS
        if not allowed or default_port is None or (port or default_port) != default_port:
            log.info("proxy refused %s %s", request.method.decode(), raw.decode("ascii", "replace"))
            raise _Refused(403, REFUSAL)
        return _Target(parts.scheme, host, default_port, (parts.path or "/").encode(), parts.query.encode())

    async def _answer(self, request: h11.Request, target: _Target, body: bytes, peer) -> tuple[int, list, bytes]:
        mount = PROVIDER_HOSTS[target.host]
        path = unquote(target.raw_path.decode("latin-1"))
        if not (path.lower() == mount or path.lower().startswith(mount + "/")):
            return 404, [(b"content-type", b"text/plain; charset=utf-8")], b"Not found.\n"
        headers = [(name.lower(), value) for name, value in request.headers if name.lower() not in _DROPPED_HEADERS]
        if not any(name == b"host" for name, _ in headers):
            headers.append((b"host", target.host.encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode(),
            "method": request.method.decode(),
            "scheme": target.scheme,
            "path": path,
            "raw_path": target.raw_path,
            "query_string": target.query,
            "root_path": "",
            "headers": headers,
            "client": peer,
            "server": (target.host, target.port),
            "extensions": {},
            "state": {},
        }
        status, response_headers, chunks = await _call_asgi(self.app, scope, body)
        content = b"".join(chunks)
        if request.method != b"HEAD" and not any(name.lower() == b"content-length" for name, _ in response_headers):
            response_headers.append((b"content-length", str(len(content)).encode()))
        return status, response_headers, content


async def _call_asgi(app, scope: dict, body: bytes) -> tuple[int, list, list[bytes]]:
    """Run one request through the ASGI app and collect its whole response."""
    start: dict | None = None
    chunks: list[bytes] = []
    delivered = False
    finished = asyncio.Event()

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(scope, receive, send)
    except Exception:
        log.exception("Exception in ASGI application (through the proxy)")
        if start is None:
            return 500, [(b"content-type", b"text/plain; charset=utf-8")], [b"Internal error in the emulator.\n"]
    finally:
        finished.set()
    if start is None:
        return 500, [(b"content-type", b"text/plain; charset=utf-8")], [b"The emulator sent no response.\n"]
    return start["status"], list(start.get("headers", [])), chunks


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader):
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT))


async def _next_request(conn: h11.Connection, reader: asyncio.StreamReader, header_timeout: float, *, first_in_tunnel: bool):
    """The next request's head (or the end of the connection). The wait for its first byte is
    bounded by IDLE_TIMEOUT (by `header_timeout` for a tunnel's first request); the whole head
    must then arrive within `header_timeout` of that first byte."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + header_timeout if first_in_tunnel else None
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        if deadline is None and conn.trailing_data[0]:  # part of a head is already here
            deadline = loop.time() + header_timeout
        timeout = IDLE_TIMEOUT if deadline is None else deadline - loop.time()
        if timeout <= 0:
            raise asyncio.TimeoutError("the request's headers took too long to arrive")
        conn.receive_data(await asyncio.wait_for(reader.read(65536), timeout))


def _declared_length(request: h11.Request) -> int:
    """The request's Content-Length, or -1 without one (h11 has checked that it is a number)."""
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return -1


async def _read_body(conn: h11.Connection, reader: asyncio.StreamReader, limit: int) -> bytes:
    """The request's body, or its first `limit + 1` bytes when it is longer: enough for the app
    to refuse it, without reading (and holding) the rest."""
    parts: list[bytes] = []
    size = 0
    while True:
        event = await _next_event(conn, reader)
        if isinstance(event, h11.EndOfMessage):
            return b"".join(parts)
        if isinstance(event, h11.Data):
            parts.append(bytes(event.data))
            size += len(event.data)
            if size > limit:
                return b"".join(parts)[: limit + 1]
        elif isinstance(event, h11.ConnectionClosed):
            raise EOFError("client closed the connection in the middle of a request")


def _plain_response(status: int, text: str) -> bytes:
    reason = {400: "Bad Request", 403: "Forbidden", 413: "Content Too Large", 431: "Request Header Fields Too Large"}.get(status, "Error")
    body = text.encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _split_authority(authority: str) -> tuple[str, int]:
    host, _, port = authority.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):
        return authority.lower().rstrip("."), -1
    return host.strip("[]").lower().rstrip("."), int(port)


def _address(peer) -> tuple[str, int] | None:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None


class ProxySetupError(Exception):
    """The proxy cannot start: its CA directory is unusable or its port is taken."""


@dataclass
class ProxyListener:
    """The proxy's bound socket and TLS contexts, made before the server starts."""

    sock: socket.socket
    contexts: Mapping[str, ssl.SSLContext]
    url: str
    bundle_path: str

    async def start(
        self, app, *, max_body_size: int = DEFAULT_MAX_BODY_SIZE, header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    ) -> asyncio.AbstractServer:
        """Serve the proxy in the running event loop, answering from `app` with the same limits
        on bodies and header times as the main server."""
        proxy = ProviderProxy(app, self.contexts, max_body_size=max_body_size, header_timeout=header_timeout)
        return await asyncio.start_server(proxy.handle, sock=self.sock, limit=MAX_HEAD)


def prepare_proxy(host: str, port: int, ca_dir: str | None) -> ProxyListener:
    """Load (or create) the CA, issue the hosts' certificates and bind the proxy's port."""
    try:
        from .ca import CAError, load_or_create_ca
    except ImportError as exc:  # trustme (and its cryptography) missing from this install
        raise ProxySetupError(f"the proxy needs the package {exc.name!r}: pip install trustme") from None
    try:
        authority = load_or_create_ca(ca_dir)
    except CAError as exc:
        raise ProxySetupError(str(exc)) from None
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        hint = "; another process listens there: stop it, or pass --proxy 0 for any free port" if exc.errno == errno.EADDRINUSE else ""
        raise ProxySetupError(f"cannot listen for the proxy on {host}:{port}: {exc.strerror or exc}{hint}") from None
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    contexts = authority.server_contexts(PROVIDER_HOSTS)
    return ProxyListener(sock, contexts, f"http://{shown_host}:{bound_port}", str(authority.bundle_path))

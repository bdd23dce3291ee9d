"""The HTTP transport of the webhook outbox: keep-alive HTTP/1.1 connections on asyncio streams,
spoken with h11, behind httpx's transport interface.

httpx's default pool spends most of its time in bookkeeping that grows with the number of
requests in flight; an outbox with hundreds of deliveries in flight then sends a few hundred a
second. This transport keeps a stack of idle connections per origin (up to 200: as many as
the outbox may have in flight to one destination, so a busy one reconnects nothing) and
nothing else, so delivery throughput is bounded by the receiver. A connection that was idle may have been closed
by the receiver meanwhile: one whose receiver has hung up is dropped when next taken, and a
request that still fails on a reused connection is retried once on a fresh one. Connections idle
for `IDLE_SECONDS` are closed (looked for at most every `_SWEEP_SECONDS`, when a request comes),
so receivers that come and go (a test suite starts one per test, each on a new port) do not
leave their connections open for the life of the process.

What a receiver can cost is bounded. One deadline (the request's timeout) covers taking a
connection, sending the request and reading the whole answer, so a receiver that trickles its
answer cannot hold an attempt past its timeout. At most `max_answer` bytes of an answer's body
are read (64 KiB unless told otherwise): the rest is never read or buffered; the connection is
closed instead of drained and never goes back to the idle pool, and the response carries the
extension `"truncated": True` with the first `max_answer` bytes as its content. An answer is
returned as it came, never decoded: its `Content-Encoding` is left out of the response's headers,
since 64 KiB of gzip could expand to a thousand times that.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import h11
import httpx

from .webhooks import MAX_ANSWER_BYTES

__all__ = ["StreamTransport", "MAX_ANSWER_BYTES"]

_READ_SIZE = 65_536
_MAX_IDLE_PER_ORIGIN = 200  # as many as the outbox may have in flight: a busy destination reconnects nothing
IDLE_SECONDS = 30.0  # longer than most receivers keep an idle connection open anyway
_SWEEP_SECONDS = 5.0

Origin = tuple[str, str, int]


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection
    idle_since: float = 0.0

    def close(self) -> None:
        self.writer.close()


class StreamTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_answer: int = MAX_ANSWER_BYTES) -> None:
        self.max_answer = max_answer
        self._idle: dict[Origin, list[_Connection]] = {}  # per origin, the most recently idle last
        self._ssl: ssl.SSLContext | None = None
        self._next_sweep = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}", request=request)
        origin: Origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeout = (request.extensions.get("timeout") or {}).get("read") or 5.0
        body = await request.aread()
        self._sweep()
        try:
            async with asyncio.timeout(timeout):
                connection = self._take_idle(origin)
                if connection is not None:
                    try:
                        return await self._exchange(connection, origin, request, body)
                    except (httpx.RemoteProtocolError, ConnectionError):
                        pass  # the receiver closed the idle connection: one more try, on a new one
                connection = await self._connect(origin, request)
                return await self._exchange(connection, origin, request, body)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer within {timeout:g} s", request=request) from None

    async def _connect(self, origin: Origin, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host if context else None)
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return _Connection(reader, writer, h11.Connection(h11.CLIENT))

    async def _exchange(self, connection: _Connection, origin: Origin, request: httpx.Request, body: bytes) -> httpx.Response:
        protocol = connection.protocol
        try:
            headers = [(name, value) for name, value in request.headers.raw]
            target = request.url.raw_path
            data = protocol.send(h11.Request(method=request.method, target=target, headers=headers))
            if body:
                data += protocol.send(h11.Data(data=body))
            data += protocol.send(h11.EndOfMessage())
            connection.writer.write(data)
            await connection.writer.drain()
            response: h11.Response | None = None
            answer = bytearray()  # one buffer: a receiver's tiny chunks cost no object each
            truncated = False
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    received = await connection.reader.read(_READ_SIZE)
                    protocol.receive_data(received)
                    continue
                if isinstance(event, h11.Response):
                    response = event
                elif isinstance(event, h11.Data):
                    answer += event.data
                    if len(answer) > self.max_answer:
                        truncated = True  # the rest is not read: the connection is closed below
                        break
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise httpx.RemoteProtocolError("the server closed the connection", request=request)
        except h11.ProtocolError as exc:
            connection.close()
            raise httpx.RemoteProtocolError(str(exc) or "invalid HTTP", request=request) from None
        except BaseException:
            connection.close()
            raise
        assert response is not None
        if truncated:
            connection.close()
            content = bytes(answer[: self.max_answer])
        else:
            content = bytes(answer)
            self._release(connection, origin)
        return httpx.Response(
            response.status_code,
            headers=[(bytes(name), bytes(value)) for name, value in response.headers if name != b"content-encoding"],
            content=content,
            request=request,
            extensions={"truncated": truncated},
        )

    def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.reader.at_eof():
                return connection
            connection.close()  # its receiver hung up meanwhile
        return None

    def _release(self, connection: _Connection, origin: Origin) -> None:
        protocol = connection.protocol
        if protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
            idle = self._idle.setdefault(origin, [])
            if len(idle) < _MAX_IDLE_PER_ORIGIN:
                connection.idle_since = asyncio.get_running_loop().time()
                idle.append(connection)
                return
        connection.close()

    def _sweep(self) -> None:
        """Close the connections idle for IDLE_SECONDS, and forget origins left with none."""
        now = asyncio.get_running_loop().time()
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_SECONDS
        for origin, idle in list(self._idle.items()):
            stale = 0
            while stale < len(idle) and now - idle[stale].idle_since >= IDLE_SECONDS:
                idle[stale].close()
                stale += 1
            del idle[:stale]
            if not idle:
                del self._idle[origin]

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()

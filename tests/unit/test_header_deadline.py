"""`emulator/http/header_deadline.py`: uvicorn's own protocols (httptools and h11) with a deadline on
request headers, each served on loopback in-process: a head that trickles in is cut off, a
whole one is served, on a fresh and on a kept-alive connection."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from emulator.http import header_deadline

DEADLINE = 0.3


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def protocols():
    from uvicorn.protocols.http.h11_impl import H11Protocol

    found = [pytest.param(header_deadline._h11_protocol(H11Protocol), id="h11")]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is optional
        pass
    else:
        found.append(pytest.param(header_deadline._httptools_protocol(HttpToolsProtocol), id="httptools"))
    return found


async def serve(protocol):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    timed = type("Timed", (protocol,), {"header_timeout": DEADLINE})
    server = uvicorn.Server(uvicorn.Config(hello, http=timed, log_level="critical", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, sock.getsockname()[1]


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    return await asyncio.wait_for(reader.read(), seconds)  # read() returns at EOF


@pytest.mark.parametrize("protocol", protocols())
async def test_a_trickling_head_is_cut_off_and_a_whole_one_is_served(protocol):
    server, task, port = await serve(protocol)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(30):  # one byte per 50 ms: 1.5 s, five times the deadline
            if reader.at_eof():
                break
            writer.write(b"a")
            await asyncio.sleep(0.05)
        assert await closed_within(reader, 5) == b""
        writer.close()

        # a head that arrives whole, twice on one kept-alive connection, then a trickle on it
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200") and await reader.readexactly(2) == b"ok"
            await asyncio.sleep(DEADLINE * 1.5)  # idle between requests: the keep-alive timer's business
        writer.write(b"GET / HT")
        assert await closed_within(reader, 5) == b""
        writer.close()

        # a connection that never sends a byte is closed too
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_within(reader, 5) == b""
        writer.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def test_the_protocol_chosen_is_uvicorns_own():
    chosen = header_deadline.header_deadline_protocol(2.5)
    assert chosen.header_timeout == 2.5
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    assert issubclass(chosen, AutoHTTPProtocol)


class _FakeLoop:
    """Time that moves only when told, and the timers set on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[list] = []  # [due, callback, cancelled]

    def time(self) -> float:
        return self.now

    def call_at(self, due, callback):
        timer = [due, callback, False]
        self.timers.append(timer)
        return type("Handle", (), {"cancel": lambda _self: timer.__setitem__(2, True)})()

    def run_until(self, instant: float) -> None:
        while True:
            due = [t for t in self.timers if not t[2] and t[0] <= instant]
            if not due:
                break
            timer = min(due, key=lambda t: t[0])
            timer[2] = True
            self.now = timer[0]
            timer[1]()
        self.now = instant


class _FakeTransport:
    closed = False

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class _Base:
    """What the mixins ask of uvicorn's protocol."""

    timeout_keep_alive = 5.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server_state = type("State", (), {"total_requests": 0})()
        self.flow = type("Flow", (), {"resume_reading": lambda _self: None})()
        self.pipeline = []

    def connection_lost(self, exc) -> None:
        pass

    def data_received(self, data) -> None:
        pass

    def on_message_begin(self) -> None:
        pass

    def on_headers_complete(self) -> None:
        pass

    def _unset_keepalive_if_required(self) -> None:
        pass

    def timeout_keep_alive_handler(self) -> None:  # uvicorn's: close when idle too long
        if not self.transport.is_closing():
            self.transport.close()


def _lasting_protocol(loop: _FakeLoop):
    cls = header_deadline._httptools_protocol(_Base, inline=False)
    protocol = type("Timed", (cls,), {"header_timeout": 10.0})()
    protocol.loop = loop
    protocol.connection_made(_FakeTransport())
    return protocol


def _request(protocol) -> None:
    """A request that arrives whole and is answered at once."""
    protocol.data_received(b"...")
    protocol.on_message_begin()
    protocol.on_headers_complete()
    protocol.on_response_complete()


def test_with_httptools_one_timer_lasts_the_connection_and_keeps_each_requests_deadline():
    loop = _FakeLoop()
    protocol = _lasting_protocol(loop)
    for _ in range(100):  # a busy kept-alive connection: requests whose headers come at once
        loop.run_until(loop.now + 0.25)
        _request(protocol)
    assert len(loop.timers) <= 8  # one when the connection opened, and once again each few seconds since: none per request
    assert protocol.server_state.total_requests == 100
    assert not protocol.transport.closed

    protocol.data_received(b"GET")
    protocol.on_message_begin()  # headers that begin and never end
    began = loop.now
    loop.run_until(began + 9.9)  # longer than the keep-alive timeout: the headers' own deadline holds
    assert not protocol.transport.closed
    loop.run_until(began + 10.0)
    assert protocol.transport.closed  # cut off at their own deadline, not at the timer's next turn after it


def test_with_httptools_the_keep_alive_timeout_runs_from_the_last_answer_on_the_same_timer():
    loop = _FakeLoop()
    protocol = _lasting_protocol(loop)
    _request(protocol)
    answered = loop.now
    loop.run_until(answered + 4.9)
    _request(protocol)  # in time: idle again from now
    answered = loop.now
    loop.run_until(answered + 4.9)
    assert not protocol.transport.closed
    protocol.data_received(b"G")  # a byte of the next request ends the idleness
    protocol.on_message_begin()
    loop.run_until(answered + 9.0)
    assert not protocol.transport.closed  # its headers have their own 10 s
    protocol.on_headers_complete()
    protocol.on_response_complete()
    answered = loop.now
    loop.run_until(answered + 4.9)
    assert not protocol.transport.closed
    loop.run_until(answered + 5.0)
    assert protocol.transport.closed  # idle for uvicorn's keep-alive timeout, closed by its own handler
    assert len(loop.timers) <= 6


def test_with_httptools_a_connection_that_sends_nothing_is_closed_at_the_deadline():
    loop = _FakeLoop()
    protocol = _lasting_protocol(loop)
    loop.run_until(loop.now + 9.9)
    assert not protocol.transport.closed
    loop.run_until(loop.now + 0.1)
    assert protocol.transport.closed

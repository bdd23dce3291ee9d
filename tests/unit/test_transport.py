"""The outbox's stream transport: answers, keep-alive reuse, a receiver that closed an idle
connection, refused connections, timeouts, and receivers that hang up mid-answer."""

import asyncio

import httpx
import pytest

from emulator.core.transport import StreamTransport


class Receiver:
    """A raw HTTP/1.1 server: answers each request with `answer` (bytes) unless told otherwise."""

    def __init__(self, answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") -> None:
        self.answer = answer
        self.connections = 0
        self.closed = 0
        self.requests: list[bytes] = []
        self.close_after_answer = False
        self.hang = False
        self.server: asyncio.AbstractServer | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                if self.hang:
                    await asyncio.Event().wait()
                writer.write(self.answer)
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed += 1
            writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def receiver():
    server = Receiver()
    yield server
    server.stop()


async def send(transport, url, **kwargs):
    async with httpx.AsyncClient(transport=transport) as client:
        return await client.post(url, content=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}, **kwargs)


async def test_answer_and_keep_alive_reuse(receiver):
    url = await receiver.start()
    transport = StreamTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(3):
            response = await client.post(url + "/dlr?key=k", content=b"id=1", auth=("u", "p"))
            assert (response.status_code, response.text) == (200, "ok")
    assert receiver.connections == 1 and len(receiver.requests) == 3
    first = receiver.requests[0]
    assert first.startswith(b"POST /dlr?key=k HTTP/1.1\r\n") and first.endswith(b"\r\n\r\nid=1")
    assert b"\r\nAuthorization: Basic dTpw\r\n" in first  # user:password from the URL or auth


async def test_a_closed_idle_connection_is_replaced(receiver):
    url = await receiver.start()
    receiver.close_after_answer = True
    transport = StreamTransport()
    assert (await send(transport, url)).status_code == 200
    assert (await send(transport, url)).status_code == 200
    assert receiver.connections == 2


async def test_refused_connection_is_a_connect_error():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(httpx.ConnectError):
        await send(StreamTransport(), f"http://127.0.0.1:{port}/")


async def test_a_hanging_receiver_times_out(receiver):
    url = await receiver.start()
    receiver.hang = True
    with pytest.raises(httpx.ReadTimeout):
        await send(StreamTransport(), url, timeout=0.2)


async def test_a_receiver_hanging_up_mid_answer(receiver):
    url = await receiver.start()
    receiver.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok"
    receiver.close_after_answer = True
    with pytest.raises(httpx.RemoteProtocolError):
        await send(StreamTransport(), url)


async def test_garbage_is_a_protocol_error(receiver):
    url = await receiver.start()
    receiver.answer = b"NOT HTTP AT ALL\r\n\r\n"
    with pytest.raises(httpx.RemoteProtocolError):
        await send(StreamTransport(), url)


GIB = 1 << 30


class HugeAnswer:
    """A receiver whose answer claims `Content-Length: 1 GiB` (or is chunked without end) and
    streams it lazily, 64 KiB at a time, as fast as the client takes it, until the client hangs
    up or `cap` bytes are sent (the bound of the test). Counts what it managed to send."""

    def __init__(self, chunked: bool = False, cap: int = 128 << 20) -> None:
        self.chunked = chunked
        self.cap = cap
        self.sent: list[int] = []  # body bytes sent, per connection
        self.closed = asyncio.Event()  # set when a connection has ended
        self.server: asyncio.AbstractServer | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent = 0
        try:
            await reader.readuntil(b"\r\n\r\n")
            framing = b"Transfer-Encoding: chunked" if self.chunked else b"Content-Length: %d" % GIB
            writer.write(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n")
            chunk = b"x" * 65_536
            if self.chunked:
                chunk = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
            while sent < self.cap:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.sent.append(sent)
            writer.close()
            self.closed.set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_huge_answer_is_cut_at_the_limit_and_its_connection_closed(chunked):
    receiver = HugeAnswer(chunked=chunked)
    url = await receiver.start()
    transport = StreamTransport()
    try:
        response = await send(transport, url, timeout=10)
        assert response.status_code == 200
        assert response.extensions["truncated"] is True
        assert response.content == b"x" * 65_536  # exactly the first 64 KiB
        await asyncio.wait_for(receiver.closed.wait(), 5)  # closed, not drained
        # What the receiver could push before the close is what fits in the socket buffers: far
        # below the 128 MiB it would send to a client that reads the whole answer.
        assert receiver.sent[0] < 48 << 20
        assert transport._idle.get(("http", "127.0.0.1", receiver.server.sockets[0].getsockname()[1])) in (None, [])
    finally:
        receiver.stop()
        await transport.aclose()


async def test_an_answer_at_the_limit_is_whole_and_the_connection_kept(receiver):
    body = b"y" * 65_536
    receiver.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 65536\r\n\r\n" + body
    url = await receiver.start()
    transport = StreamTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(2):
            response = await client.post(url, content=b"a=1")
            assert response.content == body and response.extensions["truncated"] is False
    assert receiver.connections == 1


async def test_a_trickling_answer_cannot_outlast_the_timeout():
    """One deadline covers connect, send and the whole read: a byte every 50 ms keeps every single
    read short, yet the attempt ends at its 0.3 s timeout."""
    trickled = []

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                await asyncio.sleep(0.05)
                writer.write(b"z")
                await writer.drain()
                trickled.append(1)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(httpx.ReadTimeout):
            await send(StreamTransport(), url, timeout=0.3)
        assert loop.time() - started < 2.0
        assert 1 <= len(trickled) < 40  # it was trickling, and not for long
    finally:
        server.close()


async def test_a_compressed_answer_is_returned_raw_never_expanded(receiver):
    """60 MB of zeros gzip to about 60 KiB: decoding would turn the 64 KiB read into 60 MB."""
    import gzip

    bomb = gzip.compress(b"\0" * 60_000_000, compresslevel=9)
    assert len(bomb) < 65_536
    receiver.answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb
    url = await receiver.start()
    response = await send(StreamTransport(), url)
    assert response.content == bomb and "content-encoding" not in response.headers


async def test_connections_of_a_concurrent_round_are_all_kept_for_the_next(receiver):
    """The outbox may have up to 168 attempts in flight to one fast receiver: a second round as
    wide as the first reuses every connection instead of opening (and closing) new ones."""
    url = await receiver.start()
    transport = StreamTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(2):
            answers = await asyncio.gather(*(client.post(url, content=b"a=1") for _ in range(150)))
            assert all(answer.status_code == 200 for answer in answers)
    assert receiver.connections == 150 and len(receiver.requests) == 300


async def test_idle_connections_are_closed_after_a_while(receiver, monkeypatch):
    """A suite that starts a receiver per test leaves one idle connection per receiver: each is
    closed once idle long enough (here 50 ms), when a later request comes, and its origin forgotten."""
    from emulator.core import transport as module

    monkeypatch.setattr(module, "IDLE_SECONDS", 0.05)
    monkeypatch.setattr(module, "_SWEEP_SECONDS", 0.0)
    later = Receiver()
    url, later_url = await receiver.start(), await later.start()
    try:
        async with httpx.AsyncClient(transport=StreamTransport()) as client:
            transport = client._transport
            assert (await client.post(url, content=b"a=1")).status_code == 200
            assert len(transport._idle) == 1 and receiver.closed == 0
            await asyncio.sleep(0.1)
            assert (await client.post(later_url, content=b"a=1")).status_code == 200
            for _ in range(100):
                if receiver.closed:
                    break
                await asyncio.sleep(0.01)
            assert receiver.closed == 1  # the receiver saw its idle connection end
            assert list(transport._idle) == [("http", "127.0.0.1", later.server.sockets[0].getsockname()[1])]
    finally:
        later.stop()

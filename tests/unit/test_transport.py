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

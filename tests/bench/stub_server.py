"""A server that answers the calls of bench_plugin.py's generated test at once, doing no work: the
floor under the plugin's figures, what pytest, pytest-xdist, httpx and the machine cost a test
whatever the server does.

    python tests/bench/stub_server.py PORT

It answers over keep-alive HTTP/1.1 connections, with bodies shaped as the emulator's:
`POST /_emulator/sandboxes` a sandbox (fixed credentials), a reset 204 (`Prefer: return=minimal`, as
the plugin asks), `POST /a1/SMS` a 46elks message, `GET /_emulator/wait` that message's
`message.created` event, anything else `{}`. Requests are read with httptools (as the emulator's
own server reads them); nothing is stored or checked.
"""

from __future__ import annotations

import asyncio
import json
import sys

import httptools

SANDBOX = json.dumps({"id": "sbx_1", "name": None, "elks_auth": ["stub_user", "stub_password"], "seven_api_key": "stub_key"}).encode()
MESSAGE = b'{"id":"s1","direction":"outgoing","from":"ElkCo","to":"+46700000123","message":"Hello","status":"created","cost":3500,"parts":1}'
EVENT = json.dumps({"event": {"seq": 1, "kind": "message.created", "data": {"id": "s1", "to": "+46700000123", "status": "created"}}}).encode()


def answer(method: bytes, path: bytes) -> bytes:
    if path.endswith(b"/reset"):
        return b"HTTP/1.1 204 No Content\r\npreference-applied: return=minimal\r\n\r\n"
    body = b"{}"
    if path.startswith(b"/_emulator/sandboxes") and method == b"POST":
        body = SANDBOX
    elif path.startswith(b"/a1/SMS"):
        body = MESSAGE
    elif path.startswith(b"/_emulator/wait"):
        body = EVENT
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


class StubProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_complete(self) -> None:
        self.transport.write(answer(self.parser.get_method(), self.url.split(b"?", 1)[0]))


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(StubProtocol, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))

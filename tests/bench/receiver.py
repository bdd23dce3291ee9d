"""A fast webhook receiver for bench_webhooks.py: a raw asyncio HTTP/1.1 server (uvloop when
installed) that answers every request `200` with an empty body at once, over keep-alive
connections, and counts what arrived.

    python tests/bench/receiver.py --port P

`GET /_stats` answers JSON: `count` (webhook requests so far), `first_ns`/`last_ns` (their
arrival, `time.monotonic_ns()`, comparable across processes on Linux) and, with `?lags=1`,
`lags_ms`: for each
46elks report with a `delivered` field (the time the message's status changed, i.e. when the
emulator queued the webhook), how long after that it arrived, by the wall clock. `POST /_reset`
clears the counters. Every other request counts as a webhook.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime, timezone
from urllib.parse import parse_qsl

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Counters:
    def __init__(self) -> None:
        self.count = 0
        self.first_ns = 0
        self.last_ns = 0
        self.lags_ms: list[float] = []

    def record(self, body: bytes) -> None:
        now = time.monotonic_ns()
        if not self.count:
            self.first_ns = now
        self.count += 1
        self.last_ns = now
        if b"delivered=" in body:
            fields = dict(parse_qsl(body.decode()))
            stamp = datetime.strptime(fields["delivered"], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
            self.lags_ms.append((time.time() - stamp.timestamp()) * 1000)

    def json(self, with_lags: bool) -> bytes:
        data = {"count": self.count, "first_ns": self.first_ns, "last_ns": self.last_ns}
        if with_lags:
            data["lags_ms"] = self.lags_ms
        return json.dumps(data).encode()


class Receiver(asyncio.Protocol):
    counters = Counters()

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            at = head.lower().find(b"\r\ncontent-length:")
            length = int(head[at + 17:head.index(b"\r\n", at + 2) if b"\r\n" in head[at + 2:] else len(head)]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            self.answer(head.split(b" ", 2), body)

    def answer(self, request_line: list[bytes], body: bytes) -> None:
        path = request_line[1]
        if path.startswith(b"/_stats"):
            payload = type(self).counters.json(with_lags=path == b"/_stats?lags=1")
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
        elif path == b"/_reset":
            type(self).counters = Counters()
            self.transport.write(OK)
        else:
            type(self).counters.record(body)
            self.transport.write(OK)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    try:
        import uvloop
        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(port))


if __name__ == "__main__":
    main()

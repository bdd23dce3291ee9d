"""`GET /_emulator/events` as Server-Sent Events, driven straight through the ASGI app: what a
burst of events costs when many streams of every event are open (each event is rendered once,
not once per stream; a stream writes once per batch, not once per event)."""

from __future__ import annotations

import pytest

import asyncio
import re

from emulator.control import routes
from support import Emulator, until

STREAMS = 20
BURSTS = 4
PER_BURST = 50


class _Stream:
    """One open `GET /_emulator/events` (no cursor: from now), its body messages as they come."""

    def __init__(self, app, query: bytes = b"") -> None:
        self.bodies: list[bytes] = []
        self.started = asyncio.Event()
        self.leave = asyncio.Event()
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": "/_emulator/events", "raw_path": b"/_emulator/events", "root_path": "", "query_string": query,
            "headers": [(b"host", b"emulator.test"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 50000), "server": ("emulator.test", 80),
        }
        self.task = asyncio.ensure_future(app(scope, self.receive, self.send))

    async def receive(self) -> dict:
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            self.bodies.append(message["body"])
            self.started.set()

    def ids(self) -> list[int]:
        return [int(seq) for seq in re.findall(rb"^id: (\d+)$", b"".join(self.bodies), re.M)]


@pytest.mark.local_changes  # changes the engine directly
async def test_streams_of_everything_render_each_event_once(emulator: Emulator, monkeypatch):
    rendered: list[int] = []
    real = routes._sse_text

    def counting(cache, event):
        rendered.append(event.seq)
        return real(cache, event)

    monkeypatch.setattr(routes, "_sse_text", counting)
    log = emulator.engine.events
    log.stream_rest = 0.01
    app = emulator.client._transport.app
    streams = [_Stream(app) for _ in range(STREAMS)]
    await asyncio.wait_for(asyncio.gather(*(stream.started.wait() for stream in streams)), 5)
    assert log.streams == STREAMS
    first = log.last_seq + 1
    for burst in range(BURSTS):
        for index in range(PER_BURST):
            log.emit("message.created", "seven", None, id=f"burst{burst}-{index}", to="+4917612345678")
        await asyncio.sleep(0.03)  # real time: longer than a rest, so each burst is its own batch
    expected = list(range(first, log.last_seq + 1))
    assert await until(lambda: all(stream.ids() == expected for stream in streams))
    # every stream sent the same text (ids, event names, data), and each event was made once:
    # the streams of old rendered each event once per stream (20 x 200 here)
    assert len({b"".join(stream.bodies[1:]) for stream in streams}) == 1
    assert sorted(rendered) == expected
    # one write per batch: about one per burst (a rest may split one), never one per event
    assert all(len(stream.bodies) - 1 <= 2 * BURSTS for stream in streams)
    for stream in streams:
        stream.leave.set()
    await asyncio.wait_for(asyncio.gather(*(stream.task for stream in streams)), 5)
    assert log.streams == 0


@pytest.mark.local_changes  # changes the engine directly
async def test_a_filtered_stream_still_gets_only_its_events(emulator: Emulator):
    log = emulator.engine.events
    log.stream_rest = 0.01
    app = emulator.client._transport.app
    mine = _Stream(app, b"kind=message.status")
    everything = _Stream(app)
    await asyncio.wait_for(asyncio.gather(mine.started.wait(), everything.started.wait()), 5)
    log.emit("message.created", "seven", None, id="a")
    status = log.emit("message.status", "seven", None, id="a", status="delivered")
    assert await until(lambda: bool(mine.ids()) and len(everything.ids()) == 2)
    assert mine.ids() == [status.seq]
    assert everything.ids() == [status.seq - 1, status.seq]
    assert b"event: message.status\ndata: {" in b"".join(mine.bodies)
    for stream in (mine, everything):
        stream.leave.set()
    await asyncio.wait_for(asyncio.gather(mine.task, everything.task), 5)
    assert log.streams == 0

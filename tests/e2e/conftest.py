"""End-to-end fixtures: the real `telco-emulator` process on a free port, and a real HTTP webhook
receiver on loopback. Both are stopped by the test that started them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from processes import RunningEmulator, start_emulator, stop


@pytest.fixture
def emulator_process(request) -> Iterator[RunningEmulator]:
    args = getattr(request, "param", ())
    running = start_emulator(*args)
    yield running
    stop(running.process)


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records every request; answers from `statuses` in order (the last repeats)."""

    url: str
    hits: list[Hit] = field(default_factory=list)
    statuses: list[int] = field(default_factory=lambda: [200])
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, path_prefix: str = "/", timeout: float = 15.0) -> list[Hit]:
        """Block until `count` requests to `path_prefix` have arrived (or fail after `timeout`)."""
        def matching() -> list[Hit]:
            return [hit for hit in self.hits if hit.path.startswith(path_prefix)]

        with self.changed:
            arrived = self.changed.wait_for(lambda: len(matching()) >= count, timeout)
        assert arrived, f"only {len(matching())} of {count} webhooks to {path_prefix} arrived: {self.hits}"
        return matching()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with receiver.changed:
                receiver.hits.append(Hit(self.command, self.path, dict(self.headers), body))
                status = receiver.statuses[min(len(receiver.hits) - 1, len(receiver.statuses) - 1)]
                receiver.changed.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET = _record

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()

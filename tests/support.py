"""Helpers shared by the test suites: default credentials, an in-process webhook receiver, and a
handle on an emulator driven in-process."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, AsyncIterator, Callable, Iterator
from urllib.parse import parse_qsl

import httpx

from emulator.app import build_engine
from emulator.core import snapshot
from emulator.core.engine import Engine
from emulator.settings import Settings

VIRTUAL_START = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z

ELKS_AUTH = ("test_user", "test_password")
ELKS_SUB_AUTH = ("af3d05a159669e1951c5301bc6a61bac", "D81DEF1B65E19A83DBCEA0BE0D89D082")
ELKS_OTHER_AUTH = ("other_user", "other_password")
SEVEN_KEY = "test_api_key"
SEVEN_OTHER_KEY = "other_api_key"
ELKS_ACCOUNT = "u5a9566c072160b318445d163949bf505"
ELKS_SUB_ACCOUNT = "af3d05a159669e1951c5301bc6a61bac"
SEVEN_ACCOUNT = "1000001"
SEVEN_JSON = {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"}
# The in-process suites' host names: the control API answers them only when allowed.
TEST_HOSTS = ("emulator.test", "e.test")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Received:
    method: str
    url: str
    headers: httpx.Headers
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers webhook deliveries in-process; `statuses` are the answers to give, in order
    (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append(Received(request.method, str(request.url), request.headers, body))
        status = self.statuses[min(len(self.requests) - 1, len(self.statuses) - 1)]
        return httpx.Response(status, text="ok")

    def to(self, url_prefix: str) -> list[Received]:
        return [r for r in self.requests if r.url.startswith(url_prefix)]


@dataclass
class Emulator:
    engine: Engine
    client: httpx.AsyncClient
    receiver: Receiver

    async def advance(self, seconds: float) -> None:
        """Move the virtual clock and wait until the webhooks it set off have been delivered."""
        response = await self.client.post("/_emulator/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text
        assert await self.engine.outbox.drain(), "webhook deliveries did not finish"

    def balance(self, account_id: str) -> int:
        return self.engine.store.accounts[account_id].balance



async def until(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Let the event loop run until `condition()` holds (True) or `timeout` real seconds pass
    (False): for in-process work that runs on its own tasks, such as event streams, whose rests
    are real time by design."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def make_engine(**overrides) -> Engine:
    settings = Settings(clock="virtual", clock_start=VIRTUAL_START, **overrides)
    return build_engine(settings)


@asynccontextmanager
async def running_emulator(engine: Engine, receiver: Receiver, store: str | None = None) -> AsyncIterator[Emulator]:
    """The app on `engine` (virtual clock) with its lifespan running, its webhooks going to
    `receiver`, driven in-process through httpx's ASGITransport. With `store` (a Redis URL, which
    `engine` was built on too), the world is a shared one: every change goes through its log."""
    from emulator.app import create_app

    engine.outbox.transport = httpx.MockTransport(receiver.handle)
    app = create_app(Settings(clock="virtual", clock_start=VIRTUAL_START, allowed_hosts=TEST_HOSTS, store=store), engine=engine)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emulator.test") as client:
            yield Emulator(engine, client, receiver)



@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A real HTTP receiver on loopback (for tests that drive the emulator's own process).
    Records every request; answers from `statuses` in order (the last repeats)."""

    url: str
    hits: list[Hit] = field(default_factory=list)
    statuses: list[int] = field(default_factory=lambda: [200])
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, path_prefix: str = "/", timeout: float = 15.0, where: Callable[[Hit], bool] | None = None) -> list[Hit]:
        """Block until `count` requests to `path_prefix` (and matching `where`) have arrived."""
        def matching() -> list[Hit]:
            return [hit for hit in self.hits if hit.path.startswith(path_prefix) and (where is None or where(hit))]

        with self.changed:
            arrived = self.changed.wait_for(lambda: len(matching()) >= count, timeout)
        assert arrived, f"only {len(matching())} of {count} webhooks to {path_prefix} arrived: {self.hits}"
        return matching()


@contextmanager
def serve_webhook_receiver() -> Iterator[WebhookReceiver]:
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
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def world_state(engine: Engine) -> dict[str, Any]:
    """The emulator's snapshot. Equal before and after a refused request means the request
    changed nothing. A refusal is told as one `request.refused` event (the request journal's
    news): those are not counted in the event numbering compared here; any other event is."""
    state = snapshot.take(engine)
    refusals = len(engine.events.matching({"kind": "request.refused"}))
    state["events"] = {**state["events"], "last_seq": state["events"]["last_seq"] - refusals}
    return state


def filled(value: Any, names: dict[str, str]) -> Any:
    """`value` with every `{name}` placeholder (in strings, keys, lists) replaced from `names`."""
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda match: names.get(match.group(1), match.group(0)), value)
    if isinstance(value, dict):
        return {filled(key, names): filled(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, names) for item in value]
    return value

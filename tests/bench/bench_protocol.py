"""What the server's HTTP layer costs a request, in process: CPU time per request fed as bytes into
the server's httptools protocol (`emulator/http/header_deadline.py` with `inline_requests.py`),
against uvicorn's own `HttpToolsProtocol` driving the same application, interleaved over several
rounds; medians and ratios.

    python tests/bench/bench_protocol.py [--requests 20000] [--rounds 5] [--json PATH]

Two applications, each under both protocols, over 16 kept-alive connections with a transport that
only counts what is written (no sockets: the kernel's share is left out):
- `trivial`: an ASGI app that reads the body and answers `{}` (what the HTTP layer alone costs);
- `send`: the emulator's 46elks `POST /a1/SMS` (virtual clock, so no status change fires while it
  is measured);
- `send-apart`: the same with each request's head and body read apart, a turn of the loop
  between them (httpx writes them in two writes, which often arrive apart);
- `bare`: the bare Starlette form endpoint of `bare_app.py`, the baseline of issue 17's throughput
  target (`bench_send_sms.py`), on the same request.

Beside them, `handler`: the 46elks send handler alone (`emulator.elks.sms.send_sms` awaited with a
request built from a scope, its answer not sent), the emulator's own work on a send without the
HTTP layer, the front door, the error boundary and the request journal. Under load every request
also costs the kernel and the event loop some time K, the same for both servers, so a throughput
of r times the bare endpoint's needs the emulator's whole request in process to take at most
bare / r - K (1 - 1/r): the `budget` printed is bare / 1.2, that bound with K taken as nothing.
CPU time of this process (`time.process_time`), so other processes on the machine move the figures
less than wall-clock throughput does. No target: the ratio to uvicorn's own protocol shows what the
emulator's protocol saves (below 1) or costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: E402
from uvicorn.server import ServerState  # noqa: E402

from emulator.app import create_app  # noqa: E402
from emulator.http.server import uvicorn_config  # noqa: E402
from emulator.settings import Settings  # noqa: E402

from procs import ELKS_AUTH, FIXTURE  # noqa: E402  (the bench accounts: a balance no run uses up)
from bare_app import app as bare_app  # noqa: E402

from emulator.elks.sms import send_sms  # noqa: E402
from emulator.http.params import ProviderRequest  # noqa: E402

THROUGHPUT_TARGET = 1.2  # bench_send_sms.py's: the emulator's sends against the bare form endpoint's

BODY = b"from=ElkCo&to=%2B46700000123&message=Hello+there"
REQUEST = (b"POST /a1/SMS HTTP/1.1\r\nHost: 127.0.0.1:8046\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           b"Authorization: " + ELKS_AUTH.encode() + b"\r\n"
           b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
CONNECTIONS = 16


class Transport:
    """Counts the writes; enough of a transport for both protocols."""

    def __init__(self) -> None:
        self.answers = 0  # heads of 200 answers written
        self.closed = False

    def write(self, data: bytes) -> None:
        if data.startswith(b"HTTP/1.1 "):
            if not data.startswith(b"HTTP/1.1 200 "):
                raise SystemExit(f"an answer other than 200: {data[:200]!r}")
            self.answers += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8046), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Trivial:
    """Reads the body, answers `{}`; may run inline under the emulator's protocol."""

    def runs_inline(self, path: str) -> bool:
        return True

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"{}"})


HEAD_END = REQUEST.index(b"\r\n\r\n") + 4


async def drive(protocol_class: type, app, config, count: int, apart: bool = False) -> float:
    """CPU microseconds per request for `count` requests over CONNECTIONS connections; with
    `apart`, each request's head and body arrive in two reads (as httpx writes them)."""
    loop = asyncio.get_running_loop()
    state = ServerState()
    connections = []
    for _ in range(CONNECTIONS):
        protocol = protocol_class(config=config, server_state=state, app_state={}, _loop=loop)
        transport = Transport()
        protocol.connection_made(transport)
        connections.append((protocol, transport))
    started = time.process_time()
    for number in range(count):
        protocol, transport = connections[number % CONNECTIONS]
        while transport.answers < number // CONNECTIONS:  # as a client does: the next request after the answer
            await asyncio.sleep(0)  # the tasks uvicorn's own protocol starts run here
        if apart:
            protocol.data_received(REQUEST[:HEAD_END])
            await asyncio.sleep(0)  # the body comes in a later turn of the loop
            protocol.data_received(REQUEST[HEAD_END:])
        else:
            protocol.data_received(REQUEST)
    for _ in range(1000):  # the last tasks finish
        if sum(transport.answers for _, transport in connections) == count:
            break
        await asyncio.sleep(0)
    elapsed = time.process_time() - started
    answered = sum(transport.answers for _, transport in connections)
    for protocol, _ in connections:
        protocol.connection_lost(None)
    if answered != count:
        raise SystemExit(f"{protocol_class.__name__}: {answered} of {count} requests answered 200")
    return elapsed / count * 1e6


def _handler_scope(emulator) -> dict:
    """The scope the 46elks mount gives its send handler for REQUEST (`EmulatorApp._enter`)."""
    head = REQUEST[:HEAD_END].decode("latin-1").split("\r\n")[1:-2]
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, _, value in (line.partition(": ") for line in head)]
    scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/a1/sms", "raw_path": b"/a1/SMS",
             "query_string": b"", "root_path": "", "headers": headers, "server": ("127.0.0.1", 8046), "client": ("127.0.0.1", 50000),
             "path_params": {}}
    emulator._enter(scope, "/a1")
    return scope


async def handler_alone(emulator, count: int) -> float:
    """CPU microseconds per call of the 46elks send handler, below the HTTP layer (see above)."""
    body = REQUEST[HEAD_END:]

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        raise AssertionError("the handler alone sends nothing")

    template = _handler_scope(emulator)
    started = time.process_time()
    for _ in range(count):
        response = await send_sms(ProviderRequest(dict(template), receive, send))
        if response.status_code != 200:
            raise SystemExit(f"the send handler answered {response.status_code}: {response.body[:200]!r}")
    return (time.process_time() - started) / count * 1e6


async def measure(requests: int, rounds: int, fixtures: Path) -> dict:
    settings = Settings(clock="virtual", log_level="warning", fixtures=str(fixtures))
    emulator = create_app(settings)
    config = uvicorn_config(emulator, settings)
    config.load()
    ours = config.http_protocol_class
    cases = {"trivial": (Trivial(), False), "send": (emulator, False), "send-apart": (emulator, True), "bare": (bare_app, False)}
    results: dict[str, dict[str, list[float]]] = {name: {"uvicorn": [], "emulator": []} for name in cases}
    handler: list[float] = []
    async with emulator.router.lifespan_context(emulator):
        for _ in range(rounds):
            for name, (app, apart) in cases.items():
                config.app = config.loaded_app = app
                results[name]["uvicorn"].append(await drive(HttpToolsProtocol, app, config, requests, apart))
                results[name]["emulator"].append(await drive(ours, app, config, requests, apart))
                emulator.state.engine.reset()
            handler.append(await handler_alone(emulator, requests))
            emulator.state.engine.reset()
    report: dict = {"cases": {}}
    for name, runs in results.items():
        theirs, ours_us = statistics.median(runs["uvicorn"]), statistics.median(runs["emulator"])
        report["cases"][name] = {"uvicorn_us": theirs, "emulator_us": ours_us, "ratio": ours_us / theirs, "rounds": runs}
    bare_us = report["cases"]["bare"]["uvicorn_us"]
    report["handler_us"] = statistics.median(handler)
    report["handler_rounds"] = handler
    report["budget_us"] = bare_us / THROUGHPUT_TARGET  # the emulator's whole send in process, with the kernel's share taken as nothing
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per case and round (default 20000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, interleaved (default 5)")
    parser.add_argument("--json", help="write the figures here as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = Path(tmp) / "bench.yaml"
        fixtures.write_text(FIXTURE)
        report = asyncio.run(measure(args.requests, args.rounds, fixtures))
    print(f"CPU us per request, median of {args.rounds} rounds of {args.requests} (in process, no sockets)")
    print(f"{'app':<10}{'uvicorn protocol':>18}{'emulator protocol':>19}{'ratio':>8}")
    for name, figures in report["cases"].items():
        print(f"{name:<10}{figures['uvicorn_us']:>18.1f}{figures['emulator_us']:>19.1f}{figures['ratio']:>8.2f}")
    send_us = report["cases"]["send"]["emulator_us"]
    print(f"the 46elks send handler alone, below HTTP: {report['handler_us']:.1f} us; the whole send: {send_us:.1f} us; "
          f"at most {report['budget_us']:.1f} us (bare / {THROUGHPUT_TARGET:g}) for {THROUGHPUT_TARGET:g}x the bare endpoint's "
          f"throughput, less the kernel's share")
    if args.json:
        Path(args.json).write_text(json.dumps({"requests": args.requests, "rounds": args.rounds, **report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

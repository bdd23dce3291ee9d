"""What the request journal costs the send path, in process: CPU time per `POST /a1/SMS` and
`POST /api/sms` driven straight into the application (no sockets, no load generator), with the
journal recording and with it switched off, interleaved over several rounds; medians and the ratio.

    python tests/bench/bench_journal.py [--requests 3000] [--rounds 5] [--json PATH]

CPU time of this process (`time.process_time`), so other processes on the machine move the
figures less than wall-clock throughput does; the journal's share is the difference of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from emulator.app import create_app
from emulator.http.front_door import _boundary  # noqa: E402
from emulator.settings import Settings  # noqa: E402

ELKS = ("/a1/SMS", [(b"authorization", b"Basic " + base64.b64encode(b"test_user:test_password")),
                    (b"content-type", b"application/x-www-form-urlencoded")],
        b"from=ElkCo&to=%2B46700000123&message=Hello+there")
SEVEN = ("/api/sms", [(b"x-api-key", b"test_api_key"), (b"content-type", b"application/json"), (b"accept", b"application/json")],
         b'{"to": "+4917612345678", "text": "Hello there"}')


async def drive(app, case, count: int) -> float:
    path, headers, body = case
    headers = headers + [(b"host", b"127.0.0.1:8046"), (b"content-length", str(len(body)).encode())]
    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(count):
        sent = False

        async def receive():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                 "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": list(headers),
                 "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8046)}
        await app(scope, receive, send)
    elapsed = time.process_time() - started
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected answers {sorted(set(statuses))} on {path}")
    return elapsed / count * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    app = create_app(Settings(clock="virtual", log_level="warning"))
    engine = app.state.engine
    def unbounded() -> None:  # a huge balance; seven.io's reload lock off: the same SMS is sent over and over
        for account in engine.store.accounts.values():
            account.balance = 10**15
            account.attributes["reload_lock"] = False

    unbounded()
    boundaries = [_boundary(provider) for provider in app._providers.values()]
    journals = [boundary.journal for boundary in boundaries]
    figures: dict[str, dict[str, list[float]]] = {"elks": {"on": [], "off": []}, "seven": {"on": [], "off": []}}
    for name, case in (("elks", ELKS), ("seven", SEVEN)):
        await drive(app, case, 300)  # warm-up
    for round_number in range(args.rounds):
        for name, case in (("elks", ELKS), ("seven", SEVEN)):
            modes = ("off", "on") if round_number % 2 == 0 else ("on", "off")  # neither always goes first
            for mode in modes:
                engine.reset()  # each measurement starts from the same world (and an empty journal)
                unbounded()
                for boundary, journal in zip(boundaries, journals):
                    boundary.journal = journal if mode == "on" else None
                figures[name][mode].append(await drive(app, case, args.requests))
    result = {}
    print(f"{args.rounds} rounds of {args.requests} requests each, CPU µs per request (median of rounds)")
    print(f"{'send':8} {'journal off':>12} {'journal on':>12} {'cost':>8}")
    for name, modes in figures.items():
        off, on = statistics.median(modes["off"]), statistics.median(modes["on"])
        result[name] = {"off_us": off, "on_us": on, "cost": on / off - 1}
        print(f"{name:8} {off:12.1f} {on:12.1f} {100 * (on / off - 1):7.1f}%")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

"""List-page latency and memory of the emulator with many stored messages.

    python tests/bench/bench_list.py [--sizes 10000,100000,1000000] [--requests 200]
                                     [--fill engine|http] [--json PATH]

Starts the emulator through fill_server.py (the real CLI plus a benchmark-only `POST
/_bench/fill` that sends SMS through the engine in-process, fast) and grows its store to each
size in turn (cumulatively), half 46elks messages of one account and half seven.io messages of
another. `--fill http` sends every message as a real HTTP request instead (slow: a few thousand
a second; use it at small sizes to check that both fills leave the same memory behind).
After each fill it waits until every message has reached its final status (no pending clock
events), reads the process's VmRSS and VmHWM (peak) from /proc, and times sequential GETs, one
keep-alive connection per endpoint, the endpoints taking turns in 4 slices (after a warm-up; an
endpoint stops early once it has spent 10 s):

- 46elks `GET /a1/SMS?limit=100`: the first page, and a deep page (`start` = the middle message)
- seven.io `GET /api/journal/outbound` (100 rows): the first page, and a deep one (`offset` = half)
- control `GET /_emulator/messages?limit=100`, and filtered: a `to` that matches nothing, a `to`
  of one recipient (1 of 5000), `status=delivered`, `provider=seven`, `direction=inbound` (none).
  Each filter reads the store's index of its field, so a page costs what it finds; an empty
  page must not say there is more (`next`): such answers are counted and printed.

Prints p50/p99 per endpoint and size, the ratio of the largest size's p50 to the smallest's
(project target: flat, i.e. about 1), RSS per size (target: 1M messages under 1.5 GB) and the
memory per message. Exit status 2 if the server could not run or an answer was not 200.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from procs import (ELKS_ACCOUNT, ELKS_AUTH, FIXTURE, HERE, SEVEN_ACCOUNT, SEVEN_KEY, free_port, http_json, memory_kb, start,
                   stop_all, wait_ready)

RSS_TARGET_MB = 1536  # for 1M messages
MAX_SECONDS_PER_ENDPOINT = 10.0
ROUNDS = 4
ELKS_HEADERS = {"Authorization": ELKS_AUTH}
SEVEN_HEADERS = {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--sizes", default="10000,100000,1000000", help="total stored messages at each step, ascending (default 10000,100000,1000000)")
    add("--requests", type=int, default=200, help=f"timed requests per endpoint and size (default 200; fewer if {MAX_SECONDS_PER_ENDPOINT:g} s pass first)")
    add("--warmup", type=int, default=20, help="untimed requests per endpoint and size (default 20)")
    add("--fill", choices=("engine", "http"), default="engine", help="in-process through the engine (default) or real HTTP sends")
    add("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",")]
    if args.sizes != sorted(args.sizes) or args.sizes[0] < 2:
        parser.error("--sizes must be ascending and at least 2")
    return args


# -- filling --------------------------------------------------------------------------------------
async def _send_over_http(port: int, provider: str, first: int, count: int, connections: int = 16) -> None:
    """`count` real send requests over keep-alive connections, each with its own text and a
    recipient out of 5000 (as fill_server.py varies them)."""
    def request(index: int) -> bytes:
        text = f"Benchmark message number {index}, sent to fill the store."
        if provider == "elks":
            body = urlencode({"to": f"+4670{1_000_000 + index % 5000:07d}", "from": "ElkCo", "message": text}).encode()
            head = f"POST /a1/SMS HTTP/1.1\r\nHost: x\r\nAuthorization: {ELKS_AUTH}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        else:
            body = json.dumps({"to": f"+49176{1_000_000 + index % 5000:07d}", "text": text}).encode()
            head = f"POST /api/sms HTTP/1.1\r\nHost: x\r\nX-Api-Key: {SEVEN_KEY}\r\nAccept: application/json\r\nContent-Type: application/json\r\n"
        return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    indexes = iter(range(first, first + count))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for index in indexes:
            writer.write(request(index))
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"a fill request got {head.splitlines()[0]!r}")
            at = head.lower().find(b"\r\ncontent-length:")
            await reader.readexactly(int(head[at + 17:head.index(b"\r\n", at + 2)]))
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))


def fill(args: argparse.Namespace, port: int, have: int, total: int) -> float:
    """Grow the store from `have` to `total` messages (half each provider); returns seconds."""
    started = time.perf_counter()
    for provider, account, share in (("elks", ELKS_ACCOUNT, (total - have) // 2), ("seven", SEVEN_ACCOUNT, (total - have) - (total - have) // 2)):
        if args.fill == "engine":
            http_json("POST", f"http://127.0.0.1:{port}/_bench/fill", {"account": account, "count": share})
        else:
            asyncio.run(_send_over_http(port, provider, have // 2, share))
    return time.perf_counter() - started


def settle(port: int, deadline_s: float = 600.0) -> float:
    """Wait until no timed event is pending (every message has its final status); returns seconds."""
    started = time.perf_counter()
    while http_json("GET", f"http://127.0.0.1:{port}/_bench/pending")["pending"]:
        if time.perf_counter() - started > deadline_s:
            raise RuntimeError(f"events still pending after {deadline_s:.0f} s")
        time.sleep(0.2)
    return time.perf_counter() - started


def middle_stamp(port: int, account: str) -> int:
    return http_json("POST", f"http://127.0.0.1:{port}/_bench/fill", {"account": account, "count": 0})["middle_created"]


# -- timing ---------------------------------------------------------------------------------------
def elks_time(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:06d}"


def endpoints(port: int, size: int) -> list[tuple[str, str, dict[str, str], int]]:
    """(name, path, headers, expected items) of every timed request at this size."""
    elks_deep = elks_time(middle_stamp(port, ELKS_ACCOUNT))
    return [
        ("46elks /a1/SMS first page", "/a1/SMS?limit=100", ELKS_HEADERS, 100),
        ("46elks /a1/SMS deep page (start)", "/a1/SMS?" + urlencode({"limit": 100, "start": elks_deep}), ELKS_HEADERS, 100),
        ("seven /api/journal/outbound first", "/api/journal/outbound", SEVEN_HEADERS, 100),
        ("seven /api/journal/outbound deep (offset)", f"/api/journal/outbound?offset={size // 4}", SEVEN_HEADERS, 100),
        ("control /_emulator/messages first", "/_emulator/messages?limit=100", {}, 100),
        ("control /_emulator/messages?to= no match", "/_emulator/messages?limit=100&to=%2B46999999999", {}, 0),
        ("control ?to= one recipient, limit=1", "/_emulator/messages?limit=1&to=%2B46701000007", {}, 1),
        ("control ?status=delivered", "/_emulator/messages?limit=100&status=delivered", {}, 100),
        ("control ?provider=seven", "/_emulator/messages?limit=100&provider=seven", {}, 100),
        ("control ?direction=inbound (none)", "/_emulator/messages?limit=100&direction=inbound", {}, 0),
    ]


def count_items(body: bytes) -> int:
    data = json.loads(body)
    return len(data["data"]) if isinstance(data, dict) else len(data)


class Timer:
    """Sequential GETs of one endpoint over one keep-alive connection, in slices: the endpoints
    take turns (ROUNDS slices each), so a burst of load from elsewhere on the machine is spread
    over all of them instead of spoiling one."""

    def __init__(self, port: int, path: str, headers: dict[str, str], expected: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.path, self.headers, self.expected = path, headers, expected
        self.latencies: list[float] = []
        self.spent = 0.0
        self.empty_with_next = 0  # empty pages that still say there is more (a filter's scan budget ran out)

    def get(self) -> float:
        before = time.perf_counter()
        self.connection.request("GET", self.path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - before
        self.spent += elapsed
        if response.status != 200 or count_items(body) != self.expected:
            raise RuntimeError(f"GET {self.path}: HTTP {response.status}, {body[:300]!r}")
        if self.expected == 0 and json.loads(body).get("next") is not None:
            self.empty_with_next += 1
        return elapsed * 1000

    def run(self, count: int) -> None:
        # uvicorn closes a keep-alive connection idle for 5 s, as this one may have been while
        # the other endpoints had their turn: start each slice on a fresh one, untimed.
        self.connection.close()
        self.get()
        for _ in range(count):
            if self.spent > MAX_SECONDS_PER_ENDPOINT and len(self.latencies) >= 5:
                return
            self.latencies.append(self.get())

    def result(self) -> dict:
        self.connection.close()
        ordered = sorted(self.latencies)
        return {"requests": len(ordered), "p50_ms": statistics.median(ordered),
                "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], "mean_ms": statistics.fmean(ordered),
                "empty_pages_with_next": self.empty_with_next}


def time_endpoints(port: int, size: int, requests: int, warmup: int) -> dict[str, dict]:
    timers = {name: Timer(port, path, headers, expected) for name, path, headers, expected in endpoints(port, size)}
    for timer in timers.values():
        first = timer.get()
        if first > 1000:  # a slow endpoint gets no further warm-up, and its first answer counts
            timer.latencies.append(first)
        else:
            for _ in range(warmup - 1):
                timer.get()
        timer.spent = 0.0
    for round_no in range(ROUNDS):
        share = requests // ROUNDS + (round_no < requests % ROUNDS)
        for timer in timers.values():
            timer.run(share)
    return {name: timer.result() for name, timer in timers.items()}


# -- main -----------------------------------------------------------------------------------------
def run(args: argparse.Namespace, tmp: Path) -> dict:
    (tmp / "fixtures.yaml").write_text(FIXTURE)
    port = free_port()
    command = [sys.executable, str(HERE / "fill_server.py"), "--port", str(port), "--log-level", "warning", "--fixtures", str(tmp / "fixtures.yaml")]
    log = tmp / "emulator.log"
    proc = start(command, log)
    steps = []
    try:
        wait_ready(proc, port, log)
        baseline = memory_kb(proc.pid)
        print(f"empty emulator: VmRSS {baseline['VmRSS'] / 1024:.0f} MB", flush=True)
        have = 0
        for size in args.sizes:
            fill_s = fill(args, port, have, size)
            settle_s = settle(port)
            have = size
            memory = memory_kb(proc.pid)
            step = {"size": size, "fill_s": fill_s, "fill_per_s": (size - (steps[-1]["size"] if steps else 0)) / fill_s,
                    "settle_s": settle_s, "rss_mb": memory["VmRSS"] / 1024, "peak_rss_mb": memory["VmHWM"] / 1024,
                    "bytes_per_message": (memory["VmRSS"] - baseline["VmRSS"]) * 1024 / size, "endpoints": {}}
            print(f"{size:>9} messages: filled in {fill_s:.1f} s ({step['fill_per_s']:.0f}/s), settled in {settle_s:.1f} s, "
                  f"VmRSS {step['rss_mb']:.0f} MB (peak {step['peak_rss_mb']:.0f} MB), {step['bytes_per_message']:.0f} B/message", flush=True)
            step["endpoints"] = time_endpoints(port, size, args.requests, args.warmup)
            for name, result in step["endpoints"].items():
                print(f"    {name:<44} p50 {result['p50_ms']:8.2f} ms  p99 {result['p99_ms']:8.2f} ms  ({result['requests']} requests)", flush=True)
            steps.append(step)
    finally:
        stop_all([proc])
    return {"fill": args.fill, "cpus": os.cpu_count(), "baseline_rss_mb": baseline["VmRSS"] / 1024, "steps": steps}


def print_summary(report: dict) -> None:
    steps = report["steps"]
    first, last = steps[0], steps[-1]
    sizes = "".join(f"{_short(s['size']):>15}" for s in steps)
    print(f"\n{'p50 ms (p99 ms)':<46}{sizes}  {_short(last['size'])}/{_short(first['size'])} p50")
    for name in first["endpoints"]:
        cells = "".join(f"{_cell(s['endpoints'][name]):>15}" for s in steps)
        ratio = last["endpoints"][name]["p50_ms"] / first["endpoints"][name]["p50_ms"]
        print(f"{name:<46}{cells}  {ratio:6.2f}{'' if ratio < 1.5 else '  NOT FLAT'}")
    wrong = {name: sum(s["endpoints"][name].get("empty_pages_with_next", 0) for s in steps) for name in first["endpoints"]}
    print(f"{'empty pages that said there was more':<46}{sum(wrong.values()):>15}  (target 0)")
    print(f"{'VmRSS MB':<46}" + "".join(f"{s['rss_mb']:>15.0f}" for s in steps))
    print(f"{'peak VmRSS (VmHWM) MB':<46}" + "".join(f"{s['peak_rss_mb']:>15.0f}" for s in steps))
    print(f"{'bytes per message (above the empty process)':<46}" + "".join(f"{s['bytes_per_message']:>15.0f}" for s in steps))
    print(f"{'fill: messages/s (' + report['fill'] + ')':<46}" + "".join(f"{s['fill_per_s']:>15.0f}" for s in steps))
    million = next((s for s in steps if s["size"] == 1_000_000), None)
    if million is not None:
        verdict = "ok" if million["rss_mb"] < RSS_TARGET_MB else "ABOVE TARGET"
        print(f"1M messages: VmRSS {million['rss_mb']:.0f} MB (target < {RSS_TARGET_MB} MB): {verdict}")


def _short(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k" if size % 1000 == 0 else str(size)


def _cell(result: dict) -> str:
    return f"{result['p50_ms']:.1f} ({result['p99_ms']:.0f})" if result["p50_ms"] >= 10 else f"{result['p50_ms']:.2f} ({result['p99_ms']:.1f})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"bench_list: sizes {', '.join(map(str, args.sizes))}, fill {args.fill}, {args.requests} requests per endpoint, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-list-") as tmp:
        try:
            report = run(args, Path(tmp))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"bench_list: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bench_list: interrupted", file=sys.stderr)
            return 130
    print_summary(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

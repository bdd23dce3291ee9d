"""What waits and event streams cost the rest of the emulator, and whether it is back to full
speed after them (issue 12, items 1 and 11).

    python tests/bench/bench_waits.py [--events 200000] [--waits 1000] [--streams 500] [--json PATH]

Starts the emulator (`python -m emulator --clock virtual`, the benchmark's accounts), then:

1. fresh: seven.io JSON sends/s (loadgen.py, 8 connections) on the empty process;
2. fills the event log to `--events` events (seven.io sends of 1,000 recipients each, then a
   clock advance for their status changes) and times single waits: one for an event already in
   the log (its message id, `after=0`, as the pytest plugin waits), one that matches nothing
   (`timeout=0`: the whole cost of starting a wait) and one for the next event, with
   `/_emulator/health` asked every 20 ms meanwhile (these first waits build their fields' indexes);
3. idle: sends/s and `/_emulator/health` latency (a request every 20 ms during the run);
4. storm: the same with `--waits` long-polls and `--streams` live event streams held open by
   storm_client.py in another process (it reads and discards every stream);
5. after: the storm's client leaves, `POST /_emulator/reset`, sends/s again: against the fresh
   figure, is the process back to full speed?

Targets (issue 12): a wait < 5 ms; storm sends/s within 20% of idle; health under 50 ms during
the storm (and during the first waits); after the storm and a reset, sends/s as fresh. Figures only, no assertion; the exit
status is 1 when a request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import loadgen  # tests/bench/ is on sys.path when this file runs as a script
from procs import FIXTURE, HERE, SEVEN_KEY, emulator_command, free_port, http_json, memory_kb, start, stop_all, wait_ready

SEND_BODY = json.dumps({"to": "+4917612345678", "text": "Hello"}).encode()
SEND_REQUEST = (
    "POST /api/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {key}\r\nAccept: application/json\r\n"
    "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
).format(key=SEVEN_KEY, length=len(SEND_BODY)).encode() + SEND_BODY


def fill(base: str, events: int) -> float:
    """Send events/3 messages (1,000 recipients a request), then move the clock so each one is
    sent and delivered: three events a message."""
    started = time.perf_counter()
    messages = max(1, events // 3)
    for first in range(0, messages, 1000):
        count = min(1000, messages - first)
        numbers = [f"+49176{10_000_000 + first + i}" for i in range(count)]
        http_json("POST", base + "/api/sms", {"to": numbers, "text": "fill"}, {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"})
    http_json("POST", base + "/_emulator/clock/advance", {"seconds": 3600})
    return time.perf_counter() - started


def timed_get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=600) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return (time.perf_counter() - started) * 1000, status


class HealthProbe(threading.Thread):
    """`GET /_emulator/health` every 20 ms until stopped; the latencies in ms."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.url = base + "/_emulator/health"
        self.latencies: list[float] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.02):
            self.latencies.append(timed_get(self.url)[0])

    def summary(self) -> dict:
        ordered = sorted(self.latencies)
        if not ordered:
            return {"health_p50_ms": None, "health_max_ms": None}
        return {"health_p50_ms": round(statistics.median(ordered), 2), "health_max_ms": round(ordered[-1], 2)}


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def sends(port: int, base: str, seconds: float, pid: int) -> dict:
    """Sends/s over `seconds`, and the emulator's CPU time per send over the whole run (each send
    is one event under the virtual clock): the steadier figure on a busy machine."""
    probe = HealthProbe(base)
    first_seq, cpu = http_json("GET", base + "/_emulator/events?limit=1")["last_seq"], cpu_seconds(pid)
    probe.start()
    result = loadgen.run(port, SEND_REQUEST, connections=8, workers=1, warmup=1.0, seconds=seconds)
    probe.halt.set()
    probe.join()
    count = http_json("GET", base + "/_emulator/events?limit=1")["last_seq"] - first_seq
    user, system = cpu_seconds(pid)
    user_us, system_us = (user - cpu[0]) / max(1, count) * 1e6, (system - cpu[1]) / max(1, count) * 1e6
    # system time is mostly the kernel copying what the streams write: it grows with the bytes
    return {"rps": round(result["requests"] / result["seconds"]), "cpu_us_per_send": round(user_us + system_us, 1),
            "user_us_per_send": round(user_us, 1), "system_us_per_send": round(system_us, 1), "p99_ms": round(result["p99_ms"], 2),
            "errors": result["errors"], **probe.summary()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput run")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    figures: dict = {}
    errors = 0
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        fixtures = tmp / "bench.yaml"
        fixtures.write_text(FIXTURE)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start(emulator_command(port, fixtures, "--clock", "virtual"), tmp / "emulator.log")
        processes = [server]
        try:
            wait_ready(server, port, tmp / "emulator.log")
            figures["fresh"] = sends(port, base, args.seconds, server.pid)
            print(f"fresh process:          {figures['fresh']}", flush=True)
            http_json("POST", base + "/_emulator/reset")
            figures["fill_s"] = round(fill(base, args.events), 1)
            page = http_json("GET", base + "/_emulator/events?limit=1")
            first, last_seq = page["data"][0]["seq"], page["last_seq"]
            middle = http_json("GET", base + f"/_emulator/events?after={(first + last_seq) // 2}&limit=1")["data"][0]["data"]["id"]
            figures["events"] = last_seq - first + 1
            print(f"filled {figures['events']} events in {figures['fill_s']} s; RSS {memory_kb(server.pid)['VmRSS'] // 1024} MB", flush=True)
            probe = HealthProbe(base)  # the first waits build their fields' indexes: does anyone else wait meanwhile?
            probe.start()
            waits = {
                "wait_present_ms": timed_get(base + f"/_emulator/wait?id={middle}&after=0&timeout=5"),
                "wait_none_ms": timed_get(base + "/_emulator/wait?id=nothing&kind=message.status&after=0&timeout=0"),
                "wait_kind_ms": timed_get(base + "/_emulator/wait?kind=message.*&status=delivered&to=%2B4917699999999&after=0&timeout=0"),
            }
            probe.halt.set()
            probe.join()
            figures.update({name: round(ms, 2) for name, (ms, _) in waits.items()})
            figures["first_waits"] = probe.summary()
            print(f"one wait:               {({name: round(ms, 2) for name, (ms, _) in waits.items()})}; "
                  f"health meanwhile {figures['first_waits']}", flush=True)
            figures["idle"] = sends(port, base, args.seconds, server.pid)
            print(f"idle (filled log):      {figures['idle']}", flush=True)
            for name, scoped in (("storm_scoped", True), ("storm_all", False)):
                storm = subprocess.Popen(
                    [sys.executable, str(HERE / "storm_client.py"), "--port", str(port), "--waits", str(args.waits), "--streams", str(args.streams)]
                    + (["--scoped"] if scoped else []),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                )
                processes.append(storm)
                opened_at = time.perf_counter()
                line = storm.stdout.readline().strip()
                figures[name + "_open_s"] = round(time.perf_counter() - opened_at, 1)
                figures[name] = sends(port, base, args.seconds, server.pid)
                figures[name]["rss_mb"] = memory_kb(server.pid)["VmRSS"] // 1024
                what = "streams of a sandbox each" if scoped else "streams of everything"
                print(f"{args.waits} waits + {args.streams} {what} ({line!r} after {figures[name + '_open_s']} s): {figures[name]}", flush=True)
                storm.stdin.close()
                storm.wait(60)
                time.sleep(1.0)
            http_json("POST", base + "/_emulator/reset")
            figures["after"] = sends(port, base, args.seconds, server.pid)
            figures["after"]["rss_mb"] = memory_kb(server.pid)["VmRSS"] // 1024
            print(f"after the storm, reset: {figures['after']}", flush=True)
        finally:
            stop_all(processes)
    errors = sum(figures.get(name, {}).get("errors", 0) for name in ("fresh", "idle", "storm_scoped", "storm_all", "after"))
    idle, fresh, after = (figures.get(name, {}).get("rps") for name in ("idle", "fresh", "after"))
    print("\nsummary")
    print(f"  a wait at {figures.get('events')} events: present {figures.get('wait_present_ms')} ms, "
          f"none {figures.get('wait_none_ms')} ms, by kind {figures.get('wait_kind_ms')} ms (target < 5 ms); "
          f"health meanwhile max {figures.get('first_waits', {}).get('health_max_ms')} ms (target < 50)")
    for name in ("storm_scoped", "storm_all"):
        storm = figures.get(name, {}).get("rps")
        if idle and storm:
            print(f"  {name}: sends/s / idle {storm}/{idle} = {storm / idle:.2f} (target >= 0.80); emulator CPU per send "
                  f"{figures[name]['cpu_us_per_send']}/{figures['idle']['cpu_us_per_send']} us (system {figures[name]['system_us_per_send']}/"
                  f"{figures['idle']['system_us_per_send']}); health p50 {figures[name]['health_p50_ms']} ms, "
                  f"max {figures[name]['health_max_ms']} ms (target < 50)")
    if fresh and after:
        print(f"  sends/s after the storm and a reset / fresh: {after}/{fresh} = {after / fresh:.2f} (target ~1.0); "
              f"CPU per send {figures['after']['cpu_us_per_send']}/{figures['fresh']['cpu_us_per_send']} us")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""The shared world (`--store redis://...`) against the memory store: send-SMS throughput with 1
and 2 processes, and webhook deliveries/s, all measured in one run.

    python tests/bench/bench_shared.py [--connections 16] [--duration 5] [--warmup 1] [--rounds 1]
                                       [--setups memory,redis1,redis2,redis2-aof] [--cases elks,seven,seven-form]
                                       [--burst 2000] [--sustained 4000] [--sustained-rate 1000]
                                       [--webhook-setups memory,redis1,redis2] [--no-wrk] [--json PATH]

Starts redis-server twice on free loopback ports (tests/redis_support.py): one with persistence
off (throughput), one with `--appendonly yes --appendfsync everysec` (what durability costs), and
for each setup its emulators (`python -m emulator`, the benchmark's accounts of huge balance), each
Redis setup on a database of its own:

| setup | processes |
|---|---|
| memory | 1 emulator, the memory store: the baseline |
| redis1 | 1 emulator, `--store redis://.../N` (persistence off) |
| redis2 | 2 emulators on the same database, the load spread over both ports |
| redis2-aof | the same on the Redis with AOF (fsync every second) |

1. Send SMS: for each round, each case (46elks form, seven.io JSON, seven.io form, as
   bench_send_sms.py sends them) and each setup in turn, a warm-up and then a measured run of
   `--connections` keep-alive connections (wrk, else loadgen.py). With 2 processes the
   connections are split over two load generators running at once, one per process's port; their
   requests add up, the p50 is their mean weighted by requests, the p99 the larger of the two.
   Printed per case and setup: req/s, p50/p99, the ratio to memory's req/s (target: redis2 >=
   0.5), and CPU time per 1000 requests of the emulators and of Redis over the measured run
   (from /proc: steadier than req/s on a busy machine).
2. Webhooks, as bench_webhooks.py measures them, for each of `--webhook-setups` on fresh
   processes and a fresh database: a burst (virtual clock; N sends, spread over the processes,
   then one clock advance; deliveries/s until a local receiver has all 2N) and a sustained run
   (real clock, sends at `--sustained-rate` spread over the processes; does the outbox keep up?).
   Afterwards no delivery may be pending or failed.

Exit status 0 when every request succeeded and every delivery arrived, 1 otherwise, 2 when a
server could not run (redis-server missing and not installable: see scripts/install-redis.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench_send_sms import CASES, Target, preflight, run_python, run_wrk  # tests/bench/ is on sys.path as a script
from bench_webhooks import Servers, cpu_seconds, outbox_left, send_sms, stats, wait_for_receiver
from procs import HERE, http_json, stop_all

sys.path.insert(0, str(HERE.parent))  # tests/: the Redis the test suite starts
from redis_support import RedisServer, start_redis, stop_redis  # noqa: E402

RATIO_TARGET = 0.5  # issue 13: Redis with 2 processes >= 0.5x the memory store with 1 process
TARGET_SETUP = "redis2"
WEBHOOK_TARGET_PER_S = 2000


@dataclass(frozen=True)
class Setup:
    name: str
    label: str
    processes: int
    redis: str | None  # None (memory), "plain" or "aof"


SETUPS = {s.name: s for s in (
    Setup("memory", "memory, 1 process", 1, None),
    Setup("redis1", "Redis, 1 process", 1, "plain"),
    Setup("redis2", "Redis, 2 processes", 2, "plain"),
    Setup("redis2-aof", "Redis AOF everysec, 2 processes", 2, "aof"),
)}


@dataclass
class Running:
    """One setup's emulators, started."""
    setup: Setup
    procs: list[subprocess.Popen]
    ports: list[int]
    redis: RedisServer | None
    url: str | None = None


@dataclass
class World:
    """The receiver and emulators (bench_webhooks.Servers) and the two Redis servers."""
    tmp: Path
    servers: Servers
    redis: dict[str, RedisServer] = field(default_factory=dict)
    next_db: int = 1

    def redis_for(self, kind: str) -> RedisServer:
        if kind not in self.redis:
            directory = self.tmp / f"redis-{kind}"
            directory.mkdir()
            self.redis[kind] = start_redis(directory, appendonly=kind == "aof", appendfsync="everysec")
        return self.redis[kind]

    def start(self, setup: Setup, *extra: str) -> Running:
        """The setup's emulators, on a database of their own; the first writes the world's identity."""
        redis = url = None
        if setup.redis is not None:
            redis = self.redis_for(setup.redis)
            if self.next_db >= 64:
                raise RuntimeError("out of Redis databases (64)")
            url = redis.url(self.next_db)
            self.next_db += 1
            extra = ("--store", url, *extra)
        started = [self.servers.emulator(*extra) for _ in range(setup.processes)]
        return Running(setup, [proc for proc, _ in started], [port for _, port in started], redis, url)

    def close(self) -> None:
        self.servers.close()
        for server in self.redis.values():
            stop_redis(server)


# -- send SMS -------------------------------------------------------------------------------------
def targets_for(running: Running, case: str) -> list[Target]:
    provider, path, _, headers, body = CASES[case]
    return [Target(f"{running.setup.name}-{i} {case}", case, provider, f"{running.setup.name}-{i}", port, path, headers, body)
            for i, port in enumerate(running.ports)]


def load(running: Running, case: str, seconds: float, args: argparse.Namespace, tmp: Path) -> dict:
    """`args.connections` connections split over the setup's processes, all driven at once."""
    targets = targets_for(running, case)
    k = len(targets)
    shares = [args.connections // k + (1 if i < args.connections % k else 0) for i in range(k)]

    def one(i: int) -> dict:
        if args.use_wrk:
            return run_wrk(targets[i], shares[i], 1, seconds, tmp)
        return run_python(targets[i], shares[i], max(1, args.threads // k), 0.0, seconds)

    with ThreadPoolExecutor(k) as pool:
        parts = list(pool.map(one, range(k)))
    requests = sum(p["requests"] for p in parts)
    return {"requests": requests, "seconds": max(p["seconds"] for p in parts), "errors": sum(p["errors"] for p in parts),
            "p50_ms": sum(p["p50_ms"] * p["requests"] for p in parts) / max(1, requests),
            "p99_ms": max(p["p99_ms"] for p in parts), "per_process": [p["requests"] for p in parts]}


def measure_sends(world: World, setups: list[Setup], args: argparse.Namespace) -> dict:
    runnings = [world.start(setup) for setup in setups]
    tmp = world.tmp
    try:
        for running in runnings:
            for case in args.cases:
                for target in targets_for(running, case):
                    preflight(target)
        runs: dict[str, dict[str, list[dict]]] = {case: {r.setup.name: [] for r in runnings} for case in args.cases}
        for round_no in range(1, args.rounds + 1):
            for case in args.cases:
                for running in runnings:  # interleaved, so that the machine's noise hits every setup alike
                    if args.warmup > 0:  # apart from the measured run, whose CPU time is counted
                        load(running, case, args.warmup, args, tmp)
                    pids = [p.pid for p in running.procs]
                    redis_pid = running.redis.process.pid if running.redis else None
                    cpu_before = sum(cpu_seconds(pid) for pid in pids), cpu_seconds(redis_pid) if redis_pid else 0.0
                    result = load(running, case, args.duration, args, tmp)
                    cpu_after = sum(cpu_seconds(pid) for pid in pids), cpu_seconds(redis_pid) if redis_pid else 0.0
                    result["emulator_cpu_s"] = cpu_after[0] - cpu_before[0]
                    result["redis_cpu_s"] = cpu_after[1] - cpu_before[1]
                    result["rate"] = result["requests"] / result["seconds"]
                    runs[case][running.setup.name].append(result)
                    split = " + ".join(str(n) for n in result["per_process"]) if len(result["per_process"]) > 1 else ""
                    print(f"  round {round_no}: {case:<11}{running.setup.label:<34}{result['rate']:8.0f} req/s  "
                          f"p99 {result['p99_ms']:6.1f} ms  {result['errors']} errors" + (f"  (requests {split})" if split else ""), flush=True)
    finally:
        stop_all([proc for running in runnings for proc in running.procs])
    summary: dict[str, dict[str, dict]] = {}
    for case, by_setup in runs.items():
        rows = summary[case] = {}
        for name, results in by_setup.items():
            requests = sum(r["requests"] for r in results)
            rows[name] = {
                "label": SETUPS[name].label, "processes": SETUPS[name].processes, "redis": SETUPS[name].redis,
                "requests_per_s": requests / sum(r["seconds"] for r in results),
                "p50_ms": statistics.median(r["p50_ms"] for r in results), "p99_ms": statistics.median(r["p99_ms"] for r in results),
                "errors": sum(r["errors"] for r in results), "requests": requests,
                "emulator_cpu_ms_per_1000": 1e6 * sum(r["emulator_cpu_s"] for r in results) / max(1, requests),
                "redis_cpu_ms_per_1000": 1e6 * sum(r["redis_cpu_s"] for r in results) / max(1, requests),
                "rounds": results,
            }
        memory = rows.get("memory")
        if memory and memory["requests_per_s"] > 0:
            for row in rows.values():
                row["ratio_to_memory"] = row["requests_per_s"] / memory["requests_per_s"]
    return summary


# -- webhooks -------------------------------------------------------------------------------------
def split(count: int, parts: int) -> list[int]:
    return [count // parts + (1 if i < count % parts else 0) for i in range(parts)]


async def send_spread(ports: list[int], count: int, callback: str, connections: int, rate: float = 0.0) -> None:
    """`count` sends with `whendelivered`, spread evenly over the processes' ports."""
    shares = split(count, len(ports))
    conns = split(connections, len(ports))
    await asyncio.gather(*(send_sms(port, n, callback, c, rate * n / count if rate else 0.0)
                           for port, n, c in zip(ports, shares, conns) if n))


def outbox_left_all(ports: list[int]) -> dict:
    """Pending and failed deliveries as each process sees them (a shared world: the same)."""
    seen = [outbox_left(port) for port in ports]
    return {"pending": max(s["pending"] for s in seen), "failed": max(s["failed"] for s in seen)}


def burst(world: World, setup: Setup, count: int, args: argparse.Namespace) -> dict:
    running = world.start(setup, "--clock", "virtual")
    receiver = world.servers.receiver_port
    try:
        asyncio.run(send_spread(running.ports, count, f"http://127.0.0.1:{receiver}/dlr", args.connections))
        http_json("POST", f"http://127.0.0.1:{receiver}/_reset")
        pids = [p.pid for p in running.procs]
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        redis_before = cpu_seconds(running.redis.process.pid) if running.redis else 0.0
        started_ns = time.monotonic_ns()
        http_json("POST", f"http://127.0.0.1:{running.ports[0]}/_emulator/clock/advance", {"seconds": 2})
        queued_ns = time.monotonic_ns()
        final = wait_for_receiver(receiver, 2 * count, args.deadline)
        cpu_used = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        redis_used = (cpu_seconds(running.redis.process.pid) - redis_before) if running.redis else 0.0
        left = outbox_left_all(running.ports)
    finally:
        stop_all(running.procs)
    seconds = (final["last_ns"] - started_ns) / 1e9
    return {"sms": count, "deliveries": final["count"], "advance_s": (queued_ns - started_ns) / 1e9, "seconds": seconds,
            "deliveries_per_s": final["count"] / seconds, "emulator_cpu_ms_per_1000": 1e6 * cpu_used / max(1, final["count"]),
            "redis_cpu_ms_per_1000": 1e6 * redis_used / max(1, final["count"]), **left}


def sustained(world: World, setup: Setup, count: int, args: argparse.Namespace) -> dict:
    running = world.start(setup)
    receiver = world.servers.receiver_port
    try:
        http_json("POST", f"http://127.0.0.1:{receiver}/_reset")
        pids = [p.pid for p in running.procs]
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        started_ns = time.monotonic_ns()
        asyncio.run(send_spread(running.ports, count, f"http://127.0.0.1:{receiver}/dlr", args.connections, args.sustained_rate))
        sent_ns = time.monotonic_ns()
        during = stats(receiver)["count"]
        final = wait_for_receiver(receiver, 2 * count, args.deadline)
        cpu_used = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        left = outbox_left_all(running.ports)
    finally:
        stop_all(running.procs)
    lags = sorted(final["lags_ms"])
    send_s = (sent_ns - started_ns) / 1e9
    return {"sms": count, "deliveries": final["count"], "send_s": send_s, "sends_per_s": count / send_s,
            "deliveries_per_s_during_sends": during / send_s,
            "last_delivery_after_last_send_s": (final["last_ns"] - sent_ns) / 1e9,
            "emulator_cpu_ms_per_sms": 1e3 * cpu_used / count, "lag_p50_ms": statistics.median(lags),
            "lag_p99_ms": lags[int(0.99 * (len(lags) - 1))], "lag_max_ms": lags[-1], **left}


# -- main -----------------------------------------------------------------------------------------
def names(text: str, known: dict | tuple, what: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return chosen


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--connections", type=int, default=16, help="concurrent keep-alive connections in all (default 16)")
    add("--duration", type=float, default=5.0, help="measured seconds per case, setup and round (default 5; whole seconds with wrk)")
    add("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement (default 1)")
    add("--rounds", type=int, default=1, help="times to run the interleaved sequence (default 1)")
    add("--setups", default=",".join(SETUPS), help=f"send-SMS setups, comma-separated (default all: {', '.join(SETUPS)})")
    add("--cases", default="elks,seven", help=f"send-SMS cases (default elks,seven; known: {', '.join(CASES)})")
    add("--webhook-setups", default="memory,redis1,redis2", help="setups of the webhook phases (default memory,redis1,redis2)")
    add("--burst", type=int, default=2000, help="SMS of each burst phase, 2 deliveries each (default 2000; 0 skips it)")
    add("--sustained", type=int, default=4000, help="SMS of each sustained phase (default 4000; 0 skips it)")
    add("--sustained-rate", type=float, default=1000.0, help="sends per second in the sustained phase, over all processes (default 1000)")
    add("--deadline", type=float, default=300.0, help="seconds to wait for the deliveries of a phase (default 300)")
    add("--threads", type=int, default=2, help="Python load generator processes in all (without wrk; default 2)")
    add("--no-wrk", action="store_true", help="use the Python load generator even if wrk is installed")
    add("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    args.setups = [SETUPS[name] for name in names(args.setups, SETUPS, "setup")]
    args.cases = names(args.cases, CASES, "case")
    args.webhook_setups = [SETUPS[name] for name in names(args.webhook_setups, SETUPS, "setup")] if args.webhook_setups else []
    args.use_wrk = not args.no_wrk and shutil.which("wrk") is not None
    return args


def print_sends(summary: dict) -> None:
    print(f"\n{'case':<12}{'setup':<34}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}  {'x memory':<18}"
          f"{'CPU ms/1000 req: emulators':>27}{'Redis':>7}")
    for case, rows in summary.items():
        for name, row in rows.items():
            ratio = row.get("ratio_to_memory")
            shown = "" if ratio is None else f"{ratio:.2f}"
            if ratio is not None and name == TARGET_SETUP:
                shown += f" {'ok' if ratio >= RATIO_TARGET else 'MISSED'} (>= {RATIO_TARGET:g})"
            print(f"{case:<12}{row['label']:<34}{row['requests_per_s']:>8.0f}{row['p50_ms']:>8.2f}{row['p99_ms']:>8.2f}{row['errors']:>7}  "
                  f"{shown:<18}{row['emulator_cpu_ms_per_1000']:>27.0f}{row['redis_cpu_ms_per_1000']:>7.0f}")


def print_webhooks(report: dict) -> None:
    memory = report.get("memory", {})
    print(f"\n{'webhooks':<34}{'burst/s':>9}{'x memory':>10}{'CPU ms/1000':>13}{'Redis':>7}{'sust. sends/s':>15}"
          f"{'last after, s':>15}{'lag p99 ms':>12}{'CPU ms/SMS':>12}")
    for name, phases in report.items():
        b, s = phases.get("burst"), phases.get("sustained")
        cells = [f"{SETUPS[name].label:<34}"]
        if b:
            ratio = b["deliveries_per_s"] / memory["burst"]["deliveries_per_s"] if memory.get("burst") else None
            cells += [f"{b['deliveries_per_s']:>9.0f}", f"{'' if ratio is None else f'{ratio:.2f}':>10}",
                      f"{b['emulator_cpu_ms_per_1000']:>13.0f}", f"{b['redis_cpu_ms_per_1000']:>7.0f}"]
        else:
            cells += [f"{'':>9}{'':>10}{'':>13}{'':>7}"]
        if s:
            cells += [f"{s['sends_per_s']:>15.0f}", f"{s['last_delivery_after_last_send_s']:>15.2f}", f"{s['lag_p99_ms']:>12.1f}",
                      f"{s['emulator_cpu_ms_per_sms']:>12.2f}"]
        print("".join(cells))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    print(f"bench_shared: load generator {'wrk' if args.use_wrk else 'python'}, {args.connections} connections, "
          f"{args.warmup:g} s warm-up + {args.duration:g} s per case and setup, {args.rounds} round(s); setups "
          f"{', '.join(s.name for s in args.setups)}; webhooks {', '.join(s.name for s in args.webhook_setups) or 'none'}; "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f}", flush=True)
    report: dict = {"load_generator": "wrk" if args.use_wrk else "python", "connections": args.connections, "duration_s": args.duration,
                    "warmup_s": args.warmup, "rounds": args.rounds, "cpus": os.cpu_count(), "ratio_target": RATIO_TARGET,
                    "target_setup": TARGET_SETUP, "webhook_target_per_s": WEBHOOK_TARGET_PER_S, "load_average_before": load_before,
                    "labels": {name: setup.label for name, setup in SETUPS.items()}}
    with tempfile.TemporaryDirectory(prefix="bench-shared-") as tmp:
        world = None
        try:
            world = World(Path(tmp), Servers(Path(tmp)))
            if args.setups and args.cases:
                report["send"] = measure_sends(world, args.setups, args)
                print_sends(report["send"])
            webhooks = report["webhooks"] = {}
            for setup in args.webhook_setups:
                phases = webhooks[setup.name] = {}
                if args.burst:
                    phases["burst"] = b = burst(world, setup, args.burst, args)
                    print(f"webhooks, {setup.label}: burst of {b['deliveries']} deliveries in {b['seconds']:.2f} s: "
                          f"{b['deliveries_per_s']:.0f}/s", flush=True)
                if args.sustained:
                    phases["sustained"] = s = sustained(world, setup, args.sustained, args)
                    print(f"webhooks, {setup.label}: sustained {s['sms']} SMS at {s['sends_per_s']:.0f}/s, the last delivery "
                          f"{s['last_delivery_after_last_send_s']:.2f} s after the last send", flush=True)
            if webhooks:
                print_webhooks(webhooks)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"bench_shared: {exc}", file=sys.stderr)
            return 2
        except BaseException as exc:  # pytest.skip from redis_support: no redis-server and no way to install it
            if type(exc).__name__ == "Skipped":
                print(f"bench_shared: {exc}", file=sys.stderr)
                return 2
            if isinstance(exc, KeyboardInterrupt):
                print("bench_shared: interrupted", file=sys.stderr)
                return 130
            raise
        finally:
            if world is not None:
                world.close()
    report["load_average_after"] = os.getloadavg()
    print(f"\nload average before {load_before[0]:.2f}, after {report['load_average_after'][0]:.2f} ({os.cpu_count()} CPUs)")
    errors = sum(row["errors"] for rows in report.get("send", {}).values() for row in rows.values())
    undelivered = sum(phase["pending"] + phase["failed"] + 2 * phase["sms"] - phase["deliveries"]
                      for phases in report["webhooks"].values() for phase in phases.values())
    report["errors"], report["undelivered"] = errors, undelivered
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if errors or undelivered:
        print(f"\nFAILED: {errors} failed request(s), {undelivered} delivery(ies) missing, pending or failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

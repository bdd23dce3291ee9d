"""Throughput of the emulator's send-SMS endpoints against a bare Starlette endpoint, WireMock and Prism.

    python tests/bench/bench_send_sms.py [--connections 16] [--duration 5] [--warmup 1]
                                         [--rounds 1] [--no-wrk] [--no-prism] [--no-wiremock] [--json PATH]

Starts the emulator (`python -m emulator`, with extra accounts of huge balance), the two apps of
`bare_app.py` under uvicorn (`bare`: the bare Starlette form endpoint, `await request.form()`, the
baseline of the targets; `lean`: the same with the emulator's own `parse_qsl`, a stricter
reference without a target), and, when setup.sh has installed them,
WireMock (a static stub of each send answer, `--no-request-journal`, warmed up for
`--wiremock-warmup` seconds per request before the first round: its JIT needs it) and Prism
(`prism mock specs/46elks.yaml` and `specs/seven.json`, `-v warn`) on free loopback ports. Then it
drives each target in turn, interleaved for each round, over keep-alive HTTP/1.1 connections for
a fixed time after a warm-up: 46elks `POST /a1/SMS` (form, Basic auth; Prism serves the spec's
paths without the base path, so `/SMS` there), seven.io `POST /api/sms` with a JSON body and
X-Api-Key (what most clients send; the spec documents only a form body, so Prism answers 415 to
it and has no such row), and the same send as a form with `Authorization: Bearer` (the only
shape the seven.io spec allows, so the one Prism can be compared on).
The load generator is `wrk` if installed (see setup.sh), else (or with --no-wrk) Python worker
processes with raw asyncio connections.
Prints req/s, p50/p99 latency and errors (non-2xx answers, socket errors) per target, each
emulator target's req/s as a ratio of the bare form endpoint's for its provider (project target
>= 1.2; seven.io's JSON send is compared with the bare form endpoint too, as issue 17 measures
it), of the lean app's on the same request (no target), of WireMock's
(target > 1: ahead of the stub) and of Prism's (target >= 5), and its p99 as a ratio of the bare
form endpoint's (target <= 2). Exit status 1 if any request to the emulator or the bare app failed
(the peers' failures are reported, not fatal), 2 if the servers or the load generator could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import loadgen  # tests/bench/ is on sys.path when this file runs as a script
from procs import (ELKS_AUTH, FIXTURE, HERE, ROOT, SEVEN_KEY, emulator_command, free_port, prism_path, start, stop_all, wait_ready,
                   wiremock_command)

RATIO_TARGET = 1.2  # issue 17: ahead of every peer, with full behaviour
WIREMOCK_RATIO_TARGET = 1.0  # strictly above: ahead of WireMock's static stub
PRISM_RATIO_TARGET = 5.0
P99_RATIO_TARGET = 2.0  # the emulator's p99 at most twice the bare endpoint's
SERVERS = ("bare", "lean", "emulator", "wiremock", "prism")
# the bare request each emulator case is measured against: the bare Starlette form endpoint of its provider
BARE_CASE = {"elks": "elks", "seven": "seven-form", "seven-form": "seven-form"}
PEERS = ("wiremock", "prism")

# WireMock's stubs: the same answers the emulator gives (the fields a client reads), static.
WIREMOCK_MAPPINGS = {
    "elks": {"request": {"method": "POST", "urlPath": "/a1/SMS"},
             "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                          "jsonBody": {"status": "created", "direction": "outgoing", "from": "ElkCo", "to": "+46700000123",
                                       "created": "2026-01-01T00:00:00.000000", "parts": 1, "estimated_cost": 3500,
                                       "id": "s0123456789abcdef0123456789abcdef", "message": "Hello"}}},
    "seven": {"request": {"method": "POST", "urlPath": "/api/sms"},
              "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                           "jsonBody": {"success": "100", "total_price": 0.075, "balance": 99.925, "debug": "false", "sms_type": "direct",
                                        "messages": [{"id": "77000000001", "sender": "seven.io", "recipient": "4917612345678",
                                                      "text": "Hello", "encoding": "gsm", "label": None, "parts": 1, "udh": None,
                                                      "is_binary": False, "price": 0.075, "success": True, "error": None,
                                                      "error_text": None}]}}},
}


@dataclass
class Target:
    name: str
    case: str  # what is sent: "elks", "seven" (JSON) or "seven-form"
    provider: str  # "elks" or "seven"
    server: str  # one of SERVERS
    port: int
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


# case -> (provider, path on bare and emulator, path on Prism or None, headers, body)
CASES = {
    "elks": ("elks", "/a1/SMS", "/SMS",
             {"Content-Type": "application/x-www-form-urlencoded", "Authorization": ELKS_AUTH},
             b"to=%2B46700000123&from=ElkCo&message=Hello"),
    "seven": ("seven", "/api/sms", None,
              {"Content-Type": "application/json", "Accept": "application/json", "X-Api-Key": SEVEN_KEY},
              json.dumps({"to": "+4917612345678", "text": "Hello"}).encode()),
    "seven-form": ("seven", "/api/sms", "/sms",
                   {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                    "Authorization": f"Bearer {SEVEN_KEY}"},
                   b"to=%2B4917612345678&text=Hello"),
}


def make_targets(ports: dict[str, int]) -> list[Target]:
    """Every case on every server that runs (ports has "elks-prism"/"seven-prism" when Prism runs)."""
    targets = []
    for case, (provider, path, prism_path_, headers, body) in CASES.items():
        suffix = " form" if case == "seven-form" else ""
        for server in SERVERS:
            if server == "prism":
                if prism_path_ is None or f"{provider}-prism" not in ports:
                    continue
                port, where = ports[f"{provider}-prism"], prism_path_
            elif server not in ports:
                continue
            else:
                port, where = ports[server], path
            targets.append(Target(f"{server} {where}{suffix}", case, provider, server, port, where, headers, body))
    return targets  # interleaved: bare, lean, emulator, wiremock, prism for each case


# -- servers --------------------------------------------------------------------------------------
def preflight(target: Target) -> None:
    """One request by hand, so a wrong fixture or credential shows its answer instead of a count."""
    request = urllib.request.Request(target.url, data=target.body, headers=target.headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{target.name}: HTTP {exc.code}: {exc.read()[:500]!r}") from None


# -- wrk ------------------------------------------------------------------------------------------
WRK_SCRIPT = """wrk.method = "POST"
wrk.body = {body}
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %.1f %.1f %d %d %d %d\\n", summary.requests, summary.duration, bad,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout))
end
"""


def lua_string(text: str) -> str:
    assert text.isascii(), "the wrk script only carries ASCII strings"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(target: Target, connections: int, threads: int, seconds: float, tmp: Path) -> dict:
    script = tmp / f"{target.server}_{target.case}.lua"
    headers = "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in target.headers.items())
    script.write_text(WRK_SCRIPT.format(body=lua_string(target.body.decode()), headers=headers))
    command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
               "-d", f"{max(1, round(seconds))}s", "-s", str(script), target.url]
    done = subprocess.run(command, capture_output=True, text=True)
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed on {target.name} (status {done.returncode}):\n{done.stdout}{done.stderr}")
    requests, duration_us, non2xx, socket_errors, p50_us, p99_us, *kinds = line.split()[1:]
    detail = {"non_2xx": int(non2xx), **{name: int(count) for name, count in zip(("connect", "read", "write", "timeout"), kinds)}}
    return {"requests": int(requests), "seconds": int(duration_us) / 1e6, "errors": int(non2xx) + int(socket_errors),
            "error_detail": detail, "p50_ms": float(p50_us) / 1000, "p99_ms": float(p99_us) / 1000}


# -- the Python fallback (loadgen.py) -------------------------------------------------------------
def run_python(target: Target, connections: int, workers: int, warmup: float, seconds: float) -> dict:
    lines = [f"POST {target.path} HTTP/1.1", f"Host: 127.0.0.1:{target.port}",
             *(f"{k}: {v}" for k, v in target.headers.items()), f"Content-Length: {len(target.body)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + target.body
    return loadgen.run(target.port, request, connections, workers, warmup, seconds)


# -- main -----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--connections", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    add("--duration", type=float, default=5.0, help="measured seconds per target and round (default 5; whole seconds with wrk)")
    add("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement (default 1)")
    add("--rounds", type=int, default=1, help="times to run the interleaved sequence of targets (default 1)")
    add("--threads", type=int, help="wrk threads, or Python load generator processes (default: 1 for wrk, 2 for Python)")
    add("--bare-loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="uvicorn --loop of the bare app (default auto)")
    add("--no-wrk", action="store_true", help="use the Python load generator even if wrk is installed")
    add("--no-prism", action="store_true", help="leave Prism out even if setup.sh installed it")
    add("--no-wiremock", action="store_true", help="leave WireMock out even if setup.sh installed it")
    add("--wiremock-warmup", type=float, default=10.0, help="seconds of load on each WireMock target before the first round (default 10; its JIT needs it)")
    add("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    return parser.parse_args(argv)


def server_commands(args: argparse.Namespace, tmp: Path, ports: dict[str, int], prism: str | None) -> list[tuple[str, list[str], int, Path]]:
    (tmp / "fixtures.yaml").write_text(FIXTURE)
    wiremock = None
    if "wiremock" in ports:
        (tmp / "wiremock" / "mappings").mkdir(parents=True, exist_ok=True)
        for name, mapping in WIREMOCK_MAPPINGS.items():
            (tmp / "wiremock" / "mappings" / f"{name}.json").write_text(json.dumps(mapping))
        wiremock = wiremock_command(ports["wiremock"], tmp / "wiremock")
    servers = [
        ("emulator", emulator_command(ports["emulator"], tmp / "fixtures.yaml"), ports["emulator"], tmp / "emulator.log"),
        *((name, [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(ports[name]),
                  "--loop", args.bare_loop, "--no-access-log", "--log-level", "warning", f"bare_app:{app}"],
           ports[name], tmp / f"{name}.log") for name, app in (("bare", "app"), ("lean", "lean_app"))),
    ]
    if wiremock is not None:
        servers.append(("wiremock", wiremock, ports["wiremock"], tmp / "wiremock.log"))
    if prism is not None:
        for provider, spec in (("elks", "specs/46elks.yaml"), ("seven", "specs/seven.json")):
            port = ports[f"{provider}-prism"]
            servers.append((f"{provider}-prism", [prism, "mock", str(ROOT / spec), "-h", "127.0.0.1", "-p", str(port), "-v", "warn"],
                            port, tmp / f"prism-{provider}.log"))
    return servers


def measure(args: argparse.Namespace, use_wrk: bool, threads: int, prism: str | None, wiremock: bool, tmp: Path) -> tuple[list[Target], dict[str, list[dict]]]:
    """Start the servers, drive every target in turn for every round, stop the servers."""
    ports = {"bare": free_port(), "lean": free_port(), "emulator": free_port()}
    if prism is not None:
        ports["elks-prism"], ports["seven-prism"] = free_port(), free_port()
    if wiremock:
        ports["wiremock"] = free_port()
    servers = server_commands(args, tmp, ports, prism)
    processes: list[subprocess.Popen] = []
    try:
        for _, command, port, log in servers:
            processes.append(start(command, log))
        for proc, (_, _, port, log) in zip(processes, servers):
            wait_ready(proc, port, log, 30.0)
        targets = make_targets(ports)
        for target in targets:
            preflight(target)
        runs: dict[str, list[dict]] = {t.name: [] for t in targets}
        for target in targets:
            if target.server == "wiremock" and args.wiremock_warmup > 0:  # the JVM's JIT, once
                if use_wrk:
                    run_wrk(target, args.connections, threads, args.wiremock_warmup, tmp)
                else:
                    run_python(target, args.connections, threads, args.wiremock_warmup, 0.5)
        for round_no in range(1, args.rounds + 1):
            for target in targets:
                if use_wrk:
                    if args.warmup > 0:
                        run_wrk(target, args.connections, threads, args.warmup, tmp)  # warm-up, discarded
                    result = run_wrk(target, args.connections, threads, args.duration, tmp)
                else:
                    result = run_python(target, args.connections, threads, args.warmup, args.duration)
                result["rate"] = result["requests"] / result["seconds"]
                runs[target.name].append(result)
                detail = result.get("error_detail") if result["errors"] else None
                shown = ", ".join(f"{name} {count}" for name, count in detail.items() if count) if detail else ""
                print(f"  round {round_no}: {target.name:<24}{result['rate']:9.0f} req/s  {result['errors']} errors"
                      + (f" ({shown})" if shown else ""), flush=True)
        return targets, runs
    finally:
        stop_all(processes)


def summarize(targets: list[Target], runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Rates pool every round; latency percentiles are the median of the per-round values."""
    summary = {}
    by_case: dict[tuple[str, str], dict] = {}
    for target in targets:
        results = runs[target.name]
        row = summary[target.name] = by_case[(target.case, target.server)] = {
            "case": target.case, "provider": target.provider, "server": target.server, "path": target.path,
            "requests_per_s": sum(r["requests"] for r in results) / sum(r["seconds"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "errors": sum(r["errors"] for r in results), "requests": sum(r["requests"] for r in results),
            "rounds": results,
        }
    for (case, server), row in by_case.items():
        if server != "emulator":
            continue
        bare = by_case.get((BARE_CASE[case], "bare"))
        for other, key in ((bare, "ratio_to_bare"), (by_case.get((case, "lean")), "ratio_to_lean"),
                           (by_case.get((case, "wiremock")), "ratio_to_wiremock"), (by_case.get((case, "prism")), "ratio_to_prism")):
            if other is not None and other["requests_per_s"] > 0:
                row[key] = row["requests_per_s"] / other["requests_per_s"]
        if bare is not None and bare["p99_ms"] > 0:
            row["p99_ratio_to_bare"] = row["p99_ms"] / bare["p99_ms"]
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_wrk = not args.no_wrk and shutil.which("wrk") is not None
    if not use_wrk and not args.no_wrk:
        print("wrk not found (tests/bench/setup.sh installs it); using the Python load generator", file=sys.stderr)
    prism = None if args.no_prism else prism_path()
    if prism is None and not args.no_prism:
        print("prism not found (tests/bench/setup.sh installs it); leaving the Prism rows out", file=sys.stderr)
    wiremock = not args.no_wiremock and wiremock_command(0, Path(".")) is not None
    if not wiremock and not args.no_wiremock:
        print("wiremock or java not found (tests/bench/setup.sh installs them); leaving the WireMock rows out", file=sys.stderr)
    threads = args.threads or (1 if use_wrk else 2)
    print(f"load generator: {'wrk' if use_wrk else 'python'} ({threads} {'thread(s)' if use_wrk else 'process(es)'}), "
          f"{args.connections} connections, {args.warmup:g} s warm-up + {args.duration:g} s per target, "
          f"{args.rounds} round(s), {os.cpu_count()} CPUs{', prism ' + prism if prism else ''}{', wiremock' if wiremock else ''}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as tmp:
        try:
            targets, runs = measure(args, use_wrk, threads, prism, wiremock, Path(tmp))
        except RuntimeError as exc:
            print(f"bench_send_sms: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bench_send_sms: interrupted", file=sys.stderr)
            return 130
    summary = summarize(targets, runs)

    columns = (("ratio_to_bare", f"to bare (>= {RATIO_TARGET:g})", lambda r: r >= RATIO_TARGET),
               ("ratio_to_lean", "to lean", None),
               ("ratio_to_wiremock", f"to WireMock (> {WIREMOCK_RATIO_TARGET:g})", lambda r: r > WIREMOCK_RATIO_TARGET),
               ("ratio_to_prism", f"to Prism (>= {PRISM_RATIO_TARGET:g})", lambda r: r >= PRISM_RATIO_TARGET),
               ("p99_ratio_to_bare", f"p99/bare p99 (<= {P99_RATIO_TARGET:g})", lambda r: r <= P99_RATIO_TARGET))
    print(f"\n{'target':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}  " + "".join(f"{title:<26}" for _, title, _ in columns))
    for name, row in summary.items():
        shown = []
        for key, _, met in columns:
            ratio = row.get(key)
            shown.append("" if ratio is None else f"{ratio:.2f}" if met is None else f"{ratio:.2f} {'ok' if met(ratio) else 'MISSED'}")
        print(f"{name:<26}{row['requests_per_s']:>9.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['errors']:>8}  " + "".join(f"{cell:<26}" for cell in shown))
    errors = sum(row["errors"] for row in summary.values() if row["server"] not in PEERS)
    peer_errors = sum(row["errors"] for row in summary.values() if row["server"] in PEERS)
    if peer_errors:
        print(f"\nnote: the peers failed {peer_errors} request(s) (see the per-round lines); their figures include them", file=sys.stderr)
    if args.json:
        report = {"load_generator": "wrk" if use_wrk else "python", "threads": threads, "connections": args.connections,
                  "duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds, "bare_loop": args.bare_loop,
                  "cpus": os.cpu_count(), "prism": prism, "wiremock": wiremock, "ratio_target": RATIO_TARGET,
                  "wiremock_ratio_target": WIREMOCK_RATIO_TARGET, "prism_ratio_target": PRISM_RATIO_TARGET, "p99_ratio_target": P99_RATIO_TARGET,
                  "errors": errors, "peer_errors": peer_errors, "targets": summary}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if errors:
        print(f"\nFAILED: {errors} request(s) to the emulator or the bare app got a non-2xx answer or a socket error", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of the emulator's send-SMS endpoints against a bare Starlette ceiling.

    python tests/bench/bench_send_sms.py [--connections 16] [--duration 5] [--warmup 1]
                                         [--rounds 1] [--no-wrk] [--json PATH]

Starts the emulator (`python -m emulator`, with extra accounts of huge balance) and `bare_app.py`
(the same body parsing and nothing else) under uvicorn on free loopback ports, then drives four
targets in turn, interleaved bare/emulator for each round: 46elks `POST /a1/SMS` (form, Basic
auth) and seven.io `POST /api/sms` (JSON, X-Api-Key) on each server, over keep-alive HTTP/1.1
connections, for a fixed time after a warm-up. The load generator is `wrk` if installed (see
setup.sh), else (or with --no-wrk) Python worker processes with raw asyncio connections.
Prints req/s, p50/p99 latency and errors (non-2xx answers, socket errors) per target, and each
emulator target's req/s as a ratio of the bare one's (project target >= 0.7). Exit status 1 if
any request failed, 2 if the servers or the load generator could not run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import loadgen  # tests/bench/ is on sys.path when this file runs as a script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RATIO_TARGET = 0.7
BALANCE = 10**15
FIXTURE = f"""extends: default
elks:
  accounts:
    - {{id: ubench000000000000000000000000000, username: bench_user, password: bench_password, balance: {BALANCE}}}
seven:
  accounts:
    - {{id: "9000001", api_key: bench_api_key, balance: {BALANCE}}}
"""
ELKS_AUTH = "Basic " + base64.b64encode(b"bench_user:bench_password").decode()


@dataclass
class Target:
    name: str
    provider: str  # "elks" or "seven"
    server: str  # "bare" or "emulator"
    port: int
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def make_targets(bare_port: int, emulator_port: int) -> list[Target]:
    elks = ("/a1/SMS", {"Content-Type": "application/x-www-form-urlencoded", "Authorization": ELKS_AUTH},
            b"to=%2B46700000123&from=ElkCo&message=Hello")
    seven = ("/api/sms", {"Content-Type": "application/json", "Accept": "application/json", "X-Api-Key": "bench_api_key"},
             json.dumps({"to": "+4917612345678", "text": "Hello"}).encode())
    targets = []
    for provider, (path, headers, body) in (("elks", elks), ("seven", seven)):
        for server, port in (("bare", bare_port), ("emulator", emulator_port)):
            targets.append(Target(f"{server} {path}", provider, server, port, path, headers, body))
    return targets  # interleaved: bare, emulator, bare, emulator


# -- servers --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:  # the child keeps its own copy of the file descriptor
        return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_ready(proc: subprocess.Popen, port: int, log_path: Path, deadline_s: float = 20.0) -> None:
    """Poll with HTTP GETs until the server answers anything at all, or fail with its log."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # a 404 is an answer too
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} not ready after {deadline_s:.0f} s:\n{log_path.read_text()[-2000:]}")


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
  io.write(string.format("BENCH %d %d %d %d %.1f %.1f\\n", summary.requests, summary.duration, bad,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str) -> str:
    assert text.isascii(), "the wrk script only carries ASCII strings"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(target: Target, connections: int, threads: int, seconds: float, tmp: Path) -> dict:
    script = tmp / f"{target.server}_{target.provider}.lua"
    headers = "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in target.headers.items())
    script.write_text(WRK_SCRIPT.format(body=lua_string(target.body.decode()), headers=headers))
    command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
               "-d", f"{max(1, round(seconds))}s", "-s", str(script), target.url]
    done = subprocess.run(command, capture_output=True, text=True)
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed on {target.name} (status {done.returncode}):\n{done.stdout}{done.stderr}")
    requests, duration_us, non2xx, socket_errors, p50_us, p99_us = line.split()[1:]
    return {"requests": int(requests), "seconds": int(duration_us) / 1e6, "errors": int(non2xx) + int(socket_errors),
            "p50_ms": float(p50_us) / 1000, "p99_ms": float(p99_us) / 1000}


# -- the Python fallback (loadgen.py) -------------------------------------------------------------
def run_python(target: Target, connections: int, workers: int, warmup: float, seconds: float) -> dict:
    lines = [f"POST {target.path} HTTP/1.1", f"Host: 127.0.0.1:{target.port}",
             *(f"{k}: {v}" for k, v in target.headers.items()), f"Content-Length: {len(target.body)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + target.body
    return loadgen.run(target.port, request, connections, workers, warmup, seconds)


# -- main -----------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--connections", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    add("--duration", type=float, default=5.0, help="measured seconds per target and round (default 5; whole seconds with wrk)")
    add("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement (default 1)")
    add("--rounds", type=int, default=1, help="times to run the interleaved sequence of targets (default 1)")
    add("--threads", type=int, help="wrk threads, or Python load generator processes (default: 1 for wrk, 2 for Python)")
    add("--bare-loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="uvicorn --loop of the bare app (default auto)")
    add("--no-wrk", action="store_true", help="use the Python load generator even if wrk is installed")
    add("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    return parser.parse_args()


def server_commands(args: argparse.Namespace, tmp: Path, bare_port: int, emulator_port: int) -> list[tuple[list[str], int, Path]]:
    (tmp / "fixtures.yaml").write_text(FIXTURE)
    emulator = [sys.executable, "-m", "emulator", "--port", str(emulator_port), "--log-level", "warning",
                "--fixtures", str(tmp / "fixtures.yaml")]
    bare = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(bare_port),
            "--loop", args.bare_loop, "--no-access-log", "--log-level", "warning", "bare_app:app"]
    return [(emulator, emulator_port, tmp / "emulator.log"), (bare, bare_port, tmp / "bare.log")]


def measure(args: argparse.Namespace, use_wrk: bool, threads: int, tmp: Path) -> tuple[list[Target], dict[str, list[dict]]]:
    """Start both servers, drive every target in turn for every round, stop the servers."""
    bare_port, emulator_port = free_port(), free_port()
    servers = server_commands(args, tmp, bare_port, emulator_port)
    processes: list[subprocess.Popen] = []
    try:
        for command, port, log in servers:
            processes.append(start(command, log))
        for proc, (_, port, log) in zip(processes, servers):
            wait_ready(proc, port, log)
        targets = make_targets(bare_port, emulator_port)
        for target in targets:
            preflight(target)
        runs: dict[str, list[dict]] = {t.name: [] for t in targets}
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
                print(f"  round {round_no}: {target.name:<18}{result['rate']:9.0f} req/s  {result['errors']} errors", flush=True)
        return targets, runs
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def summarize(targets: list[Target], runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Rates pool every round; latency percentiles are the median of the per-round values."""
    summary = {}
    for target in targets:
        results = runs[target.name]
        row = summary[target.name] = {
            "provider": target.provider, "server": target.server,
            "requests_per_s": sum(r["requests"] for r in results) / sum(r["seconds"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "errors": sum(r["errors"] for r in results), "requests": sum(r["requests"] for r in results),
            "rounds": results,
        }
        if target.server == "emulator":
            row["ratio_to_bare"] = row["requests_per_s"] / summary[f"bare {target.path}"]["requests_per_s"]
    return summary


def main() -> int:
    args = parse_args()
    use_wrk = not args.no_wrk and shutil.which("wrk") is not None
    if not use_wrk and not args.no_wrk:
        print("wrk not found (tests/bench/setup.sh installs it); using the Python load generator", file=sys.stderr)
    threads = args.threads or (1 if use_wrk else 2)
    print(f"load generator: {'wrk' if use_wrk else 'python'} ({threads} {'thread(s)' if use_wrk else 'process(es)'}), "
          f"{args.connections} connections, {args.warmup:g} s warm-up + {args.duration:g} s per target, "
          f"{args.rounds} round(s), {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as tmp:
        try:
            targets, runs = measure(args, use_wrk, threads, Path(tmp))
        except RuntimeError as exc:
            print(f"bench_send_sms: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bench_send_sms: interrupted", file=sys.stderr)
            return 130
    summary = summarize(targets, runs)

    print(f"\n{'target':<20}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}  ratio to bare (target >= {RATIO_TARGET})")
    for name, row in summary.items():
        ratio = row.get("ratio_to_bare")
        shown = "" if ratio is None else f"{ratio:.2f} {'ok' if ratio >= RATIO_TARGET else 'BELOW TARGET'}"
        print(f"{name:<20}{row['requests_per_s']:>10.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['errors']:>8}  {shown}")
    errors = sum(row["errors"] for row in summary.values())
    if args.json:
        report = {"load_generator": "wrk" if use_wrk else "python", "threads": threads, "connections": args.connections,
                  "duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds, "bare_loop": args.bare_loop,
                  "cpus": os.cpu_count(), "ratio_target": RATIO_TARGET, "errors": errors, "targets": summary}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if errors:
        print(f"\nFAILED: {errors} request(s) got a non-2xx answer or a socket error", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

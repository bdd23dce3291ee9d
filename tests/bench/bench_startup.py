"""Startup-to-ready time of `python -m emulator --port 0`.

    python tests/bench/bench_startup.py [--runs 7] [--importtime] [--json PATH]

Each run spawns `python -m emulator --port 0 --log-level warning` (embedded default fixtures,
real clock) and measures, from just before the spawn:

- ready line: until the process has printed `... ready on http://127.0.0.1:PORT ...` on stdout
- health 200: until `GET /_emulator/health` on that port has answered 200 (right after the line,
  over a new connection: what a CI script that waits for the line and then checks does)

then reads the process's VmRSS at that moment and again half a second later (idle: what the
server loads after its ready line, the webhook client, is in by then), stops it (SIGTERM) and
times the exit. For
context it also times, the same number of runs: the interpreter alone (`python -c pass`),
importing the emulator and building its app in-process (`create_app()`, which imports every
resource module and loads the fixtures), and a bare Starlette
app under uvicorn (bare_app.py) from spawn to its first answer. Prints the median (min-max) of
each; project targets (issue 17): ready in under 0.3 s, and under 50 MB VmRSS when idle. The
emulator's modules are byte-compiled first (`compileall`, into the git-ignored `__pycache__`),
as an installed package is: with `PYTHONDONTWRITEBYTECODE` set, every start would otherwise
compile them again (about 0.1 s). `--importtime` also lists the imports that take
longest while the app is built (`python -X importtime`; indented: imported by one above).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from procs import HERE, ROOT, free_port, memory_kb

TARGET_S = 0.3
TARGET_RSS_MB = 50
IDLE_AFTER_S = 0.5  # after the ready line and the first answer, when the idle VmRSS is read
BUILD_APP = "import emulator.cli; from emulator.app import create_app; create_app()"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each measurement (default 7)")
    parser.add_argument("--importtime", action="store_true", help="also list the slowest imports (python -X importtime)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    return parser.parse_args(argv)


def health_ok(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/_emulator/health")
        response = connection.getresponse()
        response.read()
        return response.status == 200
    finally:
        connection.close()


def emulator_run() -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0", "--log-level", "warning"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        ready = time.perf_counter() - started
        if " ready on " not in line:
            raise RuntimeError(f"no ready line: {line!r} {proc.stderr.read()[-2000:]!r}")
        port = int(line.split(" ready on ")[1].split()[0].rsplit(":", 1)[1])
        while not health_ok(port):
            pass
        healthy = time.perf_counter() - started
        rss_mb = memory_kb(proc.pid)["VmRSS"] / 1024
        time.sleep(IDLE_AFTER_S)
        idle_rss_mb = memory_kb(proc.pid)["VmRSS"] / 1024
        stopping = time.perf_counter()
        proc.terminate()
        proc.wait(timeout=10)
        return {"ready_s": ready, "health_s": healthy, "rss_mb": rss_mb, "idle_rss_mb": idle_rss_mb, "exit_s": time.perf_counter() - stopping}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def command_run(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - started


def bare_run() -> float:
    """A bare Starlette app under uvicorn, from spawn to its first answer (polled every ms)."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "--port", str(port), "--log-level", "warning",
                             "bare_app:app"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return time.perf_counter() - started
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the bare app exited") from None
                time.sleep(0.001)
            finally:
                connection.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def slowest_imports(count: int = 15) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) of the imports that take longest, nested ones included."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", BUILD_APP], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:"):].split("|")
        rows.append((name.rstrip()[1:], int(own) / 1000, int(cumulative) / 1000))  # keeps the nesting indent
    return sorted(rows, key=lambda row: -row[2])[:count]


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"bench_startup: {args.runs} runs each, {os.cpu_count()} CPUs", flush=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "emulator")], check=False, stdout=subprocess.DEVNULL)
    try:
        runs = [emulator_run() for _ in range(args.runs)]
        report = {
            "target_s": TARGET_S,
            "target_rss_mb": TARGET_RSS_MB,
            "ready_line_s": spread([r["ready_s"] for r in runs]),
            "health_200_s": spread([r["health_s"] for r in runs]),
            "rss_at_ready_mb": spread([r["rss_mb"] for r in runs]),
            "rss_idle_mb": spread([r["idle_rss_mb"] for r in runs]),
            "exit_after_sigterm_s": spread([r["exit_s"] for r in runs]),
            "python_alone_s": spread([command_run("pass") for _ in range(args.runs)]),
            "import_and_create_app_s": spread([command_run(BUILD_APP) for _ in range(args.runs)]),
            "bare_starlette_first_answer_s": spread([bare_run() for _ in range(args.runs)]),
        }
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"bench_startup: {exc}", file=sys.stderr)
        return 2
    print(f"\n{'measurement':<44}{'median':>10}{'min':>9}{'max':>9}")
    labels = [("ready_line_s", "emulator: spawn to ready line", "s"), ("health_200_s", "emulator: spawn to health 200", "s"),
              ("exit_after_sigterm_s", "emulator: SIGTERM to exit", "s"), ("rss_at_ready_mb", "emulator: VmRSS when ready", "MB"),
              ("rss_idle_mb", f"emulator: VmRSS idle ({IDLE_AFTER_S:g} s later)", "MB"),
              ("python_alone_s", "python -c pass", "s"), ("import_and_create_app_s", "python: import emulator, create_app()", "s"),
              ("bare_starlette_first_answer_s", "bare Starlette+uvicorn: spawn to answer", "s")]
    for key, label, unit in labels:
        row = report[key]
        fmt = "{:>9.3f}{}" if unit == "s" else "{:>8.0f} {}"
        cells = "".join(fmt.format(row[name], "s" if unit == "s" else "MB") for name in ("median", "min", "max"))
        print(f"{label:<44}{cells}")
    median = report["ready_line_s"]["median"]
    print(f"ready line median {median:.3f} s (target < {TARGET_S} s): {'ok' if median < TARGET_S else 'ABOVE TARGET'}"
          f" (a bare Starlette app under uvicorn in the same run: {report['bare_starlette_first_answer_s']['median']:.3f} s)")
    rss = report["rss_idle_mb"]["median"]
    print(f"VmRSS idle {rss:.0f} MB (target < {TARGET_RSS_MB} MB): {'ok' if rss < TARGET_RSS_MB else 'ABOVE TARGET'}")
    if args.importtime:
        report["slowest_imports"] = slowest_imports()
        print(f"\n{'slowest imports while building the app':<50}{'self ms':>9}{'cumul. ms':>11}")
        for name, own, cumulative in report["slowest_imports"]:
            print(f"{name:<50}{own:>9.1f}{cumulative:>11.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

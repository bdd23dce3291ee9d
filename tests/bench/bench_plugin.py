"""What one test costs with the pytest plugin: the `telco_emulator` fixture's reset before the
test, one send and one `wait_for_message`, against the same number of tests without the fixture.

    python tests/bench/bench_plugin.py [--tests N] [--rounds R] [--modes ...] [--json PATH]

Writes a throwaway test suite into a temporary directory and runs it with pytest in a
subprocess (`-p no:cacheprovider`), a conftest timing each test's whole protocol (set-up, call,
tear-down) with `time.perf_counter`. Cases, run in turn in each round so machine noise hits
them alike:

- `bare`: N tests that take no fixture (what pytest itself costs a test; the baseline);
- `plugin`: N tests that each take `telco_emulator` (reset), send one 46elks SMS through a
  module-wide httpx client and wait for its `message.created` event (the default: the emulator
  in a child process);
- `thread`: the same with `--telco-emulator-mode thread` (the emulator in-process, in a thread);
- `xdist`: the same suite over 2 pytest-xdist workers sharing one emulator (started here, given
  with `--telco-emulator-url`), each test in its worker's own sandbox (`telco_sandbox`), against
  `bare-xdist` (the bare tests over 2 workers), when pytest-xdist is
  importable (`pip install pytest-xdist`, in the test extras);
- `xdist-floor`: the xdist suite against `stub_server.py`, which answers each call at once and
  does no work: what pytest-xdist, httpx and the machine cost a test whatever the server does
  (a reference beside `xdist`, without a target).

The overhead of a test is its time minus the median time of a bare test of the same round;
the first test of each process (which starts the emulator) is left out and shown on its own.
Target: overhead median <= 2 ms, p95 <= 5 ms. Nothing is asserted; exit status 1 when a
generated test failed, 2 when pytest could not run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procs import free_port, start, stop_all, wait_ready  # tests/bench/ is on sys.path when this file runs as a script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TARGET_MEDIAN_MS = 2.0
TARGET_P95_MS = 5.0

CONFTEST = '''
import json, os, time
import pytest

_TIMES = []

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    yield
    _TIMES.append(time.perf_counter() - started)

def pytest_sessionfinish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["BENCH_PLUGIN_OUT"], worker + ".json"), "w") as handle:
        json.dump(_TIMES, handle)
'''

BARE = '''
import pytest

@pytest.mark.parametrize("number", range({n}))
def test_nothing(number):
    assert number >= 0
'''

WITH_FIXTURE = '''
import httpx
import pytest

CLIENT = httpx.Client(timeout=30)

@pytest.mark.parametrize("number", range({n}))
def test_send_and_wait(number, {fixture}):
    emulator = {fixture}
    answer = CLIENT.post(emulator.elks_url + "/SMS", auth=emulator.elks_auth,
                         data={{"from": "ElkCo", "to": "+46700000123", "message": "Hello %d" % number}})
    assert answer.status_code == 200, answer.text
    event = emulator.wait_for_message(id=answer.json()["id"], kind="message.created", timeout=5)
    assert event["data"]["to"] == "+46700000123"
'''


def xdist_available() -> bool:
    return importlib.util.find_spec("xdist") is not None


def run_case(case: str, tests: int, workdir: Path, shared_url: str | None = None) -> dict:
    suite = workdir / case
    out = workdir / (case + "-out")
    suite.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    (suite / "conftest.py").write_text(CONFTEST)
    fixture = "telco_sandbox" if case.startswith("xdist") else "telco_emulator"
    body = BARE.format(n=tests) if case.startswith("bare") else WITH_FIXTURE.format(n=tests, fixture=fixture)
    (suite / "test_generated.py").write_text(body)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", str(suite)]
    if case == "thread":
        command.append("--telco-emulator-mode=thread")
    if "xdist" in case:
        command += ["-n", "2"]
    if case.startswith("xdist") and shared_url:
        command.append(f"--telco-emulator-url={shared_url}")
    env = {**os.environ, "BENCH_PLUGIN_OUT": str(out), "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    per_process = [json.loads(path.read_text()) for path in sorted(out.glob("*.json"))]
    if done.returncode != 0 or not per_process:
        tail = (done.stdout + done.stderr)[-1500:]
        return {"failed": True, "exit_status": done.returncode, "output": tail, "wall_s": wall}
    first = [times[0] for times in per_process if times]
    rest = [t for times in per_process for t in times[1:]]
    return {"failed": False, "wall_s": wall, "first_test_s": max(first), "times_s": rest}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=300, help="generated tests per case (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every case (default 3)")
    parser.add_argument("--modes", default="plugin,thread,xdist", help="cases besides the bare ones (default plugin,thread,xdist)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)
    modes = (mode.strip() for mode in args.modes.split(","))
    cases = ["bare", *dict.fromkeys(mode for mode in modes if mode and mode not in ("bare", "bare-xdist", "xdist-floor"))]  # those come with their cases
    if "xdist" in cases and not xdist_available():
        print("bench_plugin: pytest-xdist is not installed: the xdist case is left out (pip install pytest-xdist)")
        cases.remove("xdist")
    if "xdist" in cases:
        cases.insert(cases.index("xdist"), "bare-xdist")
        cases.insert(cases.index("xdist") + 1, "xdist-floor")
    results: dict[str, list[float]] = {case: [] for case in cases}
    firsts: dict[str, list[float]] = {case: [] for case in cases}
    walls: dict[str, list[float]] = {case: [] for case in cases}
    status = 0
    shared = None
    if "xdist" in cases:
        sys.path.insert(0, str(ROOT))
        from emulator.child import ChildServer

        shared = ChildServer("virtual", None, 46)
        shared.start()
        stub_port = free_port()
        stub_log = Path(tempfile.gettempdir()) / f"bench-plugin-stub-{stub_port}.log"
        stub = start([sys.executable, str(HERE / "stub_server.py"), str(stub_port)], stub_log)
        wait_ready(stub, stub_port, stub_log)
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as tmp:
        for round_number in range(1, args.rounds + 1):
            bare_medians: dict[str, float] = {}
            for case in cases:
                url = f"http://127.0.0.1:{stub_port}" if case == "xdist-floor" else shared.url if shared else None
                result = run_case(case, args.tests, Path(tmp), url)
                if result["failed"]:
                    print(f"round {round_number} {case}: pytest exit status {result['exit_status']}\n{result['output']}")
                    status = max(status, 1 if result["exit_status"] == 1 else 2)
                    continue
                times = result["times_s"]
                if case.startswith("bare"):
                    bare_medians[case] = statistics.median(times)
                    results[case].extend(t * 1000 for t in times)
                else:
                    baseline = bare_medians.get("bare-xdist" if case.startswith("xdist") else "bare", 0.0)
                    results[case].extend((t - baseline) * 1000 for t in times)
                firsts[case].append(result["first_test_s"])
                walls[case].append(result["wall_s"])
                print(f"round {round_number} {case:7s}: {len(times) + 1} tests in {result['wall_s']:.2f} s,"
                      f" median {statistics.median(times) * 1000:.2f} ms a test, first test {result['first_test_s'] * 1000:.0f} ms", flush=True)
    if shared is not None:
        shared.stop()
        stop_all([stub])
    report: dict = {"tests": args.tests, "rounds": args.rounds, "target_median_ms": TARGET_MEDIAN_MS, "target_p95_ms": TARGET_P95_MS, "cases": {}}
    print(f"\nper test, {args.tests} tests x {args.rounds} rounds (overhead = time - median bare test of the same round):")
    for case in cases:
        values = results[case]
        if not values:
            continue
        row = {"median_ms": statistics.median(values), "p95_ms": percentile(values, 0.95),
               "first_test_ms": statistics.median(firsts[case]) * 1000, "wall_s": statistics.median(walls[case])}
        report["cases"][case] = row
        if case.startswith("bare"):
            row["baseline_of"] = ["xdist", "xdist-floor"] if case == "bare-xdist" else ["plugin", "thread"]
            print(f"  {case:10s} test time  median {row['median_ms']:.2f} ms  p95 {row['p95_ms']:.2f} ms  (baseline)")
        elif case == "xdist-floor":
            row["reference"] = True
            print(f"  {case:10s} overhead   median {row['median_ms']:.2f} ms  p95 {row['p95_ms']:.2f} ms"
                  "  (a server that does no work: the floor under xdist's figure on this machine)")
        else:
            ok = row["median_ms"] <= TARGET_MEDIAN_MS and row["p95_ms"] <= TARGET_P95_MS
            print(f"  {case:10s} overhead   median {row['median_ms']:.2f} ms  p95 {row['p95_ms']:.2f} ms"
                  f"  (target <= {TARGET_MEDIAN_MS:g} / {TARGET_P95_MS:g} ms: {'ok' if ok else 'MISSED'});"
                  f" first test (starts the emulator) {row['first_test_ms']:.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark once and print one summary table.

    python tests/bench/run_all.py [--quick] [--only NAME[,NAME]] [--json PATH]

Runs, one after another (each is a separate script, see README.md): bench_startup.py,
bench_plugin.py (what a test with the pytest fixture costs), bench_send_sms.py (emulator, bare Starlette, WireMock,
Prism), bench_protocol.py (the HTTP layer against uvicorn's own, in process), bench_list.py (10k, 100k, 1M messages),
bench_webhooks.py, bench_waits.py and bench_shared.py (the shared world on Redis against the memory
store), each with `--json` into a temporary directory, showing their output as
they go. Then prints one table: each measurement, its value, the project's target and whether
it is met. `--quick` uses smaller sizes and shorter runs (about 3.5 minutes instead of about 10 on
2 CPUs; the list benchmark then stops at 100k messages). Exit status: the worst of the
scripts' (0 all ran and every request succeeded; a missed target does not fail the run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("startup", "plugin", "send_sms", "protocol", "list", "webhooks", "waits", "shared")
ARGS = {
    "full": {"startup": ["--runs", "7", "--importtime"], "plugin": ["--tests", "300", "--rounds", "3"], "send_sms": ["--rounds", "2", "--warmup", "3"], "protocol": [], "list": [], "webhooks": [], "waits": [],
             "shared": ["--rounds", "2", "--warmup", "2"]},
    "quick": {"startup": ["--runs", "5"], "plugin": ["--tests", "200", "--rounds", "1"], "send_sms": ["--duration", "3"], "protocol": ["--requests", "5000", "--rounds", "3"], "list": ["--sizes", "10000,100000", "--requests", "100"],
              "webhooks": ["--burst", "2000", "--sustained", "2000"],
              "waits": ["--events", "50000", "--waits", "500", "--streams", "200", "--seconds", "3"],
              "shared": ["--duration", "3", "--burst", "1000", "--sustained", "1000"]},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs")
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(NAMES)}")
    parser.add_argument("--json", metavar="PATH", help="write every script's figures, keyed by benchmark, to PATH")
    args = parser.parse_args(argv)
    args.only = NAMES if not args.only else tuple(name.strip() for name in args.only.split(","))
    unknown = set(args.only) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def run_script(name: str, extra: list[str], tmp: Path) -> tuple[int, dict | None, float]:
    out = tmp / f"{name}.json"
    command = [sys.executable, str(HERE / f"bench_{name}.py"), *extra, "--json", str(out)]
    print(f"\n=== {' '.join(['bench_' + name + '.py', *extra])}", flush=True)
    started = time.perf_counter()
    status = subprocess.run(command, cwd=HERE.parent.parent).returncode
    seconds = time.perf_counter() - started
    report = json.loads(out.read_text()) if out.exists() else None
    return status, report, seconds


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def rows_startup(report: dict) -> list[tuple]:
    ready, health = report["ready_line_s"]["median"], report["health_200_s"]["median"]
    return [
        ("startup", "spawn to ready line, median s", f"{ready:.3f}", f"< {report['target_s']}", verdict(ready < report["target_s"])),
        ("startup", "spawn to /_emulator/health 200, median s", f"{health:.3f}", f"< {report['target_s']}", verdict(health < report["target_s"])),
        ("startup", "VmRSS when ready, MB", f"{report['rss_at_ready_mb']['median']:.0f}", "", ""),
        ("startup", "VmRSS idle (0.5 s after ready), MB", f"{report['rss_idle_mb']['median']:.0f}", f"< {report.get('target_rss_mb', 50)}",
         verdict(report["rss_idle_mb"]["median"] < report.get("target_rss_mb", 50))),
        ("startup", "bare Starlette+uvicorn, spawn to answer, s", f"{report['bare_starlette_first_answer_s']['median']:.3f}", "", ""),
    ]


def rows_plugin(report: dict) -> list[tuple]:
    rows = []
    for name, row in report["cases"].items():
        if name.startswith("bare"):
            rows.append(("pytest plugin", f"{name}: a test without the fixture, median (p95) ms", f"{row['median_ms']:.2f} ({row['p95_ms']:.2f})", "baseline", ""))
            continue
        if row.get("reference"):
            rows.append(("pytest plugin", f"{name}: the same against a server that does no work (the floor), median (p95) ms",
                         f"{row['median_ms']:.2f} ({row['p95_ms']:.2f})", "reference", ""))
            continue
        ok = row["median_ms"] <= report["target_median_ms"] and row["p95_ms"] <= report["target_p95_ms"]
        rows.append(("pytest plugin", f"{name}: overhead a test (reset, send, wait), median (p95) ms", f"{row['median_ms']:.2f} ({row['p95_ms']:.2f})",
                     f"<= {report['target_median_ms']:g} ({report['target_p95_ms']:g})", verdict(ok)))
    return rows


def rows_send_sms(report: dict) -> list[tuple]:
    rows = []
    for name, row in report["targets"].items():
        rows.append(("send SMS", f"{name}: req/s (p50 / p99 ms)", f"{row['requests_per_s']:.0f} ({row['p50_ms']:.1f} / {row['p99_ms']:.1f})", "", ""))
        if "ratio_to_bare" in row:
            ratio = row["ratio_to_bare"]
            rows.append(("send SMS", f"{name}: emulator / bare form endpoint", f"{ratio:.2f}", f">= {report['ratio_target']}", verdict(ratio >= report["ratio_target"])))
        if "ratio_to_lean" in row:
            rows.append(("send SMS", f"{name}: emulator / lean bare (parse_qsl)", f"{row['ratio_to_lean']:.2f}", "reference", ""))
        if "ratio_to_wiremock" in row:
            ratio = row["ratio_to_wiremock"]
            rows.append(("send SMS", f"{name}: emulator / WireMock", f"{ratio:.2f}", f"> {report['wiremock_ratio_target']:g}",
                         verdict(ratio > report["wiremock_ratio_target"])))
        if "ratio_to_prism" in row:
            ratio = row["ratio_to_prism"]
            rows.append(("send SMS", f"{name}: emulator / Prism", f"{ratio:.2f}", f">= {report['prism_ratio_target']:g}",
                         verdict(ratio >= report["prism_ratio_target"])))
        if "p99_ratio_to_bare" in row:
            ratio = row["p99_ratio_to_bare"]
            rows.append(("send SMS", f"{name}: p99 / bare p99", f"{ratio:.2f}", f"<= {report['p99_ratio_target']:g}",
                         verdict(ratio <= report["p99_ratio_target"])))
    if report["errors"]:
        rows.append(("send SMS", "failed requests (emulator, bare apps)", str(report["errors"]), "0", verdict(False)))
    if report.get("peer_errors"):
        rows.append(("send SMS", "failed requests (WireMock, Prism)", str(report["peer_errors"]), "", ""))
    return rows


def rows_list(report: dict) -> list[tuple]:
    steps = report["steps"]
    first, last = steps[0], steps[-1]
    label = f"{first['size'] // 1000}k -> {last['size'] // 1000}k" if last["size"] < 1_000_000 else f"{first['size'] // 1000}k -> {last['size'] // 1_000_000}M"
    rows = []
    for name in first["endpoints"]:
        a, b = first["endpoints"][name]["p50_ms"], last["endpoints"][name]["p50_ms"]
        rows.append(("list", f"{name}: p50 ms {label}", f"{a:.2f} -> {b:.2f} (x{b / a:.2f})", "flat", verdict(b / a < 1.5)))
    empty = sum(result.get("empty_pages_with_next", 0) for step in steps for result in step["endpoints"].values())
    rows.append(("list", "filtered: empty pages that said there was more", str(empty), "0", verdict(empty == 0)))
    for step in steps:
        size = step["size"]
        target = "< 1536" if size == 1_000_000 else ""
        rows.append(("list", f"VmRSS MB with {size} messages (peak)", f"{step['rss_mb']:.0f} ({step['peak_rss_mb']:.0f})", target,
                     verdict(step["rss_mb"] < 1536) if target else ""))
    return rows


def rows_webhooks(report: dict) -> list[tuple]:
    rows = []
    if "burst" in report:
        rate = report["burst"]["deliveries_per_s"]
        rows.append(("webhooks", f"burst of {report['burst']['deliveries']}: deliveries/s", f"{rate:.0f}", f">= {report['target_per_s']}",
                     verdict(rate >= report["target_per_s"])))
    if "sustained" in report:
        s = report["sustained"]
        rows.append(("webhooks", "sustained: sends/s with whendelivered", f"{s['sends_per_s']:.0f}", "", ""))
        rows.append(("webhooks", "sustained: deliveries/s while sending", f"{s['deliveries_per_s_during_sends']:.0f}",
                     f"{2 * s['sends_per_s']:.0f} offered", verdict(s["last_delivery_after_last_send_s"] < 1.25)))
        rows.append(("webhooks", "sustained: last delivery after last send, s", f"{s['last_delivery_after_last_send_s']:.2f}", "~1.0 (keeps up)",
                     verdict(s["last_delivery_after_last_send_s"] < 1.25)))
    return rows


def rows_waits(report: dict) -> list[tuple]:
    events = report.get("events")
    rows = []
    for name in ("wait_present_ms", "wait_none_ms", "wait_kind_ms"):
        if name in report:
            rows.append(("waits", f"{name[5:-3]}: one wait at {events} events, ms", f"{report[name]:.2f}", "< 5", verdict(report[name] < 5)))
    first = report.get("first_waits", {}).get("health_max_ms")
    if first is not None:
        rows.append(("waits", "health max ms while those first waits build their indexes", f"{first:.0f}", "< 50", verdict(first < 50)))
    idle = report.get("idle", {})
    for name, label in (("storm_scoped", "waits + streams of a sandbox each"), ("storm_all", "waits + streams of everything")):
        storm = report.get(name)
        if storm and idle.get("rps"):
            ratio = storm["rps"] / idle["rps"]
            rows.append(("waits", f"{label}: sends/s / idle", f"{ratio:.2f}", ">= 0.80", verdict(ratio >= 0.8)))
            rows.append(("waits", f"{label}: CPU us per send (idle)", f"{storm['cpu_us_per_send']:.0f} ({idle['cpu_us_per_send']:.0f})", "", ""))
            rows.append(("waits", f"{label}: health max ms", f"{storm['health_max_ms']:.0f}", "< 50", verdict(storm["health_max_ms"] < 50)))
    fresh, after = report.get("fresh", {}), report.get("after", {})
    if fresh.get("rps") and after.get("rps"):
        rows.append(("waits", "after the storms and a reset: CPU us per send (fresh)", f"{after['cpu_us_per_send']:.0f} ({fresh['cpu_us_per_send']:.0f})",
                     "~fresh", verdict(after["cpu_us_per_send"] < 1.25 * fresh["cpu_us_per_send"])))
    return rows


def rows_protocol(report: dict) -> list[tuple]:
    rows = []
    for name, figures in report.get("cases", {}).items():
        rows.append(("protocol", f"{name}: CPU us a request, emulator's protocol (uvicorn's own)",
                     f"{figures['emulator_us']:.1f} ({figures['uvicorn_us']:.1f})", "reference", ""))
    if "handler_us" in report:
        send = report["cases"]["send"]["emulator_us"]
        rows.append(("protocol", "send: CPU us, the 46elks handler alone (the whole request)", f"{report['handler_us']:.1f} ({send:.1f})",
                     f"<= {report['budget_us']:.1f} (bare / 1.2, less the kernel's share)", verdict(send <= report["budget_us"])))
    return rows


def rows_shared(report: dict) -> list[tuple]:
    rows = []
    for case, by_setup in report.get("send", {}).items():
        for name, row in by_setup.items():
            rows.append(("shared", f"{case} {row['label']}: req/s (p50 / p99 ms)",
                         f"{row['requests_per_s']:.0f} ({row['p50_ms']:.1f} / {row['p99_ms']:.1f})", "", ""))
            if name != "memory" and "ratio_to_memory" in row:
                ratio = row["ratio_to_memory"]
                target = name == report["target_setup"]
                rows.append(("shared", f"{case} {row['label']}: / memory, 1 process", f"{ratio:.2f}",
                             f">= {report['ratio_target']:g}" if target else "", verdict(ratio >= report["ratio_target"]) if target else ""))
                memory_cpu = by_setup.get("memory", {}).get("emulator_cpu_ms_per_1000")
                rows.append(("shared", f"{case} {row['label']}: CPU ms per 1000 requests, emulators + Redis (memory)",
                             f"{row['emulator_cpu_ms_per_1000']:.0f} + {row['redis_cpu_ms_per_1000']:.0f}"
                             + (f" ({memory_cpu:.0f})" if memory_cpu is not None else ""), "", ""))
    memory = report.get("webhooks", {}).get("memory", {})
    for name, phases in report.get("webhooks", {}).items():
        b, s = phases.get("burst"), phases.get("sustained")
        label = report.get("labels", {}).get(name, name)
        if b:
            shown = f"{b['deliveries_per_s']:.0f}"
            if name != "memory" and memory.get("burst"):
                shown += f" (x{b['deliveries_per_s'] / memory['burst']['deliveries_per_s']:.2f})"
            rows.append(("shared", f"webhooks {label}: burst deliveries/s (x memory)", shown, "", ""))
        if s:
            rows.append(("shared", f"webhooks {label}: sustained, last delivery after last send, s",
                         f"{s['last_delivery_after_last_send_s']:.2f}", "~1.0 (keeps up)", verdict(s["last_delivery_after_last_send_s"] < 1.25)))
    if report.get("errors"):
        rows.append(("shared", "failed requests", str(report["errors"]), "0", verdict(False)))
    return rows


ROWS = {"startup": rows_startup, "plugin": rows_plugin, "send_sms": rows_send_sms, "protocol": rows_protocol, "list": rows_list, "webhooks": rows_webhooks, "waits": rows_waits, "shared": rows_shared}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = ARGS["quick" if args.quick else "full"]
    reports, statuses, seconds = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        for name in args.only:
            try:
                statuses[name], reports[name], seconds[name] = run_script(name, plan[name], Path(tmp))
            except KeyboardInterrupt:
                print("run_all: interrupted", file=sys.stderr)
                return 130
    rows = []
    for name in args.only:
        if reports.get(name) is None:
            rows.append((name, "did not finish", f"exit status {statuses[name]}", "", "MISSED"))
            continue
        rows.extend(ROWS[name](reports[name]))
        if statuses[name]:
            rows.append((name, "exit status", str(statuses[name]), "0", "MISSED"))
    widths = [max(len(str(row[i])) for row in rows + [("benchmark", "measurement", "value", "target", "")]) for i in range(5)]
    print("\n=== summary (" + ", ".join(f"{name} {seconds[name]:.0f} s" for name in seconds) + ")")
    header = ("benchmark", "measurement", "value", "target", "")
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) if i < 2 else str(cell).rjust(width) if i < 4 else str(cell)
                        for i, (cell, width) in enumerate(zip(row, widths))).rstrip())
    if args.json:
        Path(args.json).write_text(json.dumps({"reports": reports, "exit_statuses": statuses, "seconds": seconds}, indent=2) + "\n")
    return max(statuses.values(), default=0)


if __name__ == "__main__":
    sys.exit(main())

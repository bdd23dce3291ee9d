"""Webhook deliveries per second from the emulator's outbox to a fast local receiver.

    python tests/bench/bench_webhooks.py [--burst 5000] [--sustained 10000] [--sustained-rate 1000]
                                         [--connections 16] [--json PATH]

The receiver is receiver.py (a raw asyncio HTTP server in its own process that answers 200 at
once and counts). Every SMS is a 46elks `POST /a1/SMS` with `whendelivered` pointing at the
receiver, so each one makes two deliveries (`sent`, then `delivered`).

1. Burst (capacity): the emulator runs with `--clock virtual`. The SMS are sent first (nothing
   happens: the clock stands still), then one `POST /_emulator/clock/advance {"seconds": 2}`
   makes every status change at once and queues 2 x N deliveries. Measured: how long the
   advance request took (queueing), and deliveries/s from just before the advance until the
   receiver has them all (project target >= 2000/s), and the emulator's CPU time per 1000
   deliveries over the same span (user + system, from /proc: steadier than the rate on a busy
   machine, where the rate also counts the time other processes held the CPU).
2. Sustained (does the outbox fall behind?): a new emulator with the real clock (reports due
   0.5 s and 1 s after each send). The SMS are sent at a steady `--sustained-rate` (1000/s:
   2000 deliveries/s offered, the target; 0 sends as fast as the emulator takes them) while
   the deliveries go out. Measured: sends/s, deliveries/s at the receiver during the send
   phase and until the last one, how long after the last send the last delivery arrived (1 s
   if the outbox keeps up: the last report is due 1 s after its send), and the lag of the
   `delivered` reports from the status change to the receiver (p50/p99/max).

Afterwards the emulator must show no delivery pending or failed. Exit status 1 if a delivery
is missing or failed, 2 if a server could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from procs import ELKS_AUTH, FIXTURE, HERE, emulator_command, free_port, http_json, start, stop_all, wait_ready

TARGET_PER_S = 2000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--burst", type=int, default=5000, help="SMS of the burst phase, 2 deliveries each (default 5000; 0 skips it)")
    add("--sustained", type=int, default=10000, help="SMS of the sustained phase, 2 deliveries each (default 10000; 0 skips it)")
    add("--sustained-rate", type=float, default=1000.0,
        help="sends per second in the sustained phase (default 1000: 2000 deliveries/s offered, the project target; 0: as fast as possible)")
    add("--connections", type=int, default=16, help="concurrent connections that send the SMS (default 16)")
    add("--deadline", type=float, default=300.0, help="seconds to wait for the deliveries of a phase (default 300)")
    add("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    return parser.parse_args(argv)


async def send_sms(port: int, count: int, callback: str, connections: int, rate: float = 0.0) -> None:
    """`count` 46elks sends with `whendelivered`, over keep-alive connections, at `rate` sends a
    second (0: as fast as the emulator takes them); any non-200 fails."""
    body = urlencode({"to": "+46700000123", "from": "ElkCo", "message": "Hello", "whendelivered": callback}).encode()
    request = (f"POST /a1/SMS HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {ELKS_AUTH}\r\n"
               f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    left = [count]
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            if rate:
                await asyncio.sleep(max(0.0, started + (count - left[0]) / rate - loop.time()))
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"a send got {head.splitlines()[0]!r}")
            at = head.lower().find(b"\r\ncontent-length:")
            await reader.readexactly(int(head[at + 17:head.index(b"\r\n", at + 2)]))
        writer.close()

    await asyncio.gather(*(connection() for _ in range(min(connections, count))))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(receiver_port: int, lags: bool = False) -> dict:
    return http_json("GET", f"http://127.0.0.1:{receiver_port}/_stats" + ("?lags=1" if lags else ""))


def wait_for_receiver(receiver_port: int, expected: int, deadline_s: float) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        now = stats(receiver_port)
        if now["count"] >= expected:
            return stats(receiver_port, lags=True)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {now['count']} of {expected} deliveries arrived within {deadline_s:.0f} s")
        time.sleep(0.02)


def outbox_left(port: int, deadline_s: float = 30.0) -> dict:
    """Pending and failed deliveries as the emulator sees them, once it has recorded the last answers."""
    deadline = time.monotonic() + deadline_s
    while True:
        pending = len(http_json("GET", f"http://127.0.0.1:{port}/_emulator/webhooks?state=pending&limit=1000")["data"])
        if not pending or time.monotonic() > deadline:
            failed = len(http_json("GET", f"http://127.0.0.1:{port}/_emulator/webhooks?state=failed&limit=1000")["data"])
            return {"pending": pending, "failed": failed}
        time.sleep(0.05)


class Servers:
    """The receiver (for the whole run) and one emulator at a time."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "fixtures.yaml").write_text(FIXTURE)
        self.processes: list[subprocess.Popen] = []
        self.receiver_port = free_port()
        log = tmp / "receiver.log"
        receiver = start([sys.executable, str(HERE / "receiver.py"), "--port", str(self.receiver_port)], log)
        self.processes.append(receiver)
        wait_ready(receiver, self.receiver_port, log)

    def emulator(self, *extra: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        log = self.tmp / f"emulator-{len(self.processes)}.log"
        proc = start(emulator_command(port, self.tmp / "fixtures.yaml", *extra), log)
        self.processes.append(proc)
        wait_ready(proc, port, log)
        return proc, port

    def close(self) -> None:
        stop_all(self.processes)


def burst(servers: Servers, count: int, args: argparse.Namespace) -> dict:
    proc, port = servers.emulator("--clock", "virtual")
    callback = f"http://127.0.0.1:{servers.receiver_port}/dlr"
    asyncio.run(send_sms(port, count, callback, args.connections))
    http_json("POST", f"http://127.0.0.1:{servers.receiver_port}/_reset")
    cpu_before = cpu_seconds(proc.pid)
    started_ns = time.monotonic_ns()
    http_json("POST", f"http://127.0.0.1:{port}/_emulator/clock/advance", {"seconds": 2})
    queued_ns = time.monotonic_ns()
    final = wait_for_receiver(servers.receiver_port, 2 * count, args.deadline)
    cpu_used = cpu_seconds(proc.pid) - cpu_before
    left = outbox_left(port)
    stop_all([proc])
    seconds = (final["last_ns"] - started_ns) / 1e9
    return {"sms": count, "deliveries": final["count"], "queueing_s": (queued_ns - started_ns) / 1e9, "seconds": seconds,
            "deliveries_per_s": final["count"] / seconds, "cpu_ms_per_1000": 1e6 * cpu_used / max(1, final["count"]), **left}


def sustained(servers: Servers, count: int, args: argparse.Namespace) -> dict:
    proc, port = servers.emulator()
    callback = f"http://127.0.0.1:{servers.receiver_port}/dlr"
    http_json("POST", f"http://127.0.0.1:{servers.receiver_port}/_reset")
    cpu_before = cpu_seconds(proc.pid)
    started_ns = time.monotonic_ns()
    asyncio.run(send_sms(port, count, callback, args.connections, args.sustained_rate))
    sent_ns = time.monotonic_ns()
    during = stats(servers.receiver_port)["count"]
    final = wait_for_receiver(servers.receiver_port, 2 * count, args.deadline)
    cpu_used = cpu_seconds(proc.pid) - cpu_before
    left = outbox_left(port)
    stop_all([proc])
    lags = sorted(final["lags_ms"])
    send_s = (sent_ns - started_ns) / 1e9
    return {"sms": count, "deliveries": final["count"], "send_s": send_s, "sends_per_s": count / send_s,
            "delivered_during_sends": during, "deliveries_per_s_during_sends": during / send_s,
            "deliveries_per_s_overall": final["count"] / ((final["last_ns"] - started_ns) / 1e9),
            "last_delivery_after_last_send_s": (final["last_ns"] - sent_ns) / 1e9,
            "cpu_ms_per_sms": 1e3 * cpu_used / count, "lag_p50_ms": statistics.median(lags), "lag_p99_ms": lags[int(0.99 * (len(lags) - 1))], "lag_max_ms": lags[-1], **left}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"bench_webhooks: burst {args.burst} SMS, sustained {args.sustained} SMS (2 deliveries each), "
          f"{args.connections} sending connections, {os.cpu_count()} CPUs", flush=True)
    report: dict = {"target_per_s": TARGET_PER_S, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        servers = None
        try:
            servers = Servers(Path(tmp))
            if args.burst:
                report["burst"] = burst(servers, args.burst, args)
                b = report["burst"]
                print(f"burst: {b['deliveries']} deliveries queued in {b['queueing_s']:.2f} s, all received after {b['seconds']:.2f} s: "
                      f"{b['deliveries_per_s']:.0f}/s", flush=True)
            if args.sustained:
                report["sustained"] = sustained(servers, args.sustained, args)
                s = report["sustained"]
                print(f"sustained: {s['sms']} SMS in {s['send_s']:.2f} s ({s['sends_per_s']:.0f}/s); {s['delivered_during_sends']} deliveries "
                      f"meanwhile ({s['deliveries_per_s_during_sends']:.0f}/s), the last {s['last_delivery_after_last_send_s']:.2f} s after the last send",
                      flush=True)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"bench_webhooks: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bench_webhooks: interrupted", file=sys.stderr)
            return 130
        finally:
            if servers is not None:
                servers.close()
    print(f"\n{'measurement':<62}{'value':>12}")
    problems = 0
    if "burst" in report:
        b = report["burst"]
        verdict = "ok" if b["deliveries_per_s"] >= TARGET_PER_S else "BELOW TARGET"
        print(f"{'burst: deliveries/s (target >= ' + str(TARGET_PER_S) + ')':<62}{b['deliveries_per_s']:>12.0f}  {verdict}")
        print(f"{'burst: seconds to queue ' + str(b['deliveries']) + ' deliveries (clock advance)':<62}{b['queueing_s']:>12.2f}")
        print(f"{'burst: emulator CPU ms per 1000 deliveries':<62}{b['cpu_ms_per_1000']:>12.0f}")
        problems += b["pending"] + b["failed"]
    if "sustained" in report:
        s = report["sustained"]
        behind = s["last_delivery_after_last_send_s"] - 1.0
        print(f"{'sustained: sends/s with whendelivered':<62}{s['sends_per_s']:>12.0f}")
        print(f"{'sustained: deliveries/s offered (2 per send)':<62}{2 * s['sends_per_s']:>12.0f}")
        print(f"{'sustained: deliveries/s received while sending':<62}{s['deliveries_per_s_during_sends']:>12.0f}")
        print(f"{'sustained: last delivery after last send, s (1.0 = keeps up)':<62}{s['last_delivery_after_last_send_s']:>12.2f}  "
              f"{'keeps up' if behind < 0.25 else f'falls behind by {behind:.2f} s'}")
        print(f"{'sustained: emulator CPU ms per SMS (its send and 2 deliveries)':<62}{s['cpu_ms_per_sms']:>12.2f}")
        print(f"{'sustained: lag status change -> receiver, p50/p99/max ms':<62}{s['lag_p50_ms']:>12.1f} / {s['lag_p99_ms']:.1f} / {s['lag_max_ms']:.1f}")
        problems += s["pending"] + s["failed"]
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if problems:
        print(f"\nFAILED: {problems} deliveries still pending or failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

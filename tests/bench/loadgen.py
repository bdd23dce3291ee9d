"""The fallback load generator of bench_send_sms.py, for machines without wrk.

`run()` starts worker processes (so the generator's CPU is not the benchmarked server's, nor the
main script's); each runs an event loop (uvloop when installed) with raw keep-alive connections
from `asyncio.open_connection`, writing the same pre-built request bytes again and again and
reading each answer by its Content-Length. Every measured request's latency is recorded.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from array import array

__all__ = ["run"]


async def drive(port: int, request: bytes, connections: int, measure_from: int, until: int) -> tuple[bytes, int]:
    """Send `request` back to back on each connection until `until`; return the latencies (ns,
    as array bytes) of the requests started at or after `measure_from` and answered before
    `until` (monotonic ns, comparable across processes), and the number of errors."""
    latencies = array("q")
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader = writer = None
        while time.monotonic_ns() < until:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                started = time.monotonic_ns()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                at = head.lower().find(b"\r\ncontent-length:")
                if at < 0:
                    raise ValueError("answer without Content-Length")
                await reader.readexactly(int(head[at + 17:head.index(b"\r\n", at + 2)]))
                finished = time.monotonic_ns()
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                errors += 1  # a socket error or a broken answer: reconnect
                if writer is not None:
                    writer.close()
                writer = None
                await asyncio.sleep(0.01)
                continue
            if started >= measure_from and finished <= until:
                latencies.append(finished - started)
                if not head.startswith(b"HTTP/1.1 2"):
                    errors += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies.tobytes(), errors


def _worker(port: int, request: bytes, connections: int, measure_from: int, until: int, pipe) -> None:
    try:
        import uvloop
        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        pipe.send(runner.run(drive(port, request, connections, measure_from, until)))
    pipe.close()


def run(port: int, request: bytes, connections: int, workers: int, warmup: float, seconds: float) -> dict:
    """`connections` spread over `workers` processes: `warmup` s unmeasured, then `seconds` s
    measured. Returns requests, seconds, errors, p50_ms, p99_ms."""
    workers = max(1, min(workers, connections))
    measure_from = time.monotonic_ns() + int((0.3 + warmup) * 1e9)  # 0.3 s for the workers to start
    until = measure_from + int(seconds * 1e9)
    jobs = []
    for index in range(workers):
        share = connections // workers + (index < connections % workers)
        receiver, sender = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(target=_worker, args=(port, request, share, measure_from, until, sender), daemon=True)
        process.start()
        sender.close()  # so that recv() ends with EOFError if the worker dies
        jobs.append((process, receiver))
    latencies, errors = array("q"), 0
    for process, receiver in jobs:
        try:
            data, failed = receiver.recv()
        except EOFError:
            process.join()
            raise RuntimeError(f"a load generator process died (exit status {process.exitcode})") from None
        latencies.frombytes(data)
        errors += failed
        process.join()
    ordered = sorted(latencies)

    def percentile(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1e6 if ordered else math.nan

    return {"requests": len(ordered), "seconds": seconds, "errors": errors, "p50_ms": percentile(0.50), "p99_ms": percentile(0.99)}

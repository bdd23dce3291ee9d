"""What `--state FILE --autosave SECONDS` costs a running emulator, and how fast it stops with
event streams open.

    python tests/bench/bench_autosave.py [--sizes 10000,100000] [--rounds 3] [--streams 3] [--json PATH]

For each size, a world of that many stored messages (sent through the engine as fill_server.py
does, then delivered: three statuses each) is saved. The snapshot is taken whole (`take`), and
only the part an autosave does on the event loop (`freeze`), against the baseline measured in
the same run: `take` as it was before, a frozen copy in `tests/snapshot_reference.py` that
rendered everything on the loop (median of `--rounds`). The document is written by
`write_state_file` (orjson) and by the json module, as the writer did before. Then one
`Autosaver.save_if_changed` runs while a 1 ms ticker runs on the same loop, and so does the
autosave as it was (the reference `take` on the loop, one orjson call and the write in a thread):
the longest gap between ticks is how long the save held up every request (median of the rounds,
the two taking turns). The garbage collector is set up as the server process sets it up. Last,
the real process is
started, `--streams` clients open `/_emulator/events`, and the time from SIGTERM to exit is
measured (before streams were ended at shutdown, it did not exit until every client hung up).
No targets are asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "bench")]

import httpx  # noqa: E402
import orjson  # noqa: E402

from emulator.cli import _freeze_survivors  # noqa: E402
from emulator.core.snapshot import collector_paused, freeze, take  # noqa: E402
from emulator.world.state import Autosaver, write_state_file  # noqa: E402
from fill_server import _batch_item  # noqa: E402
from processes import start_emulator  # noqa: E402
from snapshot_reference import reference_take  # noqa: E402
from support import SEVEN_ACCOUNT, make_engine  # noqa: E402


def filled_engine(count: int):
    engine = make_engine()
    account = engine.store.accounts[SEVEN_ACCOUNT]
    account.balance = 10**15
    for start in range(0, count, 2000):
        batch = [_batch_item(engine, "seven", index) for index in range(start, min(count, start + 2000))]
        engine.send_messages(account, batch, lambda: engine.ids.hex_id("s"))
    engine.clock.advance(30)  # every message sent and delivered
    # The garbage collector as the server process sets it up (emulator/cli.py): what exists is
    # set aside, and so is what survives each collection.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)
    return engine


def json_module_write(document, path: str) -> None:
    """The writer before orjson: json.dump to the file (atomicity left out: it costs the same)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, allow_nan=False)


def write_as_before(document, path: str) -> None:
    """The writer before the lists of records were encoded a slice at a time: one orjson call."""
    content = orjson.dumps(document)
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


async def save_as_before(engine, path: str) -> None:
    """The autosave before the world was frozen on the loop and rendered in the writer thread."""
    document = reference_take(engine)
    await asyncio.get_running_loop().run_in_executor(None, write_as_before, document, path)


async def autosave_stall(engine, path: str, before: bool = False) -> tuple[float, float]:
    saver = Autosaver(engine, path, 60, changes=time.monotonic)  # a mark that always moved
    gaps: list[float] = []
    running = True

    async def ticker() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    if before:
        await save_as_before(engine, path)
    else:
        await saver.save_if_changed()
    total = time.perf_counter() - started
    running = False
    await task
    return total, max(gaps)


def median_times(actions: list, rounds: int) -> list[float]:
    """The median time of each action, the actions taking turns (the machine's load moves)."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(rounds):
        for action, spent in zip(actions, times):
            started = time.perf_counter()
            action()
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) for spent in times]


def freeze_as_autosave(engine) -> None:
    """The autosave's part on the loop: the copy, the collector paused (until the copy is gone)."""
    with collector_paused():
        freeze(engine)


def measure_size(count: int, directory: str, rounds: int) -> dict[str, float]:
    engine = filled_engine(count)
    before, taken, frozen = median_times([lambda: reference_take(engine), lambda: take(engine), lambda: freeze_as_autosave(engine)], rounds)
    document = take(engine)
    path = os.path.join(directory, f"state-{count}.json")
    started = time.perf_counter()
    json_module_write(document, path)
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    write_state_file(document, path)
    written = time.perf_counter() - started
    saves, saves_before = [], []
    for _ in range(rounds):  # taking turns
        saves.append(asyncio.run(autosave_stall(engine, path)))
        saves_before.append(asyncio.run(autosave_stall(engine, path, before=True)))
    return {"messages": count, "take_before_s": before, "take_s": taken, "freeze_s": frozen,
            "write_json_module_s": baseline, "write_orjson_s": written,
            "autosave_total_s": statistics.median(total for total, _ in saves),
            "longest_loop_stall_s": statistics.median(stall for _, stall in saves),
            "autosave_total_before_s": statistics.median(total for total, _ in saves_before),
            "longest_loop_stall_before_s": statistics.median(stall for _, stall in saves_before),
            "file_mb": os.path.getsize(path) / 1e6}


def measure_shutdown(streams: int) -> float:
    running = start_emulator()
    opened = threading.Semaphore(0)

    def hold() -> None:
        with httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client:
            try:
                with client.stream("GET", running.url + "/_emulator/events", headers={"Accept": "text/event-stream"}) as stream:
                    opened.release()
                    for _ in stream.iter_bytes():
                        pass
            except httpx.HTTPError:
                pass

    for _ in range(streams):
        threading.Thread(target=hold, daemon=True).start()
    for _ in range(streams):
        opened.acquire(timeout=10)
    started = time.perf_counter()
    running.process.send_signal(signal.SIGTERM)
    try:
        running.process.wait(60)
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    report: dict[str, object] = {"sizes": []}
    with tempfile.TemporaryDirectory() as directory:
        for count in (int(size) for size in args.sizes.split(",")):
            figures = measure_size(count, directory, args.rounds)
            report["sizes"].append(figures)  # type: ignore[union-attr]
            print(
                f"{count:>9,} messages ({figures['file_mb']:.1f} MB): take {figures['take_s'] * 1000:.0f} ms "
                f"(before: {figures['take_before_s'] * 1000:.0f} ms, x{figures['take_before_s'] / figures['take_s']:.1f}), "
                f"of which on the loop (freeze) {figures['freeze_s'] * 1000:.0f} ms (x{figures['take_before_s'] / figures['freeze_s']:.1f}); "
                f"write {figures['write_orjson_s'] * 1000:.0f} ms (json module, the old writer: {figures['write_json_module_s'] * 1000:.0f} ms, "
                f"x{figures['write_json_module_s'] / figures['write_orjson_s']:.1f}); one autosave {figures['autosave_total_s'] * 1000:.0f} ms "
                f"(before: {figures['autosave_total_before_s'] * 1000:.0f} ms), longest loop stall {figures['longest_loop_stall_s'] * 1000:.0f} ms "
                f"(before: {figures['longest_loop_stall_before_s'] * 1000:.0f} ms, x{figures['longest_loop_stall_before_s'] / figures['longest_loop_stall_s']:.1f})",
                flush=True,
            )
    seconds = measure_shutdown(args.streams)
    report["shutdown_with_streams_s"] = seconds
    print(f"SIGTERM to exit with {args.streams} event streams open: {seconds:.2f} s (before: no exit until the clients hung up)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

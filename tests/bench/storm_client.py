"""Holds many waits and event streams open against an emulator, for bench_waits.py:

    python tests/bench/storm_client.py --port P --waits 1000 --streams 500 [--scoped]

Opens `--waits` long-polls (`GET /_emulator/wait?id=storm-N&timeout=300`: nothing ever matches)
and `--streams` Server-Sent Events streams (`GET /_emulator/events`, no cursor: from now; with
`--scoped`, each follows a sandbox of its own, `?sandbox=storm-N`, as parallel CI workers do), reads
every stream to the end and discards it, prints `open W S` once every stream has answered its
first line, and holds them all until stdin closes (then it exits, closing every connection).
Raw sockets on one event loop: the client costs as little CPU as it can.
"""

from __future__ import annotations

import argparse
import asyncio
import sys


async def hold_wait(port: int, index: int, opened: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /_emulator/wait?id=storm-{index}&timeout=300 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    opened[0] += 1
    try:
        await reader.read()  # until the emulator answers (408 after 300 s) or we leave
    finally:
        writer.close()


async def hold_stream(port: int, query: str, opened: list[int], ready: asyncio.Event, wanted: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /_emulator/events{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n")
    opened[1] += 1
    if opened[1] == wanted:
        ready.set()
    try:
        while await reader.read(1 << 16):
            pass
    finally:
        writer.close()


async def main(port: int, waits: int, streams: int, scoped: bool) -> None:
    opened = [0, 0]
    ready = asyncio.Event()
    if streams == 0:
        ready.set()
    tasks = [asyncio.create_task(hold_wait(port, index, opened)) for index in range(waits)]
    for start in range(0, streams, 50):  # in steps, as a fleet of dashboards would connect
        tasks += [asyncio.create_task(hold_stream(port, f"?sandbox=storm-{index}" if scoped else "", opened, ready, streams))
                  for index in range(start, min(streams, start + 50))]
        await asyncio.sleep(0.05)
    await ready.wait()
    await asyncio.sleep(1.0)  # the last waits' requests reach the emulator
    print(f"open {opened[0]} {opened[1]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--scoped", action="store_true", help="each stream follows a sandbox of its own")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.waits, args.streams, args.scoped))

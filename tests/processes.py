"""Starting and stopping the real `telco-emulator` process for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass

READY_TIMEOUT = 20.0


@dataclass
class RunningEmulator:
    process: subprocess.Popen
    url: str
    ready_line: str


def start_emulator(*args: str, env: dict[str, str] | None = None) -> RunningEmulator:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT)
    line = lines[0] if lines else ""
    if " ready on " not in line:
        process.kill()
        raise AssertionError(f"emulator did not become ready: {line!r} {process.stderr.read()!r}")
    url = line.split(" ready on ")[1].split()[0]
    return RunningEmulator(process, url, line)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

"""Starting and stopping the real `telco-emulator` process for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

READY_TIMEOUT = 20.0


@dataclass
class RunningEmulator:
    process: subprocess.Popen
    url: str
    ready_line: str


def launch_emulator(*args: str, env: dict[str, str] | None = None, stderr: Path | None = None) -> subprocess.Popen:
    """`python -m emulator` on a free port with `args`; its stderr piped, or written to `stderr`."""
    return subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr is None else stderr.open("w"),
        text=True,
        env={**os.environ, **(env or {})},
    )


def ready_line(process: subprocess.Popen, problem: Callable[[], str], timeout: float = READY_TIMEOUT) -> str:
    """The process's ready line; kills it and fails with `problem()` when none comes within `timeout` seconds."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    line = lines[0] if lines else ""
    if " ready on " not in line:
        process.kill()
        process.wait()
        raise AssertionError(f"the emulator did not become ready: {line!r} {problem()!r}")
    return line


def url_of(line: str) -> str:
    return line.split(" ready on ")[1].split()[0]


def start_emulator(*args: str, env: dict[str, str] | None = None) -> RunningEmulator:
    process = launch_emulator(*args, env=env)
    line = ready_line(process, lambda: process.stderr.read())
    return RunningEmulator(process, url_of(line), line)


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL when it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

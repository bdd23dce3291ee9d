"""The emulator as a child process: the real command line (`python -m emulator`) on a free
loopback port, for the pytest plugin and `replay` when no emulator is given.

In its own process the emulator has its own interpreter lock and the command line's garbage
collection policy, so a test's thread never waits for the server's (a server thread in the test
process made every request cost some 20 ms of lock hand-overs). The child gets the settings it
is given and nothing from `TELCO_EMULATOR_*` variables (as an in-process server would), imports
the same `emulator` package as its parent, and is told to end (SIGTERM) if its parent dies
first, so a killed test run leaves no emulator behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["ChildServer"]

READY_MARK = " ready on "


def _end_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class ChildServer:
    """`python -m emulator --port 0` with the given settings; `url` once `start` returns."""

    def __init__(self, clock: str, fixtures: str | None, seed: int, *, extra_args: tuple[str, ...] = ()) -> None:
        self.command = [
            sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0", "--clock", clock,
            "--seed", str(seed), "--log-level", "warning", *(("--fixtures", fixtures) if fixtures else ()), *extra_args,
        ]
        self.url = ""
        self.process: subprocess.Popen | None = None
        self._ready = threading.Event()
        self._errors = tempfile.TemporaryFile()

    def _environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("TELCO_EMULATOR_")}
        package_root = Path(__file__).resolve().parent.parent
        if package_root.name not in ("site-packages", "dist-packages"):  # a checkout: the child imports it, not an installed copy
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_root), env.get("PYTHONPATH")]))
        return env

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:  # drained to the end, so the child never blocks on a full pipe
            if not self._ready.is_set() and READY_MARK in line:
                self.url = line.split(READY_MARK, 1)[1].split()[0]
                self._ready.set()
        self._ready.set()  # the child ended: start() stops waiting

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._errors, text=True,
            env=self._environment(), preexec_fn=_end_with_parent if sys.platform.startswith("linux") else None,
        )
        threading.Thread(target=self._read_output, name="telco-emulator-output", daemon=True).start()
        self._ready.wait(timeout)
        if not self.url:
            self._end_process()
            self._errors.seek(0)
            reason = self._errors.read().decode(errors="replace").strip()[-2000:]
            self._errors.close()
            raise RuntimeError(f"telco-emulator did not start within {timeout:g} s: {reason or 'no output'}")

    def stop(self) -> None:
        self._end_process()
        self._errors.close()

    def _end_process(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

"""Process plumbing shared by the benchmark scripts: free ports, starting servers quietly with
their output in a log file, waiting until they answer, stopping them, reading their memory, and
the fixture file with the benchmark's own accounts (balances that never run out)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = [
    "HERE", "ROOT", "BALANCE", "FIXTURE", "ELKS_AUTH", "SEVEN_KEY", "ELKS_ACCOUNT", "SEVEN_ACCOUNT",
    "free_port", "start", "wait_ready", "stop_all", "memory_kb", "emulator_command", "prism_path", "wiremock_command", "http_json",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BALANCE = 10**15
ELKS_ACCOUNT = "ubench000000000000000000000000000"
SEVEN_ACCOUNT = "9000001"
FIXTURE = f"""extends: default
elks:
  accounts:
    - {{id: {ELKS_ACCOUNT}, username: bench_user, password: bench_password, balance: {BALANCE}}}
seven:
  accounts:
    - {{id: "{SEVEN_ACCOUNT}", api_key: bench_api_key, balance: {BALANCE}, reload_lock: false}}  # the same SMS, over and over
"""
ELKS_AUTH = "Basic " + base64.b64encode(b"bench_user:bench_password").decode()
SEVEN_KEY = "bench_api_key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:  # the child keeps its own copy of the file descriptor
        return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_ready(proc: subprocess.Popen, port: int, log_path: Path, deadline_s: float = 20.0) -> None:
    """Poll with HTTP GETs until the server answers anything at all, or fail with its log."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # a 404 is an answer too
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} not ready after {deadline_s:.0f} s:\n{log_path.read_text()[-2000:]}")


def stop_all(processes: list[subprocess.Popen]) -> None:
    """Terminate, then kill what is still there after 5 s; only the processes we started."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak of resident memory) of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def emulator_command(port: int, fixtures: Path | None, *extra: str, module: str = "emulator") -> list[str]:
    """The emulator as a user starts it, quiet: `python -m emulator --port P --log-level warning`."""
    command = [sys.executable, "-m", module, "--port", str(port), "--log-level", "warning"]
    if fixtures is not None:
        command += ["--fixtures", str(fixtures)]
    return command + list(extra)


def prism_path() -> str | None:
    """Prism as setup.sh installs it (tests/bench/node_modules), else one on PATH."""
    local = HERE / "node_modules" / ".bin" / "prism"
    if local.exists():
        return str(local)
    return shutil.which("prism")


def wiremock_command(port: int, root_dir: Path) -> list[str] | None:
    """WireMock as setup.sh installs it (the jar of the npm package `wiremock`, in
    tests/bench/node_modules), serving the mappings of `root_dir` without a request journal
    (which would keep every request); None without the jar or without `java` on PATH."""
    jars = sorted((HERE / "node_modules" / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    java = shutil.which("java")
    if not jars or java is None:
        return None
    return [java, "-jar", str(jars[-1]), "--port", str(port), "--bind-address", "127.0.0.1",
            "--root-dir", str(root_dir), "--no-request-journal", "--disable-banner"]


def http_json(method: str, url: str, body: object | None = None, headers: dict[str, str] | None = None, timeout: float = 600) -> object:
    """One request with the standard library; the answer's JSON (raises on a non-2xx answer)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{method} {url}: HTTP {exc.code}: {exc.read()[:500]!r}") from None

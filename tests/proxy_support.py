"""The real `telco-emulator` process with its transparent HTTPS proxy on (`--proxy 0`), for tests
that drive unmodified clients at the providers' real hostnames, and the environment such a client
runs in: HTTPS_PROXY pointing at the proxy, the CA bundle in the variables clients read."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT = 30.0
_PROXY_LINE = re.compile(r"^proxy on (?P<url>http://\S+), CA bundle (?P<bundle>.+)$")
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@dataclass
class ProxiedEmulator:
    process: subprocess.Popen
    url: str  # the emulator's own listener, for the control API
    proxy_url: str
    ca_bundle: str
    lines: list[str]

    def direct_env(self) -> dict[str, str]:
        """The environment of a client process that talks to the emulator's own URL: no proxies."""
        return {key: value for key, value in os.environ.items() if key.upper() not in _PROXY_VARIABLES}

    def client_env(self, **extra: str) -> dict[str, str]:
        """The environment of a client process that should reach the providers through the proxy."""
        env = self.direct_env()
        env.update(
            HTTPS_PROXY=self.proxy_url,
            https_proxy=self.proxy_url,
            REQUESTS_CA_BUNDLE=self.ca_bundle,
            SSL_CERT_FILE=self.ca_bundle,
            NODE_EXTRA_CA_CERTS=self.ca_bundle,
        )
        env.update(extra)
        return env

    def messages(self, **filters: str) -> list[dict]:
        """What the emulator stored, newest first."""
        response = httpx.get(self.url + "/_emulator/messages", params={"limit": 100, **filters}, timeout=10, trust_env=False)
        response.raise_for_status()
        return response.json()["data"]


def start_proxied_emulator(ca_dir: str | os.PathLike[str] | None, *args: str, env: dict[str, str] | None = None) -> ProxiedEmulator:
    """Start `telco-emulator --port 0 --proxy 0 --proxy-ca-dir CA_DIR` and wait for its ready and
    proxy lines. With `ca_dir` None the proxy flags are left out: `env` must turn the proxy on."""
    proxy_flags = ["--proxy", "0", "--proxy-ca-dir", str(ca_dir)] if ca_dir is not None else []
    errors = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", *proxy_flags, "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env={**{key: value for key, value in os.environ.items() if not key.startswith("TELCO_EMULATOR_")}, **(env or {})},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read_lines() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)  # the process closed its output: it has ended

    threading.Thread(target=read_lines, daemon=True).start()
    seen: list[str] = []
    url = proxy = None
    try:
        while url is None or proxy is None:
            line = lines.get(timeout=READY_TIMEOUT)
            if line is None:
                raise queue.Empty
            line = line.rstrip("\n")
            seen.append(line)
            if " ready on " in line:
                url = line.split(" ready on ")[1].split()[0]
            elif match := _PROXY_LINE.match(line):
                proxy = match
    except queue.Empty:
        process.kill()
        process.wait()
        errors.seek(0)
        raise AssertionError(f"emulator with proxy did not become ready: {seen!r} {errors.read()!r}") from None
    assert Path(proxy["bundle"]).is_file(), seen
    return ProxiedEmulator(process, url, proxy["url"], proxy["bundle"], seen)


def stop(running: ProxiedEmulator) -> None:
    running.process.terminate()
    try:
        running.process.wait(10)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait()

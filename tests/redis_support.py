"""A real Redis server for the shared-world tests: Debian's `redis-server`, installed by
`scripts/install-redis.sh` when missing, started on loopback on a free port with persistence off
(or on, for the durability tests) and stopped by whoever started it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from processes import stop

REPO = Path(__file__).resolve().parents[1]
INSTALLER = REPO / "scripts" / "install-redis.sh"


def redis_server_path() -> str:
    """The `redis-server` binary, installed through the project's script when missing; skips
    with the installer's own words only when it cannot be installed here."""
    found = shutil.which("redis-server")
    if found is None:
        try:
            result = subprocess.run(["sh", str(INSTALLER)], capture_output=True, text=True, timeout=900)
            reason = (result.stdout + result.stderr)[-600:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = str(exc)
        found = shutil.which("redis-server")
        if found is None:
            pytest.skip(f"redis-server is missing and scripts/install-redis.sh could not install it: {reason}")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RedisServer:
    port: int
    directory: Path
    process: subprocess.Popen

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def command(self, *args: str) -> bytes:
        """One command over a plain socket (RESP), for setup and checks outside the emulator."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            return client.execute_command(*args)
        finally:
            client.close()


def start_redis(directory: Path, appendonly: bool = False, port: int | None = None, appendfsync: str = "always") -> RedisServer:
    """redis-server on loopback; with `appendonly`, every write is in the AOF file, fsynced as
    `appendfsync` says (`always`: before Redis answers; `everysec`: once a second, as most
    deployments run it)."""
    binary = redis_server_path()
    port = port or free_port()
    args = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", "",
        "--appendonly", "yes" if appendonly else "no", "--appendfsync", appendfsync, "--protected-mode", "yes",
        "--logfile", str(directory / "redis.log"), "--databases", "64",
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}: {(directory / 'redis.log').read_text()[-600:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return RedisServer(port, directory, process)
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError("redis-server did not answer within 15 s")


def stop_redis(server: RedisServer) -> None:
    stop(server.process)


@contextmanager
def running_redis(directory: Path, appendonly: bool = False) -> Iterator[RedisServer]:
    server = start_redis(directory, appendonly)
    try:
        yield server
    finally:
        stop_redis(server)

"""`emulator/background.py` and `emulator/http/server.py`: the background server of the pytest plugin and `replay` is configured as
the command line configures uvicorn (one shared `uvicorn_config`): its connections are closed
when their request headers trickle in, and a whole request is served as before."""

from __future__ import annotations

import socket
import time

import httpx

from emulator.background import BackgroundServer
from emulator.http.server import uvicorn_config
from emulator.settings import DEFAULT_HEADER_TIMEOUT, Settings


def test_the_background_server_uses_the_command_lines_configuration():
    server = BackgroundServer("virtual", None, 46)
    try:
        expected = uvicorn_config(server.app, Settings(log_level="warning"))
        config = server.server.config
        assert config.http.__module__ == "emulator.http.header_deadline"
        assert config.http.header_timeout == DEFAULT_HEADER_TIMEOUT
        assert (config.lifespan, config.access_log, config.log_level) == (expected.lifespan, expected.access_log, expected.log_level)
    finally:
        server.sock.close()


def test_a_trickling_client_is_cut_off_by_the_background_server():
    server = BackgroundServer("virtual", None, 46, header_timeout=0.5)
    server.start()
    try:
        host, port = server.sock.getsockname()[:2]
        started = time.monotonic()
        closed_after = None
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.settimeout(0.1)
            for byte in b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200:  # 10 bytes a second
                try:
                    sock.sendall(bytes([byte]))
                    if sock.recv(1) == b"":
                        closed_after = time.monotonic() - started
                        break
                except socket.timeout:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    closed_after = time.monotonic() - started
                    break
        assert closed_after is not None, "the connection stayed open through 20 s of trickling headers"
        assert closed_after < 8, closed_after  # the deadline is 0.5 s; generous for a loaded machine
        assert httpx.get(server.url + "/_emulator/health", timeout=10).status_code == 200
    finally:
        server.stop()

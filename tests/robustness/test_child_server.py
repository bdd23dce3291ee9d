"""`emulator/child.py`: the emulator as a child process, as the pytest plugin and `replay` start
it: it serves the settings it is given (not the `TELCO_EMULATOR_*` variables of the parent),
stops with `stop()`, and ends by itself when its parent dies first."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import httpx

from emulator.child import ChildServer


def test_the_child_serves_its_own_settings_and_stops(monkeypatch):
    monkeypatch.setenv("TELCO_EMULATOR_CONTROL_TOKEN", "from-the-parent")  # would lock the control API
    server = ChildServer("virtual", None, 46)
    server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        health = httpx.get(server.url + "/_emulator/health", timeout=10)
        assert health.status_code == 200
        moved = httpx.post(server.url + "/_emulator/clock/advance", json={"seconds": 1}, timeout=10)
        assert moved.status_code == 200  # a virtual clock, and no token asked for
    finally:
        server.stop()
    assert server.process.returncode is not None


def test_a_child_that_cannot_start_says_why():
    server = ChildServer("virtual", "/nonexistent/fixtures.yaml", 46)
    try:
        server.start(timeout=20)
    except RuntimeError as exc:
        assert "fixtures.yaml" in str(exc)
    else:
        server.stop()
        raise AssertionError("an emulator without its fixture file started")
    assert server.process.poll() is not None


def test_the_child_ends_when_its_parent_dies():
    parent = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import os
            from emulator.child import ChildServer
            server = ChildServer("virtual", None, 46)
            server.start()
            print(server.process.pid, server.url, flush=True)
            os._exit(0)  # no stop(): the parent is gone
        """)],
        capture_output=True, text=True, timeout=60,
    )
    pid_text, url = parent.stdout.split()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/_emulator/health", timeout=1)
        except httpx.TransportError:
            break
        time.sleep(0.05)
    else:
        subprocess.run(["kill", pid_text])
        raise AssertionError("the emulator outlived its parent by 15 s")

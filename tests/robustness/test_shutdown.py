"""Stopping the real process while clients hold `/_emulator/events` streams or `/_emulator/wait`
long-polls open: it ends them and exits promptly, instead of waiting for clients that never hang
up or for waits of up to five minutes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading

import httpx
import pytest

from processes import start_emulator

EXIT_BOUND = 10.0  # seconds: generous on a loaded machine; the old code never exited with a client holding on


def _hold_stream(url: str, params: dict[str, str], opened: threading.Event, received: list[bytes]) -> None:
    with httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client:
        with client.stream("GET", url + "/_emulator/events", params=params, headers={"Accept": "text/event-stream"}) as stream:
            opened.set()
            try:
                for chunk in stream.iter_bytes():
                    received.append(chunk)
            except httpx.HTTPError:
                pass


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_open_event_streams_do_not_hold_the_shutdown(stop_signal):
    running = start_emulator("--log-level", "info")
    holders = []
    try:
        for params in ({}, {"kind": "message.*"}):  # the shared broadcast, and a filtered stream
            opened, received = threading.Event(), []
            thread = threading.Thread(target=_hold_stream, args=(running.url, params, opened, received), daemon=True)
            thread.start()
            assert opened.wait(10)
            holders.append((thread, received))
        running.process.send_signal(stop_signal)
        try:
            status = running.process.wait(EXIT_BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the emulator was still running {EXIT_BOUND} s after {stop_signal.name} with two event streams open")
        assert status in (0, -stop_signal)  # uvicorn hands a SIGTERM back to the default handler once it has shut down
        for thread, received in holders:
            thread.join(10)
            assert not thread.is_alive()  # the stream was ended by the server
            assert b"".join(received).startswith(b": telco-emulator events")
        stderr = running.process.stderr.read()
        assert "Traceback" not in stderr
        # uvicorn's own start-up and shutdown lines are quiet at the default level
        assert "Started server process" not in stderr and "Shutting down" not in stderr and "Finished server process" not in stderr
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


def test_uvicorns_own_lines_show_at_debug():
    running = start_emulator("--log-level", "debug")
    running.process.send_signal(signal.SIGTERM)
    running.process.wait(EXIT_BOUND)
    stderr = running.process.stderr.read()
    assert "Application startup complete" in stderr and "Shutting down" in stderr


def test_an_open_wait_is_answered_503_at_shutdown_instead_of_holding_it():
    running = start_emulator()
    host, port = running.url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=EXIT_BOUND + 5) as waiting:
            waiting.sendall(f"GET /_emulator/wait?kind=never.happens&timeout=300 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            # a request on another connection answered: the server has read the wait (sent first) too
            assert httpx.get(running.url + "/_emulator/health").status_code == 200
            running.process.send_signal(signal.SIGTERM)
            try:
                running.process.wait(EXIT_BOUND)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the emulator was still running {EXIT_BOUND} s after SIGTERM with a wait of 300 s open")
            answer = b""
            while chunk := waiting.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 ")
        assert json.loads(body) == {"error": {"type": "ShuttingDown", "message": "the emulator is shutting down"}}
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)

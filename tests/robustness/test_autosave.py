"""`--state FILE --autosave SECONDS`: the world is saved while the process runs, so a process
killed without a chance to save (SIGKILL) loses at most the autosave window."""

from __future__ import annotations

import json
import os
import signal
import stat
import time

import httpx

from processes import start_emulator, stop

ELKS_AUTH = ("test_user", "test_password")


def _saved_texts(path) -> list[str]:
    """The texts of the messages in the state file, or [] while there is none."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    return [message["text"] for message in document["messages"]]


def _until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_sigkill_loses_nothing_older_than_the_autosave_window(tmp_path):
    state = tmp_path / "state.json"
    first = start_emulator("--state", str(state), "--autosave", "0.5")
    try:
        sms = httpx.post(
            first.url + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "survive a kill -9"}, auth=ELKS_AUTH
        ).json()
        assert _until(lambda: "survive a kill -9" in _saved_texts(state)), "no autosave within 30 s"
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    assert not [name for name in os.listdir(tmp_path) if name != "state.json"]  # no partial file left behind
    second = start_emulator("--state", str(state))
    try:
        stored = httpx.get(second.url + f"/a1/SMS/{sms['id']}", auth=ELKS_AUTH)
        assert stored.status_code == 200 and stored.json()["message"] == "survive a kill -9"
        assert httpx.get(second.url + "/a1/me", auth=ELKS_AUTH).json()["balance"] == 10_000_000 - 3500
    finally:
        stop(second.process)


def test_autosave_zero_saves_only_at_shutdown(tmp_path):
    state = tmp_path / "state.json"
    running = start_emulator("--state", str(state), "--autosave", "0")
    try:
        httpx.post(running.url + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "later"}, auth=ELKS_AUTH)
        # a wait on the emulator itself gives it time to save, were it to (it must not)
        httpx.get(running.url + "/_emulator/wait", params={"kind": "never.happens", "timeout": 1.5}, timeout=10)
        assert not state.exists()
    finally:
        stop(running.process)
    assert _saved_texts(state) == ["later"]

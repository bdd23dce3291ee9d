"""`--state FILE`: the state survives a restart; a corrupt file stops the start with a message."""

import subprocess
import sys

import httpx

from processes import start_emulator, stop


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    first = start_emulator("--state", str(state))
    try:
        sms = httpx.post(
            first.url + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "remember me"}, auth=("test_user", "test_password")
        ).json()
    finally:
        stop(first.process)
    assert state.exists() and "remember me" in state.read_text()
    second = start_emulator("--state", str(state))
    try:
        stored = httpx.get(second.url + f"/a1/SMS/{sms['id']}", auth=("test_user", "test_password"))
        assert stored.status_code == 200 and stored.json()["message"] == "remember me"
        assert httpx.get(second.url + "/a1/me", auth=("test_user", "test_password")).json()["balance"] == 10_000_000 - 3500
    finally:
        stop(second.process)


def test_corrupt_state_file_stops_the_start(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"format": "telco-emulator/snapshot", "version": 1, "accounts": 5}')
    result = subprocess.run([sys.executable, "-m", "emulator", "--port", "0", "--state", str(state)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert str(state) in result.stderr and "cannot load the state: $" in result.stderr and "Traceback" not in result.stderr

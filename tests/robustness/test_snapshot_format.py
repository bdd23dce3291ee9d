"""`--state FILE` with the real process: a bad file stops the start with one line naming where the
problem is (no traceback, non-zero exit); a good one brings the world back, sandboxes included,
across any number of restarts; the file is written atomically and readable by its owner only."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx
import jsonschema
import pytest

from emulator.core import snapshot as snapshots
from processes import start_emulator, stop
from support import ELKS_AUTH, make_engine

SEVEN_JSON = {"X-Api-Key": "test_api_key", "Accept": "application/json"}


def valid_document() -> dict:
    from emulator.app import create_app
    from emulator.settings import Settings

    engine = make_engine()
    create_app(Settings(clock="virtual"), engine=engine)  # registers every section
    return snapshots.take(engine)


def _scheduled_with_bad_time(document: dict) -> dict:
    message = snapshots.message_to_resource(
        snapshots.message_from_resource(
            {
                "id": "77000000001", "provider": "seven", "account_id": "1000001", "direction": "outbound", "from": "x",
                "to": "+4917612345678", "text": "later", "encoding": "gsm", "parts": 1, "cost": 750,
                "created": "2026-01-01T00:00:00.000000Z", "status": "scheduled", "history": [], "callback_url": None,
                "delivered_at": None, "send_at": "2026-01-01T01:00:00.000000Z", "attributes": {},
            },
            "$",
        )
    )
    message["send_at"] = "not-a-time"
    document["messages"].append(message)
    return document


BAD_FILES = {
    "not JSON": (lambda: "{not json", "not JSON"),
    "deep JSON": (lambda: "[" * 100_000 + "]" * 100_000, "not JSON"),
    "old object dump": (lambda: json.dumps({"format": "telco-emulator-snapshot/1", "store": {"accounts": [{"__dc__": "emulator.__main__:X", "fields": {}}]}}), "$.format"),
    "scheduled send_at not a time": (lambda: json.dumps(_scheduled_with_bad_time(valid_document())), "$.messages[0].send_at"),
    "balance of lots": (lambda: json.dumps(valid_document() | {"accounts": [valid_document()["accounts"][0] | {"balance": "lots"}]}), "$.accounts[0].balance"),
    "credentials null": (lambda: json.dumps(valid_document() | {"accounts": [valid_document()["accounts"][0] | {"credentials": None}]}), "$.accounts[0].credentials"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_state_file_stops_the_start_with_one_line(tmp_path, name):
    make, where = BAD_FILES[name]
    state = tmp_path / "state.json"
    state.write_text(make(), encoding="utf-8")
    before = state.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--state", str(state)], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"telco-emulator: {state}: cannot load the state: ") and where in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "ready on" not in result.stdout
    assert state.read_bytes() == before  # the file is left as it was


def test_a_sandbox_survives_restarts_and_the_file_is_private(tmp_path):
    state = tmp_path / "state.json"
    first = start_emulator("--state", str(state))
    try:
        sandbox = httpx.post(first.url + "/_emulator/sandboxes", json={"name": "ci"}).json()
        user, password = sandbox["elks_auth"]
        sent = httpx.post(first.url + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "mine"}, auth=(user, password))
        assert sent.status_code == 200
    finally:
        stop(first.process)
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    assert [name for name in os.listdir(tmp_path) if name != "state.json"] == []  # no temporary file left
    document = json.loads(state.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(snapshots.schema()).validate(document)
    assert document["format"] == "telco-emulator/snapshot" and [s["id"] for s in document["sandboxes"]] == [sandbox["id"]]

    for _ in range(2):  # twice: the first restart must also save the sandbox again
        again = start_emulator("--state", str(state))
        try:
            listed = httpx.get(again.url + "/_emulator/sandboxes").json()["data"]
            assert [s["id"] for s in listed] == [sandbox["id"]]
            messages = httpx.get(again.url + "/a1/SMS", auth=(user, password))
            assert messages.status_code == 200 and [m["message"] for m in messages.json()["data"]] == ["mine"]
            assert httpx.get(again.url + "/a1/SMS", auth=ELKS_AUTH).json()["data"] == []  # still isolated
        finally:
            stop(again.process)
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o600


def test_a_state_file_is_rewritten_private_whatever_its_mode_was(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps(valid_document()), encoding="utf-8")
    os.chmod(state, 0o644)
    running = start_emulator("--state", str(state))
    try:
        assert httpx.get(running.url + "/a1/me", auth=ELKS_AUTH).status_code == 200
    finally:
        stop(running.process)
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    assert json.loads(state.read_text(encoding="utf-8"))["version"] == 1

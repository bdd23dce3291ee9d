"""The `elks` package from PyPI (46elks' Python bindings, unmodified) against the emulator: once
pointed at it through the client's own `base` option, once left on its default
https://api.46elks.com/a1/ and run through the emulator's HTTPS proxy.

elks 1.1.0 was written for Python 2: its first line is `from __builtin__ import basestring`. The
client runs in a subprocess that supplies that one name (`basestring = str`); the library's own code
runs as published.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from proxy_support import start_proxied_emulator, stop

USER, PASSWORD = "test_user", "test_password"

CLIENT_SCRIPT = r"""
import json, sys, types

python2_builtins = types.ModuleType("__builtin__")
python2_builtins.basestring = str
sys.modules["__builtin__"] = python2_builtins

import elks

base, user, password, to, sender, text = sys.argv[1:7]
client = elks.ElksRestClient(user, password, base=base) if base else elks.ElksRestClient(user, password)
report = {"base": client.base}
try:
    report["sms"] = client.SMS(to, sender, text)
    report["listed"] = client.request("SMS")
    report["me"] = client.request("me")
except elks.ElksException as exc:
    report["error"] = str(exc)
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    running = start_proxied_emulator(tmp_path_factory.mktemp("elks-ca"))
    yield running
    stop(running)


def run_client(proxied, mode: str, *, to: str, sender: str, text: str, password: str = PASSWORD) -> dict:
    base = proxied.url + "/a1/" if mode == "base-url" else ""
    env = proxied.client_env() if mode == "proxy" else proxied.direct_env()
    result = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, base, USER, password, to, sender, text],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def balance(proxied) -> int:
    return httpx.get(proxied.url + "/a1/me", auth=(USER, PASSWORD), trust_env=False).json()["balance"]


@pytest.mark.parametrize("mode", ["base-url", "proxy"])
def test_send_list_and_account(proxied, mode):
    before = balance(proxied)
    text = f"Hej från elks ({mode})"
    report = run_client(proxied, mode, to="070-000 01 23", sender="ElkCo", text=text)
    assert report["base"] == (proxied.url + "/a1/" if mode == "base-url" else "https://api.46elks.com/a1/")
    assert "error" not in report, report

    sms = report["sms"]
    assert (sms["status"], sms["to"], sms["from"], sms["message"]) == ("created", "+46700000123", "ElkCo", text)
    assert sms["id"] in [entry["id"] for entry in report["listed"]["data"]]
    assert report["me"]["id"] == "u5a9566c072160b318445d163949bf505"
    assert report["me"]["balance"] == before - sms["cost"]

    stored = [m for m in proxied.messages(provider="elks") if m["id"] == sms["id"]]
    assert [(m["to"], m["from"], m["text"], m["direction"]) for m in stored] == [("+46700000123", "ElkCo", text, "outbound")]


@pytest.mark.parametrize("mode", ["base-url", "proxy"])
def test_wrong_password_is_reported_by_the_client(proxied, mode):
    before = len(proxied.messages())
    report = run_client(proxied, mode, to="+46700000123", sender="ElkCo", text="never sent", password="wrong")
    assert report["error"].startswith("401 - ")
    assert "sms" not in report
    assert len(proxied.messages()) == before


def test_an_invalid_sender_is_reported_by_the_client(proxied):
    before = len(proxied.messages())
    report = run_client(proxied, "proxy", to="+46700000123", sender="1-not-a-sender!", text="never sent")
    status, _, text = report["error"].partition(" - ")
    assert status.startswith("4") and "from" in text.lower()
    assert len(proxied.messages()) == before

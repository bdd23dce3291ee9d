"""Validate, then mutate, against the real process: inputs that once answered 500 after the money
was taken, or broke the emulator until a restart, are refused with the caller's own error shape;
afterwards sends on both providers work and are charged once, and every record renders (also
across a `--state` restart).

Each reproduction is the one of the hardening issue: a rule whose pattern does not compile or
whose delay is 1e308 seconds; the virtual clock set to the year 9999 and advanced past it; a
lone surrogate in a JSON text; JSON nested 2,000 deep; an event cursor of 5,000 digits; seven.io
date ranges ending on 9999-12-31; a fixture file with a broken pattern.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from processes import start_emulator, stop
from support import ELKS_AUTH, SEVEN_KEY

VIRTUAL = ("--clock", "virtual", "--clock-start", "2026-01-01T00:00:00Z")
SEVEN = {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"}
SEVEN_JSON_BODY = {**SEVEN, "Content-Type": "application/json"}
JSON_BODY = {"Content-Type": "application/json"}
ELKS_SMS = {"from": "ElkCo", "to": "+46700000123", "message": "hi"}
SEVEN_SMS = {"to": "+4917612345678", "text": "hi", "no_reload": 1}  # sent again and again: past the reload lock
DEEP = b"[" * 2_000 + b"]" * 2_000
# Every read that once answered 500 once a bad record was stored.
READS = [
    ("/_emulator/health", {}), ("/_emulator/messages", {}), ("/_emulator/snapshot", {}), ("/_emulator/events", {}),
    ("/api/journal/outbound", {"headers": SEVEN}), ("/api/contacts", {"headers": SEVEN}), ("/a1/SMS", {"auth": ELKS_AUTH}),
]


def balances(client: httpx.Client) -> tuple[int, float]:
    elks = client.get("/a1/me", auth=ELKS_AUTH).json()["balance"]
    seven = client.get("/api/balance", headers=SEVEN).json()["amount"]
    return elks, seven


def send_both_and_check_charged_once(client: httpx.Client) -> None:
    elks_before, seven_before = balances(client)
    elks = client.post("/a1/SMS", data=ELKS_SMS, auth=ELKS_AUTH)
    seven = client.post("/api/sms", json=SEVEN_SMS, headers=SEVEN)
    assert elks.status_code == 200 and seven.status_code == 200, (elks.text, seven.text)
    elks_after, seven_after = balances(client)
    assert elks_after == elks_before - elks.json()["cost"]
    assert round((seven_before - seven_after) * 10_000) == round(seven.json()["total_price"] * 10_000)


def every_read_renders(client: httpx.Client) -> None:
    for path, options in READS:
        response = client.get(path, **options)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("emulator_process", [VIRTUAL], indirect=True)
@pytest.mark.parametrize(
    ("path", "rule", "field"),
    [
        ("/_emulator/outcomes", {"match": "re:([", "status": "failed"}, "match"),
        ("/_emulator/outcomes", {"match": "*", "sent_after": 1e308, "final_after": 1e308}, "sent_after"),
        ("/_emulator/call-outcomes", {"match": "re:([", "status": "busy"}, "match"),
    ],
)
def test_a_bad_rule_is_refused_and_both_providers_still_send(emulator_process, path, rule, field):
    with httpx.Client(base_url=emulator_process.url, timeout=10) as client:
        refused = client.post(path, json=rule)
        assert refused.status_code == 400 and refused.json()["error"]["message"].startswith(f"Invalid {field}:"), refused.text
        send_both_and_check_charged_once(client)
        moved = client.post("/_emulator/clock/advance", json={"seconds": 5})
        assert moved.status_code == 200
        statuses = [m["status"] for m in client.get("/_emulator/messages").json()["data"]]
        assert statuses == ["delivered", "delivered"]
        every_read_renders(client)


@pytest.mark.parametrize("emulator_process", [VIRTUAL], indirect=True)
def test_the_clock_stays_in_its_range_and_everything_keeps_answering(emulator_process):
    with httpx.Client(base_url=emulator_process.url, timeout=10) as client:
        far = client.post("/_emulator/clock/set", json={"time": "9999-12-31T23:00:00Z"})
        assert far.status_code == 400 and "Invalid time:" in far.json()["error"]["message"]
        assert client.post("/_emulator/clock/set", json={"time": "8999-12-31T23:00:00Z"}).status_code == 200
        past_the_end = client.post("/_emulator/clock/advance", json={"seconds": 7200})
        assert past_the_end.status_code == 400 and "Invalid seconds:" in past_the_end.json()["error"]["message"]
        assert client.get("/_emulator/clock").json()["now"] == "8999-12-31T23:00:00.000000Z"
        send_both_and_check_charged_once(client)
        assert client.post("/_emulator/clock/advance", json={"seconds": 3600}).status_code == 200
        send_both_and_check_charged_once(client)
        every_read_renders(client)
        assert client.post("/_emulator/reset").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "answer"),
    [
        ("/api/sms", b'{"to": "+4917612345678", "text": "x\\ud800"}', SEVEN_JSON_BODY, 400, 700),
        ("/api/contacts", b'{"firstname": "x\\ud800"}', SEVEN_JSON_BODY, 400,
         {"success": False, "code": "700", "error_message": "Invalid firstname: not valid Unicode text (it holds a lone surrogate)"}),
        ("/_emulator/inbound/sms", b'{"to": "+4915799912345", "from": "+4917612345678", "text": "x\\ud800"}', JSON_BODY, 400,
         {"error": {"type": "InvalidParameter", "message": "Invalid text: not valid Unicode text (it holds a lone surrogate)"}}),
    ],
)
def test_a_lone_surrogate_is_refused_and_every_record_renders_across_a_restart(tmp_path, path, body, headers, status, answer):
    state = tmp_path / "state.json"
    first = start_emulator(*VIRTUAL, "--state", str(state))
    try:
        with httpx.Client(base_url=first.url, timeout=10) as client:
            before = balances(client)
            response = client.post(path, content=body, headers=headers)
            assert response.status_code == status and response.json() == answer, response.text
            assert balances(client) == before
            assert client.get("/_emulator/messages").json()["data"] == []
            send_both_and_check_charged_once(client)
            every_read_renders(client)
    finally:
        stop(first.process)
    second = start_emulator(*VIRTUAL, "--state", str(state))
    try:
        with httpx.Client(base_url=second.url, timeout=10) as client:
            assert len(client.get("/_emulator/messages").json()["data"]) == 2
            every_read_renders(client)
    finally:
        stop(second.process)


@pytest.mark.parametrize("emulator_process", [VIRTUAL], indirect=True)
def test_json_nested_2000_deep_is_refused_in_each_callers_shape(emulator_process):
    with httpx.Client(base_url=emulator_process.url, timeout=10) as client:
        before = balances(client)
        sms = client.post("/api/sms", content=b'{"to": "+4917612345678", "text": "x", "x": ' + DEEP + b"}", headers=SEVEN_JSON_BODY)
        assert (sms.status_code, sms.json()) == (400, 700)
        contact = client.post("/api/contacts", content=b'{"firstname": "E", "x": ' + DEEP + b"}", headers=SEVEN_JSON_BODY)
        assert contact.status_code == 400
        assert contact.json()["error_message"] == "Malformed request body: invalid JSON: nested deeper than 64 levels"
        call = client.post("/a1/Calls", auth=ELKS_AUTH, data={
            "from": "+46766861001", "to": "+46700000123", "voice_start": '{"play": ' + DEEP.decode() + "}",
        })
        assert call.status_code == 403 and call.headers["content-type"] == "text/plain; charset=utf-8"
        assert call.text.startswith("Invalid voice_start:")
        snapshot = client.put("/_emulator/snapshot", content=b'{"format": ' + DEEP + b"}", headers=JSON_BODY)
        assert snapshot.status_code == 400 and snapshot.json()["error"]["type"] == "MalformedBody"
        assert balances(client) == before
        every_read_renders(client)


@pytest.mark.parametrize("emulator_process", [VIRTUAL], indirect=True)
def test_far_cursors_and_dates_are_answered(emulator_process):
    with httpx.Client(base_url=emulator_process.url, timeout=10) as client:
        send_both_and_check_charged_once(client)
        events = client.get("/_emulator/events", params={"after": "9" * 5_000})
        assert events.status_code == 400 and events.json()["error"]["message"].startswith("Invalid after:")
        analytics = client.get("/api/analytics/date", params={"start": "2026-01-01", "end": "9999-12-31"}, headers=SEVEN)
        assert analytics.status_code == 200 and [row["date"] for row in analytics.json()] == ["2026-01-01"]
        journal = client.get("/api/journal/outbound", params={"date_to": "9999-12-31"}, headers=SEVEN)
        assert journal.status_code == 200 and len(journal.json()) == 1


def test_a_fixture_file_with_a_broken_pattern_stops_the_start_with_one_line(tmp_path):
    fixtures = tmp_path / "broken.yaml"
    fixtures.write_text("extends: default\noutcomes:\n  - {match: 're:([', status: failed}\n")
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--fixtures", str(fixtures)], capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{fixtures}: outcomes[0].match: match 're:([' is not a valid regular expression" in result.stderr


@pytest.mark.parametrize("start", ["9999-12-31T23:00:00Z", "1969-01-01T00:00:00Z"])
def test_a_clock_start_outside_the_range_stops_the_start(start):
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--clock", "virtual", "--clock-start", start], capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2 and "--clock-start" in result.stderr and "9000-01-01T00:00:00Z" in result.stderr
    assert "Traceback" not in result.stderr

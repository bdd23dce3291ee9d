"""Issue 12, item 7, against the real process: a 46elks delivery report to a receiver answering
500. Before, one 7-hour advance gave 2 attempts and left the report pending, while 84 advances of
300 s gave 73 attempts and `failed`. Now both give 73 attempts each, 5 minutes apart, and
`failed`: an advance fires everything due in it, in order, at its own due time."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from support import ELKS_AUTH

VIRTUAL = [("--clock", "virtual")]


def _micros(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _report_attempts(client: httpx.Client, receiver_url: str) -> tuple[list[tuple[str, list[float]]], int]:
    """Each report's final state and its attempt times in seconds after the SMS was created;
    and the SMS's `fired`-independent created time."""
    message = client.get("/_emulator/messages", params={"provider": "elks", "limit": 1}).json()["data"][0]
    created = _micros(message["created"])
    deliveries = client.get("/_emulator/webhooks", params={"url": receiver_url}).json()["data"]
    reports = [
        (delivery["state"], [(_micros(attempt["at"]) - created) / 1e6 for attempt in delivery["attempts"]])
        for delivery in deliveries
    ]
    return sorted(reports, key=lambda report: report[1][:1]), created


def _send(client: httpx.Client, receiver_url: str) -> None:
    response = client.post(
        "/a1/SMS", auth=ELKS_AUTH, data={"from": "ElkCo", "to": "+46700000123", "message": "hi", "whendelivered": receiver_url + "/dlr"}
    )
    assert response.status_code == 200, response.text


def _advance(client: httpx.Client, seconds: float) -> int:
    response = client.post("/_emulator/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    return response.json()["fired"]


@pytest.mark.parametrize("emulator_process", VIRTUAL, indirect=True)
def test_one_seven_hour_advance_retries_like_84_advances_of_five_minutes(emulator_process, webhook_receiver):
    webhook_receiver.statuses = [500]
    expected = [0.5 + 300 * k for k in range(73)], [1.0 + 300 * k for k in range(73)]  # `sent`, then `delivered`
    with httpx.Client(base_url=emulator_process.url, timeout=60) as client:
        _send(client, webhook_receiver.url)
        fired_once = _advance(client, 7 * 3600)
        once, _ = _report_attempts(client, webhook_receiver.url)
        assert [state for state, _ in once] == ["failed", "failed"]
        assert tuple(times for _, times in once) == expected
        assert len(webhook_receiver.hits) == 146

        assert client.post("/_emulator/reset").status_code == 200
        _send(client, webhook_receiver.url)
        fired_in_steps = sum(_advance(client, 300) for _ in range(84))
        in_steps, _ = _report_attempts(client, webhook_receiver.url)
        assert in_steps == once and fired_in_steps == fired_once
        assert len(webhook_receiver.hits) == 292

        events = client.get("/_emulator/events", params={"limit": 1000}).json()["data"]
        attempts = [event["at"][:23] for event in events if event["kind"] == "webhook.attempt"]
        assert len(attempts) == 146 and attempts == sorted(attempts)

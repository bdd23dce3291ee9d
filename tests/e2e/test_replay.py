"""`telco-emulator replay`: the shipped example scenarios, failures, JUnit XML, running against
an emulator that is already up, and replaying exported webhook traffic to a real receiver."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

SCENARIOS = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"


def replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator", "replay", *args], capture_output=True, text=True, timeout=120)


def test_example_scenarios_pass_in_process(tmp_path):
    files = sorted(str(path) for path in SCENARIOS.glob("*.yaml"))
    assert len(files) >= 2
    junit = tmp_path / "results.xml"
    result = replay(*files, "--junit", str(junit))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED  ") == len(files)
    assert 'failures="0"' in junit.read_text()


def test_a_failing_scenario_exits_1_and_skips_the_rest(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "name: wrong balance\nsteps:\n"
        "  - send_sms: {provider: elks, to: '+46700000123', text: hi}\n"
        "  - expect_balance: {provider: elks, amount: 1}\n"
        "  - advance: 1\n"
    )
    junit = tmp_path / "out.xml"
    result = replay(str(path), "--junit", str(junit))
    assert result.returncode == 1
    assert "FAIL    2. expect_balance" in result.stdout and "balance is 9996500, expected 1" in result.stdout
    assert "SKIP    3. advance" in result.stdout
    assert 'failures="1"' in junit.read_text() and 'skipped="1"' in junit.read_text()


def test_an_invalid_scenario_exits_2(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsteps: [{teleport: 1}]\n")
    result = replay(str(path))
    assert result.returncode == 2 and "broken.yaml: steps.0" in result.stderr and "Traceback" not in result.stderr


def test_replay_against_a_running_emulator(emulator_process, tmp_path):
    path = tmp_path / "live.yaml"
    path.write_text(
        "name: live\nsteps:\n"
        "  - send_sms: {provider: seven, to: '+4917612345678', text: hi, save: sms}\n"
        "  - expect_message: {provider: seven, to: '+4917612345678'}\n"
        "  - expect_balance: {provider: seven, amount: 99.925}\n"
    )
    result = replay(str(path), "--target", emulator_process.url, "--reset")
    assert result.returncode == 0, result.stdout
    messages = httpx.get(emulator_process.url + "/_emulator/messages").json()["data"]
    assert [m["to"] for m in messages] == ["+4917612345678"]


def test_exported_webhooks_replay_against_a_receiver(emulator_process, webhook_receiver, tmp_path):
    base = emulator_process.url
    httpx.post(
        base + "/a1/SMS",
        data={"from": "ElkCo", "to": "+46700000123", "message": "x", "whendelivered": "http://127.0.0.1:9/hooks/dlr?key=k"},
        auth=("test_user", "test_password"),
    ).raise_for_status()
    # Both reports (sent, delivered) are attempted once against the closed port 9, then wait for a retry.
    delivered = httpx.get(base + "/_emulator/wait", params={"kind": "message.status", "status": "delivered", "timeout": 15}, timeout=20)
    after = delivered.json()["event"]["seq"]
    attempt = httpx.get(base + "/_emulator/wait", params={"kind": "webhook.attempt", "after": after, "timeout": 15}, timeout=20)
    assert attempt.json()["event"]["data"]["error"]
    exported = httpx.get(base + "/_emulator/scenario", params={"url": "http://127.0.0.1:9/hooks/"})
    assert exported.headers["content-type"].startswith("application/yaml")
    path = tmp_path / "recorded.yaml"
    path.write_text(exported.text)
    result = replay(str(path), "--target", base, "--webhook-target", webhook_receiver.url)
    assert result.returncode == 0, result.stdout + result.stderr
    hits = webhook_receiver.wait_for(2, "/hooks/dlr")
    assert [dict(parse_qsl(hit.body.decode()))["status"] for hit in hits] == ["sent", "delivered"]
    assert hits[0].path == "/hooks/dlr?key=k"


def test_a_deeply_nested_scenario_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 100_000 + "]" * 100_000)
    result = replay(str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-500:]
    assert result.stderr == f"telco-emulator replay: {path}: not valid YAML: nested too deeply\n"


SEND_THEN_ADVANCE = (
    "name: needs virtual time\nreset: false\nsteps:\n"
    "  - send_sms: {provider: seven, to: '+4917612345678', text: too early}\n"
    "  - advance: 60\n"
)


def _messages(url: str) -> list[str]:
    return [m["text"] for m in httpx.get(url + "/_emulator/messages").json()["data"]]


def test_a_target_is_not_reset_without_reset(emulator_process, tmp_path):
    base = emulator_process.url
    httpx.post(base + "/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "keep me"}, auth=("test_user", "test_password"))
    path = tmp_path / "resets.yaml"
    path.write_text("name: resets\nsteps:\n  - send_sms: {provider: seven, to: '+4917612345678', text: hi}\n")
    result = replay(str(path), "--target", base)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr == (
        f"telco-emulator replay: {path}: the scenario resets the emulator before it runs (`reset: true`, the default), which "
        f"would wipe every message, call and balance of the emulator at {base} back to its fixtures; pass --reset to allow "
        "that, or set `reset: false` in the scenario\n"
    )
    assert _messages(base) == ["keep me"]


def test_a_scenario_that_advances_needs_a_virtual_clock_and_says_so_before_running(emulator_process, tmp_path):
    path = tmp_path / "advance.yaml"
    path.write_text(SEND_THEN_ADVANCE)
    result = replay(str(path), "--target", emulator_process.url)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"telco-emulator replay: {path}: step 2 (advance) needs an emulator on the virtual clock, and the emulator at "
        f"{emulator_process.url} runs a real clock: start it with --clock virtual\n"
    )
    assert _messages(emulator_process.url) == []  # step 1 was not run


@pytest.mark.parametrize("emulator_process", [("--clock", "virtual")], indirect=True)
def test_the_same_scenario_runs_on_a_virtual_clock(emulator_process, tmp_path):
    path = tmp_path / "advance.yaml"
    path.write_text(SEND_THEN_ADVANCE)
    result = replay(str(path), "--target", emulator_process.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _messages(emulator_process.url) == ["too early"]


def test_an_account_the_target_does_not_have_is_named_before_running(emulator_process, tmp_path):
    path = tmp_path / "accounts.yaml"
    path.write_text(
        "name: strangers\nreset: false\nsteps:\n"
        "  - send_sms: {provider: seven, to: '+4917612345678', text: hi}\n"
        "  - send_sms: {provider: seven, to: '+4917612345678', text: hi, api_key: nobody_key}\n"
        "  - expect_balance: {provider: elks, amount: 1, auth: [nobody, secret]}\n"
    )
    result = replay(str(path), "--target", emulator_process.url)
    assert result.returncode == 2 and result.stdout == ""
    named = f"the emulator at {emulator_process.url}"
    assert result.stderr.splitlines() == [
        f"telco-emulator replay: {path}: step 2 (send_sms) uses the seven.io API key 'nobody_key', which {named} does not know",
        f"telco-emulator replay: {path}: step 3 (expect_balance) uses the 46elks API username 'nobody' with its password, which {named} does not know",
    ]
    assert _messages(emulator_process.url) == []


def test_an_unreachable_target_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "any.yaml"
    path.write_text("name: any\nreset: false\nsteps:\n  - advance: 1\n")
    result = replay(str(path), "--target", "http://127.0.0.1:9")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("telco-emulator replay: cannot reach the emulator at http://127.0.0.1:9: ")
    assert result.stderr.count("\n") == 1


def test_a_failed_webhook_target_names_the_url_contacted(tmp_path):
    path = tmp_path / "hooks.yaml"
    path.write_text(
        "name: hooks\nreset: false\nsteps:\n"
        "  - deliver_webhook: {url: 'http://hooks.example.invalid/hooks/dlr?k=1', method: POST, body: 'status=delivered'}\n"
    )
    result = replay(str(path), "--webhook-target", "http://127.0.0.1:9/base")
    assert result.returncode == 1
    assert "POST http://127.0.0.1:9/base/hooks/dlr?k=1 (recorded as http://hooks.example.invalid/hooks/dlr?k=1): " in result.stdout


def test_replay_help_says_what_target_does_and_what_the_exit_status_means():
    result = subprocess.run([sys.executable, "-m", "emulator", "replay", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "With --target URL it runs against an emulator that is already running, and changes that emulator's state" in text
    assert "0 every scenario passed" in text and "1 a scenario failed" in text and "2 nothing was run" in text


def test_inbound_traffic_to_a_number_the_emulator_lacks_is_named_before_running(tmp_path):
    path = tmp_path / "inbound.yaml"
    path.write_text(
        "name: inbound\nsteps:\n"
        "  - inbound_sms: {to: '+46 76 686 10 01', from: '+46701234567', text: 'known number, written with spaces'}\n"
        "  - inbound_sms: {to: '+46700000999', from: '+46701234567', text: nobody has this number}\n"
    )
    result = replay(str(path))  # the in-process emulator, with the default fixtures
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"telco-emulator replay: {path}: step 2 (inbound_sms) sends inbound traffic to +46700000999, which is not a number "
        "of any account of the in-process emulator\n"
    )

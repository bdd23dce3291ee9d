"""`telco-emulator replay`: the shipped example scenarios, failures, JUnit XML, running against
an emulator that is already up, and replaying exported webhook traffic to a real receiver."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import httpx

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
    result = replay(str(path), "--target", emulator_process.url)
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

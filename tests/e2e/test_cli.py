"""The command line: flags, environment variables, and clean failures without tracebacks."""

import os
import subprocess
import sys

import httpx
import pytest

from processes import start_emulator, stop


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args], capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--port", "lots"], "--port"),
        (["--clock", "sundial"], "--clock"),
        (["--time-scale", "0"], "time scale"),
        (["--clock-start", "yesterday"], "--clock-start"),
        (["--nonsense"], "unrecognized"),
    ],
)
def test_bad_flags_exit_nonzero_with_a_message(args, needle):
    result = run(*args)
    assert result.returncode != 0
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_fixture_file_names_the_file_and_field(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("seven:\n  accounts:\n    - {id: '1', api_key: k, balance: plenty}\n")
    result = run("--fixtures", str(path), "--port", "0")
    assert result.returncode == 2
    assert str(path) in result.stderr and "seven.accounts[0].balance" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_typo_in_a_fixture_file_stops_the_process_with_one_line(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("extends: default\nseven:\n  accounts:\n    - {id: '42', api_key: my_key, balance: 5, api_kye: x}\n")
    result = run("--fixtures", str(path), "--port", "0")
    assert result.returncode == 2
    assert result.stderr == f"telco-emulator: {path}: seven.accounts[0].api_kye: unknown key 'api_kye'; did you mean 'api_key'?\n"
    assert result.stdout == ""


def test_missing_fixture_file(tmp_path):
    result = run("--fixtures", str(tmp_path / "absent.yaml"), "--port", "0")
    assert result.returncode == 2 and "absent.yaml" in result.stderr and "Traceback" not in result.stderr


def test_environment_variables_configure_the_process(tmp_path):
    fixtures = tmp_path / "mine.yaml"
    fixtures.write_text("extends: default\nseven:\n  accounts:\n    - {id: '9', api_key: env_key, balance: 123400}\n")
    running = start_emulator(env={"TELCO_EMULATOR_CLOCK": "virtual", "TELCO_EMULATOR_FIXTURES": str(fixtures)})
    try:
        assert running.ready_line.startswith("telco-emulator ") and "/a1" in running.ready_line
        with httpx.Client(base_url=running.url) as client:
            assert client.get("/_emulator/health").json()["clock"] == "virtual"
            balance = client.get("/api/balance", headers={"X-Api-Key": "env_key", "Accept": "application/json"})
            assert balance.json() == {"amount": 12.34, "currency": "EUR"}
    finally:
        stop(running.process)


def test_python_dash_m_and_console_script_agree():
    assert run("--version").stdout.strip().startswith("telco-emulator ")
    script = subprocess.run(["telco-emulator", "--help"], capture_output=True, text=True, timeout=30)
    assert script.returncode == 0 and "TELCO_EMULATOR_PORT" in script.stdout

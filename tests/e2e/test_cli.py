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
        (["--autosave", "-1"], "autosave must be 0 (off) or a positive number of seconds"),
        (["--store", "postgres://db/1"], "the store must be memory or a redis:// URL"),
        (["--store", "redis://127.0.0.1:6379/0", "--state", "world.json"], "--state and --store do not go together"),
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


def test_the_usage_line_names_the_replay_command():
    usage = run("--help").stdout.split("\n\n")[0]
    assert usage.startswith("usage: telco-emulator [--port PORT]")
    assert "telco-emulator replay SCENARIO.yaml..." in usage


def test_every_flag_says_its_default_in_help():
    from emulator.cli import _parser, _replay_parser

    for parser in (_parser(), _replay_parser()):
        for action in parser._actions:
            if action.option_strings and action.dest not in ("help", "version"):
                assert "default" in (action.help or ""), f"{parser.prog} {action.option_strings[0]}: {action.help!r}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["replya", "x.yaml"], "telco-emulator: unknown command 'replya'; did you mean 'replay'? (see telco-emulator --help)\n"),
        (["serve"], "telco-emulator: unknown command 'serve': the only command is 'replay'; the server itself takes only --flags (see telco-emulator --help)\n"),
    ],
)
def test_a_mistyped_command_gets_a_suggestion(args, expected):
    result = run(*args)
    assert result.returncode == 2 and result.stderr == expected and result.stdout == ""


def test_a_mistyped_flag_gets_a_suggestion():
    result = run("--prot", "8047")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "telco-emulator: error: unrecognized arguments: --prot 8047; did you mean --port?"
    result = run("replay", "x.yaml", "--targte", "http://127.0.0.1:8046")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "telco-emulator replay: error: unrecognized arguments: --targte http://127.0.0.1:8046; did you mean --target?"


def test_the_ready_line_says_the_clock_and_the_fixtures(tmp_path):
    fixtures = tmp_path / "mine.yaml"
    fixtures.write_text("extends: default\n")
    running = start_emulator("--clock", "virtual", "--fixtures", str(fixtures), "--state", str(tmp_path / "s.json"))
    try:
        assert running.ready_line.rstrip("\n").endswith(f"; virtual clock, fixtures {fixtures}, state {tmp_path / 's.json'} (saved every 5 s)")
    finally:
        stop(running.process)
    running = start_emulator()
    try:
        assert running.ready_line.rstrip("\n").endswith("; real clock, the default fixtures")
    finally:
        stop(running.process)


def test_a_port_in_use_suggests_port_0():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"telco-emulator: cannot listen on 127.0.0.1:{port}: ")
    assert "pass --port 0 for any free port" in result.stderr


def test_a_proxy_port_in_use_suggests_proxy_0(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", "0", "--proxy", str(port), "--proxy-ca-dir", str(tmp_path / "ca"))
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert f"cannot listen for the proxy on 127.0.0.1:{port}: " in result.stderr and "pass --proxy 0 for any free port" in result.stderr


def test_a_store_that_does_not_answer_exits_2_in_one_line():
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    result = run("--store", f"redis://:secret@127.0.0.1:{port}/0", "--port", "0")
    assert result.returncode == 2
    assert f"cannot join the world in redis://:***@127.0.0.1:{port}/0" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_joining_a_world_with_other_settings_exits_2_naming_them(redis_url):
    first = start_emulator("--store", redis_url, "--seed", "7")
    try:
        result = run("--store", redis_url, "--seed", "8", "--port", "0")
        assert result.returncode == 2
        assert "seed '7' (here '8')" in result.stderr and "Traceback" not in result.stderr
        assert "shared world in " + redis_url in first.ready_line
    finally:
        stop(first.process)

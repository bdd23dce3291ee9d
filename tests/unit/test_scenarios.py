"""Scenario files: schema checks with clear errors, references, reports."""

import pytest

from emulator.scenarios import ScenarioError, StepResult, ScenarioResult, junit_xml, text_report
from emulator.scenarios.loader import load_scenario, parse_scenario
from emulator.scenarios.runner import Runner, StepFailed


def test_a_valid_scenario_loads():
    scenario = parse_scenario("name: x\nsteps:\n  - advance: 1\n  - expect_balance: {provider: elks, amount: 5}\n", "s.yaml")
    assert scenario.name == "x" and scenario.reset is True and len(scenario.steps) == 2


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("steps: [{advance: 1}]", "'name' is a required property"),
        ("name: x\nsteps: []", "steps"),
        ("name: x\nsteps: [{fly: 1}]", "steps.0"),
        ("name: x\nsteps: [{advance: 1, send_sms: {}}]", "steps.0"),
        ("name: x\nsteps: [{advance: -1}]", "steps.0.advance"),
        ("name: x\nsteps: [{send_sms: {provider: acme, to: '1', text: x}}]", "steps.0.send_sms.provider"),
        ("name: x\nsteps: [{request: {method: GET, path: nope}}]", "steps.0.request.path"),
        ("name: [", "not valid YAML"),
    ],
)
def test_mistakes_are_named(text, where):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml")
    assert str(info.value).startswith("bad.yaml: ") and where in str(info.value)


def test_references_resolve_and_fail_clearly():
    runner = Runner("http://unused.test")
    runner.saved = {"sms": {"id": "s1", "messages": [{"id": "77"}]}, "n": 5}
    assert runner._substitute({"a": "${sms.id}", "b": "id ${sms.messages.0.id}!", "c": "${n}"}) == {"a": "s1", "b": "id 77!", "c": 5}
    with pytest.raises(StepFailed, match="nothing saved"):
        runner._substitute("${missing.id}")
    with pytest.raises(StepFailed, match="no field 'nope'"):
        runner._substitute("${sms.nope}")
    runner.close()


def test_reports_show_failures_and_skips():
    result = ScenarioResult("demo", "demo.yaml", [
        StepResult(0, "advance", "advance 1", True),
        StepResult(1, "expect_balance", "expect_balance amount=1", False, "balance is 2, expected 1"),
        StepResult(2, "advance", "advance 2", None),
    ])
    text = text_report([result])
    assert "FAILED  demo" in text and "balance is 2, expected 1" in text and "SKIP" in text
    assert text.splitlines()[-1] == "0 passed, 1 failed"
    xml = junit_xml([result])
    assert 'failures="1"' in xml and 'skipped="1"' in xml and "<failure" in xml


BILLION_LAUGHS = (
    "name: x\nsteps:\n  - request:\n      method: POST\n      path: /api/sms\n      json:\n"
    "        a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"        {n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdef", "bcdefg"))
)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not valid YAML: nested too deeply"),
        (b"name: x\nsteps:\n  - request: {method: POST, path: /api/sms, json: " + b"[" * 150 + b"]" * 150 + b"}\n", "nested deeper than 100 levels"),
        (b"name: [unclosed", "not valid YAML: while parsing a flow sequence: expected ',' or ']', but got '<stream end>' at line 1, column 16"),
        (b"name: caf\xe9\nsteps: [{advance: 1}]\n", "not UTF-8 text (byte 9 cannot be read as UTF-8)"),
        (b'name: "x\\ud800"\nsteps: [{advance: 1}]\n', "name: not valid Unicode text (it holds a lone surrogate)"),
        (b"name: x\nsteps: [{advance: .inf}]\n", "steps.0.advance: inf is not a number a request can carry"),
        (b"name: 5\nsteps: 3\n", "name: 5 is not of type 'string'"),
        (b"- " + b"1, " * 5000 + b"\n", "top level: "),
        (BILLION_LAUGHS.encode(), "its aliases expand to more than"),
        (b"#" * (16 * 1024 * 1024 + 1), "larger than 16 MiB, too large for a scenario"),
    ],
    ids=["deep-yaml", "deep-json-body", "not-yaml", "latin-1", "lone-surrogate", "infinity", "wrong-types", "long-value", "billion-laughs", "huge"],
)
def test_malformed_files_are_refused_in_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and problem in message, message[:500]
    assert "\n" not in message and len(message) < 600 + len(str(path))

"""Scenario files: schema checks with clear errors, references, reports."""

import pytest

from emulator.scenarios import ScenarioError, StepResult, ScenarioResult, junit_xml, text_report
from emulator.scenarios.loader import parse_scenario
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

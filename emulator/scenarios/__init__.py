"""Scenario replay: YAML scenarios of steps (send, inbound traffic, advance time, expectations)
run against an emulator, with a readable report and JUnit XML. The format is described by
`specs/scenario.schema.json`."""

from .loader import Scenario, ScenarioError, load_scenario
from .report import junit_xml, text_report
from .runner import Runner, ScenarioResult, StepResult

__all__ = ["Scenario", "ScenarioError", "load_scenario", "Runner", "ScenarioResult", "StepResult", "text_report", "junit_xml"]

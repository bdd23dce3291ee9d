"""Scenario results as a readable text report and as JUnit XML (one test case per step)."""

from __future__ import annotations

from xml.etree import ElementTree

from .runner import ScenarioResult

__all__ = ["text_report", "junit_xml"]

_MARKS = {True: "PASS", False: "FAIL", None: "SKIP"}


def text_report(results: list[ScenarioResult]) -> str:
    lines = []
    for result in results:
        lines.append(f"{'PASSED' if result.passed else 'FAILED'}  {result.name}  ({result.source})")
        for step in result.steps:
            lines.append(f"  {_MARKS[step.ok]}  {step.index + 1:>3}. {step.title}")
            if step.ok is False and step.message:
                lines.extend(f"         {line}" for line in step.message.splitlines())
    passed = sum(1 for r in results if r.passed)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines)


def junit_xml(results: list[ScenarioResult]) -> str:
    suites = ElementTree.Element("testsuites")
    for result in results:
        failures = sum(1 for s in result.steps if s.ok is False)
        skipped = sum(1 for s in result.steps if s.ok is None)
        suite = ElementTree.SubElement(
            suites, "testsuite", name=result.name, tests=str(len(result.steps)), failures=str(failures), skipped=str(skipped),
            time=f"{sum(s.seconds for s in result.steps):.3f}",
        )
        for step in result.steps:
            case = ElementTree.SubElement(
                suite, "testcase", classname=result.source, name=f"{step.index + 1:03d} {step.title}", time=f"{step.seconds:.3f}"
            )
            if step.ok is False:
                ElementTree.SubElement(case, "failure", message=(step.message or "failed").splitlines()[0]).text = step.message
            elif step.ok is None:
                ElementTree.SubElement(case, "skipped", message="an earlier step failed")
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)

"""Loading a scenario file: YAML, checked against the scenario JSON Schema with clear errors.

Whatever a file holds, loading it ends in a `Scenario` or in one `ScenarioError` whose message is
one line naming the file and the problem: a file that is not UTF-8, not YAML, larger than
`MAX_SCENARIO_BYTES`, nested deeper than `MAX_DEPTH` levels, whose aliases expand to far more
than it holds (a "billion laughs"), with text no request could carry (a lone surrogate) or a
number JSON cannot write (`.inf`, `.nan`), or that does not follow the schema.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "schema", "MAX_SCENARIO_BYTES", "MAX_DEPTH"]

MAX_SCENARIO_BYTES = 16 * 1024 * 1024  # tens of thousands of steps; YAML reads about 6 s a MiB
MAX_DEPTH = 100  # a step is 3 levels deep; its `json` body may nest further, but the providers stop at 64
MAX_EXPANSION = 1_000_000  # values that aliases may add beyond what the text holds


class ScenarioError(Exception):
    """A scenario file that cannot be read or does not follow the format."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    steps: list[dict[str, Any]]
    source: str
    reset: bool = True
    description: str | None = None


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("emulator").joinpath("data/scenario.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong and where (PyYAML's own text spans several lines
    and quotes the file)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        context = f"{exc.context}: " if exc.context else ""
        return context + exc.problem + where
    return " ".join(str(exc).split())


def _where(path: list[Any]) -> str:
    return ".".join(str(part) for part in path) or "top level"


def _check_values(data: Any, source: str, budget: int) -> None:
    """Refuse what no step could send or report: nesting deeper than MAX_DEPTH, more than
    `budget` values once aliases are expanded, lone surrogates, infinite or NaN numbers. Walks
    without recursion, each aliased value as often as it is used."""
    pending: list[tuple[list[Any], Any]] = [([], data)]
    seen = 0
    while pending:
        path, item = pending.pop()
        seen += 1
        if seen > budget:
            raise ScenarioError(f"{source}: its aliases expand to more than {budget:,} values")
        if len(path) > MAX_DEPTH:
            raise ScenarioError(f"{source}: {_where(path[:MAX_DEPTH])}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            if not _encodable(item):
                raise ScenarioError(f"{source}: {_where(path)}: not valid Unicode text (it holds a lone surrogate)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ScenarioError(f"{source}: {_where(path)}: {item} is not a number a request can carry")
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and not _encodable(key):
                    raise ScenarioError(f"{source}: {_where(path)}: a key is not valid Unicode text (it holds a lone surrogate)")
                pending.append(([*path, key], child))
        elif isinstance(item, list):
            pending.extend(([*path, index], child) for index, child in enumerate(item))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_scenario(text: str, source: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: not valid YAML: nested too deeply") from None
    _check_values(data, source, len(text) + MAX_EXPANSION)
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        message = first.message if len(first.message) <= 300 else first.message[:300] + "…"  # it quotes the value
        raise ScenarioError(f"{source}: {_where(list(first.absolute_path))}: {message}")
    return Scenario(
        name=data["name"], steps=data["steps"], source=source, reset=data.get("reset", True), description=data.get("description")
    )


def load_scenario(path: str | Path) -> Scenario:
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror or exc}") from None
    if len(content) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{path}: larger than {MAX_SCENARIO_BYTES // (1024 * 1024)} MiB, too large for a scenario")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start} cannot be read as UTF-8)") from None
    return parse_scenario(text, str(path))

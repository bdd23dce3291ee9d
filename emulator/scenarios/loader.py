"""Loading a scenario file: YAML, checked against the scenario JSON Schema with clear errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "schema"]


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


def parse_scenario(text: str, source: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(part) for part in first.absolute_path) or "top level"
        raise ScenarioError(f"{source}: {where}: {first.message}")
    return Scenario(
        name=data["name"], steps=data["steps"], source=source, reset=data.get("reset", True), description=data.get("description")
    )


def load_scenario(path: str | Path) -> Scenario:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror or exc}") from None
    return parse_scenario(text, str(path))

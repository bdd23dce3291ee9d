"""The import paths users and packaging rely on survive the layout: the console script, the pytest
plugin's entry point, and `emulator.app.create_app` (the composition root, at the top of the package)."""

from __future__ import annotations

import tomllib
from importlib import import_module
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_entry_points_in_pyproject_resolve():
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    module, _, function = project["scripts"]["telco-emulator"].partition(":")
    assert callable(getattr(import_module(module), function))
    assert hasattr(import_module(project["entry-points"]["pytest11"]["telco_emulator"]), "telco_emulator")


def test_create_app_is_importable_at_its_old_path():
    from emulator.app import build_engine, create_app

    app = create_app()
    assert app.state.engine is not None and callable(build_engine)

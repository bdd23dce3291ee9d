"""The `--state FILE` option: load a snapshot file at start, write one at shutdown."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .core.snapshot import SnapshotError, restore, take

__all__ = ["load_state_file", "save_state_file"]


def load_state_file(engine: Any, path: str) -> None:
    """Restore `path` into the engine if the file exists; SnapshotError when it cannot be used."""
    if not os.path.exists(path):
        return
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SnapshotError(str(exc)) from None
    restore(engine, data)


def save_state_file(engine: Any, path: str) -> None:
    """Write the snapshot beside the file, then move it into place: never a half-written file."""
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(take(engine), handle)
        os.replace(temporary, path)
    except OSError as exc:
        print(f"telco-emulator: cannot save the state to {path}: {exc.strerror or exc}", file=sys.stderr)

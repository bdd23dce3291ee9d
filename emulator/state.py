"""The `--state FILE` option: load a snapshot file at start, write one at shutdown.

The file is a snapshot document (`specs/snapshot.schema.json`). It is written atomically (a
temporary file in the same directory, flushed to disk, then renamed over the old one), readable
by its owner only (mode 0600: it holds every credential). A file that cannot be used stops the
start with one line naming the problem.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from . import sandboxes as _sandboxes  # noqa: F401  (registers the sandboxes' snapshot section)
from .core.snapshot import SnapshotError, parse_document, restore, take
from .providers import PROVIDERS as _PROVIDERS  # noqa: F401  (registers each provider's snapshot sections)

__all__ = ["load_state_file", "save_state_file", "write_state_file", "STATE_FILE_MODE"]

STATE_FILE_MODE = 0o600


def load_state_file(engine: Any, path: str) -> None:
    """Restore `path` into the engine if the file exists; SnapshotError when it cannot be used
    (and then nothing was changed)."""
    if not os.path.exists(path):
        return
    try:
        with open(path, "rb") as handle:
            data = parse_document(handle.read())
    except OSError as exc:
        raise SnapshotError("$", f"cannot read the file: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError("$", f"not JSON: {exc}") from None
    restore(engine, data)


def write_state_file(document: dict[str, Any], path: str) -> None:
    """Write `document` to `path` atomically, with mode 0600; OSError or ValueError on failure
    (the old file, if any, is then untouched)."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), STATE_FILE_MODE)
            json.dump(document, handle, ensure_ascii=False, allow_nan=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    try:  # the rename itself reaches the disk with the directory
        directory_descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory_descriptor)
    except OSError:
        pass
    finally:
        os.close(directory_descriptor)


def save_state_file(engine: Any, path: str) -> None:
    """Write the engine's snapshot to `path`; a failure is reported on stderr, never raised."""
    try:
        write_state_file(take(engine), path)
    except OSError as exc:
        print(f"telco-emulator: cannot save the state to {path}: {exc.strerror or exc}", file=sys.stderr)
    except (ValueError, SnapshotError) as exc:
        print(f"telco-emulator: cannot save the state to {path}: {exc}", file=sys.stderr)

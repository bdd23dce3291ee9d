"""The `--state FILE` option: load a snapshot file at start, write one at shutdown, and in
between every `--autosave SECONDS` (`Autosaver`) when something changed, so that a process killed
without a chance to save (SIGKILL, a crash, a power cut) loses at most that window.

The file is a snapshot document (`specs/snapshot.schema.json`). It is written atomically (a
temporary file in the same directory, flushed to disk, then renamed over the old one), readable
by its owner only (mode 0600: it holds every credential). A file that cannot be used stops the
start with one line naming the problem.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from typing import Any, Callable, Hashable

import orjson

from . import sandboxes as _sandboxes  # noqa: F401  (registers the sandboxes' snapshot section)
from ..core.snapshot import Frozen, SnapshotError, collector_paused, freeze, parse_document, restore, take
from ..providers import PROVIDERS as _PROVIDERS  # noqa: F401  (registers each provider's snapshot sections)

__all__ = ["load_state_file", "save_state_file", "write_state_file", "Autosaver", "ChangeCounter", "STATE_FILE_MODE", "DEFAULT_AUTOSAVE"]

STATE_FILE_MODE = 0o600
DEFAULT_AUTOSAVE = 5.0  # seconds between two saves of the world while it changes


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


RECORDS_PER_ENCODING = 2000  # records orjson encodes in one call: between two, other threads run


def _json_pieces(document: dict[str, Any]) -> list[bytes]:
    """orjson's bytes for `document`, in pieces: its long lists of records encoded a slice at a
    time. orjson holds the interpreter while it encodes: in one call, a world of 100k messages
    would hold up the event loop (every request) for a third of a second. The pieces, written
    one after the other, are the bytes of one call (no copy joins them)."""
    def long(value: Any) -> bool:
        return isinstance(value, list) and len(value) > RECORDS_PER_ENCODING

    if not (isinstance(document, dict) and all(type(key) is str for key in document) and any(map(long, document.values()))):
        return [orjson.dumps(document)]
    pieces = [b"{"]
    for index, (key, value) in enumerate(document.items()):
        pieces.append(b"," + orjson.dumps(key) + b":" if index else orjson.dumps(key) + b":")
        if long(value):
            pieces.append(b"[")
            for start in range(0, len(value), RECORDS_PER_ENCODING):
                encoded = orjson.dumps(value[start:start + RECORDS_PER_ENCODING])
                pieces.append(encoded[1:-1] if start == 0 else b"," + encoded[1:-1])
            pieces.append(b"]")
        else:
            pieces.append(orjson.dumps(value))
    pieces.append(b"}")
    return pieces


def write_state_file(document: dict[str, Any], path: str) -> None:
    """Write `document` to `path` atomically, with mode 0600; OSError or ValueError on failure
    (the old file, if any, is then untouched)."""
    try:
        # orjson: about eight times faster than the json module on a large world (and it holds
        # the interpreter for that much less while an autosave writes). The snapshot never holds
        # a number JSON cannot write: `take` refuses them.
        content = _json_pieces(document)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, say: the json module writes any
        try:
            content = [json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")]
        except TypeError as exc:
            raise ValueError(f"cannot write the snapshot as JSON: {exc}") from None
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), STATE_FILE_MODE)
            handle.writelines(content)
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


def _render_and_write(holder: list[Frozen], path: str) -> None:
    """Render and write the world that `holder` holds, and let go of it before the save is seen
    to be done (the executor keeps its arguments a little longer)."""
    write_state_file(holder.pop().render(), path)


class ChangeCounter:
    """An ASGI wrapper that counts the finished requests that may have changed the world: every
    request outside the control API (a provider's GET may send a message too) and every control
    request but a GET or HEAD. A count, not a proof: the `Autosaver` saves when it moved (or an
    event happened), and skips a save when neither did. Counted once the answer is sent, so a
    save taken in the middle of a request is followed by another."""

    def __init__(self, app: Any, control_prefix: str = "/_emulator") -> None:
        self.app = app
        self.control_prefix = control_prefix
        self.count = 0

    def __getattr__(self, name: str) -> Any:  # `.state`, `.routes` ... of the wrapped app
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            path = scope.get("path", "")
            if not path.startswith(self.control_prefix) or scope.get("method") not in ("GET", "HEAD"):
                self.count += 1


class Autosaver:
    """Saves the engine's world to the `--state` file every `interval` seconds, only when it
    changed since the last save (`changes()` gives a mark that moves with every change).

    The world is copied on the event loop, between two requests, so the snapshot is one
    instant's (`core.snapshot.freeze`: the bulk, messages and webhook deliveries, as plain values
    at C speed); it is rendered into the document, turned into JSON and written in a worker
    thread (atomically, like every save: see `write_state_file`), so a large world holds up the
    requests only for the copy. A
    failed save is reported on stderr once per distinct reason and retried at the next tick.
    `stop()` ends the ticks and waits for a write in progress, so the save at shutdown that
    follows it is the last one written.
    """

    def __init__(self, engine: Any, path: str, interval: float, changes: Callable[[], Hashable] = lambda: None) -> None:
        if not interval > 0:
            raise ValueError(f"the autosave interval must be positive, got {interval}")
        self.engine = engine
        self.path = path
        self.interval = interval
        self.changes = changes
        self.saves = 0  # files written (for tests and the log)
        self.skipped = 0  # ticks with nothing new to save
        self._saved_mark: Hashable = self._mark()  # what the loaded state file (or the fixtures) already hold
        self._writing: asyncio.Future | None = None
        self._task: asyncio.Task | None = None
        self._last_problem: str | None = None

    def _mark(self) -> Hashable:
        engine = self.engine
        return (self.changes(), engine.events.last_seq, id(engine.store))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="telco-emulator autosave")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.save_if_changed()

    async def save_if_changed(self) -> bool:
        """Save now if the world changed since the last save; whether a file was written."""
        mark = self._mark()
        if mark == self._saved_mark:
            self.skipped += 1
            return False
        with collector_paused():  # until the copy and the document are gone (see `collector_paused`)
            try:
                frozen = freeze(self.engine)
            except SnapshotError as exc:
                self._report(str(exc))
                return False
            loop = asyncio.get_running_loop()
            self._writing = loop.run_in_executor(None, _render_and_write, [frozen], self.path)
            del frozen  # the writer thread holds the only reference, and drops it when done
            try:
                await asyncio.shield(self._writing)  # a stop() waits for the write itself
            except (OSError, ValueError, SnapshotError) as exc:  # rendering refuses nothing freeze let through, but in case
                self._report(getattr(exc, "strerror", None) or str(exc))
                return False
            finally:
                self._writing = None
        self._saved_mark = mark
        self.saves += 1
        if self._last_problem is not None:
            print(f"telco-emulator: the state is saved to {self.path} again", file=sys.stderr, flush=True)
            self._last_problem = None
        return True

    def _report(self, problem: str) -> None:
        if problem != self._last_problem:
            print(f"telco-emulator: cannot save the state to {self.path}: {problem} (retrying every {self.interval:g} s)", file=sys.stderr, flush=True)
            self._last_problem = problem

    async def stop(self) -> None:
        """End the ticks; wait for a write in progress to reach the file."""
        writing = self._writing
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if writing is not None:
            try:
                await writing
            except (OSError, ValueError, SnapshotError):
                pass


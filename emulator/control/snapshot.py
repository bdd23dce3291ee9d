"""`/_emulator/snapshot`: export the whole world as a snapshot document, or replace it by one.

The format is `specs/snapshot.schema.json` (see `core.snapshot`). A document is checked whole and
built aside, off the event loop, before it is swapped in; a bad one is refused with a 400 naming
the JSON path of the problem, and changes nothing.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..world import sandboxes as _sandboxes  # noqa: F401  (registers the sandboxes' snapshot section)
from ..core.errors import MalformedBody, ValidationError
from ..core import snapshot as snapshots
from ..http.params import check_json_depth
from ..providers import PROVIDERS as _PROVIDERS  # noqa: F401  (registers each provider's snapshot sections)

__all__ = ["ROUTES"]


async def export_snapshot(request: Request) -> Response:
    return JSONResponse(snapshots.take(request.app.state.engine))


async def import_snapshot(request: Request) -> Response:
    body = await request.body()
    try:
        check_json_depth(body)  # as for every JSON body; the snapshot's own checks name the rest
        document = snapshots.parse_document(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"invalid JSON: {exc}") from None
    engine = request.app.state.engine
    try:
        prepared = await run_in_threadpool(snapshots.prepare, engine, document)
    except snapshots.SnapshotError as exc:
        raise ValidationError("snapshot", f"Invalid snapshot: {exc}") from None
    snapshots.install(engine, prepared)  # the prepared world owes nothing to the current one
    return JSONResponse({
        "restored": True,
        "accounts": len(engine.store.accounts),
        "messages": len(engine.store.messages),
    })


ROUTES = [
    Route("/snapshot", export_snapshot, methods=["GET"]),
    Route("/snapshot", import_snapshot, methods=["PUT"]),
]

"""`/_emulator/snapshot`: export the whole state as JSON, or replace it by an exported one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.errors import MalformedBody, ValidationError
from ..core.snapshot import SnapshotError, restore, take
from ..params import strict_json

__all__ = ["ROUTES"]


async def export_snapshot(request: Request) -> Response:
    return JSONResponse(take(request.app.state.engine))


async def import_snapshot(request: Request) -> Response:
    body = await request.body()
    try:
        data = strict_json(body)  # bounded nesting, no lone surrogates, no NaN
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"invalid JSON: {exc}") from None
    engine = request.app.state.engine
    try:
        restore(engine, data)
    except SnapshotError as exc:
        raise ValidationError("snapshot", str(exc)) from None
    return JSONResponse({
        "restored": True,
        "accounts": len(engine.store.accounts),
        "messages": len(engine.store.messages),
    })


ROUTES = [
    Route("/snapshot", export_snapshot, methods=["GET"]),
    Route("/snapshot", import_snapshot, methods=["PUT"]),
]

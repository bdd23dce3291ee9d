"""`/_emulator/faults`: make either provider's API fail or answer late, for the next N requests
or a seeded fraction of them, filtered by path and method."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.errors import InvalidParameter, NotFound
from ..core.faults import FAULT_KINDS, Fault
from ..http.params import read_params
from ..providers import NAMES

__all__ = ["ROUTES"]


def fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "id": fault.id,
        "kind": fault.kind,
        "provider": fault.provider,
        "method": fault.method,
        "path": fault.path_prefix,
        "status": fault.status,
        "delay": fault.delay,
        "retry_after": fault.retry_after,
        "remaining": fault.remaining,
        "fraction": fault.fraction,
        "fired": fault.fired,
    }


def _number(params: dict[str, Any], name: str, low: float, high: float, integer: bool = False):
    if name not in params:
        return None
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise InvalidParameter(name, value, "expected a whole number" if integer else "expected a number")
    if not low <= value <= high:
        raise InvalidParameter(name, value, f"expected {low:g} to {high:g}")
    return value


def _text(params: dict[str, Any], name: str, choices: tuple[str, ...] | None = None) -> str | None:
    if name not in params:
        return None
    value = params[name]
    if not isinstance(value, str) or (choices is not None and value not in choices):
        raise InvalidParameter(name, value, f"expected one of {', '.join(choices)}" if choices else "expected a string")
    return value


async def add_fault(request: Request) -> Response:
    params = await read_params(request)
    kind = _text(params, "kind", FAULT_KINDS) or "status"
    provider = _text(params, "provider", NAMES)
    method = _text(params, "method", ("GET", "POST", "PUT", "PATCH", "DELETE"))
    path = _text(params, "path")
    if path is not None and not path.startswith("/"):
        raise InvalidParameter("path", path, "a path inside the provider's mount, starting with /")
    status = _number(params, "status", 400, 599, integer=True)
    delay = _number(params, "delay", 0, 60)
    retry_after = _number(params, "retry_after", 0, 86400, integer=True)
    count = _number(params, "count", 1, 1_000_000, integer=True)
    fraction = _number(params, "fraction", 0, 1)
    if count is not None and fraction is not None:
        raise InvalidParameter("fraction", fraction, "give either count or fraction, not both")
    if kind == "delay" and not delay:
        raise InvalidParameter("delay", delay, "a delay fault needs delay > 0 seconds")
    status = status or 503
    if status == 429 and retry_after is None:
        retry_after = 1
    fault = Fault(
        id=0, kind=kind, provider=provider, method=method, path_prefix=path, status=status, delay=float(delay or 0),
        retry_after=retry_after, remaining=None if fraction is not None else (count or 1), fraction=fraction,
    )
    request.app.state.engine.faults.add(fault)
    return JSONResponse(fault_json(fault), status_code=201)


async def list_faults(request: Request) -> Response:
    return JSONResponse({"data": [fault_json(f) for f in request.app.state.engine.faults.rules]})


async def clear_faults(request: Request) -> Response:
    request.app.state.engine.faults.clear()
    return JSONResponse({"cleared": True})


async def delete_fault(request: Request) -> Response:
    raw = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not request.app.state.engine.faults.remove(int(raw)):
        raise NotFound("fault", raw)
    return JSONResponse({"deleted": int(raw)})


ROUTES = [
    Route("/faults", list_faults, methods=["GET"]),
    Route("/faults", add_fault, methods=["POST"]),
    Route("/faults", clear_faults, methods=["DELETE"]),
    Route("/faults/{id}", delete_fault, methods=["DELETE"]),
]

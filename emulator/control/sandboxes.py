"""`/_emulator/sandboxes`: isolated sets of accounts (fresh credentials, own balances, numbers and
history) for parallel tests sharing one emulator."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidParameter
from ..http.params import read_params
from ..http.responses import JSONBody
from ..providers import PROVIDERS
from ..world.sandboxes import Sandbox, Sandboxes
from .render import iso, minimal_answer, wants_minimal

__all__ = ["ROUTES", "install", "sandboxes_of"]


def install(engine: Engine) -> None:
    if not hasattr(engine, "sandboxes"):
        engine.sandboxes = Sandboxes(engine)  # type: ignore[attr-defined]


def sandboxes_of(engine: Engine) -> Sandboxes:
    return engine.sandboxes  # type: ignore[attr-defined]


def sandbox_json(sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox with each provider's accounts (`elks`, `seven`) and the first account's login
    (`elks_auth`, `seven_api_key`)."""
    body: dict[str, Any] = {"id": sandbox.id, "name": sandbox.name, "created": iso(sandbox.created)}
    logins: dict[str, Any] = {}
    for provider in PROVIDERS:
        section = provider.fixtures
        accounts = body[provider.name] = [section.sandbox_json(raw) for raw in sandbox.accounts.get(provider.name, [])]
        key, login_of = section.sandbox_login
        logins[key] = login_of(accounts[0]) if accounts else None
    return body | logins


async def create_sandbox(request: Request) -> Response:
    params = await read_params(request)
    name = params.get("name")
    if "name" in params and (not isinstance(name, str) or len(name) > 200):
        raise InvalidParameter("name", name, "expected a string of at most 200 characters")
    sandbox = sandboxes_of(request.app.state.engine).create(name)
    return JSONResponse(sandbox_json(sandbox), status_code=201)


async def list_sandboxes(request: Request) -> Response:
    sandboxes = sandboxes_of(request.app.state.engine)
    return JSONResponse({"data": [sandbox_json(s) for s in sandboxes.by_id.values()]})


async def get_sandbox(request: Request) -> Response:
    return JSONResponse(sandbox_json(sandboxes_of(request.app.state.engine).get(request.path_params["id"])))


async def reset_sandbox(request: Request) -> Response:
    sandbox = sandboxes_of(request.app.state.engine).reset(request.path_params["id"])
    return minimal_answer() if wants_minimal(request) else JSONBody(sandbox_json(sandbox))


async def delete_sandbox(request: Request) -> Response:
    sandboxes_of(request.app.state.engine).delete(request.path_params["id"])
    return JSONResponse({"deleted": request.path_params["id"]})


ROUTES = [
    Route("/sandboxes", list_sandboxes, methods=["GET"]),
    Route("/sandboxes", create_sandbox, methods=["POST"]),
    Route("/sandboxes/{id}", get_sandbox, methods=["GET"]),
    Route("/sandboxes/{id}", delete_sandbox, methods=["DELETE"]),
    Route("/sandboxes/{id}/reset", reset_sandbox, methods=["POST"]),
]

"""The provider dispatcher (`emulator/http/mounts.py`) and the front door that reaches it
(`emulator/app.py`, `emulator/http/front_door.py`): matching, path parameters, 404/405 through the provider's renderer, the
trailing slash, crashes, and that no route of the real apps is shadowed by another."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from emulator.app import create_app
from emulator.core import errors
from emulator.http.mounts import ProviderApp, route_path
from emulator.settings import Settings


async def _list(request: Request) -> Response:
    return JSONResponse({"op": "list", "params": request.path_params})


async def _create(request: Request) -> Response:
    return JSONResponse({"op": "create", "body": (await request.body()).decode()})


async def _one(request: Request) -> Response:
    return JSONResponse({"op": "one", "params": request.path_params})


async def _image(request: Request) -> Response:
    return JSONResponse({"op": "image", "params": request.path_params})


async def _refuse(request: Request) -> Response:
    raise errors.NotFound("Thing", request.path_params["id"])


async def _crash(request: Request) -> Response:
    raise RuntimeError("boom")


def _render(request: Request, exc: errors.EmulatorError) -> Response:
    headers = {"Allow": ", ".join(exc.allowed)} if isinstance(exc, errors.MethodNotAllowed) else None
    status = 405 if isinstance(exc, errors.MethodNotAllowed) else 404
    return PlainTextResponse(f"{type(exc).__name__}: {exc.message}", status_code=status, headers=headers)


ROUTES = [
    Route("/things", _list, methods=["GET"]),
    Route("/things", _create, methods=["POST"]),
    Route("/things/{id}.jpg", _image, methods=["GET"]),
    Route("/things/{id}", _one, methods=["GET"]),
    Route("/things/{id}", _refuse, methods=["DELETE"]),
    Route("/crash", _crash, methods=["POST"]),
]


@pytest.fixture
async def client():
    app = ProviderApp(ROUTES, _render, lambda request: PlainTextResponse("crashed", status_code=500))

    async def mounted(scope, receive, send):  # what the front door does for a mount at /p
        await app(dict(scope, root_path="/p"), receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mounted), base_url="http://test") as http:
        yield http


async def test_exact_paths_dispatch_by_method(client):
    assert (await client.get("/p/things")).json() == {"op": "list", "params": {}}
    created = await client.post("/p/things", content=b"a=1")
    assert created.json() == {"op": "create", "body": "a=1"}


async def test_parameters_are_matched_in_declaration_order(client):
    assert (await client.get("/p/things/7.jpg")).json() == {"op": "image", "params": {"id": "7"}}
    assert (await client.get("/p/things/7")).json() == {"op": "one", "params": {"id": "7"}}


async def test_provider_errors_are_rendered(client):
    response = await client.delete("/p/things/9")
    assert response.status_code == 404 and response.text == "NotFound: Thing '9' not found"


async def test_unknown_path_is_route_not_found(client):
    response = await client.get("/p/nothing/here")
    assert response.status_code == 404 and response.text.startswith("RouteNotFound")
    assert "/p/nothing/here" in response.text


async def test_wrong_method_names_every_allowed_method(client):
    response = await client.put("/p/things/9")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    response = await client.delete("/p/things")
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_a_trailing_slash_is_the_same_path(client):
    assert (await client.get("/p/things/")).json()["op"] == "list"
    assert (await client.get("/p/things/5/")).json() == {"op": "one", "params": {"id": "5"}}


async def test_a_crash_becomes_the_crash_answer(client):
    response = await client.post("/p/crash")
    assert response.status_code == 500 and response.text == "crashed"


def test_route_path_strips_the_mount():
    assert route_path({"path": "/a1/sms", "root_path": "/a1"}) == "/sms"
    assert route_path({"path": "/a1", "root_path": "/a1"}) == "/"
    assert route_path({"path": "/sms"}) == "/sms"


def test_no_route_of_the_real_apps_is_shadowed():
    """A path without parameters wins over any pattern; so no pattern declared before it may also
    match it for the same method (Starlette's first-match order would then have picked the
    pattern)."""
    app = create_app(Settings(clock="virtual"))
    for mount in app.routes:
        provider = getattr(mount, "app", None)
        if not isinstance(provider, ProviderApp):
            provider = getattr(provider, "app", None)  # the 46elks path folding wraps it
        if not isinstance(provider, ProviderApp):
            continue
        for index, route in enumerate(provider.routes):
            if route.param_convertors:
                continue
            for earlier in provider.routes[:index]:
                if earlier.param_convertors and earlier.path_regex.match(route.path):
                    assert not (earlier.methods & route.methods), f"{earlier.path} shadows {route.path}"


async def test_front_door_serves_the_providers_directly():
    app = create_app(Settings(clock="virtual"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as http:
        elks = await http.get("/a1/me")
        seven = await http.get("/api/balance")
        control = await http.get("/_emulator/nothing")
    assert elks.status_code == 401 and elks.headers["www-authenticate"].startswith("Basic")
    assert seven.status_code == 401 and seven.text == "900"  # seven.io's bare return code
    assert control.status_code == 404 and control.json()["error"]["type"] == "RouteNotFound"

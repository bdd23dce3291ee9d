"""The web inbox's routes: `GET /_emulator/ui` (the page) and `GET /_emulator/ui/static/{name}`
(its stylesheet, script and icon, from `emulator/ui/static/`).

The page talks only to the control API, with URLs relative to itself, and forbids every other
origin by its Content-Security-Policy: it works offline and behind a path prefix.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import NotFound
from ..ui.assets import Asset, asset

__all__ = ["ROUTES", "CONTENT_SECURITY_POLICY"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; connect-src 'self'; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)


def _serve(request: Request, found: Asset) -> Response:
    headers = {"ETag": found.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if found.media_type.startswith("text/html"):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["Referrer-Policy"] = "no-referrer"
    if found.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


async def page(request: Request) -> Response:
    found = asset("index.html")
    if found is None:  # a broken installation without the package data
        raise NotFound("inbox page", "index.html")
    return _serve(request, found)


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    found = asset(name)
    if found is None or name == "index.html":
        raise NotFound("inbox file", name)
    return _serve(request, found)


ROUTES = [
    Route("/ui", page, methods=["GET"]),
    Route("/ui/static/{name}", static_file, methods=["GET"]),
]

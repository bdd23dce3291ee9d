"""`POST /_emulator/seven/tracking`: a click on (or a view of) a tracking link of a seven.io SMS
sent with `performance_tracking=1`, as if the recipient had opened it: the link's counts go up
and the account's `tracking` hooks fire. Body: `{"url": "<the short link, or its code>",
"type": "click" | "view"}` (default click); answers the hook data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidParameter, MissingParameter
from ..http.params import read_params
from ..seven.short_links import find_link, record_hit

__all__ = ["open_tracking_link", "ROUTES"]


async def open_tracking_link(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    params = await read_params(request)
    url = params.get("url")
    if url is None or url == "":
        raise MissingParameter("url")
    if not isinstance(url, str):
        raise InvalidParameter("url", url, "expected a tracking link")
    kind = params.get("type") or "click"
    if kind not in ("click", "view"):
        raise InvalidParameter("type", kind, "expected click or view")
    message, code = find_link(engine, url)
    return JSONResponse(record_hit(engine, message, code, kind))


ROUTES = [Route("/seven/tracking", open_tracking_link, methods=["POST"])]

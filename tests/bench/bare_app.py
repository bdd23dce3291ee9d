"""The ceiling for bench_send_sms.py: a bare Starlette app that parses a send request the way the
emulator does (a form body with the standard library's `parse_qsl` for 46elks, a JSON or form
body for seven.io) and answers a small JSON, with no other work. Served by
`python -m uvicorn --app-dir tests/bench bare_app:app`."""

from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


async def elks_sms(request: Request) -> JSONResponse:
    form = _form(await request.body())
    return JSONResponse({"status": "created", "to": form.get("to")})


async def seven_sms(request: Request) -> JSONResponse:
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await request.json()
    else:
        data = _form(await request.body())
    return JSONResponse({"success": "100", "to": data.get("to")})


app = Starlette(routes=[
    Route("/a1/SMS", elks_sms, methods=["POST"]),
    Route("/api/sms", seven_sms, methods=["POST"]),
])

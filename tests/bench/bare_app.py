"""The baselines of bench_send_sms.py: bare Starlette apps that parse a send request and answer a
small JSON, with no other work. Served by `python -m uvicorn --app-dir tests/bench bare_app:app`
(or `bare_app:lean_app`).

- `app` is the bare Starlette form endpoint that issue 17's targets are measured against: a form
  body read the way a Starlette app reads one (`await request.form()`), a JSON body with
  `await request.json()`.
- `lean_app` reads a form body with the standard library's `parse_qsl`, as the emulator does: a
  stricter reference, printed beside the other without a target.
"""

from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


async def elks_sms(request: Request) -> JSONResponse:
    form = await request.form()
    return JSONResponse({"status": "created", "to": form.get("to")})


async def seven_sms(request: Request) -> JSONResponse:
    data = await request.json() if _is_json(request) else await request.form()
    return JSONResponse({"success": "100", "to": data.get("to")})


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


async def lean_elks_sms(request: Request) -> JSONResponse:
    form = _form(await request.body())
    return JSONResponse({"status": "created", "to": form.get("to")})


async def lean_seven_sms(request: Request) -> JSONResponse:
    data = await request.json() if _is_json(request) else _form(await request.body())
    return JSONResponse({"success": "100", "to": data.get("to")})


app = Starlette(routes=[
    Route("/a1/SMS", elks_sms, methods=["POST"]),
    Route("/api/sms", seven_sms, methods=["POST"]),
])

lean_app = Starlette(routes=[
    Route("/a1/SMS", lean_elks_sms, methods=["POST"]),
    Route("/api/sms", lean_seven_sms, methods=["POST"]),
])

"""`POST /_emulator/webhooks/{id}/redeliver`: send a recorded webhook delivery again.

The copy is a new delivery queued through the engine's outbox, with the original's URL, method,
headers and body, so it is attempted (and signed, and retried) by the provider's own policy and
recorded like any other. Nothing that followed the original runs again: a call-control answer
to a redelivered `voice_start` is recorded but does not drive the call. An event
`webhook.redelivered` links the copy (`id`) to the original (`original`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import NotFound
from .render import delivery_json

__all__ = ["redeliver", "ROUTES"]


async def redeliver(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    original = engine.store.deliveries.get(request.path_params["id"])
    if original is None:
        raise NotFound("webhook delivery", request.path_params["id"])
    copy = engine.outbox.enqueue(
        provider=original.provider,
        account_id=original.account_id,
        event=original.event,
        url=original.url,
        method=original.method,
        headers=original.headers,
        body=original.body,
        subject_id=original.subject_id,
    )
    engine.events.emit(
        "webhook.redelivered", copy.provider, copy.account_id,
        id=copy.id, original=original.id, event=copy.event, url=copy.url, subject=copy.subject_id,
    )
    return JSONResponse({**delivery_json(copy), "redelivery_of": original.id}, status_code=201)


ROUTES = [Route("/webhooks/{id}/redeliver", redeliver, methods=["POST"])]

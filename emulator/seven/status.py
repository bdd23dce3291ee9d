"""seven.io delivery status: `GET /api/status?msg_id=...` (also POSTed by older clients)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import InvalidParameter, NotFound
from ..core.models import Message
from .context import begin
from .render import STATUS_NAMES, json_response, moment, text_response
from .validate import required

__all__ = ["get_status", "ROUTES"]


async def get_status(request: Request) -> Response:
    call = await begin(request)
    ids = [part.strip() for part in required(call.params, "msg_id").split(",") if part.strip()]
    if not ids or len(ids) > 100:
        raise InvalidParameter("msg_id", ids, "between 1 and 100 message ids")
    found: list[Message] = []
    for message_id in ids:
        message = call.engine.store.messages.get(message_id)
        if message is None or message.account_id != call.account.id or message.provider != "seven":
            raise NotFound("message", message_id)
        found.append(message)
    if call.as_json:
        return json_response([
            {"id": m.id, "status": STATUS_NAMES[m.status], "status_time": moment(m.status_at)} for m in found
        ])
    return text_response("\n".join(f"{STATUS_NAMES[m.status]}\n{moment(m.status_at)}" for m in found))


ROUTES = [Route("/status", get_status, methods=["GET", "POST"])]

"""seven.io delivery status: `GET /api/status?msg_id=...` (also POSTed by older clients).

While no delivery report has arrived (the message is accepted, or scheduled), `status` and
`status_time` are `null` (two empty lines in plain text). seven.io answers for 30 days after the
send (`RETENTION_DAYS`); after that, and for an id the account never sent, the answer is `901`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.clock import MICROS
from ..core.errors import InvalidParameter, NotFound
from ..core.models import Message
from .context import begin
from .render import STATUS_NAMES, json_response, moment, text_response
from .validate import required

__all__ = ["get_status", "RETENTION_DAYS", "ROUTES"]

RETENTION_DAYS = 30
_UNREPORTED = ("scheduled", "created")  # no delivery report has arrived yet


def _report(message: Message) -> tuple[str | None, str | None]:
    if message.status in _UNREPORTED:
        return None, None
    return STATUS_NAMES[message.status], moment(message.status_at)


async def get_status(request: Request) -> Response:
    ctx = await begin(request)
    ids = [part.strip() for part in required(ctx.params, "msg_id").split(",") if part.strip()]
    if not ids or len(ids) > 100:
        raise InvalidParameter("msg_id", ids, "between 1 and 100 message ids")
    found: list[Message] = []
    oldest = ctx.engine.clock.now() - RETENTION_DAYS * 86_400 * MICROS
    for message_id in ids:
        message = ctx.engine.store.messages.get(message_id)
        if message is None or message.account_id != ctx.account.id or message.provider != "seven" or message.created < oldest:
            raise NotFound("message", message_id)
        found.append(message)
    reports = [(m.id, *_report(m)) for m in found]
    if ctx.as_json:
        return json_response([{"id": id_, "status": status, "status_time": time} for id_, status, time in reports])
    return text_response("\n".join(f"{status or ''}\n{time or ''}" for _, status, time in reports))


ROUTES = [Route("/status", get_status, methods=["GET", "POST"])]

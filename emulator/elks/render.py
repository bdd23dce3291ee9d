"""46elks wire format: JSON bodies, `YYYY-MM-DDTHH:MM:SS.ffffff` UTC times, plain-text errors.

`error_response` is the one place a core error becomes a 46elks answer.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from starlette.responses import Response

from ..core import errors
from ..core.clock import micros_of, utc_text
from ..core.models import INBOUND, Message
from ..http.responses import JSONBody

__all__ = ["timestamp", "error_response", "fault_answer", "sms_json", "json_response", "list_json", "STATUS_NAMES", "NOT_FOUND_TEXTS"]

# Neutral statuses in 46elks words.
STATUS_NAMES = {
    "created": "created",
    "sent": "sent",
    "buffered": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "expired": "failed",
    "rejected": "failed",
}


# 46elks' own texts for unknown ids, where they are known; other resources say "<X> not found.".
NOT_FOUND_TEXTS = {
    "Number": "Invalid number id",
    "Subaccount": "Unable to get subaccount.",
    "Image file": "Unable to download image.",
}


def timestamp(micros: int) -> str:
    return utc_text(micros, "%Y-%m-%dT%H:%M:%S")


def parse_timestamp(text: str) -> int | None:
    """46elks accepts its own timestamp shapes in `start`/`end`; returns microseconds or None."""
    value = text.strip().rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return micros_of(moment)
    return None


def list_json(items: list[Any], has_more: bool, render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """A 46elks list: `data`, and `next` (the `created` of the last item, to pass as `start`)
    only while older items remain."""
    body: dict[str, Any] = {"data": [render(item) for item in items]}
    if has_more:
        body["next"] = timestamp(items[-1].created)
    return body


def json_response(data: Any) -> JSONBody:
    return JSONBody(data)


def text_error(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8", headers=headers)


def error_response(exc: errors.EmulatorError) -> Response:
    if isinstance(exc, errors.AuthenticationFailed):
        return text_error(401, "Authorization failed: wrong API username or password.",
                          {"WWW-Authenticate": 'Basic realm="46elks API"'})
    if isinstance(exc, errors.InsufficientBalance):
        return text_error(403, "Not enough credits to complete this request.")
    if isinstance(exc, errors.BodyTooLarge):
        return text_error(413, exc.message, {"Connection": "close"})
    if isinstance(exc, errors.MissingParameter):
        return text_error(403, f"Missing key {exc.field}")
    if isinstance(exc, errors.TextTooLong):
        return text_error(403, f"Too long {exc.field} ({exc.length} characters, at most {exc.limit}).")
    if isinstance(exc, errors.InvalidNumber) and exc.field in ("to", "from"):
        return text_error(403, f"Invalid {exc.field} number")
    if isinstance(exc, errors.InvalidSender):
        return text_error(403, "Invalid from number")
    if isinstance(exc, errors.InvalidWebhookTarget):
        return text_error(403, f"The {exc.field} you tried to use is not a valid URL")
    if isinstance(exc, errors.ValidationError):
        return text_error(403, exc.message)
    if isinstance(exc, errors.NotFound):
        return text_error(404, NOT_FOUND_TEXTS.get(exc.resource, f"{exc.resource} not found."))
    if isinstance(exc, errors.RouteNotFound):
        return text_error(404, f"The resource {exc.path} does not exist.")
    if isinstance(exc, errors.MethodNotAllowed):
        return text_error(403, f"{exc.method} is not supported on {exc.path}.")
    if isinstance(exc, errors.PermissionDenied):
        return text_error(403, exc.message)
    if isinstance(exc, errors.Conflict):
        return text_error(409, exc.message)
    if isinstance(exc, errors.LoopDetected):
        return text_error(508, exc.message)
    return text_error(400, exc.message)


_FAULT_TEXTS = {
    429: "Too many requests. Please slow down.", 500: "Internal server error.", 502: "Bad gateway.",
    503: "Service temporarily unavailable.", 504: "Gateway timeout.",
}


def fault_answer(status: int) -> tuple[bytes, str]:
    """(body, content type) of an injected fault (`emulator/http/fault_injector.py`)."""
    return _FAULT_TEXTS.get(status, "Request failed.").encode(), "text/plain; charset=utf-8"


def sms_json(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "direction": "incoming" if message.direction == INBOUND else message.attributes.get("elks_direction", "outgoing"),
        "from": message.sender,
        "to": message.recipient,
        "created": timestamp(message.created),
    }
    if not message.attributes.get("dontlog"):
        data["message"] = message.text
    if message.direction != INBOUND:
        data["status"] = STATUS_NAMES.get(message.status, message.status)
        data["cost"] = message.cost
        data["parts"] = message.parts
    if message.delivered_at is not None:  # history shows it whole seconds with a Z: 2017-03-14T09:52:10Z
        data["delivered"] = timestamp(message.delivered_at)[:19] + "Z"
    if message.attributes.get("flashsms"):
        data["flashsms"] = "yes"
    return data

"""Control API wire format: JSON everywhere, errors as `{"error": {"type", "message"}}`, times as
ISO 8601 UTC with a `Z`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..core import errors
from ..core.clock import utc_text
from ..core.models import Attempt, Delivery, Message

__all__ = ["iso", "error_response", "message_json", "delivery_json", "wants_minimal", "minimal_answer"]

def wants_minimal(request: Request) -> bool:
    """Whether the client asked for no body (`Prefer: return=minimal`, RFC 7240): the pytest
    plugin's resets, which need only the status."""
    prefer = request.headers.get("prefer")
    return prefer is not None and "return=minimal" in prefer.replace(" ", "").lower()


_PREFERENCE_APPLIED = (b"preference-applied", b"return=minimal")


class _Minimal(Response):
    """A success without a body, saying the preference was applied (its headers made once)."""

    status_code = 204
    background = None
    body = b""

    def __init__(self) -> None:
        self.raw_headers = [_PREFERENCE_APPLIED]


def minimal_answer() -> Response:
    """A success without a body, saying the preference was applied."""
    return _Minimal()


def iso(micros: int | None) -> str | None:
    if micros is None:
        return None
    return utc_text(micros, "%Y-%m-%dT%H:%M:%S") + "Z"


def error_response(exc: errors.EmulatorError) -> JSONResponse:
    status = 400
    if isinstance(exc, (errors.NotFound, errors.RouteNotFound)):
        status = 404
    elif isinstance(exc, errors.MethodNotAllowed):
        status = 405
    elif isinstance(exc, errors.Conflict):
        status = 409
    elif isinstance(exc, errors.PermissionDenied):
        status = 403
    elif isinstance(exc, errors.LoopDetected):
        status = 508
    elif isinstance(exc, errors.BodyTooLarge):
        status = 413
    headers = {"Allow": ", ".join(exc.allowed)} if isinstance(exc, errors.MethodNotAllowed) and exc.allowed else None
    if isinstance(exc, errors.BodyTooLarge):  # the rest of the body is not read: close after answering
        headers = {"Connection": "close"}
    return JSONResponse({"error": {"type": type(exc).__name__, "message": exc.message}}, status_code=status, headers=headers)


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "provider": message.provider,
        "account_id": message.account_id,
        "direction": message.direction,
        "from": message.sender,
        "to": message.recipient,
        "text": message.text,
        "encoding": message.encoding,
        "parts": message.parts,
        "cost": message.cost,
        "status": message.status,
        "created": iso(message.created),
        "delivered": iso(message.delivered_at),
        "history": [{"status": change.status, "at": iso(change.at)} for change in message.history],
        "callback_url": message.callback_url,
        "attributes": message.shown_attributes,
    }


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "at": iso(attempt.at),
        "url": attempt.url,
        "method": attempt.method,
        "request_headers": attempt.request_headers,
        "request_body": attempt.request_body,
        "status": attempt.status,
        "response_body": attempt.response_body,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "provider": delivery.provider,
        "account_id": delivery.account_id,
        "event": delivery.event,
        "url": delivery.url,
        "method": delivery.method,
        "headers": delivery.headers,
        "body": delivery.body.decode("utf-8", "replace"),
        "subject_id": delivery.subject_id,
        "state": delivery.state,
        "created": iso(delivery.created),
        "next_attempt_at": iso(delivery.next_attempt_at),
        "attempts": [_attempt_json(a) for a in delivery.attempts],
    }

"""seven.io wire format: return codes, JSON or plain text chosen per request, euro amounts as
decimals, `YYYY-MM-DD HH:MM:SS.fff` times.

`error_response` is the one place a core error becomes a seven.io answer. Request-level failures
of the classic endpoints (`/sms`, `/status`, `/balance`, ...) answer seven's bare return code
(`900`, `301`, ...) as the body; the REST endpoints (`/hooks`, ...) answer a JSON failure object.
Where seven.io itself sends these with HTTP 200, the emulator sends a 4xx with the same body.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.responses import Response

from ..core import errors
from ..core.clock import utc_text
from ..responses import JSONBody
from .request_signing import SignatureRejected

__all__ = [
    "CODE_STYLE",
    "REST_STYLE",
    "euros",
    "euro_text",
    "moment",
    "return_code",
    "error_response",
    "json_response",
    "text_response",
    "STATUS_NAMES",
]

CODE_STYLE = "code"
REST_STYLE = "rest"

STATUS_NAMES = {
    "scheduled": "ACCEPTED",
    "created": "ACCEPTED",
    "sent": "TRANSMITTED",
    "buffered": "BUFFERED",
    "delivered": "DELIVERED",
    "failed": "NOTDELIVERED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
}

_SMS_FIELD_CODES = {"to": 301, "text": 305}
_INVALID_FIELD_CODES = {"type": 400}


def euros(units: int) -> float:
    # Both operands are exact doubles and IEEE division rounds correctly: the same value as
    # float(Decimal(units) / 10000), at a fraction of the cost.
    return units / 10_000


def euro_text(units: int) -> str:
    """A balance as plain text: always with a decimal point, so it never reads as a return code."""
    text = f"{Decimal(units) / Decimal(10_000):.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def moment(micros: int, fraction: int = 3) -> str:
    return utc_text(micros, "%Y-%m-%d %H:%M:%S", fraction)


def json_response(data: Any, status: int = 200) -> JSONBody:
    return JSONBody(data, status)


def text_response(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")


def return_code(exc: errors.EmulatorError) -> tuple[int, int]:
    """(seven return code, HTTP status) for an error."""
    if isinstance(exc, SignatureRejected):
        return 901, 401
    if isinstance(exc, errors.AuthenticationFailed):
        return 900, 401
    if isinstance(exc, errors.PermissionDenied):
        return 902, 403
    if isinstance(exc, errors.InsufficientBalance):
        return 500, 402
    if isinstance(exc, errors.RepeatedMessage):
        return 402, 409
    if isinstance(exc, errors.MissingParameter) and exc.field in _SMS_FIELD_CODES:
        return _SMS_FIELD_CODES[exc.field], 400
    if isinstance(exc, errors.InvalidParameter) and exc.field in _INVALID_FIELD_CODES:
        return _INVALID_FIELD_CODES[exc.field], 400
    if isinstance(exc, errors.InvalidSender):
        return 201, 400
    if isinstance(exc, errors.InvalidNumber):
        return 202, 400
    if isinstance(exc, errors.TextTooLong):
        return 401, 400
    if isinstance(exc, errors.NotFound):
        return 901, 404
    if isinstance(exc, (errors.RouteNotFound,)):
        return 700, 404
    if isinstance(exc, errors.MethodNotAllowed):
        return 700, 405
    if isinstance(exc, errors.LoopDetected):
        return 700, 508
    if isinstance(exc, errors.BodyTooLarge):
        return 700, 413
    return 700, 400


def error_response(exc: errors.EmulatorError, *, style: str, as_json: bool) -> Response:
    code, status = return_code(exc)
    if style == REST_STYLE and not isinstance(exc, errors.AuthenticationFailed):
        response: Response = json_response({"success": False, "code": str(code), "error_message": exc.message}, status)
    elif as_json:
        response = json_response(code, status)
    else:
        response = text_response(str(code), status)
    if isinstance(exc, errors.MethodNotAllowed) and exc.allowed:
        response.headers["Allow"] = ", ".join(exc.allowed)
    if isinstance(exc, errors.BodyTooLarge):  # the rest of the body is not read: close after answering
        response.headers["Connection"] = "close"
    return response

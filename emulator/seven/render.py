"""seven.io wire format: return codes, JSON or plain text chosen per request, euro amounts as
decimals, `YYYY-MM-DD HH:MM:SS.fff` times.

`error_response` is the one place a core error becomes a seven.io answer. Failures are answered
by endpoint family: the classic endpoints (`/sms`, `/status`, `/balance`, `/voice`) answer seven's
bare return code (`900`, `301`, ...) as the body (`CODE_STYLE`); the REST endpoints (`/hooks`, ...)
answer a JSON failure object (`REST_STYLE`). A few operations answer their own refusals in a shape
of their own, which their routes declare with `answering`: `{"success": false, "error": text}`
(`RESULT_STYLE`: `/subaccounts/*`, `POST /numbers/order`, ...) or seven's three text lines with
no call id (`LINES_STYLE`: `POST /voice`), or the legacy contacts API's `151` (`LEGACY_STYLE`:
`/contacts?action=...`, which shares its routes with the REST contacts and so is chosen per
request with `answer_in`). A declared shape applies once the operation has begun
(`context.begin`); credentials, scopes and unreadable bodies are answered by family.
Where seven.io itself sends these with HTTP 200, the emulator sends a 4xx with the same body.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ..core import errors
from ..core.clock import utc_text
from ..http.responses import JSONBody
from .request_signing import SignatureRejected

__all__ = [
    "CODE_STYLE",
    "REST_STYLE",
    "RESULT_STYLE",
    "LINES_STYLE",
    "LEGACY_STYLE",
    "answering",
    "answer_in",
    "declared_style",
    "refusal_style",
    "euros",
    "euro_text",
    "moment",
    "return_code",
    "error_response",
    "crash_response",
    "fault_answer",
    "json_response",
    "text_response",
    "STATUS_NAMES",
]

CODE_STYLE = "code"
REST_STYLE = "rest"
RESULT_STYLE = "result"
LINES_STYLE = "lines"
LEGACY_STYLE = "legacy"
LEGACY_FAILURE = "151"  # the legacy contacts API's one error code

# The refusals a RESULT_STYLE operation answers in its own shape; others go by family.
_RESULT_REFUSALS = (errors.ValidationError, errors.InsufficientBalance, errors.NotFound, errors.Conflict)
_DECLARED: dict[Any, str] = {}  # endpoint -> the style its operation answers refusals in

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
    if isinstance(exc, errors.Conflict):
        return 700, 409
    return 700, 400


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "code": code, "error_message": message}


def crash_response() -> Response:
    return json_response(_failure("700", "Internal error in the emulator."), 500)


def fault_answer(status: int) -> tuple[bytes, str]:
    """(body, content type) of an injected fault (`emulator/http/fault_injector.py`)."""
    message = "Too many requests" if status == 429 else "Service unavailable"
    return json.dumps(_failure(str(status), message)).encode(), "application/json"


def answering(style: str, routes: list[Route]) -> list[Route]:
    """Declare that these routes' operations answer their refusals in `style`."""
    for route in routes:
        _DECLARED[route.endpoint] = style
    return routes


def declared_style(endpoint: Any) -> str | None:
    return _DECLARED.get(endpoint)


def refusal_style(scope: dict[str, Any]) -> str | None:
    """The style the request's operation answers its refusals in, once it has begun."""
    if not scope.get("seven.begun"):
        return None
    return scope.get("seven.answers") or declared_style(scope.get("endpoint"))


def answer_in(scope: dict[str, Any], style: str) -> None:
    """Declare for this one request the style its refusals are answered in."""
    scope["seven.answers"] = style


def error_response(exc: errors.EmulatorError, *, style: str, as_json: bool, answers: str | None = None) -> Response:
    """`style`: the endpoint family's; `answers`: the style the operation declared, if it has begun."""
    code, status = return_code(exc)
    if answers == RESULT_STYLE and isinstance(exc, _RESULT_REFUSALS):
        return json_response({"success": False, "error": exc.message}, status)
    if answers == LEGACY_STYLE and isinstance(exc, _RESULT_REFUSALS):
        return json_response({"return": LEGACY_FAILURE}, status) if as_json else text_response(LEGACY_FAILURE, status)
    if answers == LINES_STYLE and not as_json and not isinstance(exc, errors.AuthenticationFailed):
        return text_response(f"{code}\n\n0", status)  # seven's three lines, with no call id
    if style == REST_STYLE and not isinstance(exc, errors.AuthenticationFailed):
        response: Response = json_response(_failure(str(code), exc.message), status)
    elif as_json:
        response = json_response(code, status)
    else:
        response = text_response(str(code), status)
    if isinstance(exc, errors.MethodNotAllowed) and exc.allowed:
        response.headers["Allow"] = ", ".join(exc.allowed)
    if isinstance(exc, errors.BodyTooLarge):  # the rest of the body is not read: close after answering
        response.headers["Connection"] = "close"
    return response

"""Why a request was refused, in plain words, without changing the provider's own answer.

Every refusal (either provider's mount, the control API, the fault injector, the exposure guard)
carries `X-Telco-Emulator-Reason: <sentence>`; the same sentence goes into the request journal
and onto the log at `info`. The sentence is the core error's own (`reason_of`), made
header-safe (`header_value`: latin-1, no control characters, at most `MAX_REASON` characters).

Most refusals are errors raised to the mount's error boundary (`mounts.ProviderApp`), which adds
the header there. A handler that builds a refusal body itself (seven.io's `{"success": false}`
answers) marks the response with `refused(response, reason)`, and the boundary does the rest.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from starlette.responses import Response
from starlette.types import Scope

from ..core import errors

__all__ = ["REASON_HEADER", "MAX_REASON", "reason_of", "header_value", "refused", "marked_reason", "with_reason", "log_refusal"]

REASON_HEADER = "X-Telco-Emulator-Reason"
MAX_REASON = 300
_REASON_ATTRIBUTE = "telco_emulator_reason"

# Logged with uvicorn's own handler, so it shows like its other lines; a logger of its own, so
# that it stays at `info` when uvicorn's start-up chatter is quieted (`server.uvicorn_config`).
REFUSALS_LOGGER = "uvicorn.error.refusals"
log = logging.getLogger(REFUSALS_LOGGER)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def reason_of(exc: errors.EmulatorError) -> str:
    """The plain sentence for a refusal: the error's message, with what a newcomer needs to act
    on it where the message alone is terse."""
    if isinstance(exc, errors.TextTooLong):
        return f"{exc.field}: {exc.reason}"
    if isinstance(exc, errors.InvalidParameter):
        value = exc.value
        if value is None or value == "":
            return f"{exc.field}: {exc.reason}"
        return f"{exc.field}: {_shown(value)} is refused: {exc.reason}"
    if isinstance(exc, errors.MissingParameter):
        return f"{exc.field}: missing; this request needs it"
    if isinstance(exc, errors.InsufficientBalance):
        return (f"not enough credits: this costs {exc.required / 10_000:g} and the account has "
                f"{exc.available / 10_000:g} left (set a larger balance in the fixtures, or reset)")
    if isinstance(exc, errors.MethodNotAllowed) and exc.allowed:
        return f"{exc.message}; it takes {', '.join(exc.allowed)}"
    if isinstance(exc, errors.NotFound):
        return f"{exc.resource} {exc.identifier!r} not found (or not visible to these credentials)"
    return exc.message


def header_value(text: str) -> str:
    """`text` as a header value: latin-1 only (others become `?`), control characters as spaces,
    at most MAX_REASON characters."""
    cleaned = "".join(ch if " " <= ch <= "~" or "\xa0" <= ch <= "\xff" else (" " if ch < " " or ch == "\x7f" else "?") for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= MAX_REASON else cleaned[:MAX_REASON - 3] + "..."


def refused(response: Response, reason: str) -> Response:
    """Mark a refusal a handler built itself; the mount's boundary adds the header."""
    setattr(response, _REASON_ATTRIBUTE, reason)
    return response


def marked_reason(response: Response) -> str | None:
    return getattr(response, _REASON_ATTRIBUTE, None)


def with_reason(response: Response, reason: str) -> Response:
    """The response with the reason header set (and marked, for the journal)."""
    value = header_value(reason)
    response.headers[REASON_HEADER] = value
    setattr(response, _REASON_ATTRIBUTE, value)
    return response


ECHO = "emulator.echo"  # scope key: another process's request, applied here from a shared world's log


def log_refusal(scope: Scope | Mapping[str, Any], status: int, reason: str) -> None:
    """One line at `info` for a refusal, in the shape of uvicorn's access line plus the reason."""
    if not log.isEnabledFor(logging.INFO) or scope.get(ECHO):
        return
    client = scope.get("client")
    where = f"{client[0]}:{client[1]}" if client else "-"
    # the path only: a query string may hold a key (seven.io's `p`)
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else scope.get("path", "")  # as the client wrote it
    log.info('%s - "%s %s HTTP/%s" %d refused: %s', where, scope.get("method"), path,
             scope.get("http_version", "1.1"), status, header_value(reason))

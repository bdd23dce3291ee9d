"""The one exception tree of the emulator.

Handlers and the core raise these; each provider renders them in its own wire format (46elks:
plain-text bodies, seven.io: return codes or JSON failure objects, control API: JSON). A request
that raises one of these has changed nothing.
"""

from __future__ import annotations

__all__ = [
    "EmulatorError",
    "AuthenticationFailed",
    "PermissionDenied",
    "Conflict",
    "NotFound",
    "RouteNotFound",
    "MethodNotAllowed",
    "ValidationError",
    "MissingParameter",
    "InvalidParameter",
    "InvalidNumber",
    "InvalidSender",
    "TextTooLong",
    "MalformedBody",
    "BodyTooLarge",
    "InsufficientBalance",
    "RepeatedMessage",
    "FixtureError",
    "InvalidWebhookTarget",
    "LoopDetected",
]


class EmulatorError(Exception):
    """Base of every error the emulator raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationFailed(EmulatorError):
    """Credentials missing or wrong."""

    def __init__(self, message: str = "Authentication failed") -> None:
        super().__init__(message)


class PermissionDenied(EmulatorError):
    """Credentials are right but may not use this operation."""


class Conflict(EmulatorError):
    """The operation does not fit the resource's present state (a call that has already ended,
    a message already sent, a real clock asked to move): 409."""


class NotFound(EmulatorError):
    """A resource id that does not exist (or is not visible to the caller); `message` replaces
    the usual wording where a provider has its own."""

    def __init__(self, resource: str, identifier: str, message: str | None = None) -> None:
        super().__init__(message or f"{resource} {identifier!r} not found")
        self.resource = resource
        self.identifier = identifier


class RouteNotFound(EmulatorError):
    def __init__(self, path: str) -> None:
        super().__init__(f"No such resource: {path}")
        self.path = path


class MethodNotAllowed(EmulatorError):
    """`allowed`: the methods the path does answer (for an `Allow` header), when known."""

    def __init__(self, method: str, path: str, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(f"Method {method} not allowed on {path}")
        self.method = method
        self.path = path
        self.allowed = allowed


class ValidationError(EmulatorError):
    """Input that the provider would refuse; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MissingParameter(ValidationError):
    def __init__(self, field: str) -> None:
        super().__init__(field, f"Missing key {field}")


class InvalidParameter(ValidationError):
    def __init__(self, field: str, value: object, reason: str = "invalid value") -> None:
        super().__init__(field, f"Invalid {field}: {reason}")
        self.value = value
        self.reason = reason


class InvalidNumber(InvalidParameter):
    def __init__(self, field: str, value: object) -> None:
        super().__init__(field, value, "not a valid phone number")


class InvalidSender(InvalidParameter):
    def __init__(self, value: object, reason: str = "not an allowed sender") -> None:
        super().__init__("from", value, reason)


class TextTooLong(InvalidParameter):
    def __init__(self, field: str, length: int, limit: int) -> None:
        super().__init__(field, length, f"{length} characters, at most {limit} allowed")
        self.length = length
        self.limit = limit


class InvalidWebhookTarget(InvalidParameter):
    """A callback URL or custom webhook header the emulator could never deliver (see
    `core.webhook_targets`); `reason` says why in plain words."""


class MalformedBody(ValidationError):
    def __init__(self, reason: str) -> None:
        super().__init__("body", f"Malformed request body: {reason}")


class BodyTooLarge(EmulatorError):
    """A request body over the emulator's limit (`--max-body-size`): refused before it is read
    whole, with 413 in the mount's own error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body too large: at most {limit} bytes are accepted.")
        self.limit = limit


class InsufficientBalance(EmulatorError):
    def __init__(self, required: int, available: int) -> None:
        super().__init__(f"Not enough credits: {required} needed, {available} available")
        self.required = required
        self.available = available


class RepeatedMessage(EmulatorError):
    """The same message (same text, type and recipient) sent again too soon: refused by a
    provider's duplicate guard (seven.io's reload lock)."""

    def __init__(self, recipient: str, seconds: int) -> None:
        super().__init__(f"The same message to {recipient} was sent less than {seconds} seconds ago (reload lock)")
        self.recipient = recipient
        self.seconds = seconds


class FixtureError(EmulatorError):
    """A fixture file that cannot be loaded; the message names the file and the field."""


class LoopDetected(EmulatorError):
    """A request that came from the emulator's own webhook outbox once too often (`hops`, from
    its hop header; None when unreadable): a webhook pointing back at the emulator. Refused
    before anything is read or changed."""

    def __init__(self, hops: int | None, message: str) -> None:
        super().__init__(message)
        self.hops = hops

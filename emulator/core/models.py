"""Plain records of the simulated world: accounts, numbers, messages, hooks, webhook deliveries,
calls with their legs, and recordings.

Provider-neutral: a field a provider needs and the other does not lives in `attributes`. Money is
an integer in 1/10000 of the account's currency; times are integer microseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Account",
    "Number",
    "StatusChange",
    "Message",
    "Hook",
    "Attempt",
    "Delivery",
    "Call",
    "Leg",
    "Recording",
    "OUTBOUND",
    "INBOUND",
    "SMS",
    "new_message",
]

OUTBOUND = "outbound"
INBOUND = "inbound"
SMS = "sms"  # a message's usual kind; 46elks also has "mms"


@dataclass(slots=True)
class Account:
    id: str
    provider: str  # "elks" or "seven"
    name: str
    currency: str
    balance: int
    created: int
    email: str | None = None
    parent_id: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Number:
    id: str
    provider: str
    account_id: str
    number: str  # E.164
    country: str  # ISO 3166 alpha-2, lower case as 46elks shows it
    capabilities: tuple[str, ...]
    created: int
    active: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class StatusChange:
    status: str
    at: int


@dataclass(slots=True)
class Message:
    id: str
    provider: str
    account_id: str
    direction: str  # OUTBOUND or INBOUND
    sender: str
    recipient: str
    text: str
    encoding: str
    parts: int
    cost: int
    created: int
    status: str
    history: list[StatusChange] = field(default_factory=list)
    callback_url: str | None = None
    delivered_at: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    kind: str = SMS

    @property
    def status_at(self) -> int:
        return self.history[-1].at if self.history else self.created

    @property
    def shown_attributes(self) -> dict[str, Any]:
        """The attributes, with the kind among them when it is not SMS: as the snapshot and the
        control API show them (`attributes.kind`)."""
        return self.attributes if self.kind == SMS else {"kind": self.kind, **self.attributes}


def new_message(
    *, id: str, provider: str, account_id: str, direction: str, sender: str, recipient: str, text: str,
    encoding: str, parts: int, cost: int, created: int, status: str, history: list[StatusChange] | None = None,
    callback_url: str | None = None, delivered_at: int | None = None, attributes: dict[str, Any] | None = None,
    kind: str = SMS,
) -> Message:
    """A `Message` by name. The fields are many and several are strings of the same shape
    (`sender`, `recipient`, `text`, ...): build one by position only on a hot path, in the order
    above, which `tests/unit/test_models.py` pins."""
    return Message(
        id, provider, account_id, direction, sender, recipient, text, encoding, parts, cost, created, status,
        [] if history is None else history, callback_url, delivered_at, {} if attributes is None else attributes, kind,
    )


@dataclass(slots=True)
class Hook:
    id: int
    provider: str
    account_id: str
    target_url: str
    event_type: str
    request_method: str
    created: int
    event_filter: str | None = None
    headers: str | None = None
    enabled: bool = True


@dataclass(slots=True)
class Attempt:
    number: int
    at: int
    url: str
    method: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_body: str | None = None
    latency_ms: float | None = None
    error: str | None = None


@dataclass(slots=True)
class Delivery:
    """One webhook to deliver, with every attempt made at it."""

    id: str
    provider: str
    account_id: str
    event: str
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    created: int
    subject_id: str | None = None
    state: str = "pending"  # pending, delivered, failed (gave up)
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: int | None = None


@dataclass(slots=True)
class Leg:
    """One party a call connects to (46elks `connect`), with its own ring, talk time and cost.

    `status`: ringing -> ongoing -> ended, or ringing -> busy | no_answer | failed."""

    id: str
    call_id: str
    sender: str  # the caller id the connected party sees
    recipient: str
    created: int
    status: str = "ringing"
    answered_at: int | None = None
    ended_at: int | None = None
    duration: int = 0  # seconds from answer to hangup
    cost: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Call:
    """A voice call; its state machine lives in `core.calls`.

    `status`: created -> ringing -> answered -> ongoing -> ended, or ringing -> busy | no_answer |
    failed. `duration` counts whole simulated seconds from answer to hangup; `cost` is debited
    when the call ends."""

    id: str
    provider: str
    account_id: str
    direction: str  # OUTBOUND or INBOUND
    sender: str
    recipient: str
    created: int
    status: str = "created"
    ring_timeout: float = 60.0
    answered_at: int | None = None
    ended_at: int | None = None
    duration: int = 0
    cost: int = 0
    price_per_minute: int = 0
    digits: str = ""  # keys the callee will still press at prompts
    ended_by: str | None = None  # callee, caller, script, error, api ...
    error: str | None = None
    history: list[StatusChange] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # what the provider's script did
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Recording:
    id: str
    provider: str
    account_id: str
    call_id: str
    created: int
    duration: int  # seconds
    attributes: dict[str, Any] = field(default_factory=dict)

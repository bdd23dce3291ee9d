"""The simulated world as a document: saving it (`take`) and putting it back (`restore`).

A snapshot is a versioned JSON document of plain resources, described by
`specs/snapshot.schema.json` (JSON Schema 2020-12):

    {"format": "telco-emulator/snapshot", "version": 1, "seed": ..., "clock": {...}, "ids": {...},
     "events": {...}, "accounts": [...], "numbers": [...], "messages": [...], "hooks": [...],
     "deliveries": [...], "calls": [...], "recordings": [...], "outcome_rules": [...],
     "call_outcome_rules": [...], "fault_rules": [...], "webhook_hops": {...} (optional),
     <the sections of the providers and of the sandboxes>}

Every time is ISO 8601 text in UTC with exactly six fraction digits (`2026-01-01T00:00:00.000000Z`):
readable, and exact to the microsecond the clock counts in. Money is an integer in 1/10000 of the
account's currency. Bytes (a webhook body that is not UTF-8, an MMS image) are base64.

Each record type has an explicit pair of functions, `to_resource` and `from_resource`; nothing is
imported or instantiated by a name found in the document. Records that live outside the core
(a provider's contacts, the sandboxes) are handled by `Section`s their own packages register.

Restoring is all or nothing. The document is checked whole (shape against the schema, then
meaning: references between records, times within the clock's range, rules that compile) while
the complete new world is built aside; only then is it swapped in. Any problem refuses the whole
document with one `SnapshotError` naming the JSON path, and changes nothing. What was in flight is
resumed: messages continue their lives, scheduled sends wait for their time, pending webhooks are
retried; a call cannot be resumed and is ended as failed.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
import math
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from operator import attrgetter
from typing import Any, Callable, Iterable, Iterator

from .calls import FINAL_CALL_STATUSES, CallOutcome, CallRule
from .clock import EARLIEST_TIME, LATEST_TIME, MICROS, VirtualClock, micros_of, utc
from .faults import FAULT_KINDS, Fault
from .ids import IdFactory
from .lifecycle import InvalidRule, Outcome, OutcomeRule
from .models import SMS, Account, Attempt, Call, Delivery, Hook, Leg, Message, Number, Recording, StatusChange, new_message
from .store import Collection, Store

__all__ = [
    "FORMAT",
    "VERSION",
    "SnapshotError",
    "Section",
    "Staging",
    "Prepared",
    "register_section",
    "take",
    "freeze",
    "Frozen",
    "collector_paused",
    "parse_document",
    "prepare",
    "install",
    "restore",
    "schema",
    "schema_problem",
    "time_text",
    "optional_time_text",
    "parse_optional_time",
    "sorted_records",
    "plain",
    "bytes_text",
    "parse_bytes",
    "copy_plain",
    "parse_time",
    "EARLIEST",
    "LATEST",
]

FORMAT = "telco-emulator/snapshot"
VERSION = 1

# The range of times a snapshot may hold. The clock has no range of its own yet; these bounds
# keep every restored time renderable by every provider (four-digit years).
EARLIEST = EARLIEST_TIME  # the clock's valid range: every time in a snapshot lies within it
LATEST = LATEST_TIME
MAX_DEPTH = 64  # nesting of a free-form value (attributes, call actions, sandbox fixture entries)

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


class SnapshotError(Exception):
    """A snapshot that cannot be used; nothing was changed. `path` is where the problem is, as a
    JSON path (`$.messages[3].send_at`)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_document(text: str | bytes) -> Any:
    """JSON as the standard defines it (no NaN or Infinity); ValueError otherwise, also for JSON
    nested too deeply to read."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


# -- values ---------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _second_text(seconds: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of a second since the epoch; cached, as the records of a busy
    second share it."""
    return utc(seconds * MICROS).strftime("%Y-%m-%dT%H:%M:%S")


def time_text(micros: int) -> str:
    """A clock value as the snapshot writes every time: `2026-01-01T00:00:00.000000Z`."""
    seconds, fraction = divmod(micros, MICROS)
    return f"{_second_text(seconds)}.{fraction:06d}Z"


def optional_time_text(micros: int | None) -> str | None:
    return None if micros is None else time_text(micros)


@lru_cache(maxsize=4096)
def _seconds_of(head: str) -> int:
    """`YYYY-MM-DDTHH:MM:SS` as seconds since the epoch (ValueError for a date that does not
    exist); cached, as the records of a busy second share it."""
    moment = datetime(int(head[0:4]), int(head[5:7]), int(head[8:10]), int(head[11:13]), int(head[14:16]), int(head[17:19]), tzinfo=timezone.utc)
    return micros_of(moment) // MICROS


def parse_time(text: Any, path: str) -> int:
    """A snapshot time as a clock value; refused when it is not one or lies outside the range."""
    if not (isinstance(text, str) and _TIME.fullmatch(text)):
        raise SnapshotError(path, f"{text!r} is not a time (expected UTC text like 2026-01-01T00:00:00.000000Z)")
    try:
        micros = _seconds_of(text[:19]) * MICROS + int(text[20:26])
    except ValueError as exc:
        raise SnapshotError(path, f"{text!r} is not a time: {exc}") from None
    if not EARLIEST <= micros < LATEST:
        raise SnapshotError(path, f"{text} is outside the range of times the emulator keeps (1970 to 9000)")
    return micros


def parse_optional_time(text: Any, path: str) -> int | None:
    return None if text is None else parse_time(text, path)


def bytes_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_bytes(text: Any, path: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise SnapshotError(path, "not valid base64") from None


def plain(value: Any, path: str = "$") -> Any:
    """A free-form value (a record's `attributes`) as plain JSON: tuples become lists. Anything
    else that JSON cannot hold is a bug of the emulator, not of the user: it is named."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SnapshotError(path, f"cannot save the number {value!r}")
        return value
    if isinstance(value, (list, tuple)):
        return [plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SnapshotError(path, f"cannot save a key of type {type(key).__name__}")
            out[key] = plain(item, f"{path}.{key}")
        return out
    raise SnapshotError(path, f"cannot save a {type(value).__name__}")


def copy_plain(value: Any, path: str, depth: int = 0) -> Any:
    """A deep copy of free-form JSON (no record shares a list or object with the document or
    another record), refused when nested deeper than `MAX_DEPTH` (what every renderer can write)."""
    if depth > MAX_DEPTH:
        raise SnapshotError(path, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        return [copy_plain(item, path, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: copy_plain(item, path, depth + 1) for key, item in value.items()}
    return value


_FLAT_TYPES = frozenset({type(None), bool, int, str})  # values a shallow copy copies whole, as `plain` would
_TEXT_TYPE = frozenset({str})


def _attributes(attributes: dict[str, Any], times: Iterable[str], path: str) -> dict[str, Any]:
    """A record's attributes for the document: the ones that hold times written as times."""
    out = plain(attributes, path)
    for name in times:
        if isinstance(out.get(name), int) and not isinstance(out.get(name), bool):
            out[name] = time_text(out[name])
    return out


def _read_attributes(raw: dict[str, Any], times: Iterable[str], path: str) -> dict[str, Any]:
    out = copy_plain(raw, path)
    for name in times:
        if out.get(name) is not None:
            out[name] = parse_time(out[name], f"{path}.{name}")
    return out


def _check_text(value: Any, path: str) -> None:
    """Refuse strings no JSON encoder can write back (a lone surrogate, from a `\\ud800` escape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SnapshotError(path, "text with a lone surrogate (not valid Unicode)") from None


def _check_plain_tree(document: Any) -> None:
    """Every text valid Unicode and every number finite: checked at C speed by writing the
    document out; only a document that fails is walked to find the place."""
    try:
        json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return
    except (UnicodeEncodeError, ValueError, RecursionError):
        pass
    _locate_bad_value(document)
    raise SnapshotError("$", "not plain JSON")


def _locate_bad_value(document: Any) -> None:
    """Walk the document without recursion: nesting within `MAX_DEPTH` (free-form values are
    also checked when they are copied), every text valid, every number finite."""
    stack: list[tuple[Any, str, int]] = [(document, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SnapshotError(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, path)
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, float) and not math.isfinite(value):
            raise SnapshotError(path, f"{value!r} is not a number JSON can hold")


def _history(changes: list[StatusChange]) -> list[dict[str, Any]]:
    return [{"status": change.status, "at": time_text(change.at)} for change in changes]


def _read_history(raw: list[dict[str, Any]], path: str) -> list[StatusChange]:
    return [StatusChange(item["status"], parse_time(item["at"], f"{path}[{i}].at")) for i, item in enumerate(raw)]


def sorted_records(collection: Collection, key: Callable[[Any], str]) -> list[Any]:
    """A collection's live records in creation order (ties broken by key): the order a
    snapshot lists them in."""
    return sorted(collection.by_id.values(), key=lambda item: (item.created, key(item)))


# -- staging: the new world, built aside ------------------------------------------------------------
@dataclass
class Staging:
    """What a restore builds before anything is swapped in: the new store, and what sections
    need to check their references."""

    store: Store = field(default_factory=Store)
    extras: dict[str, Any] = field(default_factory=dict)  # section key -> what its install takes
    later_checks: list[Callable[[], None]] = field(default_factory=list)  # cross-section references

    def account(self, account_id: Any, path: str, provider: str | None = None) -> Account:
        """The staged account `account_id` (of `provider`, when given), or a refusal."""
        account = self.store.accounts.get(account_id) if isinstance(account_id, str) else None
        if account is None:
            raise SnapshotError(path, f"no account {account_id!r} in the snapshot")
        if provider is not None and account.provider != provider:
            raise SnapshotError(path, f"account {account_id!r} belongs to {account.provider}, not {provider}")
        return account

    def add(self, collection: Collection, key: str, record: Any, path: str) -> None:
        if collection.get(key) is not None:
            raise SnapshotError(path, f"duplicate id {key!r}")
        collection.add(key, record.account_id, record.created, record)


@dataclass(frozen=True)
class Section:
    """Records kept outside the core, saved under the document's `key`: `take(engine)` lists
    them as resources; `stage(resources, staging)` checks them and builds them into the staged
    store (or returns what `install(engine, staged)` puts in place once the new world is in);
    `collection` names the store collection it covers, if any."""

    key: str
    take: Callable[[Any], list[dict[str, Any]]]
    stage: Callable[[list[dict[str, Any]], Staging], Any]
    install: Callable[[Any, Any], None] | None = None
    collection: str | None = None


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> Section:
    _SECTIONS[section.key] = section
    return section


# -- accounts ---------------------------------------------------------------------------------------
def account_to_resource(account: Account, logins: list[str]) -> dict[str, Any]:
    return {
        "id": account.id,
        "provider": account.provider,
        "name": account.name,
        "currency": account.currency,
        "balance": account.balance,
        "created": time_text(account.created),
        "email": account.email,
        "parent_id": account.parent_id,
        "credentials": dict(account.credentials),
        "logins": logins,
        "attributes": _attributes(account.attributes, ("deactivated",), "attributes"),
    }


def account_from_resource(raw: dict[str, Any], path: str) -> Account:
    return Account(
        id=raw["id"],
        provider=raw["provider"],
        name=raw["name"],
        currency=raw["currency"],
        balance=raw["balance"],
        created=parse_time(raw["created"], f"{path}.created"),
        email=raw["email"],
        parent_id=raw["parent_id"],
        credentials=dict(raw["credentials"]),
        attributes=_read_attributes(raw["attributes"], ("deactivated",), f"{path}.attributes"),
    )


def _take_accounts(store: Store) -> list[dict[str, Any]]:
    logins: dict[str, list[str]] = {}
    for (_, login), account_id in store.credentials.items():
        logins.setdefault(account_id, []).append(login)
    return [account_to_resource(account, logins.get(account.id, [])) for account in store.accounts.values()]


def _stage_accounts(raws: list[dict[str, Any]], staging: Staging) -> None:
    store = staging.store
    for i, raw in enumerate(raws):
        path = f"$.accounts[{i}]"
        account = account_from_resource(raw, path)
        if account.id in store.accounts:
            raise SnapshotError(f"{path}.id", f"duplicate account id {account.id!r}")
        store.accounts[account.id] = account
        for j, login in enumerate(raw["logins"]):
            if (account.provider, login) in store.credentials:
                raise SnapshotError(f"{path}.logins[{j}]", f"login {login!r} is used by another {account.provider} account")
            store.add_login(account.provider, login, account.id)
    for i, account in enumerate(store.accounts.values()):
        if account.parent_id is not None:
            parent = staging.account(account.parent_id, f"$.accounts[{i}].parent_id", account.provider)
            if parent.parent_id is not None:
                raise SnapshotError(f"$.accounts[{i}].parent_id", f"account {parent.id!r} is itself a subaccount")


# -- numbers ----------------------------------------------------------------------------------------
_NUMBER_TIMES = ("expires", "deallocated")


def number_to_resource(number: Number) -> dict[str, Any]:
    return {
        "id": number.id,
        "provider": number.provider,
        "account_id": number.account_id,
        "number": number.number,
        "country": number.country,
        "capabilities": list(number.capabilities),
        "created": time_text(number.created),
        "active": number.active,
        "attributes": _attributes(number.attributes, _NUMBER_TIMES, "attributes"),
    }


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_KEYS = re.compile(r"[0-9*#]*")


def number_from_resource(raw: dict[str, Any], path: str) -> Number:
    if not _E164.fullmatch(raw["number"]):
        raise SnapshotError(f"{path}.number", f"{raw['number']!r} is not an E.164 number")
    return Number(
        id=raw["id"],
        provider=raw["provider"],
        account_id=raw["account_id"],
        number=raw["number"],
        country=raw["country"],
        capabilities=tuple(raw["capabilities"]),
        created=parse_time(raw["created"], f"{path}.created"),
        active=raw["active"],
        attributes=_read_attributes(raw["attributes"], _NUMBER_TIMES, f"{path}.attributes"),
    )


# -- messages ---------------------------------------------------------------------------------------
# Messages (and webhook deliveries, below) are the bulk of a large world. An autosave copies
# them on the event loop into tuples of values nothing changes afterwards (`_freeze_messages`:
# a few calls that run at C speed) and renders those into resources in its writer thread
# (`_render_message`), so the loop pauses for the copy only.
_MESSAGE_FIELDS = attrgetter(
    "id", "provider", "account_id", "direction", "sender", "recipient", "text", "encoding", "parts", "cost", "created",
    "status", "callback_url", "delivered_at",
)
_STATUS_AND_TIME = attrgetter("status", "at")


def _freeze_messages(messages: Iterable[Message]) -> list[tuple[Any, ...]]:
    """Each message's values, history and attributes copied: (fields, [(status, at)...], send_at,
    attributes without send_at). Attributes holding only texts, integers, booleans and None are a
    shallow copy (checked at C speed), others are copied whole by `plain`; a key that is not text
    is left for `_render_message` to refuse. One comprehension: this runs on the event loop."""
    return [
        (
            _MESSAGE_FIELDS(message),
            list(map(_STATUS_AND_TIME, message.history)),
            attributes.pop("send_at", None),  # before the check below: the send time is no attribute
            attributes if _FLAT_TYPES.issuperset(map(type, attributes.values())) else plain(attributes, "attributes"),
        )
        for message in messages
        for attributes in (dict(message.shown_attributes),)  # the kind among them, as snapshots have always kept it
    ]


def _freeze_message(message: Message) -> tuple[Any, ...]:
    return _freeze_messages((message,))[0]


def _render_message(frozen: tuple[Any, ...]) -> dict[str, Any]:
    fields, history, send_at, attributes = frozen
    (message_id, provider, account_id, direction, sender, recipient, text, encoding, parts, cost, created, status,
     callback_url, delivered_at) = fields
    if not _TEXT_TYPE.issuperset(map(type, attributes)):
        attributes = plain(attributes, "attributes")  # refuses the key that is not text
    created_text = time_text(created)  # also the time of the first status, as a rule
    return {
        "id": message_id,
        "provider": provider,
        "account_id": account_id,
        "direction": direction,
        "from": sender,
        "to": recipient,
        "text": text,
        "encoding": encoding,
        "parts": parts,
        "cost": cost,
        "created": created_text,
        "status": status,
        "history": [{"status": change_status, "at": created_text if at == created else time_text(at)} for change_status, at in history],
        "callback_url": callback_url,
        "delivered_at": None if delivered_at is None else time_text(delivered_at),
        "send_at": None if send_at is None else time_text(send_at),
        "attributes": attributes,
    }


def message_to_resource(message: Message) -> dict[str, Any]:
    return _render_message(_freeze_message(message))


def message_from_resource(raw: dict[str, Any], path: str) -> Message:
    attributes = copy_plain(raw["attributes"], f"{path}.attributes")
    if "send_at" in attributes:
        raise SnapshotError(f"{path}.attributes.send_at", "the send time is the message's own `send_at`")
    if raw["send_at"] is not None:
        attributes["send_at"] = parse_time(raw["send_at"], f"{path}.send_at")
    elif raw["status"] == "scheduled":
        raise SnapshotError(f"{path}.send_at", "a scheduled message needs its send time")
    if raw["status"] == "scheduled" and raw["direction"] != "outbound":
        raise SnapshotError(f"{path}.status", "only an outbound message can be scheduled")
    kind = attributes.pop("kind", SMS)
    return new_message(
        id=raw["id"],
        provider=raw["provider"],
        account_id=raw["account_id"],
        direction=raw["direction"],
        sender=raw["from"],
        recipient=raw["to"],
        text=raw["text"],
        encoding=raw["encoding"],
        parts=raw["parts"],
        cost=raw["cost"],
        created=parse_time(raw["created"], f"{path}.created"),
        status=raw["status"],
        history=_read_history(raw["history"], f"{path}.history"),
        callback_url=raw["callback_url"],
        delivered_at=parse_optional_time(raw["delivered_at"], f"{path}.delivered_at"),
        attributes=attributes,
        kind=kind,
    )


# -- hooks ------------------------------------------------------------------------------------------
def hook_to_resource(hook: Hook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "provider": hook.provider,
        "account_id": hook.account_id,
        "target_url": hook.target_url,
        "event_type": hook.event_type,
        "request_method": hook.request_method,
        "created": time_text(hook.created),
        "event_filter": hook.event_filter,
        "headers": hook.headers,
        "enabled": hook.enabled,
    }


def hook_from_resource(raw: dict[str, Any], path: str) -> Hook:
    return Hook(
        id=raw["id"],
        provider=raw["provider"],
        account_id=raw["account_id"],
        target_url=raw["target_url"],
        event_type=raw["event_type"],
        request_method=raw["request_method"],
        created=parse_time(raw["created"], f"{path}.created"),
        event_filter=raw["event_filter"],
        headers=raw["headers"],
        enabled=raw["enabled"],
    )


# -- webhook deliveries -----------------------------------------------------------------------------
def _body_resource(body: bytes) -> dict[str, str]:
    try:
        return {"encoding": "utf-8", "text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"encoding": "base64", "text": bytes_text(body)}


def _read_body(raw: dict[str, str], path: str) -> bytes:
    if raw["encoding"] == "base64":
        return parse_bytes(raw["text"], f"{path}.text")
    return raw["text"].encode("utf-8")


def attempt_to_resource(attempt: Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "at": time_text(attempt.at),
        "url": attempt.url,
        "method": attempt.method,
        "request_headers": dict(attempt.request_headers),
        "request_body": attempt.request_body,
        "status": attempt.status,
        "response_body": attempt.response_body,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
    }


def attempt_from_resource(raw: dict[str, Any], path: str) -> Attempt:
    return Attempt(
        number=raw["number"],
        at=parse_time(raw["at"], f"{path}.at"),
        url=raw["url"],
        method=raw["method"],
        request_headers=dict(raw["request_headers"]),
        request_body=raw["request_body"],
        status=raw["status"],
        response_body=raw["response_body"],
        latency_ms=raw["latency_ms"],
        error=raw["error"],
    )


_DELIVERY_FIELDS = attrgetter("id", "provider", "account_id", "event", "url", "method", "body", "created", "subject_id", "state", "next_attempt_at")
_ATTEMPT_FIELDS = attrgetter("number", "at", "url", "method", "request_body", "status", "response_body", "latency_ms", "error")


def _freeze_attempt(attempt: Attempt) -> tuple[Any, ...]:
    return _ATTEMPT_FIELDS(attempt), dict(attempt.request_headers)


def _render_attempt(frozen: tuple[Any, ...]) -> dict[str, Any]:
    (number, at, url, method, request_body, status, response_body, latency_ms, error), request_headers = frozen
    return {
        "number": number,
        "at": time_text(at),
        "url": url,
        "method": method,
        "request_headers": request_headers,
        "request_body": request_body,
        "status": status,
        "response_body": response_body,
        "latency_ms": latency_ms,
        "error": error,
    }


def _freeze_delivery(delivery: Delivery) -> tuple[Any, ...]:
    """A delivery's values, copied (see `_freeze_messages`); its body is bytes, which do not change."""
    return _DELIVERY_FIELDS(delivery), dict(delivery.headers), list(map(_freeze_attempt, delivery.attempts))


def _render_delivery(frozen: tuple[Any, ...]) -> dict[str, Any]:
    (delivery_id, provider, account_id, event, url, method, body, created, subject_id, state, next_attempt_at), headers, attempts = frozen
    return {
        "id": delivery_id,
        "provider": provider,
        "account_id": account_id,
        "event": event,
        "url": url,
        "method": method,
        "headers": headers,
        "body": _body_resource(body),
        "created": time_text(created),
        "subject_id": subject_id,
        "state": state,
        "attempts": list(map(_render_attempt, attempts)),
        "next_attempt_at": None if next_attempt_at is None else time_text(next_attempt_at),
    }


def delivery_to_resource(delivery: Delivery) -> dict[str, Any]:
    return _render_delivery(_freeze_delivery(delivery))


def delivery_from_resource(raw: dict[str, Any], path: str) -> Delivery:
    return Delivery(
        id=raw["id"],
        provider=raw["provider"],
        account_id=raw["account_id"],
        event=raw["event"],
        url=raw["url"],
        method=raw["method"],
        headers=dict(raw["headers"]),
        body=_read_body(raw["body"], f"{path}.body"),
        created=parse_time(raw["created"], f"{path}.created"),
        subject_id=raw["subject_id"],
        state=raw["state"],
        attempts=[attempt_from_resource(item, f"{path}.attempts[{i}]") for i, item in enumerate(raw["attempts"])],
        next_attempt_at=parse_optional_time(raw["next_attempt_at"], f"{path}.next_attempt_at"),
    )


# -- calls and recordings ---------------------------------------------------------------------------
def leg_to_resource(leg: Leg) -> dict[str, Any]:
    return {
        "id": leg.id,
        "from": leg.sender,
        "to": leg.recipient,
        "created": time_text(leg.created),
        "status": leg.status,
        "answered_at": optional_time_text(leg.answered_at),
        "ended_at": optional_time_text(leg.ended_at),
        "duration": leg.duration,
        "cost": leg.cost,
        "attributes": plain(leg.attributes, "attributes"),
    }


def leg_from_resource(raw: dict[str, Any], call_id: str, path: str) -> Leg:
    return Leg(
        id=raw["id"],
        call_id=call_id,
        sender=raw["from"],
        recipient=raw["to"],
        created=parse_time(raw["created"], f"{path}.created"),
        status=raw["status"],
        answered_at=parse_optional_time(raw["answered_at"], f"{path}.answered_at"),
        ended_at=parse_optional_time(raw["ended_at"], f"{path}.ended_at"),
        duration=raw["duration"],
        cost=raw["cost"],
        attributes=copy_plain(raw["attributes"], f"{path}.attributes"),
    )


def call_to_resource(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "provider": call.provider,
        "account_id": call.account_id,
        "direction": call.direction,
        "from": call.sender,
        "to": call.recipient,
        "created": time_text(call.created),
        "status": call.status,
        "ring_timeout": call.ring_timeout,
        "answered_at": optional_time_text(call.answered_at),
        "ended_at": optional_time_text(call.ended_at),
        "duration": call.duration,
        "cost": call.cost,
        "price_per_minute": call.price_per_minute,
        "digits": call.digits,
        "ended_by": call.ended_by,
        "error": call.error,
        "history": _history(call.history),
        "legs": [leg_to_resource(leg) for leg in call.legs],
        "actions": plain(call.actions, "actions"),
        "attributes": plain(call.attributes, "attributes"),
    }


def call_from_resource(raw: dict[str, Any], path: str) -> Call:
    if not _KEYS.fullmatch(raw["digits"]):
        raise SnapshotError(f"{path}.digits", "keys are 0-9, * and #")
    return Call(
        id=raw["id"],
        provider=raw["provider"],
        account_id=raw["account_id"],
        direction=raw["direction"],
        sender=raw["from"],
        recipient=raw["to"],
        created=parse_time(raw["created"], f"{path}.created"),
        status=raw["status"],
        ring_timeout=raw["ring_timeout"],
        answered_at=parse_optional_time(raw["answered_at"], f"{path}.answered_at"),
        ended_at=parse_optional_time(raw["ended_at"], f"{path}.ended_at"),
        duration=raw["duration"],
        cost=raw["cost"],
        price_per_minute=raw["price_per_minute"],
        digits=raw["digits"],
        ended_by=raw["ended_by"],
        error=raw["error"],
        history=_read_history(raw["history"], f"{path}.history"),
        legs=[leg_from_resource(item, raw["id"], f"{path}.legs[{i}]") for i, item in enumerate(raw["legs"])],
        actions=copy_plain(raw["actions"], f"{path}.actions"),
        attributes=copy_plain(raw["attributes"], f"{path}.attributes"),
    )


def recording_to_resource(recording: Recording) -> dict[str, Any]:
    return {
        "id": recording.id,
        "provider": recording.provider,
        "account_id": recording.account_id,
        "call_id": recording.call_id,
        "created": time_text(recording.created),
        "duration": recording.duration,
        "attributes": plain(recording.attributes, "attributes"),
    }


def recording_from_resource(raw: dict[str, Any], path: str) -> Recording:
    return Recording(
        id=raw["id"],
        provider=raw["provider"],
        account_id=raw["account_id"],
        call_id=raw["call_id"],
        created=parse_time(raw["created"], f"{path}.created"),
        duration=raw["duration"],
        attributes=copy_plain(raw["attributes"], f"{path}.attributes"),
    )


# -- rules --------------------------------------------------------------------------------------------
def _rule_refusal(exc: ValueError, path: str) -> SnapshotError:
    """A rule or outcome that refused itself (as it would through the control API), at its path."""
    return SnapshotError(f"{path}.{exc.field}" if isinstance(exc, InvalidRule) else path, str(exc))


def outcome_rule_to_resource(rule: OutcomeRule) -> dict[str, Any]:
    outcome = rule.outcome
    return {
        "match": rule.match,
        "provider": rule.provider,
        "status": outcome.status,
        "sent_after": outcome.sent_after,
        "final_after": outcome.final_after,
        "buffered": outcome.buffered,
    }


def outcome_rule_from_resource(raw: dict[str, Any], path: str) -> OutcomeRule:
    try:  # the rule checks itself as when it arrives through the control API
        outcome = Outcome(raw["status"], float(raw["sent_after"]), float(raw["final_after"]), raw["buffered"])
        return OutcomeRule(raw["match"], outcome, raw["provider"])
    except ValueError as exc:
        raise _rule_refusal(exc, path) from None


def call_rule_to_resource(rule: CallRule) -> dict[str, Any]:
    outcome = rule.outcome
    return {
        "match": rule.match,
        "provider": rule.provider,
        "status": outcome.status,
        "ring_time": outcome.ring_time,
        "talk_time": outcome.talk_time,
        "digits": outcome.digits,
        "digits_after": outcome.digits_after,
    }


def call_rule_from_resource(raw: dict[str, Any], path: str) -> CallRule:
    try:  # the rule checks itself as when it arrives through the control API
        outcome = CallOutcome(raw["status"], float(raw["ring_time"]), float(raw["talk_time"]), raw["digits"], float(raw["digits_after"]))
        return CallRule(raw["match"], outcome, raw["provider"])
    except ValueError as exc:
        raise _rule_refusal(exc, path) from None


def fault_to_resource(fault: Fault) -> dict[str, Any]:
    return {
        "id": fault.id,
        "kind": fault.kind,
        "provider": fault.provider,
        "method": fault.method,
        "path_prefix": fault.path_prefix,
        "status": fault.status,
        "delay": fault.delay,
        "retry_after": fault.retry_after,
        "remaining": fault.remaining,
        "fraction": fault.fraction,
        "fired": fault.fired,
    }


def fault_from_resource(raw: dict[str, Any], path: str) -> Fault:
    if raw["kind"] not in FAULT_KINDS:
        raise SnapshotError(f"{path}.kind", f"expected one of {list(FAULT_KINDS)}")
    return Fault(
        id=raw["id"],
        kind=raw["kind"],
        provider=raw["provider"],
        method=raw["method"],
        path_prefix=raw["path_prefix"],
        status=raw["status"],
        delay=float(raw["delay"]),
        retry_after=raw["retry_after"],
        remaining=raw["remaining"],
        fraction=None if raw["fraction"] is None else float(raw["fraction"]),
        fired=raw["fired"],
    )


# -- ids and the clock ------------------------------------------------------------------------------
def _ids_resource(ids: IdFactory) -> dict[str, Any]:
    version, state, gauss_next = ids.rng.getstate()
    return {"rng": {"version": version, "state": list(state), "gauss_next": gauss_next}, "counters": dict(ids._counters)}


def _ids_from_resource(raw: dict[str, Any], seed: int) -> IdFactory:
    ids = IdFactory(seed)
    rng = raw["rng"]
    try:
        ids.rng.setstate((rng["version"], tuple(rng["state"]), rng["gauss_next"]))
    except (ValueError, TypeError, OverflowError) as exc:
        raise SnapshotError("$.ids.rng", f"not a random generator state: {exc}") from None
    ids._counters = dict(raw["counters"])
    return ids


# -- the document -----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The snapshot's JSON Schema (a copy of `specs/snapshot.schema.json` inside the package)."""
    text = resources.files("emulator").joinpath("data/snapshot.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema  # imported when first needed: it costs start-up time and memory

    return jsonschema.Draft202012Validator(schema())


def _core_collections(store: Store) -> dict[str, Collection]:
    return {"calls": store.collection("calls"), "recordings": store.collection("recordings")}


_collector_lock = threading.Lock()
_collector_pauses = 0  # pauses held now (a request's `take`, an autosave)
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a snapshot is copied, rendered and written: it makes
    hundreds of thousands of containers that form no cycle, and each of them counts toward a
    collection, which walks those still alive (on whichever thread allocates: the event loop's
    too). Held until the copy and the document are gone (see `state.Autosaver`), the collection
    that follows finds nearly nothing; reference counting frees what is dropped meanwhile.
    Nests, and is shared by threads: the collector is back when the last pause ends."""
    global _collector_pauses, _collector_was_enabled
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


_CREATION_ORDER = attrgetter("created", "id")  # `sorted_records`' order, for records keyed by their `id`


@dataclass(frozen=True)
class Frozen:
    """One instant's world, ready to be rendered into its snapshot document anywhere, another
    thread included: every part is rendered already, but for the messages and webhook deliveries
    (the bulk of a large world), which are copies of their values that nothing changes."""

    head: dict[str, Any]  # the document, with `messages` and `deliveries` still to render
    messages: list[tuple[Any, ...]]
    deliveries: list[tuple[Any, ...]]

    def render(self) -> dict[str, Any]:
        document = dict(self.head)
        document["messages"] = list(map(_render_message, self.messages))
        document["deliveries"] = list(map(_render_delivery, self.deliveries))
        return document


def take(engine: Any) -> dict[str, Any]:
    """The engine's whole world as a snapshot document."""
    with collector_paused():  # the temporary copy dies unwalked; one collection after walks the document
        return freeze(engine).render()


def freeze(engine: Any) -> Frozen:
    """The engine's whole world as it is now, to render (`Frozen.render`) later, elsewhere: the
    part of `take` that must run where the world changes (on the event loop). Raises
    `SnapshotError` for what a snapshot cannot hold (but for an attribute name that is not text,
    which `Frozen.render` refuses)."""
    store: Store = engine.store
    clock = engine.clock
    named = _core_collections(store)
    covered = {"calls", "recordings"} | {section.collection for section in _SECTIONS.values() if section.collection}
    for name, collection in store._named.items():
        if len(collection) and name not in covered:  # a record type nobody taught the snapshot
            raise SnapshotError("$", f"the store's {name!r} records have no snapshot section")
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "seed": engine.seed,
        "clock": {"virtual": clock.virtual, "now": time_text(clock.now()), "last_stamp": time_text(max(clock._last_stamp, EARLIEST))},
        "ids": _ids_resource(engine.ids),
        "events": {"last_seq": engine.events.last_seq},
        "accounts": _take_accounts(store),
        "numbers": [number_to_resource(number) for number in sorted_records(store.numbers, lambda n: n.id)],
        "messages": None,  # rendered by `Frozen.render`
        "hooks": [hook_to_resource(hook) for hook in sorted_records(store.hooks, lambda h: str(h.id))],
        "deliveries": None,
        "calls": [call_to_resource(call) for call in sorted_records(named["calls"], lambda c: c.id)],
        "recordings": [recording_to_resource(rec) for rec in sorted_records(named["recordings"], lambda r: r.id)],
        "outcome_rules": [outcome_rule_to_resource(rule) for rule in engine.lifecycle.rules],
        "call_outcome_rules": [call_rule_to_resource(rule) for rule in engine.calls.rules],
        "fault_rules": [fault_to_resource(fault) for fault in engine.faults.rules],
    }
    hops = _take_webhook_hops(engine.outbox.caused, store, named["calls"])
    if hops:
        document["webhook_hops"] = hops
    for key in sorted(_SECTIONS):
        document[key] = _SECTIONS[key].take(engine)
    messages = _freeze_messages(sorted(store.messages.by_id.values(), key=_CREATION_ORDER))
    deliveries = list(map(_freeze_delivery, sorted(store.deliveries.by_id.values(), key=_CREATION_ORDER)))
    return Frozen(document, messages, deliveries)


def _take_webhook_hops(caused: dict[str, int], store: Store, calls: Collection) -> dict[str, int]:
    """The hop counts of the stored messages and calls that a webhook's request created."""
    return {
        record_id: hop for record_id, hop in sorted(caused.items())
        if store.messages.get(record_id) is not None or calls.get(record_id) is not None
    }


def _read_webhook_hops(raw: dict[str, int], store: Store, calls: Collection) -> dict[str, int]:
    for record_id in raw:
        if store.messages.get(record_id) is None and calls.get(record_id) is None:
            raise SnapshotError(f"$.webhook_hops.{record_id}", f"no message or call {record_id!r} in the snapshot")
    return dict(raw)


@dataclass
class Prepared:
    """A checked snapshot, built into new objects, ready to be swapped in."""

    staging: Staging
    ids: IdFactory
    now: int
    last_stamp: int
    last_seq: int
    outcome_rules: list[OutcomeRule]
    call_rules: list[CallRule]
    faults: list[Fault]
    webhook_hops: dict[str, int] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _fast_validator() -> Any:
    try:  # a validator in Rust, about a hundred times faster on large snapshots; optional
        import jsonschema_rs
    except ImportError:  # pragma: no cover - depends on the installation
        return None
    return jsonschema_rs.Draft202012Validator(schema())


def _json_path(parts: Iterable[str | int]) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= 300 else message[:300] + "..."


def schema_problem(document: Any, fast: bool = True) -> SnapshotError | None:
    """The first place where `document` breaks the schema, or None. Validated with
    `jsonschema_rs` when it is installed (`fast`), else with `jsonschema`; both read the same
    schema (the tests hold them to the same verdicts)."""
    validator = _fast_validator() if fast else None
    if validator is not None:
        error = next(iter(validator.iter_errors(document)), None)
        return None if error is None else SnapshotError(_json_path(error.instance_path), _short(error.message))
    errors = list(_validator().iter_errors(document))
    if not errors:
        return None
    from jsonschema.exceptions import best_match

    error = best_match(errors)
    return SnapshotError(error.json_path, _short(error.message))


def prepare(engine: Any, document: Any, fast: bool = True) -> Prepared:
    """Check `document` whole and build the world it describes, touching nothing of `engine`'s
    state (it reads only the seed). Safe to run off the event loop. Raises `SnapshotError`.
    `fast`: validate with `jsonschema_rs` when it is installed."""
    if not isinstance(document, dict):
        raise SnapshotError("$", "a snapshot is a JSON object")
    if document.get("format") != FORMAT:
        raise SnapshotError("$.format", f"not a telco-emulator snapshot (expected format {FORMAT!r})")
    if document.get("version") != VERSION:
        raise SnapshotError("$.version", f"snapshot version {document.get('version')!r} is not supported (this emulator reads version {VERSION})")
    _check_plain_tree(document)
    problem = schema_problem(document, fast)
    if problem is not None:
        raise problem
    try:
        return _build(engine, document)
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:  # the schema should have caught it
        raise SnapshotError("$", f"unreadable snapshot ({type(exc).__name__}: {exc})") from None


def _build(engine: Any, document: dict[str, Any]) -> Prepared:
    staging = Staging()
    store = staging.store
    _stage_accounts(document["accounts"], staging)

    def owned(key: str, collection: Collection, decode: Callable[[dict[str, Any], str], Any], record_key: Callable[[Any], str]) -> None:
        for i, raw in enumerate(document[key]):
            path = f"$.{key}[{i}]"
            record = decode(raw, path)
            staging.account(record.account_id, f"{path}.account_id", getattr(record, "provider", None))
            staging.add(collection, record_key(record), record, f"{path}.id")

    owned("numbers", store.numbers, number_from_resource, lambda n: n.id)
    owned("messages", store.messages, message_from_resource, lambda m: m.id)
    owned("hooks", store.hooks, hook_from_resource, lambda h: str(h.id))
    owned("deliveries", store.deliveries, delivery_from_resource, lambda d: d.id)
    named = _core_collections(store)
    owned("calls", named["calls"], call_from_resource, lambda c: c.id)
    owned("recordings", named["recordings"], recording_from_resource, lambda r: r.id)
    for i, raw in enumerate(document["recordings"]):
        # A recording outlives its call's deletion from the history (46elks keeps it as its own
        # resource); a call that is there must be the recording's account's.
        call = named["calls"].get(raw["call_id"])
        if call is not None and call.account_id != raw["account_id"]:
            raise SnapshotError(f"$.recordings[{i}].call_id", f"call {raw['call_id']!r} is not of account {raw['account_id']!r}")

    outcome_rules = [outcome_rule_from_resource(raw, f"$.outcome_rules[{i}]") for i, raw in enumerate(document["outcome_rules"])]
    call_rules = [call_rule_from_resource(raw, f"$.call_outcome_rules[{i}]") for i, raw in enumerate(document["call_outcome_rules"])]
    faults = [fault_from_resource(raw, f"$.fault_rules[{i}]") for i, raw in enumerate(document["fault_rules"])]
    seen_faults: set[int] = set()
    for i, fault in enumerate(faults):
        if fault.id in seen_faults:
            raise SnapshotError(f"$.fault_rules[{i}].id", f"duplicate fault id {fault.id}")
        seen_faults.add(fault.id)

    ids = _ids_from_resource(document["ids"], engine.seed)
    clock = document["clock"]
    now = parse_time(clock["now"], "$.clock.now")
    last_stamp = parse_time(clock["last_stamp"], "$.clock.last_stamp")

    unknown = [key for key in document if key not in _CORE_KEYS and key not in _SECTIONS]
    if unknown:
        raise SnapshotError(f"$.{unknown[0]}", "not a section this emulator knows")
    for key in sorted(_SECTIONS):
        section = _SECTIONS[key]
        if key not in document:
            raise SnapshotError("$", f"missing section {key!r}")
        staging.extras[key] = section.stage(document[key], staging)
    for check in staging.later_checks:
        check()
    hops = _read_webhook_hops(document.get("webhook_hops", {}), store, named["calls"])
    return Prepared(staging, ids, now, last_stamp, document["events"]["last_seq"], outcome_rules, call_rules, faults, hops)


_CORE_KEYS = frozenset({
    "format", "version", "seed", "clock", "ids", "events", "accounts", "numbers", "messages", "hooks",
    "deliveries", "calls", "recordings", "outcome_rules", "call_outcome_rules", "fault_rules", "webhook_hops",
})


def install(engine: Any, prepared: Prepared) -> None:
    """Swap a prepared world in (nothing here can refuse), then resume what was in flight."""
    store = prepared.staging.store
    events = engine.events
    events._next_seq = max(events._next_seq, prepared.last_seq + 1)  # cursors keep growing past the snapshot's
    engine.reset()
    engine.store = store
    engine.ids = prepared.ids
    engine.outbox.reset(store, prepared.ids)
    engine.outbox.caused.update(prepared.webhook_hops)
    engine.lifecycle.rules = prepared.outcome_rules
    engine.calls.rules = prepared.call_rules
    engine.faults.rules = prepared.faults
    engine.faults._next_id = max((fault.id for fault in prepared.faults), default=0) + 1
    if isinstance(engine.clock, VirtualClock):
        engine.clock._now = max(engine.clock._now, prepared.now)
    engine.clock._last_stamp = max(engine.clock._last_stamp, prepared.last_stamp)
    for key in sorted(_SECTIONS):
        section = _SECTIONS[key]
        if section.install is not None:
            section.install(engine, prepared.staging.extras.get(key))
    _resume(engine)
    engine.events.emit("emulator.restored")


def restore(engine: Any, document: Any) -> None:
    """Replace the engine's world by the snapshot's, or raise `SnapshotError` changing nothing."""
    install(engine, prepare(engine, document))


def _resume(engine: Any) -> None:
    """Restart what was in flight when the snapshot was taken."""
    now = engine.clock.now()
    for message in list(engine.store.messages):
        if message.status == "scheduled":
            send_at = int(message.attributes.get("send_at") or now)
            engine.reschedule(message, max(0.0, (send_at - now) / MICROS))
        elif message.status in ("created", "sent", "buffered") and message.direction == "outbound":
            engine.lifecycle.resume(message)
    for delivery in list(engine.store.deliveries):
        if delivery.state == "pending":
            due = delivery.next_attempt_at or now
            engine.outbox.retry_at(delivery.id, max(0.0, (due - now) / MICROS))
    for call in list(engine.calls.collection):
        if call.status not in FINAL_CALL_STATUSES:
            call.status = "failed"
            call.ended_at = now
            call.ended_by = "error"
            call.error = "the emulator was restarted while the call was up"

"""A frozen copy of how `emulator.core.snapshot.take` wrote the world before it was made fast
(the code as it was): the reference the fast `take` must match byte for byte.
Providers' sections are taken through the registered sections, as `take` does."""

from __future__ import annotations

import base64
import math
from typing import Any, Callable, Iterable

from emulator.core.clock import EARLIEST_TIME as EARLIEST, utc_text
from emulator.core.snapshot import _SECTIONS, FORMAT, VERSION, SnapshotError
from emulator.core.store import Collection, Store


def bytes_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")



def time_text(micros: int) -> str:
    """A clock value as the snapshot writes every time: `2026-01-01T00:00:00.000000Z`."""
    return utc_text(micros, "%Y-%m-%dT%H:%M:%S") + "Z"


def optional_time_text(micros: int | None) -> str | None:
    return None if micros is None else time_text(micros)


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


def _attributes(attributes: dict[str, Any], times: Iterable[str], path: str) -> dict[str, Any]:
    """A record's attributes for the document: the ones that hold times written as times."""
    out = plain(attributes, path)
    for name in times:
        if isinstance(out.get(name), int) and not isinstance(out.get(name), bool):
            out[name] = time_text(out[name])
    return out


def _history(changes: list[StatusChange]) -> list[dict[str, Any]]:
    return [{"status": change.status, "at": time_text(change.at)} for change in changes]


def sorted_records(collection: Collection, key: Callable[[Any], str]) -> list[Any]:
    """A collection's live records in creation order (ties broken by key): the order a
    snapshot lists them in."""
    return sorted(collection.by_id.values(), key=lambda item: (item.created, key(item)))


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


def _take_accounts(store: Store) -> list[dict[str, Any]]:
    logins: dict[str, list[str]] = {}
    for (_, login), account_id in store.credentials.items():
        logins.setdefault(account_id, []).append(login)
    return [account_to_resource(account, logins.get(account.id, [])) for account in store.accounts.values()]

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


def message_to_resource(message: Message) -> dict[str, Any]:
    attributes = dict(message.shown_attributes)  # the kind among them
    send_at = attributes.pop("send_at", None)
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
        "created": time_text(message.created),
        "status": message.status,
        "history": _history(message.history),
        "callback_url": message.callback_url,
        "delivered_at": optional_time_text(message.delivered_at),
        "send_at": optional_time_text(send_at),
        "attributes": plain(attributes, "attributes"),
    }


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


def _body_resource(body: bytes) -> dict[str, str]:
    try:
        return {"encoding": "utf-8", "text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"encoding": "base64", "text": bytes_text(body)}


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


def delivery_to_resource(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "provider": delivery.provider,
        "account_id": delivery.account_id,
        "event": delivery.event,
        "url": delivery.url,
        "method": delivery.method,
        "headers": dict(delivery.headers),
        "body": _body_resource(delivery.body),
        "created": time_text(delivery.created),
        "subject_id": delivery.subject_id,
        "state": delivery.state,
        "attempts": [attempt_to_resource(attempt) for attempt in delivery.attempts],
        "next_attempt_at": optional_time_text(delivery.next_attempt_at),
    }


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


def _ids_resource(ids: IdFactory) -> dict[str, Any]:
    version, state, gauss_next = ids.rng.getstate()
    return {"rng": {"version": version, "state": list(state), "gauss_next": gauss_next}, "counters": dict(ids._counters)}


def _core_collections(store: Store) -> dict[str, Collection]:
    return {"calls": store.collection("calls"), "recordings": store.collection("recordings")}


def reference_take(engine: Any) -> dict[str, Any]:
    """The engine's whole world as a snapshot document."""
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
        "messages": [message_to_resource(message) for message in sorted_records(store.messages, lambda m: m.id)],
        "hooks": [hook_to_resource(hook) for hook in sorted_records(store.hooks, lambda h: str(h.id))],
        "deliveries": [delivery_to_resource(delivery) for delivery in sorted_records(store.deliveries, lambda d: d.id)],
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
    return document


def _take_webhook_hops(caused: dict[str, int], store: Store, calls: Collection) -> dict[str, int]:
    """The hop counts of the stored messages and calls that a webhook's request created."""
    return {
        record_id: hop for record_id, hop in sorted(caused.items())
        if store.messages.get(record_id) is not None or calls.get(record_id) is not None
    }

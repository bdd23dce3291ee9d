"""Saving and restoring the whole simulated world as JSON.

A snapshot holds the store (accounts, logins, and every collection with each record's owner and
creation stamp), the id generators, the clock, the run-time outcome rules, the fault rules and
the event cursor. Records are dataclasses, written with their type so they come back as the same
classes (only classes of the `emulator` package are ever rebuilt).

Restoring is all or nothing: the snapshot is decoded completely into new objects first, and only
then swapped in, so a corrupt file changes nothing (`SnapshotError`). What was in flight is
resumed: messages continue their lives from where they were, scheduled sends wait for their
time, pending webhooks are retried; a call cannot be resumed and is ended as failed.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
from typing import Any

from .clock import MICROS, VirtualClock
from .faults import Fault
from .ids import IdFactory
from .store import Collection, Store

__all__ = ["SnapshotError", "take", "restore", "encode", "decode", "FORMAT"]

FORMAT = "telco-emulator-snapshot/1"


class SnapshotError(Exception):
    """A snapshot that cannot be read; nothing was changed."""


# -- a JSON codec for dataclasses, bytes, tuples and sets --------------------------------------
def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__dc__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"__set__": [encode(v) for v in sorted(value, key=repr)], "frozen": isinstance(value, frozenset)}
    if isinstance(value, range):
        return {"__range__": [value.start, value.stop, value.step]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__map__": {k: encode(v) for k, v in value.items()}}
        return {"__pairs__": [[encode(k), encode(v)] for k, v in value.items()]}
    raise SnapshotError(f"cannot save a {type(value).__name__}")


def _class(name: str) -> type:
    module_name, _, qualname = name.partition(":")
    if not (module_name == "emulator" or module_name.startswith("emulator.")):
        raise SnapshotError(f"refusing to rebuild {name!r}: not a class of the emulator")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise SnapshotError(f"unknown record type {name!r}") from None
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise SnapshotError(f"{name!r} is not a record type")
    return target


def decode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        raise SnapshotError(f"unexpected {type(value).__name__} in snapshot")
    if "__dc__" in value:
        cls = _class(value["__dc__"])
        raw = value.get("fields")
        if not isinstance(raw, dict):
            raise SnapshotError(f"record {value['__dc__']} without fields")
        names = {f.name for f in dataclasses.fields(cls)}
        if set(raw) != names:
            raise SnapshotError(f"record {value['__dc__']} has fields {sorted(raw)}, expected {sorted(names)}")
        instance = object.__new__(cls)
        for name, item in raw.items():
            object.__setattr__(instance, name, decode(item))
        return instance
    if "__bytes__" in value:
        try:
            return base64.b64decode(value["__bytes__"], validate=True)
        except (ValueError, TypeError):
            raise SnapshotError("bad bytes in snapshot") from None
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__set__" in value:
        items = [decode(v) for v in value["__set__"]]
        return frozenset(items) if value.get("frozen") else set(items)
    if "__range__" in value:
        return range(*value["__range__"])
    if "__map__" in value:
        return {k: decode(v) for k, v in value["__map__"].items()}
    if "__pairs__" in value:
        return {decode(k): decode(v) for k, v in value["__pairs__"]}
    raise SnapshotError(f"unexpected object with keys {sorted(value)[:5]}")


# -- the store ----------------------------------------------------------------------------------
def _collection_entries(collection: Collection) -> list[list[Any]]:
    entries = []
    for owner, index in collection._by_owner.items():
        for created, key in index:
            item = collection.by_id.get(key)
            if item is not None:
                entries.append([key, owner, created, encode(item)])
    entries.sort(key=lambda entry: (entry[2], entry[0]))
    return entries


def _fill(collection: Collection, entries: Any, name: str) -> None:
    if not isinstance(entries, list):
        raise SnapshotError(f"collection {name}: expected a list")
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 4 and isinstance(entry[0], str) and isinstance(entry[1], str) and isinstance(entry[2], int)):
            raise SnapshotError(f"collection {name}: malformed entry")
        collection.add(entry[0], entry[1], entry[2], decode(entry[3]))


def _store_data(store: Store) -> dict[str, Any]:
    return {
        "accounts": [encode(account) for account in store.accounts.values()],
        "logins": [[provider, login, account_id] for (provider, login), account_id in store.credentials.items()],
        "collections": {
            "numbers": _collection_entries(store.numbers),
            "messages": _collection_entries(store.messages),
            "hooks": _collection_entries(store.hooks),
            "deliveries": _collection_entries(store.deliveries),
        },
        "named": {name: _collection_entries(collection) for name, collection in store._named.items()},
    }


def _build_store(data: Any) -> Store:
    if not isinstance(data, dict):
        raise SnapshotError("store: expected an object")
    store = Store()
    for raw in data.get("accounts") or []:
        account = decode(raw)
        store.accounts[account.id] = account
    for entry in data.get("logins") or []:
        if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(part, str) for part in entry)):
            raise SnapshotError("store: malformed login")
        provider, login, account_id = entry
        store.credentials[(provider, login)] = account_id
    collections = data.get("collections") or {}
    for name in ("numbers", "messages", "hooks", "deliveries"):
        _fill(getattr(store, name), collections.get(name, []), name)
    for name, entries in (data.get("named") or {}).items():
        _fill(store.collection(name), entries, name)
    return store


# -- the engine ---------------------------------------------------------------------------------
def take(engine: Any) -> dict[str, Any]:
    ids: IdFactory = engine.ids
    calls = getattr(engine, "calls", None)
    sandboxes = getattr(engine, "sandboxes", None)
    return {
        "format": FORMAT,
        "seed": engine.seed,
        "clock": {"now": engine.clock.now(), "last_stamp": engine.clock._last_stamp, "virtual": engine.clock.virtual},
        "ids": {"rng": encode(ids.rng.getstate()), "counters": encode(ids._counters)},
        "store": _store_data(engine.store),
        "rules": encode(list(engine.lifecycle.rules)),
        "call_rules": encode(calls.rules) if calls is not None else None,
        "faults": encode(engine.faults.rules),
        "event_seq": engine.events.last_seq,
        "sandboxes": encode(list(sandboxes.by_id.values())) if sandboxes is not None else [],
    }


def restore(engine: Any, data: Any) -> None:
    """Replace the engine's world by the snapshot's (or raise SnapshotError, changing nothing)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(f"not a telco-emulator snapshot (expected format {FORMAT!r})")
    try:
        store = _build_store(data.get("store"))
        clock = data.get("clock") or {}
        now, last_stamp = int(clock.get("now", 0)), int(clock.get("last_stamp", 0))
        rng_state = decode(data["ids"]["rng"])
        counters = decode(data["ids"]["counters"])
        rules = decode(data.get("rules") or [])
        call_rules = decode(data["call_rules"]) if data.get("call_rules") is not None else None
        faults = decode(data.get("faults") or [])
        sandboxes = decode(data.get("sandboxes") or [])
        event_seq = int(data.get("event_seq", 0))
        ids = IdFactory(engine.seed)
        ids.rng.setstate(rng_state)
        ids._counters = dict(counters)
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(f"corrupt snapshot: {type(exc).__name__}: {exc}") from None
    if not all(isinstance(fault, Fault) for fault in faults):
        raise SnapshotError("corrupt snapshot: faults")

    # Everything decoded: swap it in (cursors keep growing past the snapshot's events).
    engine.events._next_seq = max(engine.events._next_seq, event_seq + 1)
    engine.reset()
    engine.store = store
    engine.ids = ids
    engine.outbox.reset(store, ids)
    engine.lifecycle.rules = rules
    if call_rules is not None and getattr(engine, "calls", None) is not None:
        engine.calls.rules = call_rules
    engine.faults.rules = faults
    engine.faults._next_id = max((fault.id for fault in faults), default=0) + 1
    if isinstance(engine.clock, VirtualClock):
        engine.clock._now = max(engine.clock._now, now)
    engine.clock._last_stamp = max(engine.clock._last_stamp, last_stamp)
    if getattr(engine, "sandboxes", None) is not None:
        engine.sandboxes.by_id = {sandbox.id: sandbox for sandbox in sandboxes}
    _resume(engine)
    engine.events.emit("emulator.restored")


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
    calls = getattr(engine, "calls", None)
    if calls is not None:
        from .calls import FINAL_CALL_STATUSES

        for call in list(calls.collection):
            if call.status not in FINAL_CALL_STATUSES:
                call.status = "failed"
                call.ended_at = now
                call.ended_by = "error"
                call.error = "the emulator was restarted while the call was up"

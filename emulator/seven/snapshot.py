"""The snapshot sections of the records seven.io keeps beside the core's: access tokens, address
book contacts and groups, billed lookups and caller id validations (see `core.snapshot`). A caller
id validation still waiting for its code is completed on time after a restore."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..core.snapshot import (
    Section, SnapshotError, Staging, optional_time_text, parse_optional_time, parse_time, register_section, sorted_records, time_text,
)
from .addressbook import CONTACTS, GROUPS, Contact, Group
from .auth import SCOPES, TOKENS, AccessToken
from .lookup import LOOKUPS, Lookup
from ..core.clock import MICROS
from .voice_validation import ANSWER_SECONDS, CALLER_IDS, CallerId, _complete

__all__ = ["SECTIONS"]


# -- access tokens ------------------------------------------------------------------------------------
def token_to_resource(token: AccessToken) -> dict[str, Any]:
    return {"token": token.token, "account_id": token.account_id, "scopes": sorted(token.scopes), "created": time_text(token.created)}


def _take_tokens(engine: Any) -> list[dict[str, Any]]:
    return [token_to_resource(token) for token in sorted_records(engine.store.collection(TOKENS), lambda t: t.token)]


def _stage_tokens(raws: list[dict[str, Any]], staging: Staging) -> None:
    tokens = staging.store.collection(TOKENS)
    for i, raw in enumerate(raws):
        path = f"$.access_tokens[{i}]"
        for j, scope in enumerate(raw["scopes"]):
            if scope not in SCOPES:
                raise SnapshotError(f"{path}.scopes[{j}]", f"unknown scope {scope!r}")
        staging.account(raw["account_id"], f"{path}.account_id", "seven")
        if ("seven", raw["token"]) in staging.store.credentials:
            raise SnapshotError(f"{path}.token", "the token is also an account's API key")
        token = AccessToken(raw["token"], raw["account_id"], frozenset(raw["scopes"]), parse_time(raw["created"], f"{path}.created"))
        staging.add(tokens, token.token, token, f"{path}.token")


# -- contacts and groups --------------------------------------------------------------------------------
def contact_to_resource(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "account_id": contact.account_id,
        "created": time_text(contact.created),
        "properties": dict(contact.properties),
        "avatar": contact.avatar,
        "groups": list(contact.groups),
        "validation_state": contact.validation_state,
        "validated_at": optional_time_text(contact.validated_at),
    }


def contact_from_resource(raw: dict[str, Any], path: str) -> Contact:
    return Contact(
        id=raw["id"],
        account_id=raw["account_id"],
        created=parse_time(raw["created"], f"{path}.created"),
        properties=dict(raw["properties"]),
        avatar=raw["avatar"],
        groups=list(raw["groups"]),
        validation_state=raw["validation_state"],
        validated_at=parse_optional_time(raw["validated_at"], f"{path}.validated_at"),
    )


def _take_contacts(engine: Any) -> list[dict[str, Any]]:
    return [contact_to_resource(contact) for contact in sorted_records(engine.store.collection(CONTACTS), lambda c: str(c.id))]


def _stage_contacts(raws: list[dict[str, Any]], staging: Staging) -> None:
    contacts = staging.store.collection(CONTACTS)
    for i, raw in enumerate(raws):
        path = f"$.contacts[{i}]"
        contact = contact_from_resource(raw, path)
        staging.account(contact.account_id, f"{path}.account_id", "seven")
        staging.add(contacts, str(contact.id), contact, f"{path}.id")

    def groups_exist() -> None:
        groups = staging.store.collection(GROUPS)
        for i, raw in enumerate(raws):
            contact = contacts.get(str(raw["id"]))
            for j, group_id in enumerate(contact.groups):
                group = groups.get(str(group_id))
                if group is None or group.account_id != contact.account_id:
                    raise SnapshotError(f"$.contacts[{i}].groups[{j}]", f"no group {group_id} of account {contact.account_id!r} in the snapshot")

    staging.later_checks.append(groups_exist)


def group_to_resource(group: Group) -> dict[str, Any]:
    return {"id": group.id, "account_id": group.account_id, "name": group.name, "created": time_text(group.created)}


def _take_groups(engine: Any) -> list[dict[str, Any]]:
    return [group_to_resource(group) for group in sorted_records(engine.store.collection(GROUPS), lambda g: str(g.id))]


def _stage_groups(raws: list[dict[str, Any]], staging: Staging) -> None:
    groups = staging.store.collection(GROUPS)
    for i, raw in enumerate(raws):
        path = f"$.contact_groups[{i}]"
        group = Group(raw["id"], raw["account_id"], raw["name"], parse_time(raw["created"], f"{path}.created"))
        staging.account(group.account_id, f"{path}.account_id", "seven")
        staging.add(groups, str(group.id), group, f"{path}.id")


# -- lookups --------------------------------------------------------------------------------------------
def lookup_to_resource(lookup: Lookup) -> dict[str, Any]:
    return {
        "id": lookup.id, "account_id": lookup.account_id, "type": lookup.type, "number": lookup.number,
        "price": lookup.price, "created": time_text(lookup.created),
    }


def _take_lookups(engine: Any) -> list[dict[str, Any]]:
    return [lookup_to_resource(lookup) for lookup in sorted_records(engine.store.collection(LOOKUPS), lambda l: l.id)]


def _stage_lookups(raws: list[dict[str, Any]], staging: Staging) -> None:
    lookups = staging.store.collection(LOOKUPS)
    for i, raw in enumerate(raws):
        path = f"$.lookups[{i}]"
        lookup = Lookup(raw["id"], raw["account_id"], raw["type"], raw["number"], raw["price"], parse_time(raw["created"], f"{path}.created"))
        staging.account(lookup.account_id, f"{path}.account_id", "seven")
        staging.add(lookups, lookup.id, lookup, f"{path}.id")


# -- caller ids -----------------------------------------------------------------------------------------
def caller_id_to_resource(record: CallerId) -> dict[str, Any]:
    return {
        "account_id": record.account_id, "number": record.number, "formatted": record.formatted, "code": record.code,
        "created": time_text(record.created), "callback": record.callback, "id": record.id,
        "validated": optional_time_text(record.validated),
    }


def _take_caller_ids(engine: Any) -> list[dict[str, Any]]:
    return [caller_id_to_resource(record) for record in sorted_records(engine.store.collection(CALLER_IDS), lambda r: r.key)]


def _stage_caller_ids(raws: list[dict[str, Any]], staging: Staging) -> None:
    records = staging.store.collection(CALLER_IDS)
    for i, raw in enumerate(raws):
        path = f"$.caller_ids[{i}]"
        staging.account(raw["account_id"], f"{path}.account_id", "seven")
        record = CallerId(
            key=f"{raw['account_id']}:{raw['number']}",
            account_id=raw["account_id"],
            number=raw["number"],
            formatted=raw["formatted"],
            code=raw["code"],
            created=parse_time(raw["created"], f"{path}.created"),
            callback=raw["callback"],
            id=raw["id"],
            validated=parse_optional_time(raw["validated"], f"{path}.validated"),
        )
        staging.add(records, record.key, record, f"{path}.number")


def _resume_caller_ids(engine: Any, staged: None) -> None:
    """Validations still waiting for the code are completed when their call would have ended."""
    clock = engine.clock
    for record in list(engine.store.collection(CALLER_IDS)):
        if record.validated is None:
            elapsed = max(0, clock.now() - record.created) * clock.time_scale / MICROS
            clock.schedule(max(0.0, ANSWER_SECONDS - elapsed), partial(_complete, engine, record.key, record))


SECTIONS = [
    register_section(Section("access_tokens", _take_tokens, _stage_tokens, collection=TOKENS)),
    register_section(Section("contacts", _take_contacts, _stage_contacts, collection=CONTACTS)),
    register_section(Section("contact_groups", _take_groups, _stage_groups, collection=GROUPS)),
    register_section(Section("lookups", _take_lookups, _stage_lookups, collection=LOOKUPS)),
    register_section(Section("caller_ids", _take_caller_ids, _stage_caller_ids, _resume_caller_ids, collection=CALLER_IDS)),
]

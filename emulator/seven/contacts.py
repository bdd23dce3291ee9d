"""seven.io contacts: `GET/POST /api/contacts`, `GET/PATCH/DELETE /api/contacts/{id}`; a `GET` or
`POST /api/contacts` with `action` is the legacy contacts API (`legacy_contacts`).

Contacts are written as flat form (or JSON) fields, `firstname` ... `notes`, `avatar` and
`groups` (repeated `groups`, `groups[]`, `groups[0]`, a JSON array or a comma list), and answered
as seven's Contact object. An empty value clears a property; a field left out keeps its value.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidNumber, InvalidParameter, NotFound
from ..core.phone import parse_loose
from .addressbook import PROPERTY_NAMES, Contact, contacts, contacts_of, find_contact, find_group
from .context import RequestContext, begin
from .paging import paged, whole_number, window
from .render import LEGACY_STYLE, answer_in, json_response, moment
from .validate import text

__all__ = ["contact_json", "list_contacts", "create_contact", "get_contact", "update_contact", "delete_contact", "ROUTES"]

FIRST_CONTACT_ID = 100_001
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_PROPERTY_LENGTH = 255
MAX_NOTES_LENGTH = 2000

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_CHARACTERS = re.compile(r"\+?[0-9 ()./\-]{3,32}")
# Colours of the initials badge: chosen by the contact's name, so the same name always gets the same one.
_COLOURS = (
    "#E53935", "#D81B60", "#8E24AA", "#5E35B1", "#3949AB", "#1E88E5",
    "#00897B", "#43A047", "#7CB342", "#FB8C00", "#F4511E", "#6D4C41",
)
_ORDER_KEYS = ("id", "created", "fullname") + PROPERTY_NAMES


def _initials(contact: Contact) -> dict[str, str]:
    names = [contact.properties.get("firstname"), contact.properties.get("lastname")]
    letters = "".join(name.strip()[0] for name in names if name and name.strip()).upper()
    if not letters and contact.properties.get("email"):
        letters = contact.properties["email"][0].upper()
    key = (contact.fullname or contact.properties.get("email") or str(contact.id)).casefold()
    colour = _COLOURS[int(hashlib.md5(key.encode()).hexdigest(), 16) % len(_COLOURS)]
    return {"initials": letters, "color": colour}


def contact_json(contact: Contact) -> dict[str, Any]:
    properties: dict[str, Any] = {name: contact.properties.get(name) for name in PROPERTY_NAMES}
    properties["fullname"] = contact.fullname
    return {
        "id": contact.id,
        "avatar": contact.avatar,
        "validation": {
            "state": contact.validation_state,
            "timestamp": moment(contact.validated_at, fraction=0) if contact.validated_at is not None else None,
        },
        "initials": _initials(contact),
        "properties": properties,
        "groups": list(contact.groups),
        "created": moment(contact.created, fraction=0),
    }


def _property(params: dict[str, Any], name: str) -> str | None:
    raw = params.get(name)
    if isinstance(raw, list) or isinstance(raw, dict):
        raise InvalidParameter(name, raw, "expected text")
    value = (text(params, name) or "").strip()
    if not value:
        return None
    limit = MAX_NOTES_LENGTH if name == "notes" else MAX_PROPERTY_LENGTH
    if len(value) > limit:
        raise InvalidParameter(name, value, f"at most {limit} characters")
    if name in ("mobile_number", "home_number") and not _PHONE_CHARACTERS.fullmatch(value):
        raise InvalidParameter(name, value, "expected a phone number")
    if name == "email" and not _EMAIL.fullmatch(value):
        raise InvalidParameter(name, value, "expected an e-mail address")
    if name == "birthday":
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise InvalidParameter(name, value, "expected a date YYYY-MM-DD") from None
    return value


def _avatar(params: dict[str, Any]) -> str:
    if isinstance(params.get("avatar"), (list, dict)):
        raise InvalidParameter("avatar", params["avatar"], "expected a URL")
    value = (text(params, "avatar") or "").strip()
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidParameter("avatar", value, "expected an http or https URL")
    return value


def _group_values(params: dict[str, Any]) -> list[Any] | None:
    """The raw values of `groups` in any of its spellings, or None when it was not sent. The
    official JS client writes an unset `groups` as the text `undefined`: that is not sent."""
    values: list[Any] = []
    present = False
    for key, value in params.items():
        if key == "groups" or key == "groups[]" or (key.startswith("groups[") and key.endswith("]")):
            given = [item for item in (value if isinstance(value, list) else [value]) if item != "undefined"]
            present = present or bool(given) or value == []
            values.extend(given)
    return values if present else None


def _groups(engine: Engine, account_id: str, params: dict[str, Any]) -> list[int] | None:
    values = _group_values(params)
    if values is None:
        return None
    ids: list[int] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidParameter("groups", value, "expected group ids")
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            group = find_group(engine.store, account_id, part)
            if group is None:
                raise InvalidParameter("groups", part, f"no group with id {part}")
            if group.id not in ids:
                ids.append(group.id)
    return ids


def _validation(engine: Engine, contact: Contact) -> None:
    number = contact.properties.get("mobile_number")
    if not number:
        contact.validation_state, contact.validated_at = None, None
        return
    try:
        parsed = phonenumbers.parse(parse_loose(number, "mobile_number").e164, None)
        valid = phonenumbers.is_valid_number(parsed)
    except (InvalidNumber, phonenumbers.NumberParseException):
        valid = False
    contact.validation_state = "valid" if valid else "invalid"
    contact.validated_at = engine.clock.now()


def _changes(engine: Engine, account_id: str, params: dict[str, Any]) -> tuple[dict[str, str | None], str | None, list[int] | None]:
    """Every property, avatar and group change the request asks for, all checked first. A JSON
    body may also nest the properties in a `properties` object, as seven.io answers them."""
    nested = params.get("properties")
    if nested is not None:
        if not isinstance(nested, dict):
            raise InvalidParameter("properties", nested, "expected an object")
        params = {**{k: v for k, v in nested.items() if k in PROPERTY_NAMES}, **params}
    properties = {name: _property(params, name) for name in PROPERTY_NAMES if name in params}
    avatar = _avatar(params) if "avatar" in params else None
    return properties, avatar, _groups(engine, account_id, params)


def _apply(engine: Engine, contact: Contact, changes: tuple[dict[str, str | None], str | None, list[int] | None]) -> None:
    properties, avatar, group_ids = changes
    number_before = contact.properties.get("mobile_number")
    contact.properties.update(properties)
    if avatar is not None:
        contact.avatar = avatar
    if group_ids is not None:
        contact.groups = group_ids
    if contact.properties.get("mobile_number") != number_before:
        _validation(engine, contact)


def _contact(request: Request, engine: Engine, account_id: str) -> Contact:
    raw = request.path_params["id"]
    contact = find_contact(engine.store, account_id, raw)
    if contact is None:
        raise NotFound("contact", raw)
    return contact


def _ordered(found: list[Contact], order_by: str, descending: bool) -> list[Contact]:
    """Sorted by `order_by`; contacts without a value for it come last either way."""
    if order_by in ("id", "created"):  # ids grow with creation
        return sorted(found, key=lambda c: c.id, reverse=descending)

    def value(contact: Contact) -> str:
        written = contact.fullname if order_by == "fullname" else contact.properties.get(order_by)
        return (written or "").casefold()

    with_value = sorted((c for c in found if value(c)), key=lambda c: (value(c), c.id), reverse=descending)
    return with_value + [c for c in found if not value(c)]


async def list_contacts(request: Request) -> Response:
    ctx = await begin(request)
    if "action" in ctx.params:
        return _legacy(request, ctx)
    params = ctx.params
    limit, offset = window(params, DEFAULT_LIMIT, MAX_LIMIT)
    group_id = whole_number(params, "group_id", 0, 0) or None
    search = (text(params, "search") or "").strip().casefold()
    order_by = (text(params, "order_by") or "").strip() or "id"
    if order_by not in _ORDER_KEYS:
        raise InvalidParameter("order_by", order_by, f"expected one of {', '.join(_ORDER_KEYS)}")
    direction = (text(params, "order_direction") or "").strip().lower() or "asc"
    if direction not in ("asc", "desc"):
        raise InvalidParameter("order_direction", direction, "expected asc or desc")
    found = contacts_of(ctx.engine.store, ctx.account.id)
    if group_id is not None:
        found = [c for c in found if group_id in c.groups]
    if search:
        found = [c for c in found if any(search in value.casefold() for value in _searchable(c))]
    page, metadata = paged(_ordered(found, order_by, direction == "desc"), limit, offset)
    return json_response({"data": [contact_json(c) for c in page], "pagingMetadata": metadata})


def _searchable(contact: Contact) -> list[str]:
    values = [value for value in contact.properties.values() if value]
    return values + [contact.fullname] if contact.fullname else values


async def create_contact(request: Request) -> Response:
    ctx = await begin(request)
    engine = ctx.engine
    if "action" in ctx.params:  # a legacy call (action=read|write|del), never a new contact
        return _legacy(request, ctx)
    changes = _changes(engine, ctx.account.id, ctx.params)
    contact = Contact(
        id=engine.ids.sequence("seven.contact", FIRST_CONTACT_ID),
        account_id=ctx.account.id,
        created=engine.clock.stamp(),
        properties={name: None for name in PROPERTY_NAMES},
    )
    _apply(engine, contact, changes)
    contacts(engine.store).add(str(contact.id), contact.account_id, contact.created, contact)
    return json_response(contact_json(contact))


def _legacy(request: Request, ctx: RequestContext) -> Response:
    from .legacy_contacts import legacy_action  # that module builds on this one

    answer_in(request.scope, LEGACY_STYLE)
    return legacy_action(ctx)


async def get_contact(request: Request) -> Response:
    ctx = await begin(request)
    return json_response(contact_json(_contact(request, ctx.engine, ctx.account.id)))


async def update_contact(request: Request) -> Response:
    ctx = await begin(request)
    contact = _contact(request, ctx.engine, ctx.account.id)
    changes = _changes(ctx.engine, ctx.account.id, ctx.params)
    _apply(ctx.engine, contact, changes)
    return json_response(contact_json(contact))


async def delete_contact(request: Request) -> Response:
    ctx = await begin(request)
    contact = _contact(request, ctx.engine, ctx.account.id)
    contacts(ctx.engine.store).remove(str(contact.id))
    return json_response({"success": True})


ROUTES = [
    Route("/contacts", list_contacts, methods=["GET"]),
    Route("/contacts", create_contact, methods=["POST"]),
    Route("/contacts/{id}", get_contact, methods=["GET"]),
    Route("/contacts/{id}", update_contact, methods=["PATCH"]),
    Route("/contacts/{id}", delete_contact, methods=["DELETE"]),
]

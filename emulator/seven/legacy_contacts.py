"""seven.io's legacy contacts API: `GET` or `POST /api/contacts?action=read|write|del`, on the same
address book as the REST contacts (`addressbook`).

- `read` (optionally `id`): one line per contact, `"id";"nick";"number"` (`;`-separated, every
  field quoted); with JSON asked for (`json=1` or `Accept: application/json`) an array of
  `{"ID", "Name", "Number"}`.
- `write`: a new contact, or with `id` a change to one; `nick` is the name (kept as `firstname`,
  so `fullname`, search and `to=<nick>` find it), `empfaenger` the mobile number, `email`.
  Answers `152` and the id on a second line, or `{"return": "152", "id": <id>}`.
- `del` with `id`: answers `152`, or `{"return": "152"}`.

A refused action (an unknown id, a number or e-mail address the REST API would refuse too) answers
the old error code `151` (`{"return": "151"}` in JSON) with the 4xx status the emulator gives the
same refusal elsewhere, and changes nothing: the request declares `LEGACY_STYLE` and
`render.error_response` builds that answer.
"""

from __future__ import annotations

import csv
import io

from starlette.responses import Response

from ..core.errors import InvalidParameter, MissingParameter, NotFound
from .addressbook import PROPERTY_NAMES, Contact, contacts, contacts_of, find_contact
from .contacts import FIRST_CONTACT_ID, _apply, _changes
from .context import RequestContext
from .render import json_response, text_response
from .validate import text

__all__ = ["ACTIONS", "SUCCESS", "legacy_action"]

ACTIONS = ("read", "write", "del")
SUCCESS = "152"  # a refusal answers render.LEGACY_FAILURE, 151
# Legacy field -> REST contact property.
_FIELDS = {"nick": "firstname", "empfaenger": "mobile_number", "email": "email"}


def _row(contact: Contact) -> tuple[str, str, str]:
    return str(contact.id), contact.fullname or "", contact.properties.get("mobile_number") or ""


def _read(ctx: RequestContext) -> Response:
    raw_id = text(ctx.params, "id")
    if raw_id is not None and raw_id.strip():
        contact = find_contact(ctx.engine.store, ctx.account.id, raw_id)
        if contact is None:
            raise NotFound("contact", raw_id)
        found = [contact]
    else:
        found = contacts_of(ctx.engine.store, ctx.account.id)
    rows = [_row(contact) for contact in found]
    if ctx.as_json:
        return json_response([{"ID": id_, "Name": name, "Number": number} for id_, name, number in rows])
    out = io.StringIO()
    csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return text_response(out.getvalue().rstrip("\n"))


def _write(ctx: RequestContext) -> Response:
    engine, account_id = ctx.engine, ctx.account.id
    raw_id = text(ctx.params, "id")
    contact = None
    if raw_id is not None and raw_id.strip() not in ("", "0"):
        contact = find_contact(engine.store, account_id, raw_id)
        if contact is None:
            raise NotFound("contact", raw_id)
    fields = {_FIELDS[name]: value for name, value in ctx.params.items() if name in _FIELDS}
    if "nick" in ctx.params:
        fields["lastname"] = None  # the nick is the whole name
    changes = _changes(engine, account_id, fields)  # checked whole before anything changes
    if contact is None:
        contact = Contact(
            id=engine.ids.sequence("seven.contact", FIRST_CONTACT_ID),
            account_id=account_id,
            created=engine.clock.stamp(),
            properties={name: None for name in PROPERTY_NAMES},
        )
        _apply(engine, contact, changes)
        contacts(engine.store).add(str(contact.id), account_id, contact.created, contact)
    else:
        _apply(engine, contact, changes)
    if ctx.as_json:
        return json_response({"return": SUCCESS, "id": contact.id})
    return text_response(f"{SUCCESS}\n{contact.id}")


def _delete(ctx: RequestContext) -> Response:
    raw_id = text(ctx.params, "id")
    if raw_id is None or not raw_id.strip():
        raise MissingParameter("id")
    contact = find_contact(ctx.engine.store, ctx.account.id, raw_id)
    if contact is None:
        raise NotFound("contact", raw_id)
    contacts(ctx.engine.store).remove(str(contact.id))
    return json_response({"return": SUCCESS}) if ctx.as_json else text_response(SUCCESS)


def legacy_action(ctx: RequestContext) -> Response:
    """Answer a request to `/contacts` that carries `action`."""
    action = (text(ctx.params, "action") or "").strip().lower()
    handler = {"read": _read, "write": _write, "del": _delete}.get(action)
    if handler is None:
        raise InvalidParameter("action", action, "expected read, write or del")
    return handler(ctx)

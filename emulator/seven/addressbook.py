"""seven.io address book: the contact and group records an account keeps, kept in the store's
`seven.contacts` and `seven.groups` collections, and how recipient names resolve through them.

A `to` item of `/api/sms` (and later `/api/voice`) that is not a phone number is read as a name:
every group of the account with that name (its members' mobile numbers) and every contact whose
full name ("firstname lastname") is that name. Names compare case-insensitively with runs of
white space folded to one space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.errors import InvalidNumber
from ..core.models import Account
from ..core.phone import ParsedNumber, parse_loose
from ..core.store import Collection, Store
from .validate import recipients

__all__ = [
    "Contact",
    "Group",
    "PROPERTY_NAMES",
    "contacts",
    "groups",
    "contacts_of",
    "groups_of",
    "find_contact",
    "find_group",
    "name_key",
    "numbers_named",
    "recipients_for",
]

CONTACTS = "seven.contacts"
GROUPS = "seven.groups"

# The contact properties seven.io documents, in the order it lists them; `fullname` is derived.
PROPERTY_NAMES = (
    "firstname", "lastname", "mobile_number", "home_number", "email",
    "address", "postal_code", "city", "birthday", "notes",
)


@dataclass(slots=True)
class Contact:
    id: int
    account_id: str
    created: int
    properties: dict[str, str | None] = field(default_factory=dict)
    avatar: str = ""
    groups: list[int] = field(default_factory=list)
    validation_state: str | None = None  # valid, invalid (absent, unknown are never produced)
    validated_at: int | None = None

    @property
    def fullname(self) -> str | None:
        parts = [self.properties.get("firstname"), self.properties.get("lastname")]
        joined = " ".join(part.strip() for part in parts if part and part.strip())
        return joined or None


@dataclass(slots=True)
class Group:
    id: int
    account_id: str
    name: str
    created: int


def contacts(store: Store) -> Collection[Contact]:
    return store.collection(CONTACTS)


def groups(store: Store) -> Collection[Group]:
    return store.collection(GROUPS)


def contacts_of(store: Store, account_id: str) -> list[Contact]:
    """The account's contacts, oldest first."""
    return list(reversed(contacts(store).page(account_id, limit=len(contacts(store)) + 1).items))


def groups_of(store: Store, account_id: str) -> list[Group]:
    """The account's groups, oldest first."""
    return list(reversed(groups(store).page(account_id, limit=len(groups(store)) + 1).items))


def _find(collection: Collection, account_id: str, raw: Any) -> Any:
    key = str(raw).strip()
    if not (key.isascii() and key.isdigit()) or len(key) > 19:  # no such id; int() refuses thousands of digits
        return None
    found = collection.get(str(int(key)))
    return found if found is not None and found.account_id == account_id else None


def find_contact(store: Store, account_id: str, raw: Any) -> Contact | None:
    return _find(contacts(store), account_id, raw)


def find_group(store: Store, account_id: str, raw: Any) -> Group | None:
    return _find(groups(store), account_id, raw)


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def numbers_named(store: Store, account_id: str, name: str) -> list[str] | None:
    """Mobile numbers (as written in the contacts) that `name` stands for, or None if no group
    or contact of the account has that name. Groups expand to their members, in member order."""
    key = name_key(name)
    if not key:
        return None
    group_ids = {g.id for g in groups_of(store, account_id) if name_key(g.name) == key}
    matched = False
    numbers: list[str] = []
    for contact in contacts_of(store, account_id):
        named = contact.fullname is not None and name_key(contact.fullname) == key
        if named or group_ids.intersection(contact.groups):
            matched = True
            if contact.properties.get("mobile_number"):
                numbers.append(contact.properties["mobile_number"])
    return numbers if matched or group_ids else None


def _name_resolver(store: Store, account_id: str) -> Callable[[str], list[ParsedNumber] | None]:
    def resolve(name: str) -> list[ParsedNumber] | None:
        written = numbers_named(store, account_id, name)
        if written is None:
            return None
        parsed = []
        for number in written:  # a member whose number cannot be used is skipped
            try:
                parsed.append(parse_loose(number))
            except InvalidNumber:
                continue
        return parsed or None

    return resolve


def recipients_for(params: dict[str, Any], store: Store, account: Account, field: str = "to",
                   rejected: list[tuple[int, str, InvalidNumber]] | None = None) -> list[ParsedNumber]:
    """The recipients of a send request: phone numbers, contact names and group names of the
    account. An item that is neither refuses the request (seven's return code 202), or with
    `rejected` is noted there (see `validate.recipients`)."""
    return recipients(params, field, names=_name_resolver(store, account.id), rejected=rejected)

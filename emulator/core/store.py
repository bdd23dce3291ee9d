"""In-memory state: accounts, credentials, numbers, messages, hooks and webhook deliveries.

Every record list is kept in creation order per owner (an append-only index of
`(created, id)`), so a page newest-first is a binary search plus a short walk, whatever the size
of the store. `created` stamps come from `Clock.stamp()` and are unique, which makes the order
total even under a virtual clock where many records are made in the same instant.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from operator import attrgetter
from typing import Callable, Generic, Iterator, Mapping, Sequence, TypeVar

from .field_index import FieldIndex
from .models import Account, Delivery, Hook, Message, Number

__all__ = ["Collection", "Page", "Store", "SANDBOX"]

SANDBOX = "sandbox"  # the account attribute naming the sandbox an account belongs to (emulator/world/sandboxes.py)

T = TypeVar("T")
# Dead entries `_all` may hold beyond half its length before they are dropped (see `Collection`).
DEAD_SLACK = 1024


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool
    resume: int | None = None  # with has_more: the `before` that continues after this page


class Collection(Generic[T]):
    """Records by id, with a creation-ordered index per owner and one over all owners; with
    `kind_of`, also one per owner and kind (messages: per direction); with `fields`, one per
    value of each named field (see FieldIndex; a field that changes is changed through `update`).

    Removing a record leaves its index entries (pages skip ids that are gone); until the first
    removal every entry is live, and a page without a filter can skip an `offset` by position.
    Removing an owner marks its entries in the index of every record dead (the same tuples), so
    that a record added again under the same id (a sandbox's reset adds its fixture records back)
    is shown once; the index drops its dead entries in one pass once they are half of it, so
    what it keeps follows the live records, however many resets come and go.
    """

    def __init__(self, kind_of: Callable[[T], str] | None = None, fields: Mapping[str, Callable[[T], str]] | None = None) -> None:
        self.by_id: dict[str, T] = {}
        self._by_owner: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self._all: list[tuple[int, str]] = []
        self._kind_of = kind_of
        self._by_kind: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._kinds: set[str] = set()  # every kind seen (a few: messages are inbound or outbound)
        self._all_live = True  # no record removed yet
        self._dead: dict[int, tuple[int, str]] = {}  # entries of `_all` whose owner was removed, by identity
        self._fields = {name: FieldIndex(value_of) for name, value_of in (fields or {}).items()}

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[T]:
        return iter(self.by_id.values())

    def add(self, key: str, owner: str, created: int, item: T) -> T:
        self.by_id[key] = item
        entry = (created, key)  # one tuple in every index
        self._insert(self._by_owner[owner], entry)
        self._insert(self._all, entry)
        if self._kind_of is not None:
            kind = self._kind_of(item)
            found = self._by_kind.get((owner, kind))
            if found is None:
                found = self._by_kind[(owner, kind)] = []
                self._kinds.add(kind)
            self._insert(found, entry)
        for index in self._fields.values():
            index.add(entry, item)
        return item

    def update(self, key: str, created: int, item: T, name: str, value: str) -> None:
        """Set `item.<name>` (an indexed field, or any other attribute) to `value`, keeping the
        field's index in step."""
        old = getattr(item, name)
        setattr(item, name, value)
        index = self._fields.get(name)
        if index is not None and old != value and self.by_id.get(key) is item:
            index.moved((created, key), old, value, self.by_id)

    @staticmethod
    def _insert(index: list[tuple[int, str]], entry: tuple[int, str]) -> None:
        if not index or index[-1] <= entry:
            index.append(entry)
        else:  # records loaded from fixtures may arrive out of order
            index.insert(bisect_left(index, entry), entry)

    def _shortest_posting(self, matching: Mapping[str, str]) -> list[tuple[int, str]] | None:
        shortest = None
        for name, value in matching.items():
            entries = self._fields[name].entries(value)
            if shortest is None or len(entries) < len(shortest):
                shortest = entries
        return shortest

    def _merged_page(self, sources: list[list[tuple[int, str]]], before: int | None, after: int | None, limit: int,
                     where: Callable[[T], bool] | None, offset: int) -> Page[T]:
        """`page` over several creation-ordered indexes at once, newest first."""
        streams = []
        for index in sources:
            position = len(index) if before is None else bisect_left(index, (before, ""))
            if position:
                streams.append(map(index.__getitem__, range(position - 1, -1, -1)))
        items: list[T] = []
        last = None
        for created, key in heapq.merge(*streams, reverse=True):
            if after is not None and created <= after:
                break
            item = self.by_id.get(key)
            if item is None or (where is not None and not where(item)):
                continue
            if offset:
                offset -= 1
                continue
            if len(items) == limit:
                return Page(items, True, last)
            items.append(item)
            last = created
        return Page(items, False)

    def get(self, key: str) -> T | None:
        return self.by_id.get(key)

    def remove(self, key: str) -> T | None:
        # The indexes keep the stale entry; pages skip ids that are gone.
        self._all_live = False
        item = self.by_id.pop(key, None)
        if item is not None:
            for index in self._fields.values():
                index.dropped(item, self.by_id)
        return item

    def of_owner(self, owner: str) -> list[T]:
        """The records of `owner`, oldest first, read through its own index (not every record's)."""
        by_id = self.by_id
        return [item for _, key in self._by_owner.get(owner, ()) if (item := by_id.get(key)) is not None]

    def owns_any(self, owner: str) -> bool:
        """Whether `owner` may have records (a cheap test before a `page`; removed records can
        leave it true)."""
        return bool(self._by_owner.get(owner))

    def remove_owner(self, owner: str) -> list[T]:
        """Forget every record of `owner`; returns them."""
        owned = self._by_owner.pop(owner, None)
        if owned is None:  # never had one (an owner's kinds are listed only beside its records)
            return []
        self._all_live = False
        for kind in self._kinds:  # not every owner's pairs: a sandbox's reset costs the same however many there are
            self._by_kind.pop((owner, kind), None)
        removed = [item for _, key in owned if (item := self.by_id.pop(key, None)) is not None]
        for index in self._fields.values():
            for item in removed:
                index.dropped(item, self.by_id)
        dead = self._dead
        for entry in owned:
            dead[id(entry)] = entry
        if len(dead) > len(self._all) // 2 + DEAD_SLACK:
            self._drop_dead()
        return removed

    def _drop_dead(self) -> None:
        """`_all` without its dead entries and without entries of records gone one by one."""
        dead, live = self._dead, self.by_id
        self._all = [entry for entry in self._all if id(entry) not in dead and entry[1] in live]
        dead.clear()

    def indexed(self, name: str) -> bool:
        return name in self._fields

    def page(
        self,
        owner: str | None = None,
        *,
        kind: str | None = None,
        before: int | None = None,
        after: int | None = None,
        limit: int = 100,
        where: Callable[[T], bool] | None = None,
        offset: int = 0,
        scan: int | None = None,
        matching: Mapping[str, str] | None = None,
        owners: Sequence[str] | None = None,
    ) -> Page[T]:
        """Newest first; `before`/`after` are exclusive bounds on `created`; `kind` (with an
        owner or `owners`, in a collection made with `kind_of`) reads only that kind. The first
        `offset` matches are skipped: by position when there is no filter and nothing was ever
        removed, else counted. With `scan`, at most that many records are looked at: a page can
        then end early, with `has_more` and where to resume.

        Narrowing, for filters that must cost what they find (`where` still checks every
        condition): `owners` reads only the records of those owners (their indexes merged
        newest first), `matching` names indexed fields and the value `where` requires of each;
        the page reads the shortest of what these allow."""
        if owners is not None:
            assert owner is None, "owner or owners, not both"
            sources = [found for one in owners if (found := self._by_kind.get((one, kind)) if kind is not None else self._by_owner.get(one))]
            posting = self._shortest_posting(matching) if matching else None
            if posting is not None and len(posting) <= sum(map(len, sources)):
                index = posting
            elif len(sources) > 1:
                return self._merged_page(sources, before, after, limit, where, offset)
            else:
                index = sources[0] if sources else []
        else:
            if kind is not None:
                assert owner is not None and self._kind_of is not None, "kind needs an owner and a collection with kind_of"
                index = self._by_kind.get((owner, kind), [])
            else:
                index = self._all if owner is None else self._by_owner.get(owner, [])
            posting = self._shortest_posting(matching) if matching else None
            if posting is not None and len(posting) < len(index):
                index = posting
        position = len(index) if before is None else bisect_left(index, (before, ""))
        if offset and where is None and self._all_live:
            position, offset = max(0, position - offset), 0
        stop = 0 if scan is None else max(0, position - max(1, scan))
        dead = self._dead if index is self._all and self._dead else None
        items: list[T] = []
        created = last = None
        while position > 0:
            if position == stop:
                return Page(items, True, created)
            position -= 1
            entry = index[position]
            created, key = entry
            if after is not None and created <= after:
                break
            item = self.by_id.get(key)
            if item is None or (dead is not None and id(entry) in dead) or (where is not None and not where(item)):
                continue
            if offset:
                offset -= 1
                continue
            if len(items) == limit:
                return Page(items, True, last)
            items.append(item)
            last = created
        return Page(items, False)


# The message fields the control API filters on, as the index keeps them (numbers without their
# "+": a filter matches with or without it).
# (A provider's or a direction's messages are read through the indexes per owner and per owner and
# direction, merged: see `Collection.page(owners=...)`.)
MESSAGE_FIELDS: dict[str, Callable[[Message], str]] = {
    "to": lambda message: message.recipient.lstrip("+"),
    "from": lambda message: message.sender.lstrip("+"),
    "status": attrgetter("status"),
}


class Store:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.credentials: dict[tuple[str, str], str] = {}  # (provider, login) -> account id: changed through add_login, forget_logins
        self._logins: dict[str, list[tuple[str, str]]] = {}  # account id -> its keys in `credentials`
        self.numbers = Collection[Number]()
        self.messages = Collection[Message](kind_of=lambda message: message.direction, fields=MESSAGE_FIELDS)
        self.hooks = Collection[Hook]()
        self.deliveries = Collection[Delivery]()
        self._named: dict[str, Collection] = {}
        self._every: list[tuple[str, Collection]] = [  # every collection with its name, for `account_state`
            ("numbers", self.numbers), ("messages", self.messages), ("hooks", self.hooks), ("deliveries", self.deliveries),
        ]

    def collection(self, name: str) -> Collection:
        """A collection for records one provider keeps (contacts, calls, images ...), created on
        first use; like every other collection it is emptied by a reset."""
        found = self._named.get(name)
        if found is None:
            found = self._named[name] = Collection()
            self._every.append((name, found))
        return found

    def add_account(self, account: Account, login: str) -> Account:
        """Add `account` with its first login. A subaccount joins its parent's sandbox (the
        `sandbox` attribute): what it sends is the sandbox's, and the sandbox's reset or deletion
        removes it."""
        parent = self.accounts.get(account.parent_id) if account.parent_id is not None else None
        if parent is not None and SANDBOX in parent.attributes:
            account.attributes.setdefault(SANDBOX, parent.attributes[SANDBOX])
        self.accounts[account.id] = account
        self.add_login(account.provider, login, account.id)
        return account

    def add_login(self, provider: str, login: str, account_id: str) -> None:
        key = (provider, login)
        previous = self.credentials.get(key)
        if previous == account_id:
            return
        if previous is not None:  # the login moves to another account
            self._logins[previous].remove(key)
        self.credentials[key] = account_id
        self._logins.setdefault(account_id, []).append(key)

    def forget_logins(self, account_id: str) -> None:
        """The account's logins stop working (without a look at anyone else's)."""
        for key in self._logins.pop(account_id, ()):
            del self.credentials[key]

    def all_collections(self) -> list[Collection]:
        return [collection for _, collection in self._every]

    def account_state(self, account_id: str) -> tuple:
        """Everything the store holds of one account, as a value that compares equal exactly when
        two states are the same: the account, its logins, and its records in each collection
        that has any (`{name: records oldest first}`). A sandbox's reset compares its accounts
        with this to find those a test changed."""
        owned = {name: records for name, collection in self._every
                 if collection.owns_any(account_id) and (records := collection.of_owner(account_id))}
        return self.accounts.get(account_id), tuple(self._logins.get(account_id, ())), owned

    def remove_account(self, account_id: str) -> list:
        """Forget an account, its logins and every record it owns; returns those records."""
        self.accounts.pop(account_id, None)
        self.forget_logins(account_id)
        return [item for collection in self.all_collections() for item in collection.remove_owner(account_id)]

    def account_for_login(self, provider: str, login: str) -> Account | None:
        account_id = self.credentials.get((provider, login))
        return self.accounts.get(account_id) if account_id else None

    def active_number(self, e164: str, provider: str | None = None) -> Number | None:
        """The active number `e164`, of either provider unless one is named."""
        for number in self.numbers:
            if number.number == e164 and number.active and (provider is None or number.provider == provider):
                return number
        return None

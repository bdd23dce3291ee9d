"""An index of one field of a collection's records: for each value, the `(created, key)` entries
of the records that have it, in creation order, so that a list filtered by that value reads only
its own records (newest first, from a cursor) instead of walking the whole collection.

A field that changes (a message's status) is moved lazily: the record's entry is added under its
new value and its old entry stays behind, stale, until there are enough of them to be worth
dropping (more than `STALE_SLACK` and as many as the live ones): a reader checks each record's
current value anyway, and the stale entries it may step over are never more than the matches it
can find (plus the slack). Dropping them walks the list, at most once per as many changes as the
list has live entries: about two entries looked at per change.
Records removed from the collection leave stale entries the same way.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable

__all__ = ["FieldIndex"]

STALE_SLACK = 16

Entry = tuple[int, str]


class FieldIndex:
    def __init__(self, value_of: Callable[[Any], str]) -> None:
        self.value_of = value_of
        self.lists: dict[str, list[Entry]] = {}
        self.stale: dict[str, int] = {}

    def entries(self, value: str) -> list[Entry]:
        return self.lists.get(value, [])

    def add(self, entry: Entry, item: Any) -> None:
        _insert(self.lists.setdefault(self.value_of(item), []), entry)

    def moved(self, entry: Entry, old: str, new: str, by_id: dict[str, Any]) -> None:
        """The record of `entry` now has `new` instead of `old`."""
        target = self.lists.get(new)
        if target is None:
            self.lists[new] = [entry]
        elif target[-1] < entry:  # the usual case: records change in about the order they were made
            target.append(entry)
        else:
            position = bisect_left(target, entry)
            if position < len(target) and target[position] == entry:  # back to a value it had: live again
                self.stale[new] = max(0, self.stale.get(new, 0) - 1)
            else:
                target.insert(position, entry)
        self._went_stale(old, by_id)

    def dropped(self, item: Any, by_id: dict[str, Any]) -> None:
        """The record `item` is no longer in the collection."""
        self._went_stale(self.value_of(item), by_id)

    def _went_stale(self, value: str, by_id: dict[str, Any]) -> None:
        entries = self.lists.get(value)
        if entries is None:
            return
        stale = self.stale.get(value, 0) + 1
        if 2 * stale > STALE_SLACK + len(entries):  # more stale entries than live ones, about
            value_of = self.value_of
            live = [entry for entry in entries if (item := by_id.get(entry[1])) is not None and value_of(item) == value]
            if live:
                self.lists[value] = live
            else:
                del self.lists[value]
            stale = 0
        self.stale[value] = stale


def _insert(index: list[Entry], entry: Entry) -> None:
    if not index or index[-1] <= entry:
        index.append(entry)
    else:  # records loaded from fixtures or a snapshot may arrive out of order
        index.insert(bisect_left(index, entry), entry)

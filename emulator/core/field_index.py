"""An index of one field of a collection's records: for each value, the `(created, key)` entries
of the records that have it, in creation order, so that a list filtered by that value reads only
its own records (newest first, from a cursor) instead of walking the whole collection.

A field that changes (a message's status) is moved lazily: the record's entry is added under its
new value and its old entry stays behind, stale, until there are enough of them to be worth
dropping: a reader checks each record's current value anyway, and the stale entries it may step
over are never more than the matches it can find (plus `STALE_SLACK`). Records removed from the
collection leave stale entries the same way.

Records mostly leave a value in the order they came to it (every message leaves `created`, then
`sent`, in the order it was sent), so the stale entries gather at the head of the list. A record
that leaves as the oldest entry of its value only moves the list's `head` past its entry: no
record is read (the records at the head were made a while ago and are no longer in the
processor's cache; reading each of them again was a tenth of the time the clock spent on status
changes). Once the dead head is an eighth of the list it is cut off in one piece. A record that
leaves out of order (or is removed) counts as stale instead; when those are an eighth of the
list, the run of stale entries at the head is found by reading its records and cut off, and only
when stale entries still outnumber live ones is the whole list walked and rebuilt, at most once
per as many changes as it has live entries. A value held by thousands of records at once (a busy
moment's `created`) is never rebuilt whole in one go, which held up every request in flight for a
millisecond or two every few thousand sends and put new lists of thousands of entries in the
collector's youngest generation.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable

__all__ = ["FieldIndex"]

STALE_SLACK = 16

Entry = tuple[int, str]


class _Postings:
    """The entries of one value: the first `head` are known to be stale (their records left in
    order), and `stale` more among the others (left out of order, or removed)."""

    __slots__ = ("entries", "head", "stale")

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.head = 0
        self.stale = 0

    def cut_head(self) -> None:
        """Drop the entries known to be stale at the head."""
        if self.head:
            del self.entries[:self.head]
            self.head = 0


class FieldIndex:
    def __init__(self, value_of: Callable[[Any], str]) -> None:
        self.value_of = value_of
        self.postings: dict[str, _Postings] = {}

    def entries(self, value: str) -> list[Entry]:
        found = self.postings.get(value)
        return found.entries if found is not None else []

    def add(self, entry: Entry, item: Any) -> None:
        value = self.value_of(item)
        found = self.postings.get(value)
        if found is None:
            self.postings[value] = _Postings([entry])
        else:
            _insert(found.entries, entry)

    def moved(self, entry: Entry, old: str, new: str, by_id: dict[str, Any]) -> None:
        """The record of `entry` now has `new` instead of `old`."""
        source = self.postings.get(old)
        in_order = source is not None and source.head < len(source.entries) and source.entries[source.head] == entry
        if in_order:  # the oldest left: no record to read
            entry = source.entries[source.head]  # the entry the collection made: the new value's list keeps it, not a copy
        target = self.postings.get(new)
        if target is None:
            self.postings[new] = _Postings([entry])
        elif target.entries[-1] < entry:  # the usual case: records change in about the order they were made
            target.entries.append(entry)
        else:
            target.cut_head()  # its entry may be among them: it must not be cut off later
            entries = target.entries
            position = bisect_left(entries, entry)
            if position < len(entries) and entries[position] == entry:  # back to a value it had: live again
                target.stale = max(0, target.stale - 1)
            else:
                entries.insert(position, entry)
        if not in_order:
            self._went_stale(old, by_id)
            return
        source.head += 1
        if source.head == len(source.entries):
            del self.postings[old]
        elif 8 * source.head > 8 * STALE_SLACK + len(source.entries):
            source.cut_head()

    def dropped(self, item: Any, by_id: dict[str, Any]) -> None:
        """The record `item` is no longer in the collection."""
        self._went_stale(self.value_of(item), by_id)

    def _went_stale(self, value: str, by_id: dict[str, Any]) -> None:
        found = self.postings.get(value)
        if found is None:
            return
        found.stale += 1
        if 8 * found.stale > 8 * STALE_SLACK + len(found.entries):
            self._trim(value, found, by_id)

    def _trim(self, value: str, found: _Postings, by_id: dict[str, Any]) -> None:
        """Cut off the stale entries at the head; walk the whole list only if stale entries
        still outnumber the live ones (plus the slack) after that."""
        found.cut_head()
        entries, value_of = found.entries, self.value_of
        head = 0
        for _, key in entries:
            item = by_id.get(key)
            if item is not None and value_of(item) == value:
                break
            head += 1
        if head:
            del entries[:head]
            found.stale = max(0, found.stale - head)
            if not entries:
                del self.postings[value]
                return
        if 2 * found.stale > STALE_SLACK + len(entries):  # more stale entries than live ones, about
            self._drop_stale(value, found, by_id)

    def _drop_stale(self, value: str, found: _Postings, by_id: dict[str, Any]) -> None:
        value_of = self.value_of
        live = [entry for entry in found.entries if (item := by_id.get(entry[1])) is not None and value_of(item) == value]
        if live:
            found.entries, found.head, found.stale = live, 0, 0
        else:
            del self.postings[value]


def _insert(index: list[Entry], entry: Entry) -> None:
    if not index or index[-1] <= entry:
        index.append(entry)
    else:  # records loaded from fixtures or a snapshot may arrive out of order
        index.insert(bisect_left(index, entry), entry)

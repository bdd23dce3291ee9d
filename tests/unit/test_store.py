"""Collections: newest-first pages, exclusive bounds, owners, removal, filters."""

from emulator.core.store import Collection


def filled(n: int, owner: str = "o") -> Collection[dict]:
    collection: Collection[dict] = Collection()
    for i in range(n):
        collection.add(f"id{i}", owner, 1000 + i, {"i": i, "created": 1000 + i})
    return collection


def test_page_is_newest_first_and_reports_more():
    collection = filled(5)
    page = collection.page("o", limit=2)
    assert [item["i"] for item in page.items] == [4, 3]
    assert page.has_more is True
    last = collection.page("o", limit=5)
    assert [item["i"] for item in last.items] == [4, 3, 2, 1, 0]
    assert last.has_more is False


def test_before_and_after_are_exclusive_and_walk_all_pages():
    collection = filled(7)
    seen, before = [], None
    while True:
        page = collection.page("o", before=before, limit=3)
        seen += [item["i"] for item in page.items]
        if not page.has_more:
            break
        before = page.items[-1]["created"]
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    assert [item["i"] for item in collection.page("o", after=1003).items] == [6, 5, 4]


def test_owners_are_separate_and_none_means_all():
    collection = filled(2, "a")
    collection.add("x", "b", 5000, {"i": 99, "created": 5000})
    assert [item["i"] for item in collection.page("b").items] == [99]
    assert [item["i"] for item in collection.page(None).items] == [99, 1, 0]
    assert collection.page("nobody").items == []


def test_removed_items_vanish_and_filters_apply():
    collection = filled(4)
    collection.remove("id2")
    assert collection.get("id2") is None
    assert [item["i"] for item in collection.page("o").items] == [3, 1, 0]
    odd = collection.page("o", where=lambda item: item["i"] % 2 == 1)
    assert [item["i"] for item in odd.items] == [3, 1]


def test_out_of_order_inserts_keep_order():
    collection: Collection[dict] = Collection()
    for created in (30, 10, 20):
        collection.add(str(created), "o", created, {"created": created})
    assert [item["created"] for item in collection.page("o").items] == [30, 20, 10]


def test_owns_any_is_false_only_for_owners_without_records():
    collection = filled(2, owner="a")
    assert collection.owns_any("a") and not collection.owns_any("b")
    collection.remove_owner("a")
    assert not collection.owns_any("a")


def test_offset_skips_matches_without_collecting_them():
    collection = filled(10)
    page = collection.page("o", limit=3, offset=4, where=lambda item: item["i"] % 2 == 0)
    assert [item["i"] for item in page.items] == [0]  # matches 8 6 4 2 skipped
    page = collection.page("o", limit=2, offset=1)
    assert [item["i"] for item in page.items] == [8, 7] and page.has_more and page.resume == 1007


def test_a_scan_budget_ends_a_page_early_with_where_to_resume():
    collection = filled(10)
    wanted = lambda item: item["i"] in (8, 1)  # noqa: E731
    first = collection.page("o", limit=5, where=wanted, scan=4)  # looks at 9 8 7 6
    assert [item["i"] for item in first.items] == [8]
    assert first.has_more and first.resume == 1006
    second = collection.page("o", before=first.resume, limit=5, where=wanted, scan=4)  # 5 4 3 2
    assert second.items == [] and second.has_more and second.resume == 1002
    third = collection.page("o", before=second.resume, limit=5, where=wanted, scan=4)  # 1 0
    assert [item["i"] for item in third.items] == [1] and not third.has_more


def test_a_full_page_resumes_after_its_last_item():
    collection = filled(10)
    page = collection.page("o", limit=2, where=lambda item: item["i"] % 3 == 0)  # 9 6 | 3 0
    assert [item["i"] for item in page.items] == [9, 6] and page.resume == 1006
    rest = collection.page("o", before=page.resume, limit=2, where=lambda item: item["i"] % 3 == 0)
    assert [item["i"] for item in rest.items] == [3, 0] and not rest.has_more


def kinded(n: int) -> Collection[dict]:
    collection: Collection[dict] = Collection(kind_of=lambda item: item["kind"])
    for i in range(n):
        collection.add(f"id{i}", "o", 1000 + i, {"i": i, "kind": "out" if i % 3 else "in"})
    return collection


def test_a_kind_reads_only_its_records_and_skips_an_offset_by_position():
    collection = kinded(12)
    outs = [i for i in reversed(range(12)) if i % 3]
    assert [item["i"] for item in collection.page("o", kind="out", limit=100).items] == outs
    page = collection.page("o", kind="out", limit=3, offset=4)
    assert [item["i"] for item in page.items] == outs[4:7] and page.has_more
    assert collection.page("o", kind="out", limit=3, offset=50).items == []
    assert [item["i"] for item in collection.page("o", kind="in").items] == [9, 6, 3, 0]


def test_after_a_removal_an_offset_is_counted_over_live_records():
    collection = kinded(12)
    collection.remove("id10")
    outs = [i for i in reversed(range(12)) if i % 3 and i != 10]
    page = collection.page("o", kind="out", limit=3, offset=2)
    assert [item["i"] for item in page.items] == outs[2:5]
    unfiltered = collection.page("o", limit=2, offset=1)
    assert [item["i"] for item in unfiltered.items] == [9, 8]


def test_an_offset_by_position_respects_the_after_bound():
    collection = filled(10)
    page = collection.page("o", after=1005, limit=5, offset=3)  # 9 8 7 skipped; 6 left above the bound
    assert [item["i"] for item in page.items] == [6] and not page.has_more
    assert collection.page("o", after=1005, limit=5, offset=6).items == []


# -- field indexes (issue 17, item 5): a filtered page costs what it finds -------------------

from dataclasses import dataclass  # noqa: E402

from emulator.core.field_index import STALE_SLACK  # noqa: E402


@dataclass
class Record:
    id: str
    owner: str
    created: int
    to: str
    status: str


def indexed(n: int, rare_every: int = 0) -> Collection[Record]:
    collection: Collection[Record] = Collection(fields={"to": lambda r: r.to, "status": lambda r: r.status})
    for i in range(n):
        to = "rare" if rare_every and i % rare_every == 0 else f"common{i % 50}"
        collection.add(f"id{i}", f"owner{i % 3}", 1000 + i, Record(f"id{i}", f"owner{i % 3}", 1000 + i, to, "created"))
    return collection


class Counting:
    """A `where` that counts the records a page looks at."""

    def __init__(self, test):
        self.test, self.calls = test, 0

    def __call__(self, item):
        self.calls += 1
        return self.test(item)


def test_an_indexed_filter_looks_only_at_its_matches():
    collection = indexed(20_000, rare_every=5_000)  # 4 matches among 20,000
    where = Counting(lambda r: r.to == "rare")
    page = collection.page(limit=100, where=where, matching={"to": "rare"})
    assert [r.id for r in page.items] == ["id15000", "id10000", "id5000", "id0"] and not page.has_more
    assert where.calls == 4
    where = Counting(lambda r: r.to == "rare")
    first = collection.page(limit=2, where=where, matching={"to": "rare"})
    rest = collection.page(limit=2, before=first.resume, where=where, matching={"to": "rare"})
    assert [r.id for r in first.items + rest.items] == ["id15000", "id10000", "id5000", "id0"]
    assert where.calls <= 4 + 1  # one look past the first page to know there is more


def test_the_shortest_index_is_read_with_an_owner():
    collection = indexed(9_000, rare_every=3_000)  # matches id0, id3000, id6000: all of owner0
    where = Counting(lambda r: r.to == "rare" and r.owner == "owner0")
    page = collection.page("owner0", limit=10, where=where, matching={"to": "rare"})
    assert len(page.items) == 3 and where.calls == 3


def test_a_changed_field_moves_between_values_and_stale_entries_stay_few():
    collection = indexed(10_000)
    for status in ("sent", "delivered"):
        for i in range(10_000):
            record = collection.get(f"id{i}")
            collection.update(record.id, record.created, record, "status", status)
    collection.update("id77", 1077, collection.get("id77"), "status", "failed")
    for status, expected in (("created", []), ("sent", []), ("delivered", 9_999), ("failed", ["id77"])):
        where = Counting(lambda r, status=status: r.status == status)
        page = collection.page(limit=10_000, where=where, matching={"status": status})
        if isinstance(expected, int):
            assert len(page.items) == expected
        else:
            assert [r.id for r in page.items] == expected
        assert where.calls <= 2 * len(page.items) + STALE_SLACK + 1, (status, where.calls)  # stale entries: no more than the live ones


def test_a_value_a_record_comes_back_to_is_read_once():
    collection = indexed(3)
    record = collection.get("id1")
    for status in ("sent", "created", "sent"):
        collection.update(record.id, record.created, record, "status", status)
    assert [r.id for r in collection.page(where=lambda r: r.status == "sent", matching={"status": "sent"}).items] == ["id1"]
    assert [r.id for r in collection.page(where=lambda r: r.status == "created", matching={"status": "created"}).items] == ["id2", "id0"]


def test_removed_records_leave_the_field_indexes():
    collection = indexed(3_000, rare_every=1_000)
    collection.remove("id1000")
    removed = collection.remove_owner("owner0")  # id0 among them (id2000 is owner2's)
    assert any(r.id == "id0" for r in removed)
    where = Counting(lambda r: r.to == "rare")
    assert [r.id for r in collection.page(where=where, matching={"to": "rare"}).items] == ["id2000"]
    assert where.calls == 1


def test_owners_are_read_merged_newest_first_and_only_theirs():
    collection: Collection[Record] = Collection(kind_of=lambda r: r.to)
    for i in range(3_000):
        owner = f"owner{i % 30}"
        collection.add(f"id{i}", owner, 1000 + i, Record(f"id{i}", owner, 1000 + i, "in" if i % 1000 == 7 else "out", "created"))
    where = Counting(lambda r: r.owner in ("owner1", "owner2"))
    first = collection.page(owners=["owner1", "owner2"], limit=3, where=where)
    assert [r.id for r in first.items] == ["id2972", "id2971", "id2942"] and first.has_more
    rest = collection.page(owners=["owner1", "owner2"], limit=1000, before=first.resume, where=where)
    assert len(first.items) + len(rest.items) == 200 and not rest.has_more
    assert where.calls == 4 + 197  # one look past the first page, then each of the rest once
    by_kind = Counting(lambda r: r.to == "in")
    inbound = collection.page(owners=[f"owner{n}" for n in range(30)], kind="in", where=by_kind)
    assert [r.id for r in inbound.items] == ["id2007", "id1007", "id7"] and by_kind.calls == 3
    assert collection.page(owners=[], where=lambda r: True).items == []


def test_a_busy_value_sheds_its_stale_head_in_place_and_is_never_rebuilt_whole():
    """Records leave `created` in the order they came, thousands at once in it under load: the
    stale entries go from the head of its list in pieces, the list is never built anew (which
    held up requests for milliseconds), and it stays about as long as what is live in it."""
    collection: Collection[Record] = Collection(fields={"status": lambda r: r.status})
    index = collection._fields["status"]
    in_flight, longest, lists = 5_000, 0, set()
    for i in range(40_000):
        collection.add(f"id{i}", "owner", 1000 + i, Record(f"id{i}", "owner", 1000 + i, "to", "created"))
        if i >= in_flight:  # the oldest one moves on, as a lane fires them
            old = collection.get(f"id{i - in_flight}")
            collection.update(old.id, old.created, old, "status", "sent")
        entries = index.postings["created"].entries
        lists.add(id(entries))
        longest = max(longest, len(entries))
    assert len(lists) == 1  # trimmed in place, never rebuilt
    assert longest <= in_flight + in_flight // 7 + STALE_SLACK + 2
    page = collection.page(limit=10_000, where=lambda r: r.status == "created", matching={"status": "created"})
    assert len(page.items) == in_flight


class CountingReads(dict):
    """A collection's `by_id` that counts the records the index reads back."""

    reads = 0

    def get(self, key, default=None):
        self.reads += 1
        return super().get(key, default)


def test_records_that_leave_a_value_in_order_are_never_read_again():
    """The usual status change (the oldest `created` becomes `sent`) moves the list's head past
    its entry: the index reads no record to find out what is stale, and the list stays short."""
    collection: Collection[Record] = Collection(fields={"status": lambda r: r.status})
    collection.by_id = by_id = CountingReads()
    index = collection._fields["status"]
    in_flight, longest = 2_000, 0
    for i in range(20_000):
        collection.add(f"id{i}", "owner", 1000 + i, Record(f"id{i}", "owner", 1000 + i, "to", "created"))
        if i >= in_flight:
            old = collection.by_id[f"id{i - in_flight}"]
            collection.update(old.id, old.created, old, "status", "sent")
            longest = max(longest, len(index.postings["created"].entries))
    assert by_id.reads == 18_000  # the update's own look-up of each record, and nothing else
    assert longest <= in_flight + (in_flight + 8 * STALE_SLACK) // 7 + 1  # the dead head: at most an eighth of the list
    page = collection.page(limit=5_000, where=lambda r: r.status == "created", matching={"status": "created"})
    assert [r.id for r in page.items][:2] == ["id19999", "id19998"] and len(page.items) == in_flight


def test_a_record_back_to_a_value_it_left_in_order_stays_in_its_list():
    collection: Collection[Record] = Collection(fields={"status": lambda r: r.status})
    for i in range(3):
        collection.add(f"id{i}", "owner", 1000 + i, Record(f"id{i}", "owner", 1000 + i, "to", "sent"))
    first, second, third = (collection.get(f"id{i}") for i in range(3))
    collection.update(first.id, first.created, first, "status", "delivered")  # the oldest leaves: the head moves
    collection.update(first.id, first.created, first, "status", "sent")  # and comes back
    for record in (second, third):  # the others leave
        collection.update(record.id, record.created, record, "status", "delivered")
    sent = collection.page(where=lambda r: r.status == "sent", matching={"status": "sent"})
    assert [r.id for r in sent.items] == ["id0"]
    delivered = collection.page(where=lambda r: r.status == "delivered", matching={"status": "delivered"})
    assert [r.id for r in delivered.items] == ["id2", "id1"]


def test_removing_an_account_forgets_its_own_logins_without_reading_everyone_elses():
    from emulator.core.models import Account
    from emulator.core.store import Store

    class NoWalk(dict):
        def items(self):
            raise AssertionError("walked every login")

    store = Store()
    store.credentials = NoWalk()
    for n in range(100):
        store.add_account(Account(f"a{n}", "elks", f"name{n}", "SEK", 0, 0), f"user{n}")
    store.add_login("elks", f"{'a7'}", "a7")  # a second login (46elks: the account id)
    store.add_login("elks", "user8", "a9")  # a login that moves to another account
    store.remove_account("a7")
    store.remove_account("a9")
    assert store.account_for_login("elks", "user7") is None and store.account_for_login("elks", "a7") is None
    assert store.account_for_login("elks", "user8") is None  # it had moved to a9
    assert store.account_for_login("elks", "user9") is None
    assert store.account_for_login("elks", "user10").id == "a10" and len(store.credentials) == 97
    store.forget_logins("a10")
    assert store.account_for_login("elks", "user10") is None and store.accounts["a10"].id == "a10"


def test_a_record_moving_on_in_order_keeps_one_index_entry_for_all_its_values():
    """The entry the collection made at `add` is the one each status's list keeps: a status
    change keeps no tuple of its own alive (two per message sent, for as long as the message)."""
    collection: Collection[Record] = Collection(fields={"status": lambda r: r.status})
    for i in range(100):
        collection.add(f"id{i}", "owner", 1000 + i, Record(f"id{i}", "owner", 1000 + i, "to", "created"))
    for status in ("sent", "delivered"):
        for i in range(100):
            record = collection.get(f"id{i}")
            collection.update(record.id, record.created, record, "status", status)
    made = collection._all
    kept = collection._fields["status"].postings["delivered"].entries
    assert len(kept) == 100 and all(entry is original for entry, original in zip(kept, made))
    assert [r.id for r in collection.page(limit=3, where=lambda r: r.status == "delivered", matching={"status": "delivered"}).items] == ["id99", "id98", "id97"]


def test_an_owner_removed_and_added_again_many_times_leaves_one_entry_per_live_record():
    """A sandbox's reset removes its accounts' records and adds the same fixture records again
    (same ids, same time under a virtual clock): the collection keeps what is live, not every
    reset's leftovers, and a page over every owner shows each record once."""
    collection: Collection[dict] = Collection()
    collection.add("kept", "other", 500, {"i": -1})
    for reset in range(5000):
        collection.remove_owner("sandbox")
        for i in range(4):
            collection.add(f"number{i}", "sandbox", 1000, {"i": i, "reset": reset})
    page = collection.page(None, limit=100)
    assert [(item["i"], item.get("reset")) for item in page.items] == [(3, 4999), (2, 4999), (1, 4999), (0, 4999), (-1, None)]
    assert not page.has_more
    from emulator.core.store import DEAD_SLACK

    assert len(collection._all) <= 2 * len(collection) + 2 * DEAD_SLACK + 4  # noqa: SLF001 -- what is kept is the point

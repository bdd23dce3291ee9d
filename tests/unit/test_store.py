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

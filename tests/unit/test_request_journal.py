"""The request journal's ring: bounds in count and bytes, lookups by number, lazy rendering with
secrets masked."""

from __future__ import annotations

import gc

from emulator.core import request_journal as rj
from emulator.core.request_journal import RequestJournal, mask_headers, mask_params, request_params

HEADERS = [(b"authorization", b"Basic dGVzdDpwdw=="), (b"x-api-key", b"k3y"), (b"content-type", b"application/x-www-form-urlencoded")]


def add(journal: RequestJournal, body: bytes = b"a=1", answer: bytes = b"{}", reason: str | None = None, status: int = 200):
    return journal.add("elks", "POST", "/a1/SMS", b"", HEADERS, body, "acc", status, answer, "application/json", 1000, reason)


def test_the_ring_keeps_the_newest_within_its_count_and_bytes():
    journal = RequestJournal(lambda: 7, max_entries=3, max_bytes=10**9)
    for _ in range(5):
        add(journal)
    assert [entry[rj.SEQ] for entry in journal.newest_first()] == [5, 4, 3]
    assert journal.get(2) is None and journal.get(4)[rj.SEQ] == 4
    assert [entry[rj.SEQ] for entry in journal.newest_first(before=5)] == [4, 3]
    small = RequestJournal(lambda: 7, max_entries=1000, max_bytes=5000, max_body=1000)
    for _ in range(20):
        add(small, body=b"x" * 10_000, answer=b"y" * 10_000)
    assert small.size <= 5000 and len(small) == 2
    kept = small.get(20)
    assert len(kept[rj.BODY]) == 1000 and kept[rj.BODY_SIZE] == 10_000
    small.clear()
    assert len(small) == 0 and small.size == 0 and small.last_seq == 20


def test_secrets_are_masked_when_shown():
    assert mask_params({"password": "pw", "api_key": "k", "p": "legacy", "to": "+46", "nested": {"secret": "s"}}) == {
        "password": "***", "api_key": "***", "p": "***", "to": "+46", "nested": {"secret": "***"}}
    assert mask_headers(HEADERS) == {"authorization": "Basic ***", "x-api-key": "***", "content-type": "application/x-www-form-urlencoded"}
    journal = RequestJournal(lambda: 7)
    entry = add(journal, body=b"from=ElkCo&password=hunter2&to=%2B46700000123")
    params, note = request_params(entry)
    assert params == {"from": "ElkCo", "password": "***", "to": "+46700000123"} and note is None


def test_a_kept_entry_holds_nothing_the_garbage_collector_follows():
    journal = RequestJournal(lambda: 7)
    entry = add(journal, reason="from: refused")
    gc.collect()
    gc.collect()  # a tuple is let go once what it holds has been
    assert not gc.is_tracked(entry)


def test_refusals_are_told_to_listeners_and_answers_are_not():
    journal = RequestJournal(lambda: 7)
    told = []
    journal.listeners.append(told.append)
    add(journal)
    add(journal, status=403, reason="from: not a number of this account")
    assert [entry[rj.REASON] for entry in told] == ["from: not a number of this account"]


def _raw(body: bytes) -> bytes:
    return (b"POST /a1/SMS HTTP/1.1\r\nAuthorization:  Basic dGVzdDpwdw== \r\nX-Api-Key:k3y\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" + body)


def test_a_request_kept_as_it_came_reads_as_its_pairs_and_body():
    journal = RequestJournal(lambda: 7, max_body=100)
    body = b"from=ElkCo&password=hunter2"
    entry = journal.add("elks", "POST", "/a1/SMS", b"", HEADERS, body, "acc", 200, b"{}", "application/json", 1000, None, raw=_raw(body))
    assert type(entry[rj.HEADERS]) is bytes and entry[rj.BODY] is None  # one object instead of pairs and a body
    assert rj.headers_of(entry) == tuple(HEADERS) and rj.body_of(entry) == body
    assert request_params(entry) == ({"from": "ElkCo", "password": "***"}, None)
    empty = journal.add("elks", "POST", "/a1/SMS", b"", HEADERS, b"", "acc", 200, None, None, 1000, None, raw=_raw(b""))
    assert rj.body_of(empty) == b"" and rj.headers_of(empty) == tuple(HEADERS)


def test_a_request_is_kept_as_pairs_when_its_bytes_are_not_all_of_it_or_too_long():
    journal = RequestJournal(lambda: 7, max_body=100)
    cut = journal.add("elks", "POST", "/a1/SMS", b"", HEADERS, b"x" * 500, "acc", 200, None, None, 1, None, raw=_raw(b"x" * 500))
    assert type(cut[rj.HEADERS]) is tuple and rj.body_of(cut) == b"x" * 100  # the body is cut: the bytes would keep it all
    other = journal.add("elks", "POST", "/a1/SMS", b"", HEADERS, b"a=1", "acc", 200, None, None, 1, None, raw=_raw(b"a=2"))
    assert type(other[rj.HEADERS]) is tuple and rj.body_of(other) == b"a=1"
    streamed = journal.add("elks", "POST", "/a1/SMS", b"", HEADERS, None, "acc", 200, None, None, 1, None, raw=_raw(b"a=1"))
    assert type(streamed[rj.HEADERS]) is tuple and rj.body_of(streamed) is None  # a body the app never read whole

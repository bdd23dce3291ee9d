"""The snapshot codec: records come back as the same classes; foreign classes are refused."""

import pytest

from emulator.core.models import Account, Delivery, Message, StatusChange
from emulator.core.snapshot import SnapshotError, decode, encode


def test_records_round_trip():
    message = Message(
        id="s1", provider="elks", account_id="u1", direction="outbound", sender="A", recipient="+46700000001",
        text="hi", encoding="gsm", parts=1, cost=3500, created=5, status="sent",
        history=[StatusChange("created", 5), StatusChange("sent", 6)], attributes={"flags": ("a", "b")},
    )
    delivery = Delivery(id="w1", provider="seven", account_id="1", event="dlr", url="http://x", method="POST", headers={}, body=b"\x00\xff", created=1)
    account = Account(id="u1", provider="elks", name="A", currency="SEK", balance=1, created=0)
    for record in (message, delivery, account):
        assert decode(encode(record)) == record
    assert isinstance(decode(encode(message)).history[1], StatusChange)
    assert decode(encode({1: frozenset({2}), "r": range(1, 5)})) == {1: frozenset({2}), "r": range(1, 5)}


@pytest.mark.parametrize(
    "data",
    [
        {"__dc__": "os:system", "fields": {}},
        {"__dc__": "emulator.core.models:Nope", "fields": {}},
        {"__dc__": "emulator.core.models:StatusChange", "fields": {"status": "x"}},
        {"__bytes__": "%%%"},
        {"unknown": 1},
    ],
)
def test_bad_data_is_refused(data):
    with pytest.raises(SnapshotError):
        decode(data)


def test_unsupported_values_are_refused():
    with pytest.raises(SnapshotError):
        encode(object())

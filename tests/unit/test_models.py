"""Message records: the field order that the engine's hot path builds by position, the keyword
factory beside it, `kind` as a field of its own (kept in snapshots as `attributes.kind`, as ever),
a message taken out of its life by `Lifecycle.discard`, and the billing rules run where a charge
happens."""

from __future__ import annotations

import dataclasses

from emulator.core import snapshot as snapshots
from emulator.core.engine import Outgoing
from emulator.core.models import SMS, Message, StatusChange, new_message
from emulator.core.phone import parse_e164
from support import SEVEN_ACCOUNT, make_engine

T0 = 1_767_225_600_000_000

# The order `Engine.send_messages` passes the fields in, by position.
FIELD_ORDER = [
    "id", "provider", "account_id", "direction", "sender", "recipient", "text", "encoding", "parts", "cost",
    "created", "status", "history", "callback_url", "delivered_at", "attributes", "kind",
]


def test_the_field_order_is_pinned() -> None:
    assert [field.name for field in dataclasses.fields(Message)] == FIELD_ORDER


def test_the_factory_builds_by_name() -> None:
    message = new_message(
        id="s1", provider="elks", account_id="u1", direction="outbound", sender="Shop", recipient="+46700000001",
        text="hi", encoding="gsm", parts=1, cost=3500, created=T0, status="created", kind="mms",
    )
    assert (message.sender, message.recipient, message.text, message.kind) == ("Shop", "+46700000001", "hi", "mms")
    assert message.history == [] and message.attributes == {} and message.callback_url is None


def test_the_engines_positional_build_puts_every_value_in_its_field() -> None:
    engine = make_engine()
    account = engine.store.accounts[SEVEN_ACCOUNT]
    quote = engine.quote_sms("seven", parse_e164("+4917612345678"), "hello")
    [sent] = engine.send_messages(account, [Outgoing(quote, "Shop", "hello", "http://cb", {"a": 1}, kind="rcs")], lambda: "m1")
    expected = new_message(
        id="m1", provider="seven", account_id=account.id, direction="outbound", sender="Shop",
        recipient="+4917612345678", text="hello", encoding=quote.segmentation.encoding, parts=quote.segmentation.parts,
        cost=quote.cost, created=sent.created, status="created", history=[StatusChange("created", engine.clock.now())],
        callback_url="http://cb", attributes={"a": 1}, kind="rcs",
    )
    assert sent == expected


def test_kind_travels_in_snapshots_as_attributes_kind() -> None:
    mms = new_message(
        id="m1", provider="elks", account_id="u1", direction="inbound", sender="+46700000002", recipient="+46700000001",
        text="", encoding="gsm", parts=1, cost=0, created=T0, status="received", attributes={"images": []}, kind="mms",
    )
    resource = snapshots.message_to_resource(mms)
    assert resource["attributes"] == {"kind": "mms", "images": []}
    assert "kind" not in mms.attributes
    restored = snapshots.message_from_resource(resource, "$.x")
    assert restored.kind == "mms" and restored.attributes == {"images": []}
    sms = snapshots.message_from_resource({**resource, "attributes": {}}, "$.x")
    assert sms.kind == SMS and "kind" not in snapshots.message_to_resource(sms)["attributes"]


def test_a_discarded_message_leaves_its_life() -> None:
    engine = make_engine()
    account = engine.store.accounts[SEVEN_ACCOUNT]
    quote = engine.quote_sms("seven", parse_e164("+4917612345678"), "hi")
    [message] = engine.send_messages(account, [Outgoing(quote, "Shop", "hi")], lambda: "m1")
    heard = []
    engine.lifecycle.listeners.append(lambda m, change: heard.append(change.status))
    engine.lifecycle.discard(message)
    engine.clock.advance(60)
    assert heard == [] and [change.status for change in message.history] == ["created"]
    assert "discarded" not in message.attributes


def test_billing_rules_run_where_the_charge_happens_and_only_there() -> None:
    engine = make_engine()
    account = engine.store.accounts[SEVEN_ACCOUNT]
    charged: list[tuple[str, int]] = []
    engine.billing_rules.append(lambda charged_account: charged.append((charged_account.id, charged_account.balance)))
    balance = account.balance
    quote = engine.quote_sms("seven", parse_e164("+4917612345678"), "hi")
    engine.send_messages(account, [Outgoing(quote, "Shop", "hi")], lambda: "m1")
    assert charged == [(account.id, balance - quote.cost)]  # once per send, after the debit
    engine.clock.advance(60)  # status changes and their events are not charges
    assert len(charged) == 1

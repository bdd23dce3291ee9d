"""The engine's sends: validate, then mutate. Everything that could fail (the outcome rule a
message matches) is decided before the charge, so a send either stores and charges everything or
nothing at all."""

from __future__ import annotations

import pytest

from emulator.core.engine import Outgoing
from emulator.core.lifecycle import Outcome, OutcomeRule
from emulator.core.phone import parse_e164
from support import SEVEN_ACCOUNT, make_engine


class BrokenRule(OutcomeRule):
    """A rule whose matching fails, as one whose pattern never compiled once did."""

    def matches(self, provider: str, recipient: str) -> bool:
        raise RuntimeError("matching failed")


def outgoing(engine, to: str = "+4917612345678") -> Outgoing:
    return Outgoing(engine.quote_sms("seven", parse_e164(to), "hi"), "Shop", "hi")


def test_a_send_whose_rule_cannot_be_matched_charges_and_stores_nothing():
    engine = make_engine()
    account = engine.store.accounts[SEVEN_ACCOUNT]
    engine.lifecycle.rules = [BrokenRule("+4917612345678", Outcome())]
    balance, events = account.balance, engine.events.last_seq
    with pytest.raises(RuntimeError):
        engine.send_messages(account, [outgoing(engine, "+4915112345678"), outgoing(engine)], lambda: engine.ids.hex_id("s"))
    assert account.balance == balance
    assert len(engine.store.messages) == 0 and engine.events.last_seq == events and engine.clock.pending() == 0


def test_a_send_is_charged_once_and_started():
    engine = make_engine()
    account = engine.store.accounts[SEVEN_ACCOUNT]
    balance = account.balance
    batch = [outgoing(engine), outgoing(engine, "+4915112345678")]
    messages = engine.send_messages(account, batch, lambda: engine.ids.hex_id("s"))
    assert account.balance == balance - sum(item.quote.cost for item in batch)
    assert [m.status for m in messages] == ["created", "created"] and engine.clock.pending() == 2
    engine.clock.advance(5)
    assert [m.status for m in messages] == ["delivered", "delivered"]

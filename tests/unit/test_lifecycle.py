"""Outcome rules and the message state machine on a virtual clock."""

import pytest

from emulator.core.clock import MAX_DELAY_SECONDS, MICROS, VirtualClock
from emulator.core.lifecycle import InvalidRule, Lifecycle, Outcome, OutcomeRule
from emulator.core.models import Message

START = 1_767_225_600 * MICROS


def message(recipient: str, provider: str = "elks") -> Message:
    return Message(
        id="m1", provider=provider, account_id="a", direction="outbound", sender="S", recipient=recipient,
        text="hi", encoding="gsm", parts=1, cost=0, created=START, status="created",
    )


def test_rules_match_exact_prefix_regex_and_provider():
    rules = [
        OutcomeRule("+46700000404", Outcome("failed")),
        OutcomeRule("+4917*", Outcome("expired"), provider="seven"),
        OutcomeRule("re:\\+1555\\d+", Outcome("rejected")),
    ]
    life = Lifecycle(VirtualClock(START), rules, Outcome())
    assert life.outcome_for("elks", "+46700000404").status == "failed"
    assert life.outcome_for("seven", "+4917612345678").status == "expired"
    assert life.outcome_for("elks", "+4917612345678").status == "delivered"
    assert life.outcome_for("elks", "+15551234").status == "rejected"
    assert life.outcome_for("elks", "+46700000405").status == "delivered"


def test_message_walks_created_sent_delivered_and_notifies():
    clock = VirtualClock(START)
    life = Lifecycle(clock, [], Outcome(sent_after=1, final_after=3))
    seen = []
    life.listeners.append(lambda m, change: seen.append((change.status, change.at)))
    msg = message("+46700000001")
    life.begin(msg)
    clock.advance(1)
    assert msg.status == "sent"
    clock.advance(2)
    assert msg.status == "delivered"
    assert msg.delivered_at == START + 3 * MICROS
    assert [s for s, _ in seen] == ["sent", "delivered"]
    assert [c.status for c in msg.history] == ["created", "sent", "delivered"]


def test_buffered_and_silent_outcomes():
    clock = VirtualClock(START)
    rules = [OutcomeRule("+1", Outcome("delivered", 1, 5, buffered=True)), OutcomeRule("+2", Outcome("none", 1, 1))]
    life = Lifecycle(clock, rules, Outcome())
    buffered, silent = message("+1"), message("+2")
    life.begin(buffered)
    life.begin(silent)
    clock.advance(3)
    assert buffered.status == "buffered"
    clock.advance(100)
    assert [c.status for c in buffered.history] == ["created", "sent", "buffered", "delivered"]
    assert silent.status == "sent"


def test_outcome_checks_its_values():
    with pytest.raises(ValueError):
        Outcome("vanished")
    with pytest.raises(ValueError):
        Outcome("delivered", sent_after=5, final_after=1)


def test_outcomes_follow_rule_changes_after_being_looked_up():
    life = Lifecycle(VirtualClock(0), [], Outcome("delivered"))
    assert life.outcome_for("elks", "+46700000001").status == "delivered"
    life.rules = (OutcomeRule("+46700000001", Outcome("failed")), *life.rules)
    assert life.outcome_for("elks", "+46700000001").status == "failed"
    assert life.outcome_for("seven", "+46700000002").status == "delivered"
    life.default = Outcome("expired")
    assert life.outcome_for("seven", "+46700000002").status == "expired"
    life.rules = []
    assert life.outcome_for("elks", "+46700000001").status == "expired"


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: OutcomeRule("re:([", Outcome("failed")), "match"),
        (lambda: OutcomeRule("re:(", Outcome()), "match"),
        (lambda: OutcomeRule("", Outcome()), "match"),
        (lambda: OutcomeRule("re:" + "a" * 1000, Outcome()), "match"),
        (lambda: OutcomeRule("+1", Outcome(), provider=5), "provider"),
        (lambda: Outcome(sent_after=1e308, final_after=1e308), "sent_after"),
        (lambda: Outcome(final_after=float("inf")), "final_after"),
        (lambda: Outcome(sent_after=float("nan")), "sent_after"),
        (lambda: Outcome(sent_after=-1), "sent_after"),
        (lambda: Outcome(sent_after=True), "sent_after"),
        (lambda: Outcome(sent_after="1"), "sent_after"),
        (lambda: Outcome(sent_after=5, final_after=2), "final_after"),
        (lambda: Outcome(final_after=MAX_DELAY_SECONDS + 1), "final_after"),
        (lambda: Outcome("vanished"), "status"),
        (lambda: Outcome(buffered="yes"), "buffered"),
    ],
)
def test_rules_are_checked_when_made_naming_the_field(make, field):
    """A rule that exists can always be matched and scheduled: a send charged for never fails on
    it (a pattern that did not compile, or a delay of 1e308 seconds, used to fail after the debit)."""
    with pytest.raises(InvalidRule) as refused:
        make()
    assert refused.value.field == field
    assert isinstance(refused.value, ValueError)


def test_the_longest_delays_allowed_are_scheduled_and_fire():
    clock = VirtualClock(START)
    life = Lifecycle(clock, [OutcomeRule("re:\\+46.*", Outcome("failed", MAX_DELAY_SECONDS, MAX_DELAY_SECONDS))], Outcome())
    msg = message("+46700000001")
    life.begin(msg)
    clock.advance(MAX_DELAY_SECONDS)
    assert msg.status == "failed"


def test_discarded_messages_leave_the_queues_even_when_the_clock_never_moves():
    """A sandbox's reset discards its messages; under a virtual clock that no test advances, their
    next steps must not hold them (and their memory) for the rest of the session."""
    from emulator.core.lifecycle import FORGET_SLACK

    clock = VirtualClock(START)
    life = Lifecycle(clock, [], Outcome(sent_after=1, final_after=3))
    kept = message("+46700000001")
    life.begin(kept)
    for number in range(3 * FORGET_SLACK):
        doomed = message("+46700000002")
        life.begin(doomed)
        life.discard(doomed)
    waiting = [item for plan in life._plans.values() for lane in plan.lanes for item in lane.items]  # noqa: SLF001
    assert kept in waiting and len(waiting) <= FORGET_SLACK + 1  # the rest were let go
    clock.advance(1)
    assert kept.status == "sent"  # what lives goes on at its own time
    clock.advance(2)
    assert [c.status for c in kept.history] == ["created", "sent", "delivered"]

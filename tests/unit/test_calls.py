"""The provider-neutral call engine on a virtual clock: outcomes, ringing and answering, legs,
prompts and key presses, durations, per-minute billing, events and reset."""

import pytest

from emulator.core.calls import CallOutcome, CallPrices, CallRule
from emulator.core.errors import InsufficientBalance
from emulator.core.lifecycle import InvalidRule
from emulator.core.models import INBOUND, OUTBOUND
from emulator.world.fixtures import load_fixtures
from support import ELKS_ACCOUNT, SEVEN_ACCOUNT, make_engine

OUR_NUMBER = "+46766861001"


@pytest.fixture
def engine():
    return make_engine()


def account(engine, account_id=ELKS_ACCOUNT):
    return engine.store.accounts[account_id]


def statuses(call):
    return [change.status for change in call.history]


def kinds(engine, prefix="call."):
    return [(e.kind, e.data.get("status")) for e in engine.events.since(0) if e.kind.startswith(prefix)]


def test_rules_match_like_message_rules():
    rules = [
        CallRule("+46700000486", CallOutcome("busy")),
        CallRule("+4917*", CallOutcome("failed"), provider="seven"),
        CallRule("re:\\+1555\\d+", CallOutcome("no_answer")),
    ]
    assert rules[0].matches("elks", "+46700000486") and not rules[0].matches("elks", "+46700000485")
    assert rules[1].matches("seven", "+4917612345678") and not rules[1].matches("elks", "+4917612345678")
    assert rules[2].matches("elks", "+15551234") and not rules[2].matches("elks", "+155512x")


@pytest.mark.parametrize("bad", [{"status": "ringing"}, {"ring_time": -1}, {"digits": "12a"}])
def test_outcome_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        CallOutcome(**bad)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: CallRule("re:(", CallOutcome()), "match"),
        (lambda: CallRule("re:([", CallOutcome("busy")), "match"),
        (lambda: CallRule("", CallOutcome()), "match"),
        (lambda: CallOutcome(ring_time=1e308), "ring_time"),
        (lambda: CallOutcome(talk_time=float("inf")), "talk_time"),
        (lambda: CallOutcome(digits_after=float("nan")), "digits_after"),
        (lambda: CallOutcome(talk_time=366 * 86400 + 1), "talk_time"),
        (lambda: CallOutcome(digits="1" * 1001), "digits"),
    ],
)
def test_call_rules_are_checked_when_made_naming_the_field(make, field):
    """As message rules: a call rule that exists can always be matched and scheduled."""
    with pytest.raises(InvalidRule) as refused:
        make()
    assert refused.value.field == field


def test_prices_charge_every_started_minute():
    prices = CallPrices.from_mapping({"SE": 1500, "default": 5000})
    assert prices.price("+46701234567") == 1500
    assert prices.price("+4917612345678") == 5000
    assert prices.price("sip:alice@example.com") == 5000
    assert [CallPrices.cost(1500, s) for s in (0, 1, 60, 61, 125)] == [0, 1500, 1500, 3000, 4500]


def test_answered_call_walks_its_states_and_is_billed_when_the_callee_hangs_up(engine):
    before = account(engine).balance
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701234567", ring_timeout=30)
    assert (call.direction, call.status, statuses(call)) == (OUTBOUND, "ringing", ["created", "ringing"])
    assert call.id.startswith("c") and len(call.id) == 33
    assert engine.calls.get(call.id) is call
    engine.clock.advance(2.9)
    assert call.status == "ringing"
    engine.clock.advance(0.1)  # default ring time: 3 s
    assert call.status == "ongoing" and call.answered_at == engine.clock.now()
    assert account(engine).balance == before  # nothing is debited while the call is up
    engine.clock.advance(60)  # default talk time: 60 s
    assert statuses(call) == ["created", "ringing", "answered", "ongoing", "ended"]
    assert (call.duration, call.cost, call.ended_by) == (60, 1500, "callee")
    assert account(engine).balance == before - 1500
    assert kinds(engine) == [
        ("call.created", "created"), ("call.ringing", "ringing"), ("call.answered", "answered"), ("call.ended", "ended"),
    ]
    ended = engine.events.find({"kind": "call.ended", "id": call.id})
    assert (ended.data["duration"], ended.data["cost"], ended.data["to"]) == (60, 1500, "+46701234567")


@pytest.mark.parametrize(
    ("to", "status", "after"),
    [("+46700000486", "busy", 3), ("+46700000487", "no_answer", 30), ("+46700000488", "failed", 3)],
)
def test_unanswered_outcomes_from_the_default_fixtures(engine, to, status, after):
    before = account(engine).balance
    call = engine.calls.place(account(engine), OUR_NUMBER, to, ring_timeout=30)
    engine.clock.advance(after - 0.5)
    assert call.status == "ringing"
    engine.clock.advance(0.5)
    assert call.status == status
    assert (call.answered_at, call.duration, call.cost) == (None, 0, 0)
    assert account(engine).balance == before
    assert engine.events.find({"kind": "call.ended", "id": call.id, "status": status}) is not None


def test_ring_timeout_shorter_than_the_ring_time_means_no_answer(engine):
    engine.calls.add_rule(CallRule("+46701111111", CallOutcome(ring_time=20)))
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701111111", ring_timeout=10)
    engine.clock.advance(10)
    assert call.status == "no_answer"


def test_hangup_ends_the_call_and_its_legs_and_bills_both(engine):
    before = account(engine).balance
    engine.calls.add_rule(CallRule("+46701234567", CallOutcome(talk_time=300)))
    engine.calls.add_rule(CallRule("+33612345678", CallOutcome(talk_time=300)))
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701234567")
    engine.clock.advance(3)
    done = []
    leg = engine.calls.connect(call, "+33612345678", caller_id=OUR_NUMBER, timeout=30, on_done=done.append)
    assert (leg.id, leg.status, leg.sender) == (f"{call.id}-l0", "ringing", OUR_NUMBER)
    engine.clock.advance(3)
    assert leg.status == "ongoing"
    engine.clock.advance(62)
    engine.calls.hangup(call, by="api")
    assert (call.status, call.ended_by, call.duration) == ("ended", "api", 65)
    assert (leg.status, leg.duration, leg.cost) == ("ended", 62, 2 * 5000)  # FR has no price of its own: the default
    assert call.cost == 2 * 1500 + 2 * 5000
    assert account(engine).balance == before - call.cost
    assert done == []  # the call is over: nothing more to run
    engine.calls.hangup(call)  # a second hangup changes nothing
    assert account(engine).balance == before - call.cost


def test_a_leg_reports_when_it_is_over(engine):
    engine.calls.add_rule(CallRule("+46702222222", CallOutcome(ring_time=1, talk_time=14)))
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701234567")
    engine.clock.advance(3)
    done = []
    busy = engine.calls.connect(call, "+46700000486", caller_id="+46701234567", timeout=30, on_done=done.append)
    engine.clock.advance(3)
    assert done == [busy] and busy.status == "busy"
    talk = engine.calls.connect(call, "+46702222222", caller_id="+46701234567", timeout=30, on_done=done.append)
    engine.clock.advance(15)
    assert done == [busy, talk] and (talk.status, talk.duration, talk.cost) == ("ended", 14, 1500)
    legs = [(e.data["id"], e.data["status"]) for e in engine.events.since(0) if e.kind == "call.leg"]
    assert legs == [(busy.id, "ringing"), (busy.id, "busy"), (talk.id, "ringing"), (talk.id, "ongoing"), (talk.id, "ended")]


def test_hanging_up_before_the_answer_is_no_answer(engine):
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701234567")
    engine.clock.advance(1)
    engine.calls.hangup(call, by="caller")
    assert (call.status, call.duration, call.cost) == ("no_answer", 0, 0)
    engine.clock.advance(100)  # the pending answer was cancelled
    assert call.status == "no_answer" and "answered" not in statuses(call)


def test_prompts_take_the_rule_digits_in_order(engine):
    engine.calls.add_rule(CallRule("+46703333333", CallOutcome(digits="1#42#9", digits_after=1.5)))
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46703333333")
    engine.clock.advance(3)
    answers = []
    for count in (3, 1, 5, 1):  # "#" ends an answer early; a full answer leaves the rest
        engine.calls.prompt(call, count, 10, answers.append)
        engine.clock.advance(1.5)
    assert answers == ["1", "4", "2", "9"] and call.digits == ""
    engine.calls.prompt(call, 1, 10, answers.append)
    engine.clock.advance(9.9)
    assert len(answers) == 4
    engine.clock.advance(0.1)
    assert answers[-1] == ""  # nothing left to press: silence once the wait is over
    digits = [e.data["digits"] for e in engine.events.since(0) if e.kind == "call.digits"]
    assert digits == ["1", "4", "2", "9"]


def test_magic_number_presses_one(engine):
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46700000489")
    engine.clock.advance(3)
    answers = []
    engine.calls.prompt(call, 1, 10, answers.append)
    engine.clock.advance(2)  # default digits_after: 2 s
    assert answers == ["1"] and call.digits == ""


def test_steps_die_with_the_call_and_errors_end_it(engine):
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701234567")
    engine.clock.advance(3)
    ran = []
    engine.calls.after(call, 5, lambda: ran.append("late"))
    engine.calls.after(call, 1, lambda: 1 / 0)
    engine.clock.advance(10)
    assert ran == [] and call.status == "ended" and call.ended_by == "error"
    assert "ZeroDivisionError" in call.error


def test_listeners_hear_every_change_and_can_end_the_call_at_answer(engine):
    seen = []

    def listener(call, change):
        seen.append(change.status)
        if change.status == "answered":
            engine.calls.record_action(call, {"hangup": "reject"})
            engine.calls.hangup(call, by="script")

    engine.calls.listeners.append(listener)
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701234567")
    engine.clock.advance(3)
    assert seen == ["created", "ringing", "answered", "ended"]
    assert (call.duration, call.actions) == (0, [{"hangup": "reject"}])
    assert engine.events.find({"kind": "call.action", "id": call.id, "action": "hangup"}) is not None


def test_inbound_call_is_answered_at_once_and_free(engine):
    number = engine.store.active_number(OUR_NUMBER)
    before = account(engine).balance
    call = engine.calls.receive(number, "+46709999999", digits="7", talk_time=20)
    assert (call.direction, call.sender, call.recipient, call.account_id) == (INBOUND, "+46709999999", OUR_NUMBER, ELKS_ACCOUNT)
    assert call.attributes["number_id"] == number.id and call.digits == "7"
    engine.clock.advance(0)
    assert call.status == "ongoing"
    engine.clock.advance(20)
    assert (call.status, call.duration, call.cost, call.ended_by) == ("ended", 20, 0, "callee")
    assert account(engine).balance == before


def test_placing_needs_credit_for_one_minute(engine):
    poor = account(engine, SEVEN_ACCOUNT)
    poor.balance = 449  # DE costs 450 a minute
    with pytest.raises(InsufficientBalance):
        engine.calls.place(poor, "+4915799912345", "+4917612345678")
    assert len(engine.calls.collection) == 0 and engine.events.find({"kind": "call.created"}) is None


def test_cost_never_drives_the_balance_below_zero(engine):
    poor = account(engine, SEVEN_ACCOUNT)
    poor.balance = 500
    engine.calls.add_rule(CallRule("+4917612345678", CallOutcome(talk_time=61)))
    call = engine.calls.place(poor, "+4915799912345", "+4917612345678")
    engine.clock.advance(3 + 61)
    assert (call.status, call.duration, call.cost) == ("ended", 61, 900)
    assert (poor.balance, call.attributes["unpaid"]) == (0, 400)


def test_durations_are_simulated_seconds_under_a_time_scale():
    engine = make_engine(time_scale=10)
    call = engine.calls.place(engine.store.accounts[ELKS_ACCOUNT], OUR_NUMBER, "+46700000490")
    engine.clock.advance(0.3)  # 3 s of ringing, ten times faster
    assert call.status == "ongoing"
    engine.clock.advance(0.5)  # the magic number hangs up after 5 s
    assert (call.status, call.duration) == ("ended", 5)


def test_reset_forgets_calls_and_runtime_rules(engine):
    engine.calls.add_rule(CallRule("*", CallOutcome("failed")))
    call = engine.calls.place(account(engine), OUR_NUMBER, "+46701234567")
    engine.reset()
    assert engine.calls.get(call.id) is None and len(engine.calls.collection) == 0
    assert engine.calls.outcome_for("elks", "+46701234567").status == "answered"
    engine.clock.advance(100)
    assert call.status == "ringing"  # its timers were dropped with the clock


def test_fixture_file_call_outcomes_and_prices(tmp_path):
    path = tmp_path / "calls.yaml"
    path.write_text(
        "extends: default\n"
        "simulation: {call_ring_time: 1, call_talk_time: 9}\n"
        "call_outcomes:\n"
        "  - {match: '+4670123*', status: answered, digits: 12, provider: elks}\n"
        "elks:\n"
        "  call_prices: {SE: 99}\n"
    )
    fixtures = load_fixtures(path)
    assert fixtures.call_rules[0] == CallRule("+4670123*", CallOutcome("answered", 1, 9, "12"), "elks")
    assert fixtures.default_call_outcome == CallOutcome(ring_time=1, talk_time=9)
    assert fixtures.call_rules[1].match == "+46700000486"  # the default rules follow
    assert fixtures.call_prices["elks"].per_minute["SE"] == 99
    assert fixtures.call_prices["elks"].default == 5000


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("call_outcomes:\n  - {match: '+1', status: ringing}\n", "call_outcomes[0].status"),
        ("call_outcomes:\n  - {status: busy}\n", "call_outcomes[0].match"),
        ("call_outcomes:\n  - {match: '+1', talk_time: soon}\n", "call_outcomes[0].talk_time"),
        ("call_outcomes:\n  - {match: '+1', digits: '1x'}\n", "call_outcomes[0]"),
        ("call_outcomes:\n  - {match: '+1', provider: acme}\n", "call_outcomes[0].provider"),
        ("elks:\n  call_prices: {SE: cheap}\n", "elks.call_prices.SE"),
    ],
)
def test_fixture_mistakes_name_the_field(tmp_path, text, where):
    from emulator.core.errors import FixtureError

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FixtureError) as caught:
        load_fixtures(path)
    assert f"{path}: {where}" in str(caught.value)

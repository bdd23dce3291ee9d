"""The voice call engine: call and leg state machines on the clock, outcome rules, per-minute
billing. Provider-neutral; providers drive what happens while a call is up (46elks' action
scripts, seven.io's text-to-speech) through listeners and the operations below.

Call states::

    created -> ringing -> answered -> ongoing -> ended
                       -> busy | no_answer | failed          (never answered)

A call's fate is decided by the first `CallRule` matching the called number (for an inbound
call: the calling phone's number), with the same syntax as the message rules of `lifecycle`:
exact E.164, a prefix ending in `*`, or `re:REGEX`. An answered party stays on the line for its
`talk_time` and then hangs up, unless the other side ends the call first; the keys it presses at
prompts come from the rule's `digits`, consumed in order.

Billing: every started minute of answered time costs the destination's per-minute price; the
main call is priced by the called number (outbound calls only: receiving a call is free) and
each connected leg by its own number. The cost is debited when the call ends; placing a call
needs credit for one minute. Durations are whole simulated seconds (under `--time-scale` the
wall-clock time is multiplied back), rounded to the nearest second.

Operations: `place` (outbound), `receive` (a phone calls one of the accounts' numbers),
`connect` (add a leg), `prompt` (wait for key presses), `after` (a timed step that dies with the
call), `record_action`, `hangup`. `listeners` hear every call status change; `leg_listeners`
every leg status change; `id_factories` give each provider's call ids. Events: `call.created`,
`call.ringing`, `call.answered`, `call.ended` (every final status, with `status`),
`call.digits`, `call.action`, `call.leg` (providers add their own, e.g. `call.recording`).

A provider builds on it like this (seven.io's text-to-speech call, for instance)::

    call = engine.calls.place(account, sender, to, ring_timeout=30, attributes={...})
    engine.calls.listeners.append(on_change)        # on "answered": start speaking
    engine.calls.after(call, speech_seconds, lambda: engine.calls.hangup(call, by="script"))
    engine.calls.prompt(call, 1, speech_seconds, on_keys)   # DTMF the callee presses
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from .clock import MICROS, ScheduledEvent
from .errors import InsufficientBalance
from .lifecycle import InvalidRule, check_delay, check_match
from .models import INBOUND, OUTBOUND, Account, Call, Leg, Number, StatusChange
from .phone import region_of
from .webhook_targets import current_hop

if TYPE_CHECKING:
    from .engine import Engine

__all__ = [
    "CallOutcome",
    "CallRule",
    "CallPrices",
    "CallEngine",
    "CALL_OUTCOME_STATUSES",
    "FINAL_CALL_STATUSES",
    "CallListener",
    "LegListener",
]

log = logging.getLogger("emulator.calls")

CALL_OUTCOME_STATUSES = ("answered", "busy", "no_answer", "failed")
FINAL_CALL_STATUSES = frozenset({"ended", "busy", "no_answer", "failed"})
FINAL_LEG_STATUSES = FINAL_CALL_STATUSES
_DIGITS = re.compile(r"[0-9*#]*")
MAX_DIGITS = 1000  # keys one call outcome may press

CallListener = Callable[[Call, StatusChange], None]
LegListener = Callable[[Call, Leg], None]


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What the called party does."""

    status: str = "answered"  # answered, busy, no_answer (rings until the caller gives up), failed
    ring_time: float = 3.0  # seconds of ringing before it answers (or is busy, or fails)
    talk_time: float = 60.0  # seconds on the line after answering, then it hangs up
    digits: str = ""  # keys pressed at prompts, consumed in order ("#" ends one answer)
    digits_after: float = 2.0  # seconds from the start of a prompt to the key presses

    def __post_init__(self) -> None:
        """Checked when made (`InvalidRule` naming the field), as `lifecycle.Outcome` is: each
        delay a finite number of seconds from 0 to a year."""
        if self.status not in CALL_OUTCOME_STATUSES:
            raise InvalidRule("status", f"unknown call outcome {self.status!r}; expected one of {list(CALL_OUTCOME_STATUSES)}")
        for name in ("ring_time", "talk_time", "digits_after"):
            check_delay(name, getattr(self, name))
        if not isinstance(self.digits, str) or not _DIGITS.fullmatch(self.digits):
            raise InvalidRule("digits", f"digits may hold only 0-9, * and #, got {self.digits!r}")
        if len(self.digits) > MAX_DIGITS:
            raise InvalidRule("digits", f"digits holds at most {MAX_DIGITS} keys")


@dataclass(frozen=True, slots=True)
class CallRule:
    """Same matching as `lifecycle.OutcomeRule`: exact number, prefix ending in `*`, `re:REGEX`."""

    match: str
    outcome: CallOutcome
    provider: str | None = None

    def __post_init__(self) -> None:
        check_match(self.match, self.provider)
        if not isinstance(self.outcome, CallOutcome):
            raise InvalidRule("outcome", f"expected a call outcome, got {self.outcome!r}")

    def matches(self, provider: str, number: str) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        if self.match.startswith("re:"):
            return re.fullmatch(self.match[3:], number) is not None
        if self.match.endswith("*"):
            return number.startswith(self.match[:-1])
        return number == self.match


@dataclass(slots=True)
class CallPrices:
    """Per-minute prices by destination region (ISO alpha-2, upper case), with a default."""

    per_minute: dict[str, int] = field(default_factory=dict)
    default: int = 0

    @classmethod
    def from_mapping(cls, prices: dict[str, int]) -> CallPrices:
        return cls({k.upper(): v for k, v in prices.items() if k != "default"}, prices.get("default", 0))

    def price(self, number: str) -> int:
        region = region_of(number) if number.startswith("+") else None
        return self.per_minute.get(region, self.default) if region else self.default

    @staticmethod
    def cost(per_minute: int, seconds: int) -> int:
        """Every started minute is charged in full."""
        return math.ceil(seconds / 60) * per_minute


def _take_keys(pending: str, count: int) -> tuple[str, int]:
    """One answer of at most `count` keys from `pending`: (the keys, how many characters it
    used). `#` ends an answer and is swallowed, also right after a complete one."""
    pressed = ""
    used = 0
    for key in pending:
        if len(pressed) == count:
            if key == "#":
                used += 1
            break
        used += 1
        if key == "#":
            break
        pressed += key
    return pressed, used


class CallEngine:
    def __init__(
        self,
        engine: Engine,
        rules: list[CallRule],
        default: CallOutcome,
        prices: dict[str, CallPrices],
    ) -> None:
        self._engine = engine
        self._fixture_rules = list(rules)
        self.rules = list(rules)
        self.default = default
        self.prices = prices
        self.listeners: list[CallListener] = []
        self.leg_listeners: list[LegListener] = []
        self.id_factories: dict[str, Callable[[], str]] = {}  # provider -> new call id (default: c + 32 hex)
        self._timers: dict[str, list[ScheduledEvent]] = {}
        self._outcomes: dict[str, CallOutcome] = {}

    # -- lookups -------------------------------------------------------------------------
    @property
    def collection(self):
        """The store's collection of calls (both providers), owned by account id."""
        return self._engine.store.collection("calls")

    def get(self, call_id: str) -> Call | None:
        return self.collection.get(call_id)

    def outcome_for(self, provider: str, number: str) -> CallOutcome:
        for rule in self.rules:
            if rule.matches(provider, number):
                return rule.outcome
        return self.default

    def add_rule(self, rule: CallRule) -> None:
        """A rule checked before all others until the next reset."""
        self.rules.insert(0, rule)

    def price_per_minute(self, provider: str, number: str) -> int:
        table = self.prices.get(provider)
        return table.price(number) if table else 0

    def elapsed(self, since: int) -> float:
        """Simulated seconds since the clock value `since` (undoing `--time-scale`)."""
        clock = self._engine.clock
        return max(0, clock.now() - since) * clock.time_scale / MICROS

    def reset(self) -> None:
        """Forget every call in flight (the clock and the store are reset by the engine)."""
        self.rules = list(self._fixture_rules)
        self._timers.clear()
        self._outcomes.clear()

    # -- starting calls ------------------------------------------------------------------
    def place(
        self,
        account: Account,
        sender: str,
        recipient: str,
        *,
        ring_timeout: float = 60.0,
        make_id: Callable[[], str] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Call:
        """An outbound call from `sender` to `recipient`; it rings now. Needs credit for one
        minute at the destination's price (raises InsufficientBalance, changing nothing)."""
        price = self.price_per_minute(account.provider, recipient)
        if price > account.balance:
            raise InsufficientBalance(price, account.balance)
        outcome = self.outcome_for(account.provider, recipient)
        call = self._new_call(
            account.provider, account.id, OUTBOUND, sender, recipient, make_id, attributes,
            ring_timeout=ring_timeout, price_per_minute=price, digits=outcome.digits,
        )
        self._start(call, outcome)
        return call

    def receive(
        self,
        number: Number,
        caller: str,
        *,
        digits: str | None = None,
        talk_time: float | None = None,
        make_id: Callable[[], str] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Call:
        """A phone (`caller`) calls one of the accounts' numbers; the platform answers at once
        (on the next tick of the clock). The caller behaves as the rule for its own number says,
        with `digits` and `talk_time` overriding it."""
        rule = self.outcome_for(number.provider, caller)
        outcome = replace(
            rule,
            status="answered",
            ring_time=0.0,
            talk_time=rule.talk_time if talk_time is None else talk_time,
            digits=rule.digits if digits is None else digits,
        )
        extra = {"number_id": number.id, **(attributes or {})}
        call = self._new_call(
            number.provider, number.account_id, INBOUND, caller, number.number, make_id, extra,
            ring_timeout=0.0, price_per_minute=0, digits=outcome.digits,
        )
        self._start(call, outcome)
        return call

    def _new_call(
        self, provider: str, account_id: str, direction: str, sender: str, recipient: str,
        make_id: Callable[[], str] | None, attributes: dict[str, Any] | None,
        *, ring_timeout: float, price_per_minute: int, digits: str,
    ) -> Call:
        created = self._engine.clock.stamp()
        call = Call(
            id=self._new_id(provider, make_id),
            provider=provider,
            account_id=account_id,
            direction=direction,
            sender=sender,
            recipient=recipient,
            created=created,
            ring_timeout=ring_timeout,
            price_per_minute=price_per_minute,
            digits=digits,
            attributes=dict(attributes or {}),
        )
        self.collection.add(call.id, account_id, created, call)
        hop = current_hop.get()
        if hop:  # placed by a request that a webhook of the emulator itself made
            self._engine.outbox.note_cause([call.id], hop)
        self._change(call, "created", at=created)
        return call

    def _new_id(self, provider: str, make_id: Callable[[], str] | None) -> str:
        make_id = make_id or self.id_factories.get(provider)
        return make_id() if make_id else self._engine.ids.hex_id("c")

    def _start(self, call: Call, outcome: CallOutcome) -> None:
        self._outcomes[call.id] = outcome
        self._change(call, "ringing")
        result, delay = self._ring_plan(outcome, call.ring_timeout)
        self.after(call, delay, lambda: self._rung(call, result))

    @staticmethod
    def _ring_plan(outcome: CallOutcome, timeout: float) -> tuple[str, float]:
        """(what happens, after how many seconds of ringing)."""
        if outcome.status == "answered" and outcome.ring_time <= timeout:
            return "answered", outcome.ring_time
        if outcome.status in ("answered", "no_answer"):
            return "no_answer", timeout
        return outcome.status, min(outcome.ring_time, timeout)

    def _rung(self, call: Call, result: str) -> None:
        if result != "answered":
            self._finish(call, result, ended_by="callee")
            return
        call.answered_at = self._engine.clock.now()
        outcome = self._outcomes.get(call.id, self.default)
        self.after(call, outcome.talk_time, lambda: self.hangup(call, by="callee"))
        self._change(call, "answered")
        if call.status == "answered":  # a listener may already have ended it
            self._change(call, "ongoing")

    # -- while the call is up ------------------------------------------------------------
    def after(self, call: Call, seconds: float, step: Callable[[], None]) -> ScheduledEvent:
        """Run `step` after `seconds` of simulated time, unless the call has ended by then. A
        step that raises ends the call with the error recorded."""

        def run() -> None:
            if call.status in FINAL_CALL_STATUSES:
                return
            try:
                step()
            except Exception as exc:  # a provider's script must not stop the clock
                log.exception("call step failed for %s", call.id)
                self.hangup(call, by="error", error=f"internal error in the call script: {type(exc).__name__}: {exc}")

        event = self._engine.clock.schedule(seconds, run)
        self._timers.setdefault(call.id, []).append(event)
        return event

    def connect(
        self,
        call: Call,
        recipient: str,
        *,
        caller_id: str,
        timeout: float,
        on_done: Callable[[Leg], None],
    ) -> Leg:
        """Ring `recipient` and bridge it into the call. `on_done(leg)` runs when the leg is over
        while the call is still up: at once if it is busy, unanswered or failed, or when the
        connected party hangs up after its talk time."""
        outcome = self.outcome_for(call.provider, recipient)
        created = self._engine.clock.stamp()
        leg = Leg(id=f"{call.id}-l{len(call.legs)}", call_id=call.id, sender=caller_id, recipient=recipient, created=created)
        leg.attributes["price_per_minute"] = self.price_per_minute(call.provider, recipient)
        call.legs.append(leg)
        self._leg_change(call, leg, "ringing")
        result, delay = self._ring_plan(outcome, timeout)

        def rung() -> None:
            if result != "answered":
                self._end_leg(call, leg, result)
                on_done(leg)
                return
            leg.answered_at = self._engine.clock.now()
            self._leg_change(call, leg, "ongoing")

            def hung_up() -> None:
                self._end_leg(call, leg, "ended")
                on_done(leg)

            self.after(call, outcome.talk_time, hung_up)

        self.after(call, delay, rung)
        return leg

    def prompt(self, call: Call, count: int, wait: float, on_digits: Callable[[str], None]) -> None:
        """Ask the party on the line for up to `count` keys. If it still has keys to press they
        come `digits_after` seconds later (at most `wait`), else `on_digits("")` after `wait`.
        A `#` ends an answer early and is not part of it."""
        pending = call.digits
        if not pending:
            self.after(call, wait, lambda: on_digits(""))
            return
        pressed, used = _take_keys(pending, count)
        remaining = pending[used:]
        outcome = self._outcomes.get(call.id, self.default)

        def press() -> None:
            call.digits = remaining
            self._emit(call, "call.digits", digits=pressed)
            on_digits(pressed)

        self.after(call, min(outcome.digits_after, wait), press)

    def record_action(self, call: Call, entry: dict[str, Any]) -> dict[str, Any]:
        """Log one step of the provider's script on the call (the dict may be updated later,
        e.g. with its result)."""
        call.actions.append(entry)
        verb = next(iter(entry), None)
        self._emit(call, "call.action", action=verb, value=str(entry.get(verb, "")) if verb else None)
        return entry

    def hangup(self, call: Call, *, by: str = "caller", error: str | None = None) -> None:
        """End the call now (and every leg still up). Before it was answered the call ends as
        `no_answer`; with an `error` the reason is kept on the call."""
        if call.status in FINAL_CALL_STATUSES:
            return
        if error is not None and call.error is None:
            call.error = error
        self._finish(call, "ended" if call.answered_at is not None else "no_answer", ended_by=by)

    # -- endings and billing -------------------------------------------------------------
    def _finish(self, call: Call, status: str, ended_by: str) -> None:
        for event in self._timers.pop(call.id, []):
            event.cancel()
        self._outcomes.pop(call.id, None)
        clock = self._engine.clock
        call.ended_at = clock.now()
        call.ended_by = ended_by
        for leg in call.legs:
            if leg.status not in FINAL_LEG_STATUSES:
                self._end_leg(call, leg, "ended" if leg.answered_at is not None else "no_answer")
        if call.answered_at is not None:
            call.duration = round(self.elapsed(call.answered_at))
        call.cost = CallPrices.cost(call.price_per_minute, call.duration) + sum(leg.cost for leg in call.legs)
        account = self._engine.store.accounts.get(call.account_id)
        if account is not None and call.cost:
            debit = min(call.cost, max(account.balance, 0))  # a call never drives the balance below zero
            account.balance -= debit
            if debit < call.cost:
                call.attributes["unpaid"] = call.cost - debit
            self._engine.apply_billing_rules(account)
        self._change(call, status, at=call.ended_at)

    def _end_leg(self, call: Call, leg: Leg, status: str) -> None:
        if leg.status in FINAL_LEG_STATUSES:
            return
        leg.ended_at = self._engine.clock.now()
        if leg.answered_at is not None:
            leg.duration = round(self.elapsed(leg.answered_at))
            leg.cost = CallPrices.cost(leg.attributes.get("price_per_minute", 0), leg.duration)
        self._leg_change(call, leg, status)

    # -- notifications -------------------------------------------------------------------
    def _change(self, call: Call, status: str, at: int | None = None) -> None:
        change = StatusChange(status, at if at is not None else self._engine.clock.now())
        call.status = status
        call.history.append(change)
        if status in FINAL_CALL_STATUSES:
            self._emit(call, "call.ended", duration=call.duration, cost=call.cost, ended_by=call.ended_by, error=call.error)
        elif status != "ongoing":
            self._emit(call, f"call.{status}")
        for listener in list(self.listeners):
            try:
                listener(call, change)
            except Exception:
                log.exception("call listener failed for %s", call.id)

    def _leg_change(self, call: Call, leg: Leg, status: str) -> None:
        leg.status = status
        self._engine.events.emit(
            "call.leg", call.provider, call.account_id,
            id=leg.id, call=call.id, status=status, duration=leg.duration,
            **{"from": leg.sender, "to": leg.recipient},
        )
        for listener in list(self.leg_listeners):
            try:
                listener(call, leg)
            except Exception:
                log.exception("leg listener failed for %s", leg.id)

    def _emit(self, call: Call, kind: str, **data: Any) -> None:
        self._engine.events.emit(
            kind, call.provider, call.account_id,
            id=call.id, direction=call.direction, status=call.status,
            **{"from": call.sender, "to": call.recipient}, **data,
        )

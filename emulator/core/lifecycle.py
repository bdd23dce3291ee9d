"""Message state machine and the rules that decide each outbound message's fate.

Neutral statuses: (`scheduled` ->) `created` -> `sent` -> `delivered` | `failed` | `expired` | `rejected`, with an
optional `buffered` step. Providers translate them into their own vocabulary (46elks
`created/sent/delivered/failed`, seven.io `ACCEPTED/TRANSMITTED/.../DELIVERED`).

Rules are matched on the recipient (exact E.164, a prefix ending in `*`, or a regular expression
written `re:...`) and optionally on the provider; the first rule that matches wins, else the
default outcome applies.

Rules and outcomes are checked when they are made (`InvalidRule`, naming the field): a pattern
that does not compile, a delay that is not a finite number of seconds from 0 to
`MAX_DELAY_SECONDS`. A rule that exists can always be matched and scheduled, so a send that has
been charged never fails on it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable

from .clock import MAX_DELAY_SECONDS, Clock, Lane
from .models import Message, StatusChange

__all__ = [
    "Outcome", "OutcomeRule", "Lifecycle", "FINAL_STATUSES", "OUTCOME_STATUSES", "InvalidRule", "check_match", "check_delay",
    "MAX_MATCH_LENGTH",
]

FINAL_STATUSES = frozenset({"delivered", "failed", "expired", "rejected"})
DISCARDED = "discarded"  # not a provider's status: a message taken out of its life (`Lifecycle.discard`)
_STOPPED = FINAL_STATUSES | {DISCARDED}
# Discarded messages the lanes may hold before they are swept out (at least; see `Lifecycle.discard`).
FORGET_SLACK = 1024
# "none": sent, then silence (the handset never reports).
OUTCOME_STATUSES = FINAL_STATUSES | {"none"}

StatusListener = Callable[[Message, StatusChange], None]
Steps = tuple[tuple[str, float], ...]  # (status, seconds after creation) of each change to come
MAX_MATCH_LENGTH = 1000  # characters of a rule's `match`


class InvalidRule(ValueError):
    """A rule or outcome that could not be used; `field` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_delay(field: str, value: object) -> float:
    """`value` as seconds of delay: a finite number from 0 to `MAX_DELAY_SECONDS` (a year)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRule(field, f"{field} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and 0 <= value <= MAX_DELAY_SECONDS):
        raise InvalidRule(field, f"{field} must be from 0 to {MAX_DELAY_SECONDS} seconds (a year), got {value!r}")
    return float(value)


def check_match(match: object, provider: object = None) -> None:
    """A rule's `match` (exact number, prefix ending in `*`, or `re:REGEX` that compiles) and
    `provider` (None or a name); raises InvalidRule naming the field."""
    if not isinstance(match, str) or not match:
        raise InvalidRule("match", f"match must be a non-empty string, got {match!r}")
    if len(match) > MAX_MATCH_LENGTH:
        raise InvalidRule("match", f"match is longer than {MAX_MATCH_LENGTH} characters")
    if match.startswith("re:"):
        try:
            re.compile(match[3:])
        except (re.error, RecursionError, OverflowError) as exc:
            raise InvalidRule("match", f"match {match!r} is not a valid regular expression: {exc}") from None
    if provider is not None and not isinstance(provider, str):
        raise InvalidRule("provider", f"provider must be a name, got {provider!r}")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str = "delivered"
    sent_after: float = 0.5  # seconds after creation
    final_after: float = 1.0  # seconds after creation
    buffered: bool = False  # pass through `buffered` before the final status

    def __post_init__(self) -> None:
        if self.status not in OUTCOME_STATUSES:
            raise InvalidRule("status", f"unknown outcome status {self.status!r}; expected one of {sorted(OUTCOME_STATUSES)}")
        check_delay("sent_after", self.sent_after)
        check_delay("final_after", self.final_after)
        if self.final_after < self.sent_after:
            raise InvalidRule("final_after", "delays must satisfy 0 <= sent_after <= final_after")
        if not isinstance(self.buffered, bool):
            raise InvalidRule("buffered", f"buffered must be true or false, got {self.buffered!r}")


@dataclass(frozen=True, slots=True)
class OutcomeRule:
    match: str
    outcome: Outcome
    provider: str | None = None

    def __post_init__(self) -> None:
        check_match(self.match, self.provider)
        if not isinstance(self.outcome, Outcome):
            raise InvalidRule("outcome", f"expected an outcome, got {self.outcome!r}")

    def matches(self, provider: str, recipient: str) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        pattern = self.match
        if pattern.startswith("re:"):
            return re.fullmatch(pattern[3:], recipient) is not None
        if pattern.endswith("*"):
            return recipient.startswith(pattern[:-1])
        return recipient == pattern


def steps_of(outcome: Outcome) -> Steps:
    """(status, seconds after creation) of each change after `created`."""
    steps = [("sent", outcome.sent_after)]
    if outcome.buffered:
        steps.append(("buffered", (outcome.sent_after + outcome.final_after) / 2))
    if outcome.status != "none":
        steps.append((outcome.status, outcome.final_after))
    return tuple(steps)


class _Plan:
    """The steps of one outcome, ready to queue: for each, its status, its lane, and its clock
    time after the life began."""

    __slots__ = ("outcome", "statuses", "lanes", "offsets")

    def __init__(self, lifecycle: Lifecycle, outcome: Outcome) -> None:
        self.outcome = outcome
        steps = steps_of(outcome)
        self.statuses = [status for status, _ in steps]
        self.offsets = [lifecycle.clock.span(seconds) for _, seconds in steps]
        self.lanes = [Lane(lifecycle.clock, partial(lifecycle._step, self, index)) for index in range(len(steps))]


def _set_status(message: Message, status: str) -> None:
    message.status = status


def _is_discarded(message: Message) -> bool:
    return message.status == DISCARDED


class Lifecycle:
    def __init__(self, clock: Clock, rules: list[OutcomeRule], default: Outcome) -> None:
        self.clock = clock
        self._rules: tuple[OutcomeRule, ...] = tuple(rules)
        self._default = default
        self._known: dict[tuple[str, str], _Plan] = {}  # (provider, recipient) -> plan of its outcome, for these rules
        self._plans: dict[Outcome, _Plan] = {}
        self.listeners: list[StatusListener] = []  # hear every message's changes
        self.provider_listeners: dict[str, list[StatusListener]] = {}  # hear one provider's
        # How a status is set: the engine sets it through its store, which indexes messages by status.
        self.set_status: Callable[[Message, str], None] = _set_status
        self._discarded = 0  # messages discarded since the lanes were last swept
        self._sweep_after = FORGET_SLACK

    def listen(self, provider: str, listener: StatusListener) -> None:
        """Call `listener` for the changes of `provider`'s messages only."""
        self.provider_listeners.setdefault(provider, []).append(listener)

    @property
    def rules(self) -> tuple[OutcomeRule, ...]:
        """First match wins. Replaced whole, never changed in place (the outcomes are memoised)."""
        return self._rules

    @rules.setter
    def rules(self, rules: Iterable[OutcomeRule]) -> None:
        self._rules = tuple(rules)
        self._known.clear()

    @property
    def default(self) -> Outcome:
        return self._default

    @default.setter
    def default(self, outcome: Outcome) -> None:
        self._default = outcome
        self._known.clear()

    def outcome_for(self, provider: str, recipient: str) -> Outcome:
        return self._plan_for(provider, recipient).outcome

    def _plan_for(self, provider: str, recipient: str) -> _Plan:
        key = (provider, recipient)
        plan = self._known.get(key)
        if plan is None:
            outcome = next((rule.outcome for rule in self._rules if rule.matches(provider, recipient)), self._default)
            plan = self._plans.get(outcome)
            if plan is None:
                plan = self._plans[outcome] = _Plan(self, outcome)
            if len(self._known) >= 100_000:
                self._known.clear()
            self._known[key] = plan
        return plan

    def begin(self, message: Message) -> None:
        """Record `created` (now) and schedule the rest of the message's life: messages with the
        same outcome share one lane per step (see `Lane`)."""
        now = self.clock.now()
        message.history.append(StatusChange("created", now))
        plan = self._plan_for(message.provider, message.recipient)
        if plan.lanes:
            plan.lanes[0].add(now + plan.offsets[0], message)

    def _step(self, plan: _Plan, index: int, due: int, message: Message) -> None:
        if message.status in _STOPPED:
            return
        self.transition(message, plan.statuses[index])
        following = index + 1
        if following < len(plan.lanes):
            plan.lanes[following].add(due - plan.offsets[index] + plan.offsets[following], message)

    def resume(self, message: Message) -> None:
        """Schedule what is left of a message's life (after a restore), from its `created` time;
        steps already overdue happen at once."""
        started = next((c.at for c in message.history if c.status == "created"), message.created)
        order = ["created", "sent", "buffered"]
        current = order.index(message.status) if message.status in order else len(order)
        plan = self._plan_for(message.provider, message.recipient)
        index = next((i for i, status in enumerate(plan.statuses) if not (status in order and order.index(status) <= current)), len(plan.statuses))
        if index < len(plan.lanes):
            plan.lanes[index].add(started + plan.offsets[index], message)

    def discard(self, message: Message) -> None:
        """Take a message out of its life for good (its account is gone): the status changes
        still scheduled for it do nothing. The lanes let discarded messages go in one sweep once
        they may be half of what waits there: a clock that never moves (a test suite that only
        resets its sandboxes) would otherwise keep every one of them."""
        message.status = DISCARDED
        self._discarded += 1
        if self._discarded >= self._sweep_after:
            waiting = sum(lane.forget(_is_discarded) for plan in self._plans.values() for lane in plan.lanes)
            self._discarded = 0
            self._sweep_after = max(FORGET_SLACK, waiting // 2)

    def transition(self, message: Message, status: str) -> None:
        if message.status in _STOPPED:
            return
        change = StatusChange(status, self.clock.stamp())
        self.set_status(message, status)
        message.history.append(change)
        if status == "delivered":
            message.delivered_at = change.at
        for listener in self.listeners:
            listener(message, change)
        for listener in self.provider_listeners.get(message.provider, ()):
            listener(message, change)

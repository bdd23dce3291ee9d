"""The simulated network: one object that owns the clock, the store, ids, prices, the message
lifecycle and the webhook outbox, and offers the operations both providers build on.

Providers validate their own wire-level input, then call the engine; the engine never knows which
provider's JSON it is feeding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, Callable, Iterable

from .billing import PriceTable, charge, refund
from .calls import CallEngine
from .clock import MICROS, Clock, Run, ScheduledEvent, VirtualClock
from .ids import IdFactory
from .events import EventLog
from .faults import FaultSet
from .lifecycle import Lifecycle, Outcome, OutcomeRule
from .models import INBOUND, OUTBOUND, SMS, Account, Attempt, Delivery, Message, Number, StatusChange, new_message
from .phone import ParsedNumber
from .store import SANDBOX, Store
from .text import Segmentation, segment
from .webhook_targets import current_hop
from .webhooks import Outbox
from .world import Fixtures

__all__ = ["Engine", "Quote", "Outgoing", "CLOCK_MOVE_BUDGET"]

# Real seconds one move of the virtual clock may spend waiting for webhook receivers: above the
# longest attempt timeout (46elks: 10 s), below the timeouts of the usual control clients.
CLOCK_MOVE_BUDGET = 20.0


@dataclass(slots=True)  # not frozen: one is made per request, and frozen fields cost a setattr each
class Quote:
    recipient: ParsedNumber
    segmentation: Segmentation
    price_per_part: int

    @property
    def cost(self) -> int:
        return self.segmentation.parts * self.price_per_part


@dataclass(slots=True)
class Outgoing:
    """One message of a send request, validated and priced, not yet accepted."""

    quote: Quote
    sender: str
    text: str
    callback_url: str | None = None
    attributes: dict[str, Any] | None = None
    kind: str = SMS


class Engine:
    def __init__(
        self,
        *,
        clock: Clock,
        seed: int,
        fixtures: Fixtures,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.fixtures = fixtures
        self.ids = IdFactory(seed)
        self.store: Store = fixtures.build_store(clock)
        self.prices: dict[str, PriceTable] = fixtures.prices
        self.lifecycle = Lifecycle(clock, fixtures.rules, fixtures.default_outcome)
        self.lifecycle.set_status = self._set_status
        self.outbox = Outbox(clock, self.store, self.ids, {})  # providers register their retry policies
        self.reset_listeners: list[Callable[[], None]] = []
        self.billing_rules: list[Callable[[Account], None]] = []  # after each charge (seven.io: sub-account top-up)
        self.inbound_listeners: list[Callable[[Message, Number], None]] = []
        self.inbound_ids: dict[str, Callable[[], str]] = {}  # provider -> id of a new inbound message
        self._scheduled: dict[str, ScheduledEvent] = {}
        self.clock_move_budget = CLOCK_MOVE_BUDGET
        self.events = EventLog(clock.now)
        self.events.sandbox_of = self._sandbox_of
        self.faults = FaultSet(seed)
        self.lifecycle.listeners.append(self._on_status)
        self.outbox.listeners.append(self._on_attempt)
        self.calls = CallEngine(  # voice calls of both providers; see core/calls.py
            self,
            fixtures.call_rules,
            fixtures.default_call_outcome,
            fixtures.call_prices,
        )

    # -- control -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the fixtures: state, ids, pending events and outcome rules."""
        self.clock.clear()
        self.ids = IdFactory(self.seed)
        self.store = self.fixtures.build_store(self.clock)
        self.lifecycle.rules = list(self.fixtures.rules)
        self.lifecycle.default = self.fixtures.default_outcome
        self.outbox.reset(self.store, self.ids)
        self._scheduled.clear()
        self.calls.reset()
        self.events.clear()
        self.faults.clear()
        self.events.emit("emulator.reset")
        for listener in self.reset_listeners:
            listener()

    async def move_clock(self, instant: int) -> Run:
        """Move the virtual clock to `instant`, firing what falls due in time order; the webhook
        attempts set off at each due time are made (and their retries scheduled) before time
        moves on, so their times are the due times and one long move equals many short ones
        (an attempt slower than the outbox's `settle_grace` is not waited for: see
        `Outbox.settle`). Stops short, not `complete`, when receivers keep it waiting past
        `clock_move_budget`."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("only a virtual clock can be moved")
        return await clock.run_to(instant, self.outbox.settle, self.clock_move_budget)

    def unsettled_deliveries(self, limit: int = 3) -> list[Delivery]:
        """Deliveries whose attempts are in flight now (for telling who keeps the clock waiting)."""
        deliveries = self.store.deliveries
        found = (deliveries.get(delivery_id) for delivery_id in self.outbox.attempting())
        return [delivery for delivery in found if delivery is not None][:limit]

    # -- billing -------------------------------------------------------------------------
    def charge(self, account: Account, amount: int) -> None:
        """Debit `amount` (or raise InsufficientBalance, changing nothing), then apply the billing rules."""
        charge(account, amount)
        self.apply_billing_rules(account)

    def apply_billing_rules(self, account: Account) -> None:
        """What follows a charge, in one place: each provider's rules (`billing_rules`), in order."""
        for rule in self.billing_rules:
            rule(account)

    def add_rule(self, rule: OutcomeRule) -> None:
        self.lifecycle.rules = (rule, *self.lifecycle.rules)

    # -- messaging -----------------------------------------------------------------------
    def quote_sms(self, provider: str, recipient: ParsedNumber, text: str) -> Quote:
        return Quote(recipient, segment(text), self.prices[provider].sms_price(recipient.region))

    def send_messages(
        self, account: Account, batch: list[Outgoing], make_id: Callable[[], str], send_at: int | None = None
    ) -> list[Message]:
        """Charge the whole batch at once (all or nothing), store it and start each message's life,
        now or, for a scheduled send, at `send_at` (microseconds since the epoch).

        Validate, then mutate: each message's fate (the outcome rule it matches) is decided
        before the charge, so nothing after it depends on anything that could fail."""
        scheduled = send_at is not None and send_at > self.clock.now()
        if not scheduled:  # a scheduled message meets the rules of its send time
            outcome_for = self.lifecycle.outcome_for
            for item in batch:
                outcome_for(account.provider, item.quote.recipient.e164)  # memoised: begin() finds it again
        self.charge(account, sum([item.quote.cost for item in batch]))
        messages = []
        for item in batch:
            created = self.clock.stamp()
            segmentation = item.quote.segmentation
            message = Message(  # positional (order pinned by tests/unit/test_models.py): several times cheaper than keywords, on the hottest path
                make_id(),  # id
                account.provider,  # provider
                account.id,  # account_id
                OUTBOUND,  # direction
                item.sender,  # sender
                item.quote.recipient.e164,  # recipient
                item.text,  # text
                segmentation.encoding,  # encoding
                segmentation.parts,  # parts
                item.quote.cost,  # cost
                created,  # created
                "scheduled" if scheduled else "created",  # status
                [],  # history
                item.callback_url,  # callback_url
                None,  # delivered_at
                dict(item.attributes or {}),  # attributes
                item.kind,  # kind
            )
            self.store.messages.add(message.id, account.id, created, message)
            if scheduled:
                assert send_at is not None
                message.attributes["send_at"] = send_at
                delay = (send_at - self.clock.now()) / MICROS
                self._scheduled[message.id] = self.clock.schedule(delay, partial(self._release, message.id))
            else:
                self.lifecycle.begin(message)
            self._emit_message("message.created", message)
            messages.append(message)
        hop = current_hop.get()
        if hop:  # sent by a request that a webhook of the emulator itself made
            self.outbox.note_cause([message.id for message in messages], hop)
        return messages

    def receive_message(
        self, number: Number, sender: str, text: str, attributes: dict[str, Any] | None = None,
        make_id: Callable[[], str] | None = None, kind: str = SMS,
    ) -> Message:
        """A phone sends `text` to one of the accounts' numbers: store it, note which outbound
        message it answers (the newest one from this number's account to `sender`), and let the
        provider deliver its inbound webhooks."""
        created = self.clock.stamp()
        segmentation = segment(text)
        replied = self.store.messages.page(
            number.account_id,
            limit=1,
            where=lambda m: m.direction == OUTBOUND and m.recipient == sender and m.status != "scheduled",
        ).items
        message = new_message(
            id=(make_id or self.inbound_ids.get(number.provider) or (lambda: self.ids.hex_id("s")))(),
            provider=number.provider,
            account_id=number.account_id,
            direction=INBOUND,
            sender=sender,
            recipient=number.number,
            text=text,
            encoding=segmentation.encoding,
            parts=segmentation.parts,
            cost=0,
            created=created,
            status="received",
            history=[StatusChange("received", created)],
            attributes={**(attributes or {}), "reply_to": replied[0].id if replied else None, "number_id": number.id},
            kind=kind,
        )
        self.store.messages.add(message.id, number.account_id, created, message)
        self._emit_message("message.received", message)
        for listener in self.inbound_listeners:
            listener(message, number)
        return message

    # -- events --------------------------------------------------------------------------
    def _sandbox_of(self, account_id: str | None) -> str | None:
        account = self.store.accounts.get(account_id) if account_id else None
        return account.attributes.get(SANDBOX) if account else None

    def _emit_message(self, kind: str, message: Message) -> None:
        self.events.record_message(kind, message, message.status_at)

    def _on_status(self, message: Message, change: StatusChange) -> None:
        self._emit_message("message.status", message)

    def _on_attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        data = {
            "id": delivery.id, "event": delivery.event, "url": delivery.url, "attempt": attempt.number,
            "status": attempt.status, "error": attempt.error, "state": delivery.state, "subject": delivery.subject_id,
        }
        # Under a virtual clock an attempt may end after the clock moved on (a slow receiver whose
        # retry falls beyond the move): its event keeps the time the attempt was made.
        at = attempt.at if self.clock.virtual else None
        self.events.record("webhook.attempt", delivery.provider, delivery.account_id, data, at)

    def reschedule(self, message: Message, delay_seconds: float) -> None:
        """Hold a scheduled message until `delay_seconds` from now (used when state is restored)."""
        self._scheduled[message.id] = self.clock.schedule(delay_seconds, partial(self._release, message.id))

    def _set_status(self, message: Message, status: str) -> None:
        """Through the store of the moment (a reset or a restore replaces it): it indexes messages by status."""
        self.store.messages.update(message.id, message.created, message, "status", status)

    def _release(self, message_id: str) -> None:
        self._scheduled.pop(message_id, None)
        message = self.store.messages.get(message_id)
        if message is not None:
            self._set_status(message, "created")
            self.lifecycle.begin(message)

    def remove_accounts(self, account_ids: Iterable[str], reason: str) -> None:
        """Forget these accounts and all they own (their logins and their records in every
        collection), and stop what they have in flight: their calls are hung up (with `reason`),
        their messages' scheduled sends and status changes never come. A sandbox's reset and a
        deleted seven.io subaccount come through here: no record outlives its account, so every
        snapshot can be restored."""
        owned = list(account_ids)
        calls = self.calls  # through their accounts' index: not every call there is
        for call in sorted((call for account_id in owned for call in calls.collection.of_owner(account_id)), key=attrgetter("created")):
            calls.hangup(call, by="system", error=reason)
        for account_id in owned:
            for record in self.store.remove_account(account_id):
                if isinstance(record, Message):
                    self.lifecycle.discard(record)
                    scheduled = self._scheduled.pop(record.id, None)
                    if scheduled is not None:
                        scheduled.cancel()

    def cancel_scheduled(self, account: Account, message_ids: list[str]) -> list[str]:
        """Cancel messages that are still waiting for their send time; refund and forget them.
        Returns the ids actually cancelled (others are unknown, foreign or already sent)."""
        cancelled = []
        for message_id in message_ids:
            message = self.store.messages.get(message_id)
            event = self._scheduled.get(message_id)
            if message is None or event is None or message.account_id != account.id:
                continue
            event.cancel()
            del self._scheduled[message_id]
            refund(account, message.cost)
            self.store.messages.remove(message_id)
            cancelled.append(message_id)
        return cancelled

    def outcome_for(self, provider: str, recipient: str) -> Outcome:
        return self.lifecycle.outcome_for(provider, recipient)

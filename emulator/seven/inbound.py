"""seven.io inbound SMS: a message that reaches one of an account's numbers fires the account's
`sms_mo` hooks (those with no `event_filter`, or one naming that number) with seven's payload
`{id, sender, system, text, time, message_type}`.

seven.io numbers inbound messages (`"681590"`): `install` gives the engine that numbering.
"""

from __future__ import annotations

from functools import partial

from ..core.clock import MICROS
from ..core.engine import Engine
from ..core.models import Message, Number
from .hooks import dispatch

__all__ = ["report_inbound", "install"]

FIRST_INBOUND_ID = 681_001


def _digits(number: str) -> str:
    return number[1:] if number.startswith("+") and number[1:].isdigit() else number


def report_inbound(engine: Engine, message: Message, number: Number) -> None:
    """Inbound listener: fire the `sms_mo` hooks."""
    if message.provider != "seven":
        return
    data = {
        "id": message.id,
        "sender": _digits(message.sender),
        "system": _digits(number.number),
        "text": message.text,
        "time": str(message.created // MICROS),
        "message_type": "SMS",
    }
    system = _digits(number.number)
    dispatch(engine, message.account_id, "sms_mo", data, (number.number, system, "00" + system))


def install(engine: Engine) -> None:
    engine.inbound_ids["seven"] = lambda: str(engine.ids.sequence("seven.inbound", FIRST_INBOUND_ID))
    engine.inbound_listeners.append(partial(report_inbound, engine))

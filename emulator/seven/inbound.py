"""seven.io inbound SMS: a message that reaches one of an account's numbers fires the account's
`sms_mo` hooks (those with no `event_filter`, or one naming that number) with seven's payload
`{id, sender, system, text, time, message_type}`.

seven.io numbers inbound messages (`"681590"`); `inbound_id` gives that number for any stored
inbound message (the journal lists it too).
"""

from __future__ import annotations

from functools import partial

from ..core.clock import MICROS
from ..core.engine import Engine
from ..core.models import Message, Number
from .hooks import dispatch

__all__ = ["inbound_id", "report_inbound", "install"]

FIRST_INBOUND_ID = 681_001
_ID_ATTRIBUTE = "seven_id"


def inbound_id(message: Message) -> str:
    return message.attributes.get(_ID_ATTRIBUTE) or message.id


def _digits(number: str) -> str:
    return number[1:] if number.startswith("+") and number[1:].isdigit() else number


def report_inbound(engine: Engine, message: Message, number: Number) -> None:
    """Inbound listener: number the message seven's way and fire the `sms_mo` hooks."""
    if message.provider != "seven":
        return
    if not message.id.isdigit():
        message.attributes[_ID_ATTRIBUTE] = str(engine.ids.sequence("seven.inbound", FIRST_INBOUND_ID))
    data = {
        "id": inbound_id(message),
        "sender": _digits(message.sender),
        "system": _digits(number.number),
        "text": message.text,
        "time": str(message.created // MICROS),
        "message_type": "SMS",
    }
    system = _digits(number.number)
    dispatch(engine, message.account_id, "sms_mo", data, (number.number, system, "00" + system))


def install(engine: Engine) -> None:
    engine.inbound_listeners.append(partial(report_inbound, engine))

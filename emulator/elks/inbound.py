"""46elks inbound traffic: an SMS or MMS received on a 46elks number is POSTed (form-encoded) to
the number's `sms_url` or `mms_url`, through the webhook outbox with 46elks' retries.

The answer to an `sms_url` webhook can reply, as 46elks documents: a plain-text body is sent back
to the sender as an SMS; a JSON body `{"reply": "..."}` does the same; `{"forward": "+46...",
"prefix": "...", "suffix": "..."}` sends the text on to another number. An empty body (or 204)
or a JSON object with neither key sends nothing. `sms_replies=no` on the number turns this off.
`sms_url` may itself be such a JSON action: it then applies to every incoming SMS, with no
webhook. Replies and forwards are sent from the number, charged like any SMS and listed in
`/a1/SMS` with direction `outgoing-reply`; one that cannot be sent (no credit, a sender that is
not a phone number) is dropped and reported as a `message.reply_failed` event.
The answer to an `mms_url` webhook is ignored, as at 46elks.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from ..core.engine import Engine, Outgoing
from ..core.errors import InsufficientBalance, InvalidNumber
from ..core.models import Attempt, Delivery, Message, Number
from ..core.phone import parse_e164
from ..http.params import strict_json
from .render import timestamp
from .sms import MAX_MESSAGE_LENGTH, is_mms

__all__ = ["install", "reply_action", "on_inbound"]

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _is_action(setting: str) -> bool:
    return setting.lstrip().startswith("{")


def reply_action(body: str) -> dict[str, Any] | None:
    """What a webhook answer asks 46elks to do: `{"reply": text}`, `{"forward": ...}` or None."""
    text = body.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            action = strict_json(text)
        except ValueError:
            action = None
        if isinstance(action, dict):
            return action if ("reply" in action or "forward" in action) else None
    return {"reply": text}


def _failed(engine: Engine, origin: Message, reason: str) -> None:
    engine.events.emit("message.reply_failed", "elks", origin.account_id, id=origin.id, reason=reason)


def _act(engine: Engine, origin: Message, number: Number, action: dict[str, Any]) -> None:
    if "reply" in action:
        target, text = origin.sender, action["reply"]
    elif "forward" in action:
        target = action["forward"]
        prefix, suffix = action.get("prefix") or "", action.get("suffix") or ""
        if not isinstance(prefix, str) or not isinstance(suffix, str):
            return _failed(engine, origin, "prefix and suffix must be text")
        text = f"{prefix}{origin.text}{suffix}"
    else:
        return None
    if not isinstance(text, str) or not text:
        return _failed(engine, origin, "the reply has no text")
    if len(text) > MAX_MESSAGE_LENGTH:
        return _failed(engine, origin, f"the reply is longer than {MAX_MESSAGE_LENGTH} characters")
    try:
        to = parse_e164(str(target), "to")
    except InvalidNumber:
        return _failed(engine, origin, f"cannot send to {target!r}: not a phone number")
    account = engine.store.accounts.get(number.account_id)
    if account is None:
        return None
    outgoing = Outgoing(
        engine.quote_sms("elks", to, text), number.number, text, None,
        {"elks_direction": "outgoing-reply", "in_reply_to": origin.id},
    )
    try:
        engine.send_messages(account, [outgoing], lambda: engine.ids.hex_id("s"))
    except InsufficientBalance:
        _failed(engine, origin, "not enough credits")
    return None


def _answered(engine: Engine, origin: Message, number_id: str, delivery: Delivery, attempt: Attempt) -> None:
    """Outbox result of an `sms_url` webhook: act on the answer's body."""
    if delivery.state != "delivered":
        return
    number = engine.store.numbers.get(number_id)
    if number is None or not number.active or number.attributes.get("sms_replies") is False:
        return
    action = reply_action(attempt.response_body or "")
    if action is not None:
        _act(engine, origin, number, action)


def _post_form(engine: Engine, number: Number, message: Message, event: str, url: str, fields: dict[str, str], on_result=None) -> None:
    """Queue 46elks' form-encoded inbound webhook for `message` to the number's URL."""
    engine.outbox.enqueue(
        provider="elks",
        account_id=number.account_id,
        event=event,
        url=url,
        headers=_FORM,
        body=urlencode(fields).encode(),
        subject_id=message.id,
        on_result=on_result,
    )


def _post_sms(engine: Engine, message: Message, number: Number) -> None:
    target = number.attributes.get("sms_url")
    if not target:
        return
    if _is_action(target):
        try:
            action = strict_json(target)
        except ValueError:  # only a fixture can hold a broken one; the API refuses them
            action = None
        if isinstance(action, dict):
            _act(engine, message, number, action)
        return
    fields = {
        "id": message.id,
        "from": message.sender,
        "to": message.recipient,
        "message": message.text,
        "direction": "incoming",
        "created": timestamp(message.created),
    }
    _post_form(engine, number, message, "sms.incoming", target, fields, partial(_answered, engine, message, number.id))


def _post_mms(engine: Engine, message: Message, number: Number) -> None:
    target = number.attributes.get("mms_url")
    if not target or _is_action(target):  # a JSON action in mms_url is accepted but not simulated
        return
    fields = {
        "id": message.id,
        "from": message.sender,
        "to": message.recipient,
        "message": message.text,
        "created": timestamp(message.created).replace("T", " "),  # 46elks' MMS hook uses a space
        "direction": "incoming",
    }
    for k, image_url in enumerate(message.attributes.get("image_urls") or []):
        fields["image" if k == 0 else f"image{k + 1}"] = image_url
    _post_form(engine, number, message, "mms.incoming", target, fields)


def on_inbound(engine: Engine, message: Message, number: Number) -> None:
    if number.provider != "elks" or message.provider != "elks":
        return
    if is_mms(message):
        _post_mms(engine, message, number)
    else:
        _post_sms(engine, message, number)


def install(engine: Engine) -> None:
    engine.inbound_listeners.append(partial(on_inbound, engine))

"""seven.io's reload lock: the same text of the same `type` to the same recipient, sent again
within 180 seconds, is refused with return code `402` (nothing sent, nothing charged), unless the
request says `no_reload=1` or the account's fixture says `reload_lock: false`.

Time is the engine's clock, so under `--clock virtual` the lock lasts until the clock has been
moved 180 s past the first send. The lock is read from the messages themselves: an index per
store maps (account, recipient, type, text) to the id of the newest such message, is built from
the store's messages the first time a store is seen (after a reset or a snapshot restore) and
kept up to date by every send; an entry whose message is gone (a cancelled scheduled send) or
older than the window locks nothing.
"""

from __future__ import annotations

from typing import Iterable
from weakref import WeakKeyDictionary

from ..core.clock import MICROS
from ..core.engine import Engine
from ..core.errors import RepeatedMessage
from ..core.models import OUTBOUND, Account, Message
from ..core.store import Store

__all__ = ["LOCK_SECONDS", "SMS_TYPES", "locked_for", "check", "note"]

LOCK_SECONDS = 180
SMS_TYPES = ("direct", "economy")
DEFAULT_TYPE = "direct"

_Key = tuple[str, str, str, str]  # account id, recipient (E.164), type, text


class _Index:
    def __init__(self) -> None:
        self.newest: dict[_Key, str] = {}
        self.prune_at = 4096


_indexes: WeakKeyDictionary[Store, _Index] = WeakKeyDictionary()


def _type_of(message: Message) -> str:
    return message.attributes.get("sms_type") or DEFAULT_TYPE


def _key(message: Message) -> _Key:
    return (message.account_id, message.recipient, _type_of(message), message.text)


def _index(engine: Engine) -> _Index:
    store = engine.store
    index = _indexes.get(store)
    if index is None:
        index = _indexes[store] = _Index()
        since = engine.clock.now() - LOCK_SECONDS * MICROS
        for message in store.messages:
            if _sent_by_sms_api(message) and message.created > since:
                _remember(index, message)
    return index


def _sent_by_sms_api(message: Message) -> bool:
    """An outbound seven.io SMS of `/api/sms` (RCS messages and their SMS fallbacks carry a channel)."""
    return message.provider == "seven" and message.direction == OUTBOUND and "channel" not in message.attributes


def _remember(index: _Index, message: Message) -> None:
    index.newest[_key(message)] = message.id  # messages arrive oldest first: the last one stays


def _holds(engine: Engine, message_id: str, key: _Key, since: int) -> bool:
    message = engine.store.messages.get(message_id)
    return message is not None and message.created > since and _key(message) == key


def locked_for(account: Account) -> bool:
    """Whether the account's sends are subject to the lock (fixture `reload_lock`, default on)."""
    return account.attributes.get("reload_lock") is not False


def check(engine: Engine, account: Account, recipients: Iterable[str], sms_type: str, text: str) -> None:
    """Raise RepeatedMessage if any recipient got this text of this type less than 180 s ago."""
    if not locked_for(account):
        return
    index = _index(engine)
    since = engine.clock.now() - LOCK_SECONDS * MICROS
    for recipient in recipients:
        key = (account.id, recipient, sms_type, text)
        message_id = index.newest.get(key)
        if message_id is not None and _holds(engine, message_id, key, since):
            raise RepeatedMessage(recipient.lstrip("+"), LOCK_SECONDS)


def note(engine: Engine, messages: Iterable[Message]) -> None:
    """Record sent messages, so that a repeat within the window is refused."""
    index = _index(engine)
    for message in messages:
        _remember(index, message)
    if len(index.newest) >= index.prune_at:
        since = engine.clock.now() - LOCK_SECONDS * MICROS
        index.newest = {key: mid for key, mid in index.newest.items() if _holds(engine, mid, key, since)}
        index.prune_at = max(4096, 2 * len(index.newest))

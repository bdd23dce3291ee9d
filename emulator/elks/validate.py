"""46elks input rules: yes/no flags, sender ids, recipients, URLs, list paging parameters.

Webhook URLs follow the emulator's one rule (`core.webhook_targets`); a URL it refuses is
rendered in 46elks' words, `The <field> you tried to use is not a valid URL`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import InvalidParameter, InvalidSender, InvalidWebhookTarget, MissingParameter, TextTooLong, ValidationError
from ..core.models import Account
from ..core.phone import ParsedNumber, parse_e164
from ..core.store import Store
from ..core.webhook_targets import check_target_url
from ..http.params import strict_json
from .render import parse_timestamp
from .voice_actions import check_action_targets

__all__ = [
    "flag", "required_text", "optional_text", "recipient", "sender", "url", "paging",
    "CLEAR", "hook_setting", "label", "yes_no", "credit_amount",
]

# 46elks' rule is letters and digits, 3-11, not starting with a digit; spaces and dots are
# accepted by most operators (46elks documents them as working, if rendered unevenly), so they are
# accepted here too rather than refused.
_ALPHA_SENDER = re.compile(r"[A-Za-z][A-Za-z0-9 .]{1,9}[A-Za-z0-9.]")
_NEGATIVE = {"", "no", "none", "false", "0"}


def optional_text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, list):  # a repeated key: 46elks takes the last one
        value = value[-1]
    if not isinstance(value, str):
        raise InvalidParameter(name, value, "expected text")
    return value


def required_text(params: dict[str, Any], name: str) -> str:
    value = optional_text(params, name)
    if value is None or value == "":
        raise MissingParameter(name)
    return value


def flag(params: dict[str, Any], name: str) -> bool:
    """`yes` turns a flag on; `no`, empty or absent leave it off; anything else is refused."""
    value = optional_text(params, name)
    if value is None or value.strip().lower() in _NEGATIVE:
        return False
    if value.strip().lower() in ("yes", "true", "1"):
        return True
    raise InvalidParameter(name, value, "expected yes or no")


def recipient(params: dict[str, Any]) -> ParsedNumber:
    return parse_e164(required_text(params, "to"), "to")


def sender(store: Store, account: Account, raw: str, capability: str = "sms") -> str:
    """An alphanumeric id (3-11 letters, digits, spaces or dots, starting with a letter), or a
    number the account owns."""
    if _ALPHA_SENDER.fullmatch(raw):
        return raw
    if not raw.startswith("+"):
        raise InvalidSender(raw, "an alphanumeric sender must be 3-11 letters, digits, spaces or dots, starting with a letter")
    number = parse_e164(raw, "from").e164
    own = {account.attributes.get("mobilenumber")}
    parent = store.accounts.get(account.parent_id) if account.parent_id else None
    if parent is not None:
        own.add(parent.attributes.get("mobilenumber"))
    if number in own:
        return number
    page = store.numbers.page(account.id, limit=10_000, where=lambda n: n.active and n.number == number)
    if page.items and capability in page.items[0].capabilities:
        return number
    raise InvalidSender(raw, "not a number of this account")


def url(params: dict[str, Any], name: str) -> str | None:
    value = optional_text(params, name)
    if value is None or value.strip() == "":
        return None
    return check_target_url(name, value)


CLEAR = "<clear>"  # a setting given as `none` or a single space: remove it


def _clears(value: str) -> bool:
    return value == " " or value.strip().lower() == "none"


def hook_setting(params: dict[str, Any], name: str) -> str | None:
    """A number's webhook setting (`sms_url`, `mms_url`, `voice_start`): an http(s) URL or a
    JSON action object; CLEAR for `none` or a single space; None when absent or empty."""
    value = optional_text(params, name)
    if value is None or value == "":
        return None
    if _clears(value):
        return CLEAR
    value = value.strip()
    if value.startswith("{"):
        try:
            action = strict_json(value)
        except ValueError:
            action = None
        if isinstance(action, dict) and action:
            check_action_targets(name, action)
            return value
    else:
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname:
            if " " in value:
                raise InvalidWebhookTarget(name, value, "it contains a space")
            return check_target_url(name, value)
    raise ValidationError(name, f"The {name} you tried to use is not a valid URL")


def label(params: dict[str, Any], name: str, limit: int) -> str | None:
    """Free text of at most `limit` characters; CLEAR for `none` or a single space."""
    value = optional_text(params, name)
    if value is None or value == "":
        return None
    if _clears(value):
        return CLEAR
    if len(value) > limit:
        raise TextTooLong(name, len(value), limit)
    return value


def yes_no(params: dict[str, Any], name: str) -> bool | None:
    """Strictly `yes` or `no` (any case); None when absent or empty."""
    value = optional_text(params, name)
    if value is None or value.strip() == "":
        return None
    if value.strip().lower() not in ("yes", "no"):
        raise InvalidParameter(name, value, "expected yes or no")
    return value.strip().lower() == "yes"


def credit_amount(params: dict[str, Any], name: str) -> int | str | None:
    """A whole number of 1/10000 units; CLEAR for `none`; None when absent or empty."""
    value = optional_text(params, name)
    if value is None or value.strip() == "":
        return None
    if _clears(value):
        return CLEAR
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 15:
        raise InvalidParameter(name, value, "expected a whole number of 1/10000 units")
    return int(value)


def paging(params: dict[str, Any]) -> tuple[int | None, int | None, int]:
    """`start` (older than), `end` (newer than) and `limit` of a 46elks list. A page holds at
    most 100 items: a larger `limit` gives 100 (and `next`), as 46elks documents."""
    bounds = []
    for name in ("start", "end"):
        raw = optional_text(params, name)
        if raw is None or raw == "":
            bounds.append(None)
            continue
        value = parse_timestamp(raw)
        if value is None:
            raise InvalidParameter(name, raw, "expected a time like 2018-07-13T13:57:23.741000")
        bounds.append(value)
    raw_limit = optional_text(params, "limit")
    limit = 100
    if raw_limit not in (None, ""):
        raw_limit = raw_limit.strip()
        if not (raw_limit.isascii() and raw_limit.isdigit()) or len(raw_limit) > 9 or int(raw_limit) < 1:
            raise InvalidParameter("limit", raw_limit, "expected a whole number from 1 to 100")
        limit = min(int(raw_limit), 100)
    return bounds[0], bounds[1], limit

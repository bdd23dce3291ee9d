"""seven.io caller-id validation: `POST /api/validate_for_voice` (`number`, optional `callback`).

seven calls the number and reads out a code that the person answering keys in. Here the call
starts at once (the answer carries the code) and the simulated person keys it in
`ANSWER_SECONDS` later: the number is then a validated caller id of the account (kept in the
`seven.caller_ids` collection under `<account id>:<E.164>`), and the `callback` URL, if given,
gets a GET with `success`, `error` (empty), `id`, `sender`, `formatted_output` and `voice`
through the webhook outbox. Asking again while the call runs answers the same code; asking after
validation answers "already saved". Codes and ids come from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit

import phonenumbers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..http.reasons import refused
from ..core.engine import Engine
from ..core.errors import InvalidNumber
from ..core.models import Account
from ..core.phone import parse_loose
from ..core.webhook_targets import target_url_problem
from .context import begin
from .render import json_response
from .validate import text

__all__ = ["CallerId", "CALLER_IDS", "caller_id", "ROUTES"]

CALLER_IDS = "seven.caller_ids"
ANSWER_SECONDS = 15.0
FIRST_CALLER_ID = 12_345


@dataclass(slots=True)
class CallerId:
    key: str  # "<account id>:<E.164>"
    account_id: str
    number: str  # E.164
    formatted: str  # "+49 176 12345678"
    code: str
    created: int
    callback: str | None = None
    id: int | None = None  # set once validated
    validated: int | None = None


def caller_id(engine: Engine, account_id: str, e164: str) -> CallerId | None:
    """The account's validation record of a number (validated when `validated` is set)."""
    return engine.store.collection(CALLER_IDS).get(f"{account_id}:{e164}")


def _invalid(sender: str, error: str) -> dict[str, Any]:
    return {"id": None, "sender": sender, "formatted_output": None, "success": False, "error": error, "voice": False}


def _saved(record: CallerId) -> dict[str, Any]:
    return {
        "id": record.id,
        "sender": record.number.lstrip("+"),
        "formatted_output": record.formatted,
        "success": True,
        "error": "The sender ID is already saved.",
        "voice": True,
    }


def _code(engine: Engine, account: Account, e164: str) -> str:
    return f"{random.Random(f'{engine.seed}-voice-code-{account.id}-{e164}').randrange(1_000_000):06d}"


def _complete(engine: Engine, key: str, record: CallerId) -> None:
    """The person who answered keyed in the code."""
    if engine.store.collection(CALLER_IDS).get(key) is not record or record.validated is not None:
        return
    record.validated = engine.clock.now()
    record.id = engine.ids.sequence("seven.caller_id", FIRST_CALLER_ID)
    engine.events.emit("caller_id.validated", "seven", record.account_id, id=record.id, number=record.number)
    if record.callback:
        query = urlencode({
            "success": "true",
            "error": "",
            "id": str(record.id),
            "sender": record.number.lstrip("+"),
            "formatted_output": record.formatted,
            "voice": "true",
        })
        url = record.callback + ("&" if urlsplit(record.callback).query else "?") + query
        engine.outbox.enqueue(
            provider="seven", account_id=record.account_id, event="validate_for_voice", url=url, method="GET",
            subject_id=record.number,
        )


async def validate_for_voice(request: Request) -> Response:
    ctx = await begin(request)
    engine, account = ctx.engine, ctx.account
    raw = text(ctx.params, "number")
    sender = (raw or "").strip()
    if not sender:
        return refused(json_response(_invalid(sender, "Reception number invalid"), 400), "number: missing; give the caller id to validate")
    callback = (text(ctx.params, "callback") or "").strip() or None
    if callback is not None and target_url_problem(callback) is not None:
        return refused(json_response(_invalid(sender, "Callback URL invalid"), 400),
                       f"callback: {target_url_problem(callback)}")
    try:
        number = parse_loose(sender, "number")
    except InvalidNumber:
        return refused(json_response(_invalid(sender, "Number is invalid"), 400), f"number: {sender!r} is not a phone number")
    if not phonenumbers.is_valid_number(phonenumbers.parse(number.e164, None)):
        return refused(json_response(_invalid(sender, "Number is invalid"), 400),
                       f"number: {number.e164} is not a valid number in its country's numbering plan")
    key = f"{account.id}:{number.e164}"
    record = caller_id(engine, account.id, number.e164)
    if record is not None and record.validated is not None:
        return json_response(_saved(record))
    if record is None:
        formatted = phonenumbers.format_number(phonenumbers.parse(number.e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        created = engine.clock.stamp()
        record = CallerId(key, account.id, number.e164, formatted, _code(engine, account, number.e164), created, callback)
        engine.store.collection(CALLER_IDS).add(key, account.id, created, record)
        engine.clock.schedule(ANSWER_SECONDS, partial(_complete, engine, key, record))
        engine.events.emit("caller_id.call", "seven", account.id, number=number.e164, code=record.code)
    elif callback is not None:
        record.callback = callback
    return json_response({"code": record.code, "error": None, "success": True})


ROUTES = [Route("/validate_for_voice", validate_for_voice, methods=["POST"])]

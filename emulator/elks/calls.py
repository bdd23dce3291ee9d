"""46elks calls: `POST /a1/Calls` places a call, `GET /a1/Calls` lists them newest first,
`GET`/`DELETE /a1/Calls/{id}`; the call's script runs when it is answered (`voice_actions`), and
`whenhangup` receives the final call record when it ends.

Inbound calls (from the control API) to a 46elks number run the number's `voice_start` in the
same way. States in 46elks words: `ongoing` until the end, then `success` (answered), `busy`,
or `failed` (not answered, failed, or ended by an error in the script).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.calls import FINAL_CALL_STATUSES
from ..core.engine import Engine
from ..core.errors import InvalidParameter, InvalidSender, InvalidWebhookTarget, NotFound, ValidationError
from ..core.models import INBOUND, Call, Leg, StatusChange
from ..core.webhook_targets import check_target_url
from ..http.params import strict_json
from .context import begin
from .recordings import save_recording
from .render import json_response, timestamp
from .validate import optional_text, paging, recipient, required_text, sender, url
from .voice_actions import CallScript, check_action_targets, is_action_text, is_url

__all__ = ["create_call", "list_calls", "get_call", "delete_call", "call_json", "install", "ROUTES", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 25  # seconds of ringing, as the spec's default says
MAX_TIMEOUT = 600
_FINAL_STATES = {"ended": "success", "busy": "busy", "no_answer": "failed", "failed": "failed"}
_LEG_STATES = {"ringing": "ongoing", "ongoing": "ongoing", **_FINAL_STATES}


def call_state(call: Call) -> str:
    if call.status not in FINAL_CALL_STATUSES:
        return "ongoing"
    if call.error:
        return "failed"
    # A script whose first action was `hangup: busy` (or `404`) turned the call away unanswered.
    return call.attributes.get("turned_away") or _FINAL_STATES[call.status]


def _answered(call: Call) -> bool:
    return call.answered_at is not None and not call.attributes.get("turned_away")


def _leg_json(leg: Leg) -> dict[str, Any]:
    return {"from": leg.sender, "to": leg.recipient, "state": _LEG_STATES[leg.status], "duration": leg.duration}


def call_json(call: Call, *, history: bool = True) -> dict[str, Any]:
    """A call as `GET /a1/Calls` shows it (`history`), or in full as `whenhangup` gets it. In
    history, an outgoing call that failed unanswered has only `direction, from, to, created,
    state, id`, as 46elks shows it."""
    state = call_state(call)
    data: dict[str, Any] = {
        "id": call.id,
        "direction": "incoming" if call.direction == INBOUND else "outgoing",
        "from": call.sender,
        "to": call.recipient,
        "created": timestamp(call.created),
        "state": state,
    }
    if history and state == "failed" and call.direction != INBOUND and call.answered_at is None:
        return data
    data["owner"] = call.account_id
    if call.direction != INBOUND:
        data["timeout"] = int(call.ring_timeout)
    if _answered(call):
        data["start"] = timestamp(call.answered_at)
    data["duration"] = call.duration
    data["cost"] = call.cost
    data["actions"] = list(call.actions)
    data["legs"] = [_leg_json(leg) for leg in call.legs]
    if call.attributes.get("recordings"):
        data["recordings"] = list(call.attributes["recordings"])
    return data


def _origin(request: Request) -> str:
    """Where this emulator is reached, for the URLs it hands out (recordings)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _voice_start(params: dict[str, Any]) -> str:
    value = required_text(params, "voice_start").strip()
    if value.startswith("{") and is_action_text(value):
        check_action_targets("voice_start", strict_json(value))
        return value
    if is_url(value):
        return value
    if value.lower().startswith(("http://", "https://")):  # a URL, but not one a webhook can go to
        if " " in value:
            raise InvalidWebhookTarget("voice_start", value, "it contains a space")
        check_target_url("voice_start", value)  # raises, naming what is wrong
    raise ValidationError("voice_start", "Invalid voice_start: expected an http(s) URL or a JSON action such as {\"play\": \"https://...\"}")


def _ring_timeout(params: dict[str, Any]) -> int:
    raw = optional_text(params, "timeout")
    if raw is None or raw.strip() == "":
        return DEFAULT_TIMEOUT
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= MAX_TIMEOUT:
        raise InvalidParameter("timeout", raw, f"expected whole seconds from 1 to {MAX_TIMEOUT}")
    return int(raw)


async def create_call(request: Request) -> Response:
    ctx = await begin(request)
    engine, account, params = ctx.engine, ctx.account, ctx.params
    raw_from = required_text(params, "from")
    to = recipient(params)
    voice_start = _voice_start(params)
    if not raw_from.strip().startswith("+"):
        raise InvalidSender(raw_from, "a call needs a phone number of the account as `from`")
    from_ = sender(engine.store, account, raw_from.strip(), capability="voice")
    whenhangup = url(params, "whenhangup")
    timeout = _ring_timeout(params)
    call = engine.calls.place(
        account,
        from_,
        to.e164,
        ring_timeout=timeout,
        attributes={"voice_start": voice_start, "whenhangup": whenhangup, "api_base": _origin(request)},
    )
    return json_response({
        "direction": "outgoing",
        "from": call.sender,
        "to": call.recipient,
        "created": timestamp(call.created),
        "state": "ongoing",
        "id": call.id,
    })


async def list_calls(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    page = ctx.engine.calls.collection.page(ctx.account.id, before=start, after=end, limit=limit, where=lambda c: c.provider == "elks")
    body: dict[str, Any] = {"data": [call_json(c) for c in page.items]}
    if page.has_more:
        body["next"] = timestamp(page.items[-1].created)
    return json_response(body)


def _own_call(engine: Engine, account_id: str, call_id: str) -> Call:
    call = engine.calls.get(call_id)
    if call is None or call.account_id != account_id or call.provider != "elks":
        raise NotFound("Call", call_id)
    return call


async def get_call(request: Request) -> Response:
    ctx = await begin(request)
    return json_response(call_json(_own_call(ctx.engine, ctx.account.id, request.path_params["id"])))


async def delete_call(request: Request) -> Response:
    """Removes the call from the history; a call still under way goes on until it ends."""
    ctx = await begin(request)
    call = _own_call(ctx.engine, ctx.account.id, request.path_params["id"])
    ctx.engine.calls.collection.remove(call.id)
    return json_response({"id": call.id, "deleted": timestamp(ctx.engine.clock.now())})


def hangup_fields(call: Call) -> dict[str, str]:
    """The final call record as `whenhangup` receives it (form fields; lists as JSON text)."""
    data = call_json(call, history=False)
    lists = ("actions", "legs", "recordings")
    fields = {key: str(value) for key, value in data.items() if key not in (*lists, "owner", "timeout")}
    fields["callid"] = call.id
    for key in lists:
        if key in data:
            fields[key] = json.dumps(data[key])
    return fields


class _Scripts:
    """Runs each 46elks call's script from its answer, and reports each call's end."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.running: dict[str, CallScript] = {}

    def on_change(self, call: Call, change: StatusChange) -> None:
        if call.provider != "elks":
            return
        if change.status == "answered":
            script = CallScript(self.engine, call, partial(save_recording, self.engine))
            self.running[call.id] = script
            script.start(self._voice_start(call))
        elif change.status in FINAL_CALL_STATUSES:
            script = self.running.pop(call.id, None)
            if script is not None:
                script.ended()
            self._report(call)

    def _voice_start(self, call: Call) -> str | None:
        if call.direction != INBOUND:
            return call.attributes.get("voice_start")
        number = self.engine.store.numbers.get(call.attributes.get("number_id", ""))
        return number.attributes.get("voice_start") if number is not None else None

    def _report(self, call: Call) -> None:
        hook = call.attributes.get("whenhangup")
        if not hook:
            return
        self.engine.outbox.enqueue(
            provider="elks",
            account_id=call.account_id,
            event="call.whenhangup",
            url=hook,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(hangup_fields(call)).encode(),
            subject_id=call.id,
        )


def install(engine: Engine) -> None:
    scripts = _Scripts(engine)
    engine.calls.listeners.append(scripts.on_change)
    engine.calls.id_factories["elks"] = lambda: engine.ids.hex_id("c")
    engine.reset_listeners.append(scripts.running.clear)


ROUTES = [
    Route("/calls", create_call, methods=["POST"]),
    Route("/calls", list_calls, methods=["GET"]),
    Route("/calls/{id}", get_call, methods=["GET"]),
    Route("/calls/{id}", delete_call, methods=["DELETE"]),
]

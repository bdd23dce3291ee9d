"""seven.io webhooks: `GET/POST/DELETE /api/hooks` (and the legacy `?action=read|subscribe|unsubscribe`
by GET or POST), and the dispatch of events (`dlr`, ...) to
every matching hook in the hook's `request_method` (POST form, JSON or GET query), signed when
the account has a signing secret.

A hook's `target_url` and custom `headers` follow the emulator's one rule for webhook targets
(`core.webhook_targets`): a URL it could never deliver to, or a header that would set the
framing or the connection (`Transfer-Encoding`, `Content-Length`, `Host` ...), is refused when
the hook is created, as seven.io refuses an invalid `target_url` (`success: false`, no id)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.clock import MICROS
from ..core.engine import Engine
from ..core.errors import InvalidParameter, MissingParameter, NotFound, ValidationError
from ..core.models import Delivery, Hook, Message, StatusChange
from ..core.webhook_targets import check_custom_headers, check_target_url, parse_custom_headers
from .context import RequestContext, begin
from .render import STATUS_NAMES, json_response, moment
from .signing import NonceSource, signed_headers
from .validate import text

__all__ = [
    "list_hooks",
    "create_hook",
    "delete_hook",
    "hooks_by_get",
    "hooks_by_post",
    "dispatch",
    "listening",
    "report_delivery",
    "make_signer",
    "install",
    "ROUTES",
    "EVENT_TYPES",
    "REQUEST_METHODS",
]

EVENT_TYPES = ("all", "sms_mo", "dlr", "voice_call", "voice_status", "voice_dtmf", "tracking", "rcs")
REQUEST_METHODS = ("POST", "JSON", "GET")
FIRST_HOOK_ID = 1


def _hook_json(hook: Hook) -> dict[str, Any]:
    return {
        "id": str(hook.id),
        "target_url": hook.target_url,
        "event_type": hook.event_type,
        "event_filter": hook.event_filter,
        "request_method": hook.request_method,
        "headers": hook.headers,
        "enabled": hook.enabled,
        "created": moment(hook.created, fraction=0),
    }


async def list_hooks(request: Request) -> Response:
    return _list(await begin(request))


def _list(ctx: RequestContext) -> Response:
    page = ctx.engine.store.hooks.page(ctx.account.id, limit=10_000)
    return json_response({"success": True, "code": None, "hooks": [_hook_json(h) for h in reversed(page.items)]})


async def create_hook(request: Request) -> Response:
    return _create(await begin(request))


def _create(ctx: RequestContext) -> Response:
    params = ctx.params
    target_url = text(params, "target_url")
    if not target_url:
        raise MissingParameter("target_url")
    target_url = check_target_url("target_url", target_url)
    event_type = text(params, "event_type")
    if not event_type:
        raise MissingParameter("event_type")
    if event_type not in EVENT_TYPES:
        raise InvalidParameter("event_type", event_type, f"expected one of {', '.join(EVENT_TYPES)}")
    method = (text(params, "request_method") or "POST").upper()
    if method not in REQUEST_METHODS:
        raise InvalidParameter("request_method", method, "expected POST, JSON or GET")
    event_filter = text(params, "event_filter") or None
    headers = text(params, "headers") or None
    if headers is not None:
        for line in headers.splitlines():
            if line.strip() and ":" not in line:
                raise ValidationError("headers", "each custom header must be written 'Name: value'")
        check_custom_headers("headers", headers)
    engine = ctx.engine
    hook = Hook(
        id=engine.ids.sequence("seven.hook", FIRST_HOOK_ID),
        provider="seven",
        account_id=ctx.account.id,
        target_url=target_url,
        event_type=event_type,
        request_method=method,
        created=engine.clock.stamp(),
        event_filter=event_filter,
        headers=headers,
    )
    engine.store.hooks.add(str(hook.id), ctx.account.id, hook.created, hook)
    return json_response({"success": True, "id": hook.id})


async def delete_hook(request: Request) -> Response:
    return _delete(await begin(request))


def _delete(ctx: RequestContext) -> Response:
    raw = text(ctx.params, "id")
    if raw is None or raw.strip() == "":
        raise MissingParameter("id")
    hook = ctx.engine.store.hooks.get(raw.strip())
    if hook is None or hook.account_id != ctx.account.id:
        raise NotFound("hook", raw)
    ctx.engine.store.hooks.remove(str(hook.id))
    return json_response({"success": True})


def _custom_headers(hook: Hook) -> dict[str, str]:
    """The hook's custom headers; a line the rule refuses (kept from before it) is left out."""
    if not hook.headers:
        return {}
    return parse_custom_headers(hook.headers)[0]


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else key, item, out)
    elif value is not None:
        out.append((prefix, "true" if value is True else "false" if value is False else str(value)))


def listening(engine: Engine, account_id: str, event: str) -> list[Hook]:
    """The account's enabled hooks for `event` (before their filters), oldest first."""
    if not engine.store.hooks.owns_any(account_id):
        return []
    hooks = engine.store.hooks.page(account_id, limit=10_000).items
    return [hook for hook in reversed(hooks) if hook.enabled and hook.event_type in (event, "all")]


def dispatch(engine: Engine, account_id: str, event: str, data: dict[str, Any], filter_values: tuple[str, ...] = ()) -> list[Delivery]:
    """Queue `event` for every enabled hook of the account that listens to it."""
    hooks = listening(engine, account_id, event)
    if not hooks:
        return []
    envelope = {"webhook_event": event, "webhook_timestamp": moment(engine.clock.now(), fraction=0), "data": data}
    deliveries = []
    for hook in hooks:
        if hook.event_filter and hook.event_filter not in filter_values:
            continue
        headers = _custom_headers(hook)
        url, body, method = hook.target_url, b"", "POST"
        if hook.request_method == "JSON":
            headers["Content-Type"] = "application/json"
            body = json.dumps(envelope).encode()
        else:
            fields: list[tuple[str, str]] = []
            _flatten("", envelope, fields)
            if hook.request_method == "GET":
                method = "GET"
                url += ("&" if urlsplit(url).query else "?") + urlencode(fields)
            else:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                body = urlencode(fields).encode()
        deliveries.append(engine.outbox.enqueue(
            provider="seven", account_id=account_id, event=event, url=url, method=method,
            headers=headers, body=body, subject_id=str(data.get("msg_id") or data.get("id") or "") or None,
        ))
    return deliveries


def report_delivery(engine: Engine, message: Message, change: StatusChange) -> None:
    """Lifecycle listener: a `dlr` event for each status change of a seven.io message (RCS
    messages report through `rcs` hooks instead, see `rcs.report_status`)."""
    if message.provider != "seven" or message.attributes.get("channel") == "RCS":
        return
    if not listening(engine, message.account_id, "dlr"):
        return
    data = {
        "msg_id": message.id,
        "status": STATUS_NAMES[change.status],
        "timestamp": moment(change.at, fraction=6),
        "foreign_id": message.attributes.get("foreign_id"),
        "label": message.attributes.get("label"),
    }
    dispatch(engine, message.account_id, "dlr", data, (message.recipient, message.recipient.lstrip("+"), message.sender))


def make_signer(engine: Engine):
    """Per-attempt signing headers for deliveries of accounts that have a signing secret."""
    nonces = NonceSource(engine.seed)

    def sign(delivery: Delivery) -> dict[str, str]:
        account = engine.store.accounts.get(delivery.account_id)
        secret = account.attributes.get("signing_secret") if account else None
        if not secret:
            return {}
        timestamp = engine.clock.now() // MICROS
        return signed_headers(secret, timestamp, nonces.for_attempt(delivery.id, len(delivery.attempts) + 1), delivery.method, delivery.url, delivery.body)

    return sign


def install(engine: Engine) -> None:
    engine.lifecycle.listen("seven", partial(report_delivery, engine))


# The legacy form: `GET` or `POST /hooks?action=read|subscribe|unsubscribe`, same fields and answers.
_ACTIONS = {"read": _list, "subscribe": _create, "unsubscribe": _delete}


def _by_action(ctx: RequestContext, default) -> Response:
    action = (text(ctx.params, "action") or "").strip().lower()
    if not action:
        return default(ctx)
    if action not in _ACTIONS:
        raise InvalidParameter("action", action, "expected read, subscribe or unsubscribe")
    return _ACTIONS[action](ctx)


async def hooks_by_get(request: Request) -> Response:
    """`GET /hooks`: the list, or a legacy `action`."""
    return _by_action(await begin(request), _list)


async def hooks_by_post(request: Request) -> Response:
    """`POST /hooks`: a new hook, or a legacy `action`."""
    return _by_action(await begin(request), _create)


ROUTES = [
    Route("/hooks", hooks_by_get, methods=["GET"]),
    Route("/hooks", hooks_by_post, methods=["POST"]),
    Route("/hooks", delete_hook, methods=["DELETE"]),
]

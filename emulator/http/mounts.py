"""Building blocks shared by the provider mounts: a sub-application whose every error, including
unknown paths and wrong methods, goes through the provider's own renderer.

Webhook loops stop here: a request that carries the outbox's hop header
(`X-Telco-Emulator-Hop: N`) was made by a webhook of the emulator itself. At N >= `hop_limit`
it is refused (`LoopDetected`, rendered by the app's renderer) before anything is read or
changed; below it, it is handled with `current_hop` set to N, so that every delivery it causes
carries N + 1. The control API takes no such request at all (`hop_limit` 1).

Every refusal leaves here with its reason in words (`X-Telco-Emulator-Reason`, and a log line at
`info`: see `reasons.py`); a provider's app also records every request it answers in the request
journal (`core/request_journal.py`), attached by the application with `record_into`.

A resource module (`emulator/elks/sms.py`, `emulator/seven/hooks.py`, ...) declares its routes in
a module-level `ROUTES` list and may define `install(engine)` to hook into the simulation (a
lifecycle listener, a retry policy). Each mount's `routes.py` names its modules' `ROUTES` and
`install`s explicitly, in matching order; inside a module, routes keep their order, so a module
puts `/images/{id}.jpg` before `/images/{id}`.
"""

from __future__ import annotations

import logging
from time import perf_counter_ns
from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from ..core import errors
from ..core.request_journal import RequestJournal
from ..core.webhook_targets import HOP_HEADER, MAX_HOPS, current_hop, parse_hop
from .inline_requests import RAW_REQUEST
from .params import ProviderRequest
from .reasons import log_refusal, marked_reason, reason_of, with_reason

__all__ = ["ProviderApp", "provider_app", "route_path"]

log = logging.getLogger("emulator")

Renderer = Callable[[Request, errors.EmulatorError], Response]
Crash = Callable[[Request], Response]
Endpoint = Callable[[Request], Awaitable[Response]]
_HOP_KEY = HOP_HEADER.lower().encode("latin-1")
UNEXPLAINED = "the emulator gave no reason for it (a gap worth reporting)"


class ProviderApp:
    """A provider's routes behind one error boundary.

    Requests are matched here, not by a Starlette router: a path without parameters is one dict
    lookup, the others are tried among the routes of their first path segment (`/sms`,
    `/numbers`, ...). The endpoint is awaited directly with a `Request` and its response sent.
    Any `EmulatorError`, unknown path, wrong method (with every allowed method named) or crash
    becomes the provider's own answer, carrying its reason in words (`reasons.py`); with a
    journal (`record_into`), every answered request is recorded there. A trailing slash is ignored (`/sms/` is `/sms`). Handlers
    reach shared objects through `request.app.state` (the outer application's state).
    """

    def __init__(self, routes: list[BaseRoute], render: Renderer, crash: Crash, hop_limit: int = MAX_HOPS) -> None:
        self.routes = list(routes)
        self.render = render
        self.crash = crash
        self.hop_limit = hop_limit
        self.journal: RequestJournal | None = None  # see `record_into`
        self.provider = ""
        self._exact: dict[str, dict[str, Endpoint]] = {}  # path -> method -> endpoint
        self._patterns: dict[str, list[Route]] = {}  # first segment -> routes with parameters
        for route in self.routes:
            if not isinstance(route, Route):
                raise TypeError(f"provider routes must be plain routes, not {route!r}")
            methods = route.methods or {"GET", "HEAD"}
            if route.param_convertors:
                self._patterns.setdefault(_first_segment(route.path), []).append(route)
            else:
                endpoints = self._exact.setdefault(route.path, {})
                for method in methods:
                    endpoints.setdefault(method, route.endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        journal = self.journal
        started = perf_counter_ns() if journal is not None else 0
        request: ProviderRequest | None = None
        try:
            request = ProviderRequest(scope, receive, send)
            hop = request.headers.raw(_HOP_KEY)  # headers are indexed once: the handler reads them again
            endpoint = self._resolve(scope, route_path(scope))
            if hop is None:
                response = await endpoint(request)
            else:
                response = await self._as_hop(endpoint, request, hop)
            status = response.status_code
            reason = None
            if status >= 400:  # a refusal the handler built itself carries its reason
                reason = marked_reason(response) or f"refused with {status}; {UNEXPLAINED}"
                with_reason(response, reason)
                log_refusal(scope, status, reason)
            if journal is not None:
                self._record(journal, scope, request, response, started, reason)
            await response(scope, receive, send)
            return
        except errors.EmulatorError as exc:
            response = self.refusal(Request(scope, receive), exc)
        except Exception:
            failed = Request(scope, receive)
            log.exception("internal error on %s %s", failed.method, failed.url.path)
            response = with_reason(self.crash(failed), "internal error in the emulator: a bug; its log has the traceback")
        if journal is not None:
            self._record(journal, scope, request, response, started, marked_reason(response))
        await response(scope, receive, send)

    def refusal(self, request: Request, exc: errors.EmulatorError) -> Response:
        """The provider's own answer to `exc`, with the reason header; logged at `info`."""
        reason = reason_of(exc)
        response = with_reason(self.render(request, exc), reason)
        log_refusal(request.scope, response.status_code, reason)
        return response

    def record_into(self, journal: RequestJournal, provider: str) -> None:
        """Record every request this app answers in `journal`, as `provider`'s."""
        self.journal = journal
        self.provider = provider

    def record_refusal(self, scope: Scope, response: Response) -> None:
        """Journal a refusal made before the request reached this app (a body over the limit)."""
        if self.journal is not None:
            self._record(self.journal, scope, None, response, perf_counter_ns(), marked_reason(response))

    def _record(self, journal: RequestJournal, scope: Scope, request: Request | None, response: Response, started: int,
                reason: str | None) -> None:
        """Journal an answered request (every provider request comes through here; see core/request_journal.py)."""
        journal.add(
            self.provider, scope["method"], scope.get("raw_path") or scope["path"], scope.get("query_string", b""), scope["headers"],
            request.__dict__.get("_body") if request is not None else None, scope.get("emulator.account"), response.status_code,
            getattr(response, "body", None), response.media_type, perf_counter_ns() - started, reason, scope.get(RAW_REQUEST),
        )

    async def _as_hop(self, endpoint: Endpoint, request: Request, value: bytes) -> Response:
        """Handle a request a webhook of the emulator made, or refuse it as a loop."""
        hop = parse_hop(value.decode("latin-1"))
        if hop is None or hop >= self.hop_limit:
            if self.hop_limit <= 1:
                raise errors.LoopDetected(hop, f"Refused: this request was made by a webhook of the emulator itself "
                                               f"({HOP_HEADER}), and webhooks may not drive the control API")
            told = "an unreadable number" if hop is None else f"number {hop}"
            raise errors.LoopDetected(hop, f"Loop detected: this request is webhook hop {told} from the emulator itself "
                                           f"({HOP_HEADER}); at most {self.hop_limit - 1} are served")
        token = current_hop.set(hop)
        try:
            return await endpoint(request)
        finally:
            current_hop.reset(token)

    def _resolve(self, scope: Scope, path: str) -> Endpoint:
        """The endpoint for the request, with `path_params` set in the scope; raises
        RouteNotFound or MethodNotAllowed."""
        method = scope["method"]
        endpoints = self._exact.get(path)
        if endpoints is not None:
            endpoint = endpoints.get(method)
            if endpoint is not None:
                scope["path_params"] = {}
                scope["endpoint"] = endpoint
                return endpoint
        allowed: set[str] = set(endpoints) if endpoints else set()
        for route in self._patterns.get(_first_segment(path), ()):
            match = route.path_regex.match(path)
            if match is None:
                continue
            if method not in route.methods:
                allowed |= route.methods
                continue
            scope["path_params"] = {key: route.param_convertors[key].convert(value) for key, value in match.groupdict().items()}
            scope["endpoint"] = route.endpoint
            return route.endpoint
        if allowed:
            raise errors.MethodNotAllowed(method, scope["path"], tuple(sorted(allowed)))
        if len(path) > 1 and path.endswith("/"):
            return self._resolve(scope, path[:-1])
        raise errors.RouteNotFound(scope["path"])


def route_path(scope: Scope) -> str:
    """The path inside the mount (`/sms` for `/a1/sms` under root path `/a1`)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root):] or "/"
    return path


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def provider_app(routes: list[BaseRoute], render: Renderer, crash: Crash, hop_limit: int = MAX_HOPS) -> ProviderApp:
    return ProviderApp(routes, render, crash, hop_limit)

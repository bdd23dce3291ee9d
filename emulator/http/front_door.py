"""The front door: `EmulatorApp`, the one Starlette application every request enters by, which
sends provider requests straight to their mounts behind the body bound and the fault injector, and
everything else through the exposure guard to the control API. It is assembled, with the
providers, the control API and the world, by `emulator.app.create_app`."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..control.render import error_response as control_error
from ..control.sink import SINK_PREFIX, SinkApp
from ..core.engine import Engine
from ..core.errors import BodyTooLarge
from ..core.request_journal import journal_of
from ..providers import PROVIDERS
from ..settings import DEFAULT_MAX_BODY_SIZE
from ..shared.requests import APPLYING, THROUGH
from .exposure import ExposureGuard, bounded_receive, declared_too_large
from .fault_injector import FaultInjector
from .mounts import ProviderApp, route_path
from .params import headers_by_name
from .reasons import log_refusal, marked_reason, with_reason

if TYPE_CHECKING:
    from ..shared.replica import Replica

__all__ = ["EmulatorApp", "CONTROL_PREFIX"]

CONTROL_PREFIX = "/_emulator"
# Control requests that may run inline: none of them streams, uploads or serves a file.
_INLINE_CONTROL = re.compile(re.escape(CONTROL_PREFIX) + r"/(?:reset|health|wait|sandboxes/[^/]+/reset)")


class EmulatorApp(Starlette):
    """The Starlette application, with a direct way in for the providers' requests.

    A request under `/a1` or `/api` goes straight to the provider's app (behind the fault
    injector while there are fault rules), with the scope a `Mount` would give it, instead of through Starlette's middleware
    stack and router: the provider apps catch and render every error themselves, and this path
    carries nearly all of the traffic. The mounts stay in `routes` for introspection; everything
    else (the control API, the root redirect, the lifespan) takes the usual way, after the
    exposure guard's checks (Host, cross-site writes, the control token: `emulator/http/exposure.py`).
    Every request's body is bounded by `max_body_size`, on every mount.
    """

    def runs_inline(self, path: str) -> bool:
        """Whether the server may run a request for `path` without a task of its own
        (`emulator/http/inline_requests.py`): the provider mounts' and the control API's resets,
        waits and health (what a test asks before and after its requests), but none in a shared
        world, whose requests wait for Redis (whose client needs a task)."""
        if self.replica is not None:
            return False
        return path.startswith(self._inline_prefixes) or _INLINE_CONTROL.fullmatch(path) is not None

    def waits_for_body(self, path: str, length: int) -> bool:
        """Whether the server may hold a request whose head has come, with a body of `length`
        bytes still on its way, until the body is all there and run it inline then, instead of
        starting a task that waits for it (`inline_requests.py`). Clients such as httpx send a
        request's head and body in two writes, which often arrive apart. A body over the bound
        is refused as soon as its head is read (413, unread), so it does not wait."""
        return length <= self._max_body_size and self.runs_inline(path)

    def __init__(
        self, *args: Any, engine: Engine, providers: dict[str, ASGIApp],
        control: ASGIApp | None = None, guard: ExposureGuard | None = None, max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._engine = engine
        self._providers = dict(providers)
        self._inline_prefixes = tuple(prefix + "/" for prefix in self._providers)
        self._control = control
        self._faulty = {prefix: FaultInjector(app, engine) for prefix, app in providers.items()}
        self._boundaries = {prefix: _boundary(app) for prefix, app in providers.items()}
        journal = journal_of(engine)
        names = {provider.prefix: provider.name for provider in PROVIDERS}
        for prefix, boundary in self._boundaries.items():
            boundary.record_into(journal, names.get(prefix, prefix.strip("/")))
        self._sink = SinkApp(engine)
        self._guard = guard or ExposureGuard()
        self._max_body_size = max_body_size
        self._max_body_digits = len(str(max_body_size))  # a shorter Content-Length is always under it
        self.replica: Replica | None = None  # set in a shared world (emulator/shared/replica.py)

    def share(self, replica: Replica) -> None:
        """Serve a shared world: requests go through `replica`, which applies the log's entries here."""
        self.replica = replica
        replica.serve = self
        replica.guard = self.guarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A shared world (emulator/shared/): requests go to the replica, which comes back here
        # (marked THROUGH) for the reads and for each entry of the log as it is applied.
        if self.replica is not None and scope["type"] == "http" and THROUGH not in scope:
            await self.replica.handle(scope, receive, send)
            return
        if scope["type"] == "http":
            path = route_path(scope)
            end = path.find("/", 1)
            prefix = path if end < 0 else path[:end]
            provider = self._providers.get(prefix)
            if provider is not None:
                self._enter(scope, prefix)
                # The headers by name, which the request object reuses (`params.IndexedHeaders`):
                # the bound on the body costs this path one lookup.
                by_name = headers_by_name(scope)
                length = by_name.get(b"content-length")
                if length is not None:
                    if len(length) >= self._max_body_digits and declared_too_large(by_name, self._max_body_size):
                        boundary = self._boundaries[prefix]
                        refusal = boundary.refusal(Request(scope, receive), BodyTooLarge(self._max_body_size))
                        boundary.record_refusal(scope, refusal)
                        await refusal(scope, receive, send)
                        return
                elif b"transfer-encoding" in by_name:
                    receive = bounded_receive(receive, self._max_body_size)
                if self._engine.faults.rules:  # the injector only while there are fault rules
                    provider = self._faulty[prefix]
                await provider(scope, receive, send)
                return
            headers = headers_by_name(scope)
            if path.startswith(SINK_PREFIX):  # open to the emulator's own webhooks: see control/sink.py
                if declared_too_large(headers, self._max_body_size):
                    await _refuse(control_error(BodyTooLarge(self._max_body_size)), scope, receive, send)
                    return
                if b"transfer-encoding" in headers:
                    receive = bounded_receive(receive, self._max_body_size)
                await self._sink(scope, receive, send)
                return
            # In a shared world the process a request came to asks the guard before the request
            # becomes an entry: its answer depends on this process's settings, not the world's.
            if APPLYING not in scope and await self.guarded(scope, receive, send):
                return
            if declared_too_large(headers, self._max_body_size):
                await _refuse(control_error(BodyTooLarge(self._max_body_size)), scope, receive, send)
                return
            if b"transfer-encoding" in headers:
                receive = bounded_receive(receive, self._max_body_size)
            if prefix == CONTROL_PREFIX and end > 0 and self._control is not None:
                self._enter(scope, prefix)  # straight to the control API: it renders its own errors
                await self._control(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _enter(self, scope: Scope, prefix: str) -> None:
        """The scope a `Mount` at `prefix` would give its app, with the engine in it."""
        scope["app"] = self
        scope["emulator.engine"] = self._engine
        root = scope.get("root_path", "")
        scope["app_root_path"] = scope.get("app_root_path", root)
        scope["root_path"] = root + prefix

    async def guarded(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the exposure guard's refusal of a request for the control API or the inbox, if
        it has one (True then)."""
        refusal = self._guard.refusal(scope, route_path(scope))
        if refusal is None:
            return False
        await (_refuse(refusal, scope, receive, send) if refusal.status_code >= 400 else refusal(scope, receive, send))
        return True


def _boundary(app: Any) -> ProviderApp:
    """The provider's `ProviderApp` (possibly behind wrappers that keep it as `.app`): its error
    boundary, which renders refusals with their reasons and keeps the journal."""
    while not isinstance(app, ProviderApp):
        app = app.app
    return app


async def _refuse(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Send a refusal of the control API made outside its routes, with its reason."""
    reason = marked_reason(response) or _control_message(response)
    if reason:
        with_reason(response, reason)
        log_refusal(scope, response.status_code, reason)
    await response(scope, receive, send)


def _control_message(response: Response) -> str | None:
    """The `error.message` of a control API error body."""
    try:
        return json.loads(getattr(response, "body", b"") or b"null")["error"]["message"]
    except (ValueError, TypeError, KeyError):
        return None

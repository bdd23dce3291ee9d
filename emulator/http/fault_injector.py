"""The fault injector: an ASGI layer in front of the provider mounts that applies the engine's
fault rules (see `core/faults.py`), answering errors in each provider's own shape, with the
reason header, recorded in the request journal."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.engine import Engine
from ..core.provider import Provider
from ..core.request_journal import journal_of
from ..providers import PROVIDERS
from ..shared.requests import APPLYING, DELAY
from .reasons import REASON_HEADER, header_value, log_refusal

__all__ = ["FaultInjector", "provider_at", "answer_status"]


class FaultInjector:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.engine.faults.rules:
            path: str = scope["path"]
            provider = provider_at(path)
            if provider is not None:
                fault = self.engine.faults.take(provider.name, scope["method"], path[len(provider.prefix):] or "/")
                if fault is not None:
                    self.engine.events.emit("fault.injected", provider.name, None, fault=fault.id, fault_kind=fault.kind, path=path, method=scope["method"])
                    if fault.kind == "delay":
                        if APPLYING in scope:  # a shared world's entry: the process answering it waits
                            scope[DELAY] = scope.get(DELAY, 0.0) + fault.delay
                        else:
                            await asyncio.sleep(fault.delay)
                    else:
                        reason = header_value(
                            f"fault rule {fault.id} answered {fault.status} instead of the provider "
                            f"(rules are set with POST /_emulator/faults and cleared with DELETE /_emulator/faults)"
                        )
                        log_refusal(scope, fault.status, reason)
                        body, content_type = await answer_status(send, provider, fault.status, fault.retry_after, reason)
                        journal_of(self.engine).add(provider.name, scope["method"], scope.get("raw_path") or path, scope.get("query_string", b""), scope["headers"],
                                                    None, None, fault.status, body, content_type, 0, reason)
                        return
        await self.app(scope, receive, send)


def provider_at(path: str) -> Provider | None:
    """The provider whose mount `path` lies under, if any."""
    for provider in PROVIDERS:
        if path == provider.prefix or path.startswith(provider.prefix + "/"):
            return provider
    return None


async def answer_status(send: Send, provider: Provider, status: int, retry_after: int | None, reason: str) -> tuple[bytes, str]:
    """Answer `status` in the provider's own shape for it (`Provider.fault_answer`), with the
    reason header (and `Retry-After` when given); returns the body and its content type."""
    body, content_type = provider.fault_answer(status)
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (REASON_HEADER.lower().encode(), reason.encode("latin-1"))]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return body, content_type

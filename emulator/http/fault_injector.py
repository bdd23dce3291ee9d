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

__all__ = ["FaultInjector"]


class FaultInjector:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.engine.faults.rules:
            path: str = scope["path"]
            for provider in PROVIDERS:
                mount = provider.prefix
                if path == mount or path.startswith(mount + "/"):
                    fault = self.engine.faults.take(provider.name, scope["method"], path[len(mount):] or "/")
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
                            body, content_type = await self._answer(send, provider, fault.status, fault.retry_after, reason)
                            journal_of(self.engine).add(provider.name, scope["method"], scope.get("raw_path") or path, scope.get("query_string", b""), scope["headers"],
                                                        None, None, fault.status, body, content_type, 0, reason)
                            return
                    break
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(send: Send, provider: Provider, status: int, retry_after: int | None, reason: str) -> tuple[bytes, str]:
        body, content_type = provider.fault_answer(status)
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                   (REASON_HEADER.lower().encode(), reason.encode("latin-1"))]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return body, content_type

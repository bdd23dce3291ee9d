"""The fault injector: an ASGI layer in front of the provider mounts that applies the engine's
fault rules (see `core/faults.py`), answering errors in each provider's own shape."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from .core.engine import Engine
from .core.provider import Provider
from .providers import PROVIDERS

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
                            await asyncio.sleep(fault.delay)
                        else:
                            await self._answer(send, provider, fault.status, fault.retry_after)
                            return
                    break
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(send: Send, provider: Provider, status: int, retry_after: int | None) -> None:
        body, content_type = provider.fault_answer(status)
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

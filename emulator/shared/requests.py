"""Requests as entries of the world's log, and answers captured while an entry is applied.

A request that may change the world is appended whole: the parts of its ASGI scope a handler
reads (method, paths, query, headers, client, server) and its body, read up to one byte past
the largest body the emulator takes (the process applying it refuses what is too large, as the
front door does). Applying it runs the front door's own path with a scope marked `APPLYING`, a
`receive` that hands over the body, and a `send` that keeps the answer for the process the
request came to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import Message, Receive, Scope, Send

__all__ = ["APPLYING", "THROUGH", "DELAY", "encode_scope", "decode_scope", "read_body", "Capture", "body_receive"]

APPLYING = "emulator.applying"  # scope key: this request is an entry being applied
THROUGH = "emulator.through"  # scope key: the replica has taken this request (an entry, or a read)
DELAY = "emulator.delay"  # scope key: seconds the answer waits (a delay fault), kept by the origin

_SCOPE_PARTS = ("type", "http_version", "method", "scheme", "path", "root_path")


def encode_scope(scope: Scope) -> bytes:
    head: dict[str, Any] = {name: scope.get(name) for name in _SCOPE_PARTS}
    head["raw_path"] = (scope.get("raw_path") or b"").decode("latin-1")
    head["query_string"] = scope.get("query_string", b"").decode("latin-1")
    head["headers"] = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in scope["headers"]]
    head["client"] = list(scope["client"]) if scope.get("client") else None
    head["server"] = list(scope["server"]) if scope.get("server") else None
    return orjson.dumps(head)


def decode_scope(raw: bytes) -> Scope:
    head = orjson.loads(raw)
    scope: dict[str, Any] = {name: head.get(name) for name in _SCOPE_PARTS}
    scope["asgi"] = {"version": "3.0", "spec_version": "2.3"}
    scope["root_path"] = scope["root_path"] or ""
    scope["raw_path"] = head["raw_path"].encode("latin-1") or None
    scope["query_string"] = head["query_string"].encode("latin-1")
    scope["headers"] = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in head["headers"]]
    scope["client"] = tuple(head["client"]) if head.get("client") else None
    scope["server"] = tuple(head["server"]) if head.get("server") else None
    scope["state"] = {}
    scope[APPLYING] = scope[THROUGH] = True
    return scope


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request's body, read until it ends or passes `limit` bytes (what is beyond is dropped:
    the entry then carries more than the emulator takes, and its refusal follows); None when the
    client went away before its body ended (such a request never becomes an entry)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        parts.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body", False):
            break
    return b"".join(parts)


def body_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


@dataclass(slots=True)
class Capture:
    """The answer written while an entry was applied."""

    start: Message | None = None
    body: list[bytes] = field(default_factory=list)
    delay: float = 0.0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body.append(message.get("body", b""))

    async def replay(self, send: Send) -> None:
        start = self.start or {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]}
        await send(start)
        await send({"type": "http.response.body", "body": b"".join(self.body)})

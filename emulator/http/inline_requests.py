"""Requests that arrive whole are answered at once, in one write, for uvicorn's httptools protocol.

uvicorn starts a task for every request as soon as its headers are parsed, and the response
goes out in two writes (the head, then the body): for a small API call that is a task to
create and schedule, a trip through the event loop and two system calls, about as much as the
emulator's own work. `InlineRequests`, mixed in before uvicorn's `HttpToolsProtocol`, changes
only the case where the whole request (headers and body) is in the bytes just received (nearly
every API call) and the application's `runs_inline(path)` says yes (the provider mounts and the
control API's resets, waits and health: their handlers never ask for the current task, as
anyio's task groups, worker threads and Starlette's streaming and file responses do): the
application is run right there, in a copy of
the context as a task would be, and while it runs the response's writes are gathered and sent
as one. If the application
has to wait for anything (a long-poll, a stream, a webhook), the rest of it goes on as an
ordinary task, with what it wrote so far sent first. A request whose body is still to come, and
a pipelined request started later, take uvicorn's usual way, so a refusal of a too-large body
still goes out before the body is read.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from typing import Any, Callable, Coroutine, Generator

__all__ = ["InlineRequests"]


def _never(path: str) -> bool:
    return False


class _GatheredWrites:
    """Stands in for the transport while a request runs inline: keeps what is written and
    sends it in one write when flushed (before a close, or when the request must wait)."""

    __slots__ = ("transport", "parts")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def flush(self) -> None:
        if self.parts:
            data = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
            self.parts = []
            self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, ...
        return getattr(self.transport, name)


@types.coroutine
def _go_on(coroutine: Coroutine[Any, Any, Any], waiting_for: Any) -> Generator[Any, Any, Any]:
    """Drive `coroutine`, which has already run up to yielding `waiting_for`, as a task would."""
    while True:
        try:
            sent = yield waiting_for
        except BaseException as exc:  # a cancellation, thrown in by the task
            try:
                waiting_for = coroutine.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                waiting_for = coroutine.send(sent)
            except StopIteration as stop:
                return stop.value


async def _rest_of(coroutine: Coroutine[Any, Any, Any], waiting_for: Any) -> Any:
    return await _go_on(coroutine, waiting_for)


class InlineRequests:
    """Mixed in before uvicorn's `HttpToolsProtocol` (see the module's docstring)."""

    _receiving = False  # inside data_received: a request started now may run inline
    _deferred: Any = None  # (cycle, app) whose body is still being parsed

    def data_received(self, data: bytes) -> None:
        self._receiving = True
        try:
            super().data_received(data)  # type: ignore[misc]
        finally:
            self._receiving = False
            deferred, self._deferred = self._deferred, None
            if deferred is not None:  # the body did not all come: the usual task
                super()._start_asgi_task(*deferred)  # type: ignore[misc]

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if self._receiving and self._deferred is None:
            self._deferred = (cycle, app)  # run when the message is complete (see below)
        else:
            super()._start_asgi_task(cycle, app)  # type: ignore[misc]

    def on_message_complete(self) -> None:
        super().on_message_complete()  # type: ignore[misc]
        deferred = self._deferred
        if deferred is not None and deferred[0] is self.cycle and self._runs_inline()(deferred[0].scope["path"]):  # type: ignore[attr-defined]
            self._deferred = None
            self._run_inline(*deferred)

    def _runs_inline(self) -> Callable[[str], bool]:
        """The `runs_inline` of the application (looked for through wrappers' `.app`)."""
        runs_inline = self.__dict__.get("_runs_inline_of_app")
        if runs_inline is None:
            app = self.app  # type: ignore[attr-defined]
            while app is not None and not hasattr(app, "runs_inline"):
                app = getattr(app, "app", None)
            runs_inline = self._runs_inline_of_app = getattr(app, "runs_inline", _never)
        return runs_inline

    def _run_inline(self, cycle: Any, app: Any) -> None:
        context = contextvars.copy_context()  # what a task started here would run in
        writes = cycle.transport = _GatheredWrites(cycle.transport)
        coroutine = cycle.run_asgi(app)
        try:
            waiting_for = context.run(coroutine.send, None)
        except StopIteration:
            return
        finally:
            cycle.transport = writes.transport
            writes.flush()
        task = self.loop.create_task(_rest_of(coroutine, waiting_for), context=context)  # type: ignore[attr-defined]
        task.add_done_callback(self.tasks.discard)  # type: ignore[attr-defined]
        self.tasks.add(task)  # type: ignore[attr-defined]

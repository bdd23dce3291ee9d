"""A deadline on the arrival of a request's headers, for the server's HTTP protocol.

uvicorn bounds the wait between requests on a kept-alive connection (`timeout_keep_alive`), but
any byte that arrives cancels that timer, and nothing bounds the time a request's headers take
after that: a client sending one byte a second holds its connection (and a file descriptor)
forever, and a few thousand such clients hold the server. `header_deadline_protocol(seconds)`
is uvicorn's own HTTP protocol (httptools when installed, else h11, as uvicorn's `auto` picks;
with httptools, a request that arrives whole is also answered inline: `inline_requests.py`)
with a deadline on each request's headers, counted from when the connection opens and from the
first byte of each further request; a connection whose headers are not complete by then is
closed. Bodies and responses are not concerned: they are bounded by size (`--max-body-size`) and
by the app.

With httptools neither this deadline nor uvicorn's keep-alive timeout costs a request a timer:
one timer lasts as long as the connection and keeps both. Each request only notes when its
headers began (and that they are complete), and each response when the connection fell idle;
when the timer fires it closes the connection if headers are overdue or it has been idle for
`timeout_keep_alive` (uvicorn's own handler closes it then), or else sets itself again for the
deadline that holds at that moment. uvicorn makes a keep-alive timer when each response ends and
cancels it when the next request's first bytes arrive; with the header deadline that was two
timers made and cancelled per request, about as long as parsing the request's headers.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["header_deadline_protocol"]


class _HeaderDeadline:
    """Mixed in before uvicorn's protocol class; `header_timeout` is set on the subclass."""

    header_timeout: float
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm_header_deadline(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


class _LastingDeadlines(_HeaderDeadline):
    """The header deadline and uvicorn's keep-alive timeout on one timer for the connection's
    life (see the module's docstring). `_headers_since`: when the pending headers began, None
    while none are pending; `_idle_since`: when the last response ended, None once a byte of the
    next request has come; `_timer_due`: when the timer fires."""

    timeout_keep_alive: float  # uvicorn's, from its config
    _headers_since: float | None = None
    _idle_since: float | None = None
    _timer_due = 0.0

    def _arm_header_deadline(self) -> None:  # when the connection opens
        self._headers_since = self.loop.time()
        if self._header_timer is None:
            self._set_timer(self._headers_since + self.header_timeout)

    def _set_timer(self, due: float) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._timer_due = due
        self._header_timer = self.loop.call_at(due, self._deadline_check)

    def _deadline_check(self) -> None:
        self._header_timer = None
        now = self.loop.time()
        since, idle = self._headers_since, self._idle_since
        if since is not None:
            due = since + self.header_timeout
        elif idle is not None:
            due = idle + self.timeout_keep_alive
        else:
            due = now + self.header_timeout  # a request is being answered: look again later
        if now < due:
            self._set_timer(due)
        elif since is not None:
            self._headers_too_slow()
        else:
            self.timeout_keep_alive_handler()  # type: ignore[attr-defined]

    def _fell_idle(self) -> None:
        """A response has ended and no request waits behind it: the keep-alive timeout runs."""
        now = self._idle_since = self.loop.time()
        if self._header_timer is None or self._timer_due > now + self.timeout_keep_alive:
            self._set_timer(now + self.timeout_keep_alive)  # rare: the timer was set for a later deadline


def _httptools_protocol(base: type, inline: bool = True) -> type:
    """`base` (uvicorn's httptools protocol) with the lasting deadlines and, unless `inline` is
    false, the lean per-request path of `inline_requests.py`."""
    from .inline_requests import InlineRequests

    bases = (_LastingDeadlines, InlineRequests, base) if inline else (_LastingDeadlines, base)

    class HeaderDeadlineHttpTools(*bases):  # type: ignore[misc, valid-type]
        def data_received(self, data: bytes) -> None:  # any byte ends the idleness, as in uvicorn
            self._idle_since = None
            super().data_received(data)

        def on_message_begin(self) -> None:  # the first byte of a request
            self._headers_since = self.loop.time()
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._headers_since = None
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            # uvicorn's own, but for its keep-alive timer: the idleness is noted for the lasting one
            self.server_state.total_requests += 1
            if self.transport.is_closing():
                return
            self._unset_keepalive_if_required()
            self.flow.resume_reading()
            if self.pipeline:
                cycle, app = self.pipeline.pop()
                self._start_asgi_task(cycle, app)
            else:
                self._fell_idle()

    return HeaderDeadlineHttpTools


def _h11_protocol(base: type) -> type:
    import h11

    class HeaderDeadlineH11(_HeaderDeadline, base):  # type: ignore[misc, valid-type]
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            conn = getattr(self, "conn", None)
            if conn is None:
                return
            if conn.their_state is h11.IDLE:
                if conn.trailing_data[0]:  # part of a request's head has arrived
                    self._arm_header_deadline()
            else:
                self._disarm_header_deadline()

    return HeaderDeadlineH11


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class (as `http="auto"` chooses it) that closes a connection whose
    request headers have not all arrived `seconds` after the request began."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        protocol = _h11_protocol(H11Protocol)
    else:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        protocol = _httptools_protocol(HttpToolsProtocol)
    attributes: dict[str, Any] = {"header_timeout": float(seconds), "__module__": __name__}
    return type(protocol.__name__, (protocol,), attributes)

"""The server's HTTP protocol (`emulator/http/inline_requests.py` inside `header_deadline.py`): a
provider request that arrives whole is answered before `data_received` returns, in one write, and
so are the control API's resets, waits and health, also when the body comes after the head; anything
else (a body that may not wait, the rest of the control API) takes uvicorn's task as before."""

from __future__ import annotations

import asyncio
import base64

from uvicorn.server import ServerState

from emulator.app import create_app
from emulator.core.faults import Fault
from emulator.http.server import uvicorn_config
from emulator.settings import Settings

AUTH = "Basic " + base64.b64encode(b"test_user:test_password").decode()  # the default fixtures' account


class Transport:
    """What the protocol writes to, recorded."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8046), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connection(loop: asyncio.AbstractEventLoop):
    settings = Settings(clock="virtual", log_level="warning")
    app = create_app(settings)
    config = uvicorn_config(app, settings)
    config.load()
    state = ServerState()
    protocol = config.http_protocol_class(config=config, server_state=state, app_state={}, _loop=loop)
    transport = Transport()
    protocol.connection_made(transport)
    return app, state, protocol, transport


def send_sms_request(body: bytes = b"to=%2B46700000000&from=Elk&message=Hi") -> bytes:
    return (b"POST /a1/SMS HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Authorization: " + AUTH.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_a_whole_provider_request_is_answered_at_once_in_one_write():
    async def scenario():
        app, state, protocol, transport = connection(asyncio.get_running_loop())
        for number in range(1, 4):  # keep-alive: each request of the connection
            protocol.data_received(send_sms_request())
            assert len(transport.writes) == number  # answered before data_received returned: no task, one write
            head, _, body = transport.writes[-1].partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and b'"status":"created"' in body
        assert not state.tasks
        assert len(app.state.engine.events.matching({"kind": "message.created"})) == 3

    asyncio.run(scenario())


def test_what_a_test_asks_of_the_control_api_is_answered_at_once():
    async def scenario():
        app, state, protocol, transport = connection(asyncio.get_running_loop())
        protocol.data_received(send_sms_request())
        requests = [
            b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET /_emulator/wait?kind=message.created&timeout=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # it has happened
            b"POST /_emulator/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
        ]
        for number, request in enumerate(requests, start=2):
            protocol.data_received(request)
            assert len(transport.writes) == number and not state.tasks
            assert transport.writes[-1].startswith(b"HTTP/1.1 200"), transport.writes[-1]
        assert b'"kind":"message.created"' in transport.writes[2]
        assert not app.state.engine.events.matching({"kind": "message.created"})  # the reset happened

    asyncio.run(scenario())


def test_a_body_that_comes_after_its_head_is_waited_for_and_answered_at_once_in_one_write():
    async def scenario():
        app, state, protocol, transport = connection(asyncio.get_running_loop())
        request = send_sms_request()
        head_end = request.index(b"\r\n\r\n") + 4
        protocol.data_received(request[:head_end])  # httpx writes a request's head and its body apart
        assert transport.writes == [] and not state.tasks  # nothing started: the body is on its way
        protocol.data_received(request[head_end:-5])
        assert transport.writes == [] and not state.tasks
        protocol.data_received(request[-5:])
        assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200") and not state.tasks
        assert b'"status":"created"' in transport.writes[0]
        protocol.data_received(send_sms_request())  # the connection goes on as before
        assert len(transport.writes) == 2 and transport.writes[1].startswith(b"HTTP/1.1 200")

    asyncio.run(scenario())


def test_a_body_that_may_not_wait_and_the_rest_of_the_control_api_take_a_task():
    async def scenario():
        loop = asyncio.get_running_loop()

        async def answered(transport, state) -> bytes:
            for _ in range(20):
                await asyncio.sleep(0)
            assert not state.tasks
            return b"".join(transport.writes)

        # The client waits for `100 Continue` before it sends the body: the application must start.
        app, state, protocol, transport = connection(loop)
        request = send_sms_request()
        head_end = request.index(b"\r\n\r\n") + 4
        protocol.data_received(request[:head_end - 2] + b"Expect: 100-continue\r\n\r\n")
        assert len(state.tasks) == 1
        for _ in range(5):
            await asyncio.sleep(0)
        assert transport.writes[0].startswith(b"HTTP/1.1 100 Continue")
        protocol.data_received(request[head_end:])
        assert b"HTTP/1.1 200" in await answered(transport, state)

        # A body of no declared length (chunked).
        app, state, protocol, transport = connection(loop)
        body = b"to=%2B46700000000&from=Elk&message=Hi"
        head = request[:head_end].replace(b"Content-Length: %d" % len(body), b"Transfer-Encoding: chunked")
        protocol.data_received(head)
        assert len(state.tasks) == 1
        protocol.data_received(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        assert (await answered(transport, state)).startswith(b"HTTP/1.1 200")

        # A body over the emulator's bound is refused as soon as its head is read.
        settings = Settings(clock="virtual", log_level="warning", max_body_size=10)
        config = uvicorn_config(create_app(settings), settings)
        config.load()
        state = ServerState()
        protocol = config.http_protocol_class(config=config, server_state=state, app_state={}, _loop=loop)
        transport = Transport()
        protocol.connection_made(transport)
        protocol.data_received(request[:head_end])
        assert (await answered(transport, state)).startswith(b"HTTP/1.1 413")

        # The control API, but for what a test asks of it, takes a task as uvicorn starts it.
        app, state, protocol, transport = connection(loop)
        protocol.data_received(b"GET /_emulator/clock HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert transport.writes == [] and len(state.tasks) == 1
        assert (await answered(transport, state)).startswith(b"HTTP/1.1 200")

    asyncio.run(scenario())


def test_a_provider_request_that_has_to_wait_goes_on_as_a_task():
    async def scenario():
        app, state, protocol, transport = connection(asyncio.get_running_loop())
        app.state.engine.faults.add(Fault(0, "delay", provider="elks", delay=0.05))  # the handler waits inside the request
        protocol.data_received(send_sms_request())
        assert transport.writes == [] and len(state.tasks) == 1
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not state.tasks:
                break
        assert b"".join(transport.writes).startswith(b"HTTP/1.1 200")
        assert not state.tasks

    asyncio.run(scenario())


def test_the_journal_keeps_a_request_that_came_whole_as_the_bytes_it_came_in():
    from emulator.core import request_journal as rj
    from emulator.control.requests import entry_json

    async def scenario():
        app, state, protocol, transport = connection(asyncio.get_running_loop())
        journal = rj.journal_of(app.state.engine)
        whole = send_sms_request()
        protocol.data_received(whole)
        entry = journal.get(journal.last_seq)
        assert entry[rj.HEADERS] is whole and entry[rj.BODY] is None  # one object: no header pairs, no body copy kept
        assert rj.body_of(entry) == b"to=%2B46700000000&from=Elk&message=Hi"
        shown = entry_json(entry)
        assert shown["headers"]["authorization"] == "Basic ***" and shown["headers"]["content-type"] == "application/x-www-form-urlencoded"
        assert shown["params"] == {"to": "+46700000000", "from": "Elk", "message": "Hi"} and shown["status"] == 200

        two = send_sms_request(b"to=%2B46700000000&from=Elk&message=One") + send_sms_request(b"to=%2B46700000000&from=Elk&message=Two")
        protocol.data_received(two)  # pipelined in one chunk: neither is the chunk
        for _ in range(20):
            await asyncio.sleep(0)
        split = send_sms_request(b"to=%2B46700000000&from=Elk&message=Three")
        protocol.data_received(split[:30])
        protocol.data_received(split[30:])  # a request in two chunks: the second is not all of it
        for _ in range(20):
            await asyncio.sleep(0)
        entries = [journal.get(journal.last_seq - n) for n in (2, 1, 0)]
        assert [rj.body_of(entry)[-5:] for entry in entries] == [b"e=One", b"e=Two", b"Three"]
        assert all(type(entry[rj.HEADERS]) is tuple for entry in entries)
        same = {name: value for name, value in shown["headers"].items() if name != "content-length"}
        for entry in entries:  # shown as the whole request's were
            headers = entry_json(entry)["headers"]
            assert headers.pop("content-length") == str(entry[rj.BODY_SIZE]) and headers == same

    asyncio.run(scenario())


# -- the lean cycle: the same bytes as uvicorn's ---------------------------------------------

class _Protocol:
    """What a cycle takes from its connection's protocol."""

    def __init__(self, transport: Transport) -> None:
        from uvicorn.protocols.http.flow_control import FlowControl

        self.transport = transport
        self.flow = FlowControl(transport)
        self.logger = self.access_logger = __import__("logging").getLogger("test")
        self.access_log = False
        self.server_state = type("State", (), {"default_headers": [(b"date", b"Sat, 05 Dec 2026 04:30:47 GMT"), (b"server", b"uvicorn")]})()
        self.responses = 0

    def on_response_complete(self) -> None:
        self.responses += 1


class _Iterable:
    """Headers as an iterable that is neither a list nor a tuple (ASGI allows any): each run
    gets an iterator of its own, which can be read once."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __iter__(self):
        return iter(self.items)


RESPONSES = [  # (method, http keep-alive, messages)
    ("POST", True, [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2"), (b"content-type", b"application/json")]},
                    {"type": "http.response.body", "body": b"{}"}]),
    ("GET", True, [{"type": "http.response.start", "status": 404, "headers": [(b"Content-Length", b"5"), (b"X-Telco-Emulator-Reason", b"a: b; c")]},
                   {"type": "http.response.body", "body": b"no", "more_body": True}, {"type": "http.response.body", "body": b"ne!"}]),
    ("GET", True, [{"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]},
                   {"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True}, {"type": "http.response.body", "body": b""}]),
    ("HEAD", True, [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"7")]},
                    {"type": "http.response.body", "body": b""}]),
    ("DELETE", True, [{"type": "http.response.start", "status": 204, "headers": []}, {"type": "http.response.body", "body": b""}]),
    ("GET", False, [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]},
                    {"type": "http.response.body", "body": b"x"}]),
    ("GET", True, [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1"), (b"connection", b"keep-alive, Close")]},
                   {"type": "http.response.body", "body": b"x"}]),
    ("GET", True, [{"type": "http.response.start", "status": 599, "headers": [(b"transfer-encoding", b"chunked"), (b"content-length", b"3")]},
                   {"type": "http.response.body", "body": b"abc"}]),
    ("GET", True, [{"type": "http.response.start", "status": 200, "headers": [[b"content-length", b"2"], [b"x-list", b"pair"]]},
                   {"type": "http.response.body", "body": b"ok"}]),
    ("GET", True, [{"type": "http.response.start", "status": 200, "headers": _Iterable([(b"content-length", b"2")])},
                   {"type": "http.response.body", "body": b"ok"}]),
]


def _run_cycle(cycle_class, method: str, keep_alive: bool, messages: list[dict]):
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

    transport = Transport()
    protocol = _Protocol(transport)
    scope = {"type": "http", "method": method, "http_version": "1.1", "headers": []}
    if cycle_class is RequestResponseCycle:
        cycle = RequestResponseCycle(scope, transport, protocol.flow, protocol.logger, protocol.access_logger, False,
                                     protocol.server_state.default_headers, asyncio.Event(), False, keep_alive,
                                     protocol.on_response_complete)
    else:
        cycle = cycle_class(scope, protocol, keep_alive, False)

    async def send_all():
        failure = None
        for message in messages:
            if isinstance(message.get("headers"), _Iterable):
                message = {**message, "headers": iter(message["headers"].items)}
            try:
                await cycle.send(message)
            except RuntimeError as exc:
                failure = str(exc)
                break
        return failure

    failure = asyncio.run(send_all())
    return b"".join(transport.writes), transport.closed, cycle.keep_alive, protocol.responses, failure


def test_the_lean_cycle_writes_what_uvicorns_writes():
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

    from emulator.http.inline_requests import Cycle

    for method, keep_alive, messages in RESPONSES:
        ours = _run_cycle(Cycle, method, keep_alive, messages)
        theirs = _run_cycle(RequestResponseCycle, method, keep_alive, messages)
        if not keep_alive:  # a closing answer says so, as uvicorn's cycle does since 0.46 (0.45 did not)
            assert b"\r\nconnection: close\r\n" in ours[0]
            ours = (ours[0].replace(b"connection: close\r\n", b""), *ours[1:])
            theirs = (theirs[0].replace(b"connection: close\r\n", b""), *theirs[1:])
        if any(name == b"connection" for name, _ in messages[0]["headers"]):  # `close` among several tokens
            assert ours[1] and not ours[2]  # closes, as uvicorn's cycle does since it reads the tokens (0.45 did not)
            if not theirs[1]:
                continue
        assert ours == theirs, (method, messages)
        assert ours[0].startswith(b"HTTP/1.1 ") and ours[3] == 1


def test_the_lean_cycle_refuses_what_uvicorn_refuses():
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

    from emulator.http.inline_requests import Cycle

    bad = [
        [{"type": "http.response.start", "status": 200, "headers": [(b"x-reason", b"line\r\nset-cookie: a=b")]}],
        [{"type": "http.response.start", "status": 200, "headers": [(b"bad name", b"x")]}],
        [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}, {"type": "http.response.body", "body": b"xx"}],
        [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]}, {"type": "http.response.body", "body": b"x"}],
        [{"type": "http.response.body", "body": b"x"}],
    ]
    for messages in bad:
        ours, theirs = _run_cycle(Cycle, "GET", True, messages), _run_cycle(RequestResponseCycle, "GET", True, messages)
        assert ours[4] is not None and theirs[4] is not None, messages  # both raise, so the server closes the connection
        assert ours[0] == theirs[0], messages  # nothing of a refused head is written

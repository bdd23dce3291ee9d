"""The server's HTTP protocol (`emulator/http/inline_requests.py` inside `header_deadline.py`): a
provider request that arrives whole is answered before `data_received` returns, in one write, and
so are the control API's resets, waits and health; anything else (a body still to come, the rest
of the control API) takes uvicorn's task as before."""

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


def test_a_body_still_to_come_and_the_rest_of_the_control_api_take_a_task():
    async def scenario():
        app, state, protocol, transport = connection(asyncio.get_running_loop())
        request = send_sms_request()
        protocol.data_received(request[:-5])
        assert transport.writes == [] and len(state.tasks) == 1  # started, waiting for the body
        protocol.data_received(request[-5:])
        for _ in range(10):
            await asyncio.sleep(0)
        assert b"".join(transport.writes).startswith(b"HTTP/1.1 200")
        transport.writes.clear()
        protocol.data_received(b"GET /_emulator/clock HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert transport.writes == []  # a task, as uvicorn starts it
        for _ in range(10):
            await asyncio.sleep(0)
        assert b"".join(transport.writes).startswith(b"HTTP/1.1 200")

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

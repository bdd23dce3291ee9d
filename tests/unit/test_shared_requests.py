"""Requests as entries of a shared world's log: the scope a handler reads survives the trip
through the log, bodies are read up to one byte past the limit, and answers are captured whole."""

import asyncio

from emulator.shared.requests import APPLYING, Capture, body_receive, decode_scope, encode_scope, read_body


def test_the_scope_a_handler_reads_survives_the_log():
    scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/a1/sms", "root_path": "",
        "raw_path": b"/a1/sms", "query_string": b"a=%C3%A5&b=1",
        "headers": [(b"host", b"emulator.test"), (b"x-latin", "caf\xe9".encode("latin-1"))],
        "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8046),
    }
    decoded = decode_scope(encode_scope(scope))
    for name in ("type", "http_version", "method", "scheme", "path", "root_path", "raw_path", "query_string", "headers", "client", "server"):
        assert decoded[name] == scope[name], name
    assert decoded[APPLYING] is True and decoded["state"] == {}


def test_a_body_is_read_to_its_end_or_one_chunk_past_the_limit():
    def chunks(*parts: bytes):
        queue = [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1} for i, part in enumerate(parts)]

        async def receive():
            return queue.pop(0) if queue else {"type": "http.disconnect"}
        return receive

    assert asyncio.run(read_body(chunks(b"ab", b"cd"), 10)) == b"abcd"
    assert asyncio.run(read_body(chunks(b"abcdef", b"gh", b"ij"), 4)) == b"abcdef"  # stops once past the limit


def test_a_body_cut_short_by_a_disconnect_is_no_body_at_all():
    async def receive_then_leave():
        messages = [{"type": "http.request", "body": b"from=ElkCo&to=%2B4670", "more_body": True}, {"type": "http.disconnect"}]

        async def receive():
            return messages.pop(0)
        return await read_body(receive, 1024)

    assert asyncio.run(receive_then_leave()) is None


def test_an_entry_hands_over_its_body_once_and_its_answer_is_captured_whole():
    async def run():
        receive = body_receive(b"x=1")
        first, second = await receive(), await receive()
        capture = Capture()
        await capture.send({"type": "http.response.start", "status": 201, "headers": [(b"a", b"b")]})
        await capture.send({"type": "http.response.body", "body": b"he", "more_body": True})
        await capture.send({"type": "http.response.body", "body": b"llo"})
        sent = []

        async def send(message):
            sent.append(message)
        await capture.replay(send)
        return first, second, sent

    first, second, sent = asyncio.run(run())
    assert first == {"type": "http.request", "body": b"x=1", "more_body": False} and second["type"] == "http.disconnect"
    assert sent[0]["status"] == 201 and sent[1]["body"] == b"hello"

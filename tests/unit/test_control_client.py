"""`emulator/control_client.py`: reading a control-API list across short pages, the control token,
and the plugin's keep-alive connection (`ControlConnection`)."""

import pytest

from emulator.control_client import collect


def pages(*contents):
    """A fake list: each call answers the next page; the cursor names the page it asked for."""
    asked = []

    def fetch(params):
        asked.append(dict(params))
        index = int(params["cursor"] or 0)
        return {"data": contents[index], "next": str(index + 1) if index + 1 < len(contents) else None}

    return fetch, asked


def test_short_and_empty_pages_are_followed_to_the_end():
    fetch, asked = pages([{"id": 1}], [], [{"id": 2}, {"id": 3}])
    assert [item["id"] for item in collect(fetch, {"provider": "elks"})] == [1, 2, 3]
    assert [params["cursor"] for params in asked] == ["", "1", "2"]
    assert all(params["provider"] == "elks" for params in asked)


def test_collecting_stops_at_the_limit():
    fetch, asked = pages([{"id": 1}, {"id": 2}], [{"id": 3}, {"id": 4}], [{"id": 5}])
    assert [item["id"] for item in collect(fetch, {}, limit=3)] == [1, 2, 3]
    assert len(asked) == 2 and asked[0]["limit"] == "3" and asked[1]["limit"] == "1"


def test_the_control_token_goes_to_the_control_api_only(monkeypatch):
    import httpx

    from emulator.control_client import TOKEN_ENV, control_token_auth

    seen = {}

    def answer(request):
        seen[request.url.path] = request.headers.get("x-telco-emulator-token")
        return httpx.Response(200, json={})

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert control_token_auth() is None
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    with httpx.Client(base_url="http://localhost", transport=httpx.MockTransport(answer), auth=control_token_auth()) as client:
        client.get("/_emulator/messages")
        client.post("/api/sms", headers={"X-Api-Key": "key"})
    assert seen == {"/_emulator/messages": "from-env", "/api/sms": None}
    assert control_token_auth("given").token == "given"


# -- ControlConnection: the plugin's keep-alive connection ----------------------------------------

import socket  # noqa: E402
import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from emulator.control_client import ControlConnection  # noqa: E402


def read_head(connection: socket.socket) -> bytes:
    """A request's bytes up to the end of its head (b"" when the client closed first)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def serving(handle):
    """A loopback server that calls `handle(connection)` for each connection it accepts, in a
    thread, until the test ends. Yields its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)  # so that the thread sees `stop` soon after the test ends
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            connection.settimeout(10)
            with connection:
                handle(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@contextmanager
def one_answer_per_connection():
    """A server that answers one request per connection, keeps-alive in its headers, then closes
    the connection without saying so (as an idle keep-alive that timed out looks to a client).
    Yields its URL and the request lines it received."""
    seen: list[str] = []

    def answer_once(connection: socket.socket) -> None:
        data = read_head(connection)
        if data:
            seen.append(data.split(b"\r\n", 1)[0].decode())
            body = b'{"ok": true}'
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    with serving(answer_once) as url:
        yield url, seen


def test_a_connection_the_server_closed_is_opened_again_once():
    with one_answer_per_connection() as (url, seen):
        connection = ControlConnection(url, "secret")
        for _ in range(3):
            assert connection.request("POST", "/reset") == (200, b'{"ok": true}')
        connection.close()
    assert seen == ["POST /_emulator/reset HTTP/1.1"] * 3


def test_a_request_sent_ahead_is_answered_later_or_found_lost():
    with one_answer_per_connection() as (url, seen):
        connection = ControlConnection(url)
        connection.send_ahead("POST", "/reset")
        assert connection.collect_ahead(("POST", "/reset")) == (200, b'{"ok": true}')
        assert connection.collect_ahead(("POST", "/reset")) is None  # nothing is pending any more
        connection.send_ahead("POST", "/reset")  # on the connection the server has closed: lost
        assert connection.collect_ahead(("POST", "/reset")) is None
        assert connection.request("GET", "/health") == (200, b'{"ok": true}')  # and the connection recovers
        connection.close()
    assert seen[0] == "POST /_emulator/reset HTTP/1.1" and seen[-1] == "GET /_emulator/health HTTP/1.1"


@contextmanager
def answering(*answers: bytes):
    """A server that reads one request per answer, in turn on one connection, sends that answer's
    bytes as they are, and closes the connection after one that says `Connection: close` or is
    cut short. Yields its URL and how many connections it accepted."""
    accepted: list[int] = []
    pending = list(answers)

    def answer_in_turn(connection: socket.socket) -> None:
        accepted.append(1)
        while pending and read_head(connection):
            answer = pending.pop(0)
            connection.sendall(answer)
            if b"Connection: close" in answer or b"Content-Length: 99" in answer:
                return

    with serving(answer_in_turn) as url:
        yield url, accepted


def test_answers_are_read_whole_in_any_framing_and_a_closing_one_ends_the_connection():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n"
    closing = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    plain = b"HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\n{\"b\":2}"
    with answering(chunked, closing, plain) as (url, accepted):
        connection = ControlConnection(url)
        assert connection.request("GET", "/wait") == (200, b'{"a":1}')
        assert connection.request("GET", "/wait") == (408, b"{}")
        assert connection.request("POST", "/sandboxes", body={}) == (201, b'{"b":2}')
        connection.close()
    assert len(accepted) == 2  # the answer that said `Connection: close` ended the first connection


def test_an_answer_cut_off_is_an_error_and_the_next_request_has_a_new_connection():
    import http.client

    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{\"partial\""
    with answering(cut, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}") as (url, accepted):
        connection = ControlConnection(url)
        with pytest.raises(http.client.IncompleteRead):
            connection.request("GET", "/health")
        assert connection.request("GET", "/health") == (200, b"{}")
        connection.close()
    assert len(accepted) == 2

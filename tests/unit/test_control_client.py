"""`emulator/control_client.py`: reading a control-API list across short pages."""

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


@contextmanager
def one_answer_per_connection():
    """A server that answers one request per connection, keeps-alive in its headers, then closes
    the connection without saying so (as an idle keep-alive that timed out looks to a client).
    Yields its URL and the request lines it received."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)  # so that the thread sees `stop` soon after the test ends
    seen: list[str] = []
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
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if not data:
                    continue
                seen.append(data.split(b"\r\n", 1)[0].decode())
                body = b'{"ok": true}'
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % listener.getsockname()[1], seen
    finally:
        stop.set()
        listener.close()
        thread.join(5)


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

"""Safe to expose: the real process refuses what a hostile web page or a hostile client on the
network would do with it.

- a page that reaches the emulator through DNS rebinding (its own name, resolved to 127.0.0.1)
  cannot read `/_emulator/snapshot`, while the providers' mounts answer any `Host`;
- a form posted from another site cannot reset the world; the inbox's own calls still can;
- with `--control-token` the control API asks for it (health stays open for probes), and a
  browser signs in once with `?token=`;
- a 50 MB body is refused with 413 before it is sent, authenticated or not;
- a client whose headers trickle in is disconnected after `--header-timeout`;
- bound beyond loopback without a token, the CLI warns.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from processes import start_emulator, stop
from support import ELKS_AUTH, SEVEN_KEY, basic

TOKEN = "s3cret-token"
FIFTY_MB = 50 * 1024 * 1024


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def raw_exchange(url: str, head: bytes, body: bytes = b"", timeout: float = 10.0) -> tuple[bytes, bool]:
    """Send a request head and part of a body on a raw socket; returns what the server answered
    before closing the connection (or before `timeout`), and whether it closed it."""
    with socket.create_connection(address(url), timeout=timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return answer, False
            if not chunk:
                return answer, True
            answer += chunk
        return answer, False


def send_sms(url: str) -> None:
    response = httpx.post(url + "/a1/SMS", auth=ELKS_AUTH, data={"from": "ElkCo", "to": "+46700000123", "message": "before"}, timeout=10)
    assert response.status_code == 200, response.text


def stored_messages(url: str, **headers: str) -> list[dict]:
    response = httpx.get(url + "/_emulator/messages", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# -- Host -----------------------------------------------------------------------------------------


def test_a_rebound_host_cannot_read_the_snapshot(emulator_process):
    url = emulator_process.url
    _, port = address(url)
    rebound = httpx.get(url + "/_emulator/snapshot", headers={"Host": f"attacker.example:{port}"}, timeout=10)
    assert rebound.status_code == 403
    assert rebound.json()["error"]["type"] == "HostNotAllowed"
    for secret in (ELKS_AUTH[1], SEVEN_KEY):
        assert secret not in rebound.text
    for path in ("/", "/_emulator/ui", "/_emulator/messages"):
        refused = httpx.get(url + path, headers={"Host": "attacker.example"}, timeout=10)
        assert refused.status_code == 403, path
    # The emulator's own names still read it.
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"inbox.localhost:{port}"):
        own = httpx.get(url + "/_emulator/snapshot", headers={"Host": host}, timeout=10)
        assert own.status_code == 200 and ELKS_AUTH[1] in own.text, host


@pytest.mark.parametrize("emulator_process", [("--allowed-hosts", "emulator,.example.org")], indirect=True)
def test_allowed_hosts_reach_the_control_api(emulator_process):
    url = emulator_process.url
    for host in ("emulator:8046", "ci.example.org", "example.org"):
        assert httpx.get(url + "/_emulator/health", headers={"Host": host}, timeout=10).status_code == 200, host
    assert httpx.get(url + "/_emulator/health", headers={"Host": "emulator.attacker.example"}, timeout=10).status_code == 403


def test_the_provider_mounts_answer_any_host(emulator_process):
    url = emulator_process.url
    elks = httpx.get(url + "/a1/me", auth=ELKS_AUTH, headers={"Host": "api.46elks.com"}, timeout=10)
    assert elks.status_code == 200 and "balance" in elks.json()
    seven = httpx.get(url + "/api/balance", headers={"Host": "gateway.seven.io", "X-Api-Key": SEVEN_KEY, "Accept": "application/json"}, timeout=10)
    assert seven.status_code == 200 and "amount" in seven.json()


# -- cross-site writes ----------------------------------------------------------------------------


def test_a_cross_site_form_post_cannot_reset_the_world(emulator_process):
    url = emulator_process.url
    send_sms(url)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [
        {**form, "Origin": "http://attacker.example"},
        {**form, "Origin": "null"},  # a sandboxed frame or a file
        {**form, "Origin": "http://localhost:3000"},  # another local site, another port
        {**form, "Sec-Fetch-Site": "cross-site"},
    ]
    for headers in attempts:
        reset = httpx.post(url + "/_emulator/reset", headers=headers, content=b"x=1", timeout=10)
        assert reset.status_code == 403, headers
        assert reset.json()["error"]["type"] == "CrossSiteRequest"
        minted = httpx.post(url + "/_emulator/seven/tokens", headers=headers, content=b"scopes=sms", timeout=10)
        assert minted.status_code == 403, headers
    assert [message["text"] for message in stored_messages(url)] == ["before"]


def test_the_inbox_own_calls_and_clients_without_origin_still_work(emulator_process):
    url = emulator_process.url
    host = urlsplit(url).netloc
    send_sms(url)
    same_origin = {"Origin": url, "Sec-Fetch-Site": "same-origin", "Host": host}
    advanced = httpx.post(url + "/_emulator/clock/advance", json={"seconds": 0}, headers=same_origin, timeout=10)
    assert advanced.status_code in (200, 409), advanced.text  # 409: the real clock cannot be moved
    reset = httpx.post(url + "/_emulator/reset", headers=same_origin, timeout=10)
    assert reset.status_code == 200 and reset.json()["reset"] is True
    assert stored_messages(url) == []
    send_sms(url)
    plain = httpx.post(url + "/_emulator/reset", timeout=10)  # curl, SDKs, the pytest plugin: no Origin
    assert plain.status_code == 200
    assert stored_messages(url) == []


# -- the control token ----------------------------------------------------------------------------


@pytest.mark.parametrize("emulator_process", [("--control-token", TOKEN)], indirect=True)
def test_the_control_token_is_required_when_set(emulator_process):
    url = emulator_process.url
    send_sms(url)  # the providers do not ask for it
    refused = httpx.get(url + "/_emulator/snapshot", timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "TokenRequired"
    assert ELKS_AUTH[1] not in refused.text
    assert httpx.get(url + "/_emulator/messages", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert httpx.post(url + "/_emulator/reset", timeout=10).status_code == 401
    assert len(stored_messages(url, Authorization=f"Bearer {TOKEN}")) == 1
    assert len(stored_messages(url, **{"X-Telco-Emulator-Token": TOKEN})) == 1
    health = httpx.get(url + "/_emulator/health", timeout=10)  # open for probes
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert httpx.get(url + "/_emulator/ui", timeout=10).status_code == 401


@pytest.mark.parametrize("emulator_process", [("--control-token", TOKEN)], indirect=True)
def test_a_browser_signs_in_to_the_inbox_once(emulator_process):
    url = emulator_process.url
    with httpx.Client(base_url=url, timeout=10) as browser:
        assert browser.get("/_emulator/ui?token=wrong").status_code == 401
        signed_in = browser.get(f"/_emulator/ui?token={TOKEN}")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/_emulator/ui"
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/_emulator" in cookie
        page = browser.get("/_emulator/ui")  # the cookie from now on
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert browser.get("/_emulator/messages").status_code == 200
        same_origin = {"Origin": url, "Sec-Fetch-Site": "same-origin"}
        assert browser.post("/_emulator/reset", headers=same_origin).status_code == 200


# -- bounded bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "extra", "expected"), [
    ("/a1/SMS", b"", b"Request body too large"),
    ("/api/sms", b"", b"700"),
    ("/api/sms", f"X-Api-Key: {SEVEN_KEY}\r\n".encode(), b"700"),
    ("/a1/SMS", f"Authorization: {basic(*ELKS_AUTH)}\r\n".encode(), b"Request body too large"),
    ("/_emulator/reset", b"", b'"BodyTooLarge"'),
])
def test_a_50_mb_body_is_refused_before_it_is_sent(emulator_process, path, extra, expected):
    url = emulator_process.url
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {FIFTY_MB}\r\n"
    ).encode() + extra + b"\r\n"
    answer, closed = raw_exchange(url, head, b"to=%2B46700000123&message=")  # 50 MB announced, 26 bytes sent
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, answer[:300]
    assert expected in rest
    assert closed, "the connection stays open, as if the server meant to read the rest"


def test_a_chunked_body_is_refused_once_over_the_limit(emulator_process):
    url = emulator_process.url
    head = (
        f"POST /api/sms HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\nX-Api-Key: {SEVEN_KEY}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = 1024 * 1024
    chunk = b"%x\r\n" % piece + b"a" * piece + b"\r\n"
    answer = b""
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < 64:  # at most 64 MiB: the server must answer long before
                sock.sendall(chunk)
                sent += 1
                sock.setblocking(False)
                try:
                    answer += sock.recv(65536)
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
                if answer:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        try:
            while chunk_read := sock.recv(65536):
                answer += chunk_read
        except (ConnectionResetError, socket.timeout):
            pass
    assert b" 413 " in answer.partition(b"\r\n")[0], answer[:300]
    assert sent <= 16, f"{sent} MiB were sent before the answer"


def test_bodies_under_the_limit_still_work(emulator_process):
    url = emulator_process.url
    text = "x" * 1500  # an ordinary long SMS; MMS images up to 5 MB fit in the default 8 MiB
    response = httpx.post(url + "/a1/SMS", auth=ELKS_AUTH, data={"from": "ElkCo", "to": "+46700000123", "message": text}, timeout=10)
    assert response.status_code == 200, response.text
    big = httpx.post(url + "/a1/SMS", auth=ELKS_AUTH, content=b"message=" + b"a" * (6 * 1024 * 1024), headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert big.status_code != 413  # 6 MB is under the default limit: refused for its content, not its size


# -- trickling headers ----------------------------------------------------------------------------


@pytest.mark.parametrize("emulator_process", [("--header-timeout", "1")], indirect=True)
def test_headers_that_trickle_in_are_cut_off(emulator_process):
    url = emulator_process.url
    trickle = f"GET /a1/me HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\nX-Slow: ".encode() + b"a" * 200
    started = time.monotonic()
    closed_after: float | None = None
    with socket.create_connection(address(url), timeout=10) as sock:
        for byte in trickle[:100]:  # one byte per 100 ms: 10 s for the 100 bytes
            try:
                sock.sendall(bytes([byte]))
                sock.setblocking(False)
                try:
                    if sock.recv(1) == b"":
                        closed_after = time.monotonic() - started
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            time.sleep(0.1)
    assert closed_after is not None, "the connection was still open after 10 s of trickling headers"
    assert closed_after < 6, closed_after  # the timeout is 1 s; generous for a loaded machine
    # A client that sends its headers at once is served as before.
    assert httpx.get(url + "/a1/me", auth=ELKS_AUTH, timeout=10).status_code == 200


# -- the warning ----------------------------------------------------------------------------------


def test_binding_beyond_loopback_without_a_token_warns():
    running = start_emulator("--host", "0.0.0.0")
    stop(running.process)
    warning = running.process.stderr.read()
    assert "warning" in warning and "--control-token" in warning
    for args in (("--host", "0.0.0.0", "--control-token", TOKEN), ("--host", "127.0.0.1")):
        quiet = start_emulator(*args)
        stop(quiet.process)
        assert "--control-token" not in quiet.process.stderr.read(), args


"""The proxy in-process, in front of a small app that echoes what it was asked: requests reach the
app as the client addressed them (scheme, Host, full URL, body), and the CA is kept on disk."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emulator.proxy.transparent import MAX_HEAD, ProviderProxy
from emulator.proxy.ca import load_or_create_ca


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({
        "url": str(request.url),
        "host": request.headers.get("host"),
        "scheme": request.url.scheme,
        "method": request.method,
        "body": body.decode(),
        "proxy_headers": [name for name in request.headers if name.startswith("proxy-")],
    })


async def crash(request: Request) -> JSONResponse:
    raise RuntimeError("boom")


def echo_app() -> Starlette:
    return Starlette(routes=[Route("/api/boom", crash), Route("/{path:path}", echo, methods=["GET", "POST", "HEAD"])])


@pytest.fixture
async def proxy_port(tmp_path):
    authority = load_or_create_ca(tmp_path / "ca")
    handler = ProviderProxy(echo_app(), authority.server_contexts(["api.46elks.com", "gateway.seven.io", "gateway.sms77.io"]))
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0, limit=MAX_HEAD)
    yield server.sockets[0].getsockname()[1], str(authority.bundle_path)
    server.close()
    await server.wait_closed()


@pytest.fixture
async def proxy(proxy_port):
    port, bundle = proxy_port
    trust = ssl.create_default_context(cafile=bundle)
    async with httpx.AsyncClient(proxy=f"http://127.0.0.1:{port}", verify=trust, trust_env=False, timeout=10) as client:
        yield client


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def test_the_app_sees_the_full_https_url_and_the_providers_host(proxy):
    response = await proxy.get("https://gateway.seven.io/api/sms?to=%2B4917612345678&text=a%20b")
    seen = response.json()
    assert seen["url"] == "https://gateway.seven.io/api/sms?to=%2B4917612345678&text=a%20b"
    assert (seen["host"], seen["scheme"]) == ("gateway.seven.io", "https")


async def test_a_streamed_body_arrives_whole(proxy):
    async def chunks():
        for part in (b"from=ElkCo&", b"to=%2B46700000123&", b"message=hi"):
            yield part

    response = await proxy.post("https://api.46elks.com/a1/SMS", content=chunks())
    assert response.json()["body"] == "from=ElkCo&to=%2B46700000123&message=hi"
    assert response.json()["method"] == "POST"


async def test_plain_http_proxy_requests_keep_scheme_http_and_lose_proxy_headers(proxy):
    response = await proxy.get("http://api.46elks.com/a1/me", headers={"Proxy-Authorization": "Basic eDp5"})
    seen = response.json()
    assert seen["url"] == "http://api.46elks.com/a1/me" and seen["proxy_headers"] == []


async def test_many_requests_share_one_tunnel(proxy):
    answers = [await proxy.get(f"https://gateway.sms77.io/api/n{i}") for i in range(5)]
    assert [a.json()["url"] for a in answers] == [f"https://gateway.sms77.io/api/n{i}" for i in range(5)]


async def test_head_has_no_body(proxy):
    response = await proxy.head("https://api.46elks.com/a1/me")
    assert response.status_code == 200 and response.content == b""


async def test_an_app_crash_is_a_500_and_the_proxy_keeps_serving(proxy):
    crashed = await proxy.get("https://gateway.seven.io/api/boom")
    assert crashed.status_code == 500
    assert (await proxy.get("https://gateway.seven.io/api/after")).status_code == 200


def test_the_ca_is_created_once_and_loaded_after(tmp_path):
    first = load_or_create_ca(tmp_path / "a" / "b")
    second = load_or_create_ca(tmp_path / "a" / "b")
    assert first.bundle_path == second.bundle_path == tmp_path / "a" / "b" / "ca.pem"
    assert first.ca.cert_pem.bytes() == second.ca.cert_pem.bytes() == first.bundle_path.read_bytes()
    # A certificate issued after reloading still chains to the bundle written the first time.
    context = second.server_context("api.46elks.com")
    server, client = socket.socketpair()
    trust = ssl.create_default_context(cafile=str(first.bundle_path))
    with server, client:
        accepting = threading.Thread(target=lambda: context.wrap_socket(server, server_side=True).close())
        accepting.start()
        with trust.wrap_socket(client, server_hostname="api.46elks.com") as tls:
            assert tls.getpeercert()["subjectAltName"] == (("DNS", "api.46elks.com"),)
        accepting.join(10)


def test_a_bundle_deleted_by_hand_is_written_again(tmp_path):
    authority = load_or_create_ca(tmp_path)
    authority.bundle_path.unlink()
    again = load_or_create_ca(tmp_path)
    assert again.bundle_path.read_bytes() == authority.ca.cert_pem.bytes()


async def test_garbage_gets_400_and_an_endless_head_431(proxy_port):
    port, _ = proxy_port
    assert (await exchange(port, b"GARBAGE\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
    assert (await exchange(port, b"GET http://api.46elks.com/a1/me HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD + 10))).startswith(b"HTTP/1.1 431 ")


async def test_a_client_waiting_for_100_continue_gets_it(proxy_port):
    port, _ = proxy_port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST http://api.46elks.com/a1/SMS HTTP/1.1\r\nHost: api.46elks.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).startswith(b"HTTP/1.1 100 ")
    writer.write(b"a=b&c")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200 ")
    writer.close()


async def test_an_https_url_sent_in_the_clear_is_answered_as_https(proxy_port):
    """What axios does with a proxy: no CONNECT, the absolute https URL in a plain request."""
    port, _ = proxy_port
    answer = await exchange(port, b"GET https://gateway.seven.io/api/balance?x=1 HTTP/1.1\r\nHost: gateway.seven.io\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b'"url":"https://gateway.seven.io/api/balance?x=1"' in body


@pytest.mark.parametrize("target", [b"https://example.com/", b"http://api.46elks.com:8080/a1/me", b"ftp://api.46elks.com/a1/me", b"/a1/me"])
async def test_other_plain_targets_are_refused(proxy_port, target):
    port, _ = proxy_port
    answer = await exchange(port, b"GET " + target + b" HTTP/1.1\r\nHost: api.46elks.com\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ") and b"never forwards" in answer


# -- the main server's limits, through the proxy ----------------------------------------------------


@pytest.fixture
async def limited_proxy_port(tmp_path):
    """The proxy in front of the emulator's own app, with a 1,000-byte body limit and a header
    deadline of 0.5 s."""
    from emulator.app import create_app
    from emulator.settings import Settings

    app = create_app(Settings(clock="virtual", max_body_size=1000, header_timeout=0.5))
    authority = load_or_create_ca(tmp_path / "ca")
    handler = ProviderProxy(app, authority.server_contexts(["api.46elks.com"]), max_body_size=1000, header_timeout=0.5)
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0, limit=MAX_HEAD)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the proxy sends until it closes the connection (10 s at most)."""
    return await asyncio.wait_for(reader.read(), 10)


@pytest.mark.parametrize(("target", "host", "expected"), [
    (b"http://api.46elks.com/a1/SMS", b"api.46elks.com", b"Request body too large"),
    (b"http://gateway.seven.io/api/sms", b"gateway.seven.io", b"700"),
])
async def test_a_body_declared_over_the_limit_is_refused_in_the_providers_shape_unread(limited_proxy_port, target, host, expected):
    reader, writer = await asyncio.open_connection("127.0.0.1", limited_proxy_port)
    # 50 MB announced (and a client waiting for 100 Continue), 26 bytes sent: the answer comes
    # without the rest, and without the 100 that would invite it.
    writer.write(
        b"POST " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\nto=%2B46700000123&message="
    )
    answer = await read_until_closed(reader)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"\r\nconnection: close" in head.lower()
    assert expected in body


async def test_a_chunked_body_is_refused_once_over_the_limit_without_waiting_for_its_end(limited_proxy_port):
    reader, writer = await asyncio.open_connection("127.0.0.1", limited_proxy_port)
    writer.write(
        b"POST http://api.46elks.com/a1/SMS HTTP/1.1\r\nHost: api.46elks.com\r\n"
        b"Authorization: Basic " + base64.b64encode(b"test_user:test_password") + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    writer.write(b"%x\r\n" % 1200 + b"a" * 1200 + b"\r\n")  # over the limit, and the body goes on
    answer = await read_until_closed(reader)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"Request body too large" in body


async def test_a_body_under_the_limit_still_reaches_the_provider(limited_proxy_port):
    reader, writer = await asyncio.open_connection("127.0.0.1", limited_proxy_port)
    body = b"from=ElkCo&to=%2B46700000123&message=" + b"a" * 900
    writer.write(
        b"POST http://api.46elks.com/a1/SMS HTTP/1.1\r\nHost: api.46elks.com\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )
    answer = await read_until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:300]  # no credentials: read, then refused for that


@pytest.mark.parametrize("tunnel", [False, True])
async def test_headers_that_trickle_in_are_cut_off(limited_proxy_port, tmp_path, tunnel):
    reader, writer = await asyncio.open_connection("127.0.0.1", limited_proxy_port)
    if tunnel:
        writer.write(b"CONNECT api.46elks.com:443 HTTP/1.1\r\nHost: api.46elks.com:443\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).startswith(b"HTTP/1.1 200 ")
        trust = ssl.create_default_context(cafile=str(load_or_create_ca(tmp_path / "ca").bundle_path))
        await asyncio.wait_for(writer.start_tls(trust, server_hostname="api.46elks.com"), 10)
    loop = asyncio.get_running_loop()
    started = loop.time()
    closed_after = None
    for byte in b"GET /a1/me HTTP/1.1\r\nHost: api.46elks.com\r\nX-Slow: " + b"a" * 200:  # 10 bytes a second
        writer.write(bytes([byte]))
        try:
            if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                closed_after = loop.time() - started
                break
        except asyncio.TimeoutError:
            pass
        except (ConnectionError, ssl.SSLError):
            closed_after = loop.time() - started
            break
        if loop.time() - started > 20:
            break
    writer.close()
    assert closed_after is not None, "the proxy kept a connection whose headers trickled in for 20 s"
    assert closed_after < 8, closed_after  # the deadline is 0.5 s; generous for a loaded machine

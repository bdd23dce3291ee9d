"""Transparent HTTPS mode, end to end: the real process with `--proxy 0`, an HTTPS client that
addresses the providers' real hostnames through it, trusting the emulator's CA bundle; other hosts
refused and never contacted; a client trusting only the system CAs rejected."""

from __future__ import annotations

import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from proxy_support import ProxiedEmulator, start_proxied_emulator, stop

ELKS_AUTH = ("test_user", "test_password")
SEVEN = {"X-Api-Key": "test_api_key", "Accept": "application/json"}


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("proxy") / "state" / "ca"


@pytest.fixture(scope="module")
def proxied(ca_dir):
    running = start_proxied_emulator(ca_dir)
    yield running
    stop(running)


def trusting(bundle: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=bundle)


def proxy_client(running: ProxiedEmulator, verify) -> httpx.Client:
    return httpx.Client(proxy=running.proxy_url, verify=verify, timeout=10, trust_env=False)


def raw_exchange(proxy_url: str, request: bytes) -> bytes:
    """Send bytes to the proxy and read its whole answer (it closes the connection after a refusal)."""
    parts = urlsplit(proxy_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def test_ready_output_names_the_proxy_and_the_ca_bundle(proxied, ca_dir):
    assert proxied.lines[0].startswith("telco-emulator ") and " ready on " in proxied.lines[0]
    assert proxied.lines[1] == f"proxy on {proxied.proxy_url}, CA bundle {ca_dir / 'ca.pem'}"
    assert urlsplit(proxied.proxy_url).hostname == "127.0.0.1" and urlsplit(proxied.proxy_url).port > 0
    assert (ca_dir / "ca.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    private = ca_dir / "ca-private.pem"
    assert b"PRIVATE KEY" in private.read_bytes() and b"PRIVATE KEY" not in (ca_dir / "ca.pem").read_bytes()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_elks_sms_to_the_real_hostname_lands_in_the_emulator(proxied):
    with proxy_client(proxied, trusting(proxied.ca_bundle)) as client:
        response = client.post(
            "https://api.46elks.com/a1/SMS",
            data={"from": "ElkCo", "to": "+46700000123", "message": "Through the proxy"},
            auth=ELKS_AUTH,
        )
        assert response.status_code == 200, response.text
        sms = response.json()
        assert sms["status"] == "created" and sms["to"] == "+46700000123"
        # The same keep-alive connection carries the next request.
        listed = client.get("https://api.46elks.com/a1/SMS", auth=ELKS_AUTH).json()["data"]
    assert sms["id"] in [entry["id"] for entry in listed]
    stored = [m for m in proxied.messages(provider="elks") if m["id"] == sms["id"]]
    assert len(stored) == 1
    assert (stored[0]["to"], stored[0]["from"], stored[0]["text"]) == ("+46700000123", "ElkCo", "Through the proxy")


@pytest.mark.parametrize("host", ["gateway.seven.io", "gateway.sms77.io"])
def test_seven_sms_to_the_real_hostname_lands_in_the_emulator(proxied, host):
    with proxy_client(proxied, trusting(proxied.ca_bundle)) as client:
        response = client.post(f"https://{host}/api/sms", json={"to": "+4917612345678", "text": f"Hallo via {host}", "from": "Proxy"}, headers=SEVEN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] == "100"
    message_id = body["messages"][0]["id"]
    stored = [m for m in proxied.messages(provider="seven") if m["id"] == message_id]
    assert [(m["to"], m["from"], m["text"]) for m in stored] == [("+4917612345678", "Proxy", f"Hallo via {host}")]


def test_the_certificate_is_issued_by_our_ca_for_the_host(proxied):
    parts = urlsplit(proxied.proxy_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(b"CONNECT api.46elks.com:443 HTTP/1.1\r\nHost: api.46elks.com:443\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        with trusting(proxied.ca_bundle).wrap_socket(connection, server_hostname="api.46elks.com") as tls:
            certificate = tls.getpeercert()
    assert certificate["subjectAltName"] == (("DNS", "api.46elks.com"),)
    issuer = dict(pair[0] for pair in certificate["issuer"])
    assert issuer["organizationName"] == "telco-emulator"


@pytest.mark.parametrize("verify", ["system", "certifi"])
def test_a_client_trusting_only_public_cas_fails_tls(proxied, verify):
    context = ssl.create_default_context() if verify == "system" else True
    before = len(proxied.messages())
    with proxy_client(proxied, context) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.post("https://gateway.seven.io/api/sms", json={"to": "+4917612345678", "text": "x"}, headers=SEVEN)
    assert len(proxied.messages()) == before


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        b"CONNECT api.46elks.com:8443 HTTP/1.1\r\nHost: api.46elks.com:8443\r\n\r\n",
        b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"POST http://example.com/a1/SMS HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nx=1",
        b"GET /a1/me HTTP/1.1\r\nHost: api.46elks.com\r\n\r\n",
    ],
    ids=["connect-other-host", "connect-other-port", "plain-other-host", "plain-post-other-host", "not-a-proxy-request"],
)
def test_other_targets_are_refused_with_403(proxied, request_bytes):
    before = len(proxied.messages())
    answer = raw_exchange(proxied.proxy_url, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"never forwards" in body and b"api.46elks.com" in body
    assert len(proxied.messages()) == before


def test_refused_requests_never_reach_the_named_host(proxied, webhook_receiver):
    """A real server on loopback, named as the target: the proxy must not contact it."""
    port = urlsplit(webhook_receiver.url).port
    with httpx.Client(proxy=proxied.proxy_url, timeout=10, trust_env=False) as client:
        plain = client.get(f"http://127.0.0.1:{port}/leak")
        assert plain.status_code == 403 and "never forwards" in plain.text
        with pytest.raises(httpx.ProxyError):
            client.get(f"https://127.0.0.1:{port}/leak")
        with pytest.raises(httpx.ProxyError):
            client.get(f"https://localhost:{port}/leak")
    assert webhook_receiver.hits == []


def test_paths_outside_the_provider_mount_are_not_served(proxied):
    with proxy_client(proxied, trusting(proxied.ca_bundle)) as client:
        control = client.get("https://gateway.seven.io/_emulator/messages")
        elsewhere = client.get("https://api.46elks.com/api/balance", headers=SEVEN)
        plain = client.get("http://api.46elks.com/a1/me", auth=ELKS_AUTH)
    assert (control.status_code, control.text) == (404, "Not found.\n")
    assert elsewhere.status_code == 404
    assert plain.status_code == 200 and plain.json()["displayname"] == "Test Company AB"


def test_the_ca_is_reused_on_a_later_start(proxied, ca_dir):
    bundle = (ca_dir / "ca.pem").read_bytes()
    private = (ca_dir / "ca-private.pem").read_bytes()
    second = start_proxied_emulator(ca_dir)
    try:
        assert second.ca_bundle == proxied.ca_bundle
        assert (ca_dir / "ca.pem").read_bytes() == bundle and (ca_dir / "ca-private.pem").read_bytes() == private
        with proxy_client(second, trusting(proxied.ca_bundle)) as client:
            me = client.get("https://api.46elks.com/a1/me", auth=ELKS_AUTH)
        assert me.status_code == 200 and me.json()["id"] == "u5a9566c072160b318445d163949bf505"
    finally:
        stop(second)


def test_environment_variables_turn_the_proxy_on(tmp_path):
    running = start_proxied_emulator(None, env={"TELCO_EMULATOR_PROXY": "0", "TELCO_EMULATOR_PROXY_CA_DIR": str(tmp_path / "ca")})
    try:
        assert running.ca_bundle == str(tmp_path / "ca" / "ca.pem")
        with proxy_client(running, trusting(running.ca_bundle)) as client:
            assert client.get("https://gateway.seven.io/api/balance", headers=SEVEN).json()["currency"] == "EUR"
    finally:
        stop(running)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--proxy", "lots"], "--proxy"),
        (["--proxy", "70000"], "proxy port"),
    ],
)
def test_bad_proxy_flags_exit_with_a_message(args, needle):
    result = subprocess.run([sys.executable, "-m", "emulator", "--port", "0", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_an_unusable_ca_directory_exits_with_a_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--proxy", "0", "--proxy-ca-dir", str(blocker / "ca")],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "proxy CA directory" in result.stderr and str(blocker / "ca") in result.stderr and "Traceback" not in result.stderr


def test_a_corrupt_ca_file_exits_with_a_message(tmp_path):
    (tmp_path / "ca-private.pem").write_text("garbage")
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--proxy", "0", "--proxy-ca-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "ca-private.pem" in result.stderr and "remove it" in result.stderr and "Traceback" not in result.stderr


def test_the_proxy_keeps_the_servers_body_limit_and_header_deadline(ca_dir):
    """`--max-body-size` and `--header-timeout` hold through the proxy as on the main port."""
    running = start_proxied_emulator(ca_dir, "--max-body-size", "1000", "--header-timeout", "1")
    try:
        parts = urlsplit(running.proxy_url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
            connection.sendall(
                b"POST http://gateway.seven.io/api/sms HTTP/1.1\r\nHost: gateway.seven.io\r\n"
                b"X-Api-Key: test_api_key\r\nContent-Length: 5000\r\n\r\nto=%2B4917612345678&text="
            )  # 5,000 bytes announced, 25 sent: answered without the rest
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413 ") and answer.endswith(b"700"), answer[:300]
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
            connection.sendall(b"GET http://api.46elks.com/a1/me HTTP/1.1\r\n")  # and never the rest
            started = time.monotonic()
            assert connection.recv(65536) == b""  # closed by the proxy, not by the 10 s socket timeout
            assert time.monotonic() - started < 8
    finally:
        stop(running)

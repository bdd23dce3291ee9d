"""`emulator/http/exposure.py`: which Host names and Origins pass, the control token, body bounds."""

from __future__ import annotations

import pytest

from emulator.cli import parse_settings
from emulator.core.errors import BodyTooLarge
from emulator.http.exposure import MAX_REMEMBERED_HOSTS, ExposureGuard, HostPolicy, bounded_receive, declared_too_large, is_loopback_host

LOCAL = HostPolicy()
LISTED = HostPolicy(["emulator", ".example.org", "Proxy.Example.COM.", "db:5432", "[fd00::7]:8046"])


@pytest.mark.parametrize("host", [
    "localhost", "localhost:8046", "LOCALHOST.", "inbox.localhost:8046", "127.0.0.1:8046", "[::1]:8046",
    "10.0.0.7:8046", "[fe80::1]", "172.17.0.2",  # an address is never a rebound name
])
def test_local_names_and_addresses_pass(host):
    assert LOCAL.allows_host(host.encode())


@pytest.mark.parametrize("host", [
    "attacker.example", "attacker.example:8046", "localhost.attacker.example", "127.0.0.1.nip.io:8046",
    "emulator", "", "localhost:80:80", "[::1", "localhost:http",
])
def test_other_names_are_refused(host):
    assert not LOCAL.allows_host(host.encode())


def test_a_request_without_host_passes():  # HTTP/1.0: no browser sends such a request
    assert LOCAL.allows_host(None)


def test_a_host_is_judged_once_and_the_verdicts_kept_are_bounded(monkeypatch):
    policy = HostPolicy(["emulator"])
    judged = []
    judge = policy._judge_host
    monkeypatch.setattr(policy, "_judge_host", lambda host: judged.append(host) or judge(host))
    for _ in range(3):
        assert policy.allows_host(b"127.0.0.1:8046") and not policy.allows_host(b"attacker.example")
    assert judged == [b"127.0.0.1:8046", b"attacker.example"]  # each Host value judged once
    for n in range(1_000):  # a client making up a new Host each time
        assert not policy.allows_host(f"name{n}.example".encode())
    assert len(policy._verdicts) <= MAX_REMEMBERED_HOSTS and policy.allows_host(b"emulator:8046")


def test_listed_names_and_suffixes_pass():
    for host in ("emulator:8046", "example.org", "ci.example.org:443", "proxy.example.com", "db:8046", "[fd00::7]"):
        assert LISTED.allows_host(host.encode()), host
    for host in ("emulator.attacker.example", "notexample.org", "example.org.attacker.example"):
        assert not LISTED.allows_host(host.encode()), host
    assert HostPolicy(["*"]).allows_host(b"anything.example")


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    ("http://127.0.0.1:8046", "127.0.0.1:8046", True),  # the inbox's own fetch
    ("http://LOCALHOST:8046", "localhost:8046", True),
    ("http://localhost:3000", "localhost:8046", False),  # another local site
    ("http://127.0.0.1:8046", "localhost:8046", False),  # another origin, even if the same machine
    ("null", "localhost:8046", False),
    ("http://attacker.example", "localhost:8046", False),
    ("https://ci.example.org", "127.0.0.1:8046", True),  # a listed name behind a reverse proxy
    ("https://emulator", "10.0.0.7:8046", True),
    ("ftp://emulator", "emulator", False),
    ("http://attacker.example/path", "attacker.example", False),
])
def test_origins(origin, host, allowed):
    assert LISTED.allows_origin(origin.encode(), host.encode()) is allowed


def test_any_host_does_not_mean_any_origin():
    assert not HostPolicy(["*"]).allows_origin(b"http://attacker.example", b"localhost:8046")


def scope(path, method="GET", headers=(), query=b""):
    return {"type": "http", "method": method, "path": path, "query_string": query, "headers": [(k.encode(), v.encode()) for k, v in headers]}


def test_the_guard_checks_host_then_origin_then_token():
    guard = ExposureGuard((), "tok")
    assert guard.refusal(scope("/_emulator/messages", headers=[("host", "evil.example")]), "/_emulator/messages").status_code == 403
    cross = scope("/_emulator/reset", "POST", [("host", "localhost"), ("origin", "http://evil.example"), ("authorization", "Bearer tok")])
    assert guard.refusal(cross, "/_emulator/reset").status_code == 403
    assert guard.refusal(scope("/_emulator/reset", "POST", [("host", "localhost")]), "/_emulator/reset").status_code == 401
    for header in (("authorization", "Bearer tok"), ("authorization", "bearer tok"), ("x-telco-emulator-token", "tok"), ("cookie", "a=b; telco_emulator_token=tok")):
        assert guard.refusal(scope("/_emulator/reset", "POST", [("host", "localhost"), header]), "/_emulator/reset") is None, header
    for wrong in (("authorization", "Bearer tok2"), ("authorization", "Basic tok"), ("cookie", "telco_emulator_token=to")):
        assert guard.refusal(scope("/_emulator/messages", headers=[("host", "localhost"), wrong]), "/_emulator/messages").status_code == 401
    assert guard.refusal(scope("/_emulator/health", headers=[("host", "localhost")]), "/_emulator/health") is None
    assert guard.refusal(scope("/", headers=[("host", "localhost")]), "/") is None


def test_signing_in_keeps_the_rest_of_the_query():
    guard = ExposureGuard((), "tok")
    answer = guard.refusal(scope("/_emulator/ui", headers=[("host", "localhost")], query=b"view=calls&token=tok"), "/_emulator/ui")
    assert answer.status_code == 303 and answer.headers["location"] == "/_emulator/ui?view=calls"
    assert "telco_emulator_token=tok" in answer.headers["set-cookie"]
    assert ExposureGuard((), None).refusal(scope("/_emulator/ui", headers=[("host", "localhost")]), "/_emulator/ui") is None


def test_declared_lengths():
    assert not declared_too_large({}, 10)
    assert not declared_too_large({b"content-length": b"10"}, 10)
    assert declared_too_large({b"content-length": b"11"}, 10)
    assert declared_too_large({b"content-length": b"52428800"}, 8 * 1024 * 1024)


async def test_a_chunked_body_is_counted_as_it_arrives():
    chunks = [{"type": "http.request", "body": b"a" * 6, "more_body": True}, {"type": "http.request", "body": b"a" * 6, "more_body": True}]
    given = []

    async def receive():
        given.append(1)
        return chunks[len(given) - 1]

    bounded = bounded_receive(receive, 10)
    assert (await bounded())["body"] == b"a" * 6
    with pytest.raises(BodyTooLarge):
        await bounded()


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True), ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("emulator", False)])
def test_loopback_binds(host, loopback):
    assert is_loopback_host(host) is loopback


def test_flags_and_environment(monkeypatch):
    settings = parse_settings(["--allowed-hosts", "emulator, .example.org", "--control-token", "tok", "--max-body-size", "5MiB", "--header-timeout", "2.5"])
    assert settings.allowed_hosts == ("emulator", ".example.org")
    assert settings.control_token == "tok" and settings.max_body_size == 5 * 1024 * 1024 and settings.header_timeout == 2.5
    monkeypatch.setenv("TELCO_EMULATOR_ALLOWED_HOSTS", "*")
    monkeypatch.setenv("TELCO_EMULATOR_CONTROL_TOKEN", "from-env")
    monkeypatch.setenv("TELCO_EMULATOR_MAX_BODY_SIZE", "1000")
    settings = parse_settings([])
    assert settings.allowed_hosts == ("*",) and settings.control_token == "from-env" and settings.max_body_size == 1000
    monkeypatch.delenv("TELCO_EMULATOR_MAX_BODY_SIZE")
    assert parse_settings([]).max_body_size == 8 * 1024 * 1024


@pytest.mark.parametrize("argv", [["--max-body-size", "lots"], ["--max-body-size", "0"], ["--control-token", "has space"], ["--header-timeout", "0"]])
def test_bad_flags_end_with_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv)
    assert exited.value.code == 2

"""Apprise, unmodified, with its 46elks and seven notifiers: they hard-code
https://api.46elks.com/a1/sms and https://gateway.seven.io/api/sms, so the `apprise` command runs in
a subprocess with HTTPS_PROXY and REQUESTS_CA_BUNDLE pointing at the emulator's proxy and CA bundle,
as a user of the emulator would run it. Each notification must arrive as a message in the
emulator, and apprise must report success (exit status 0) or failure (exit status 1)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from proxy_support import start_proxied_emulator, stop

# The `apprise` console script, run with this interpreter (no PATH lookup).
APPRISE = [sys.executable, "-c", "import sys; from apprise.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    running = start_proxied_emulator(tmp_path_factory.mktemp("apprise-ca"))
    yield running
    stop(running)


def notify(proxied, url: str, body: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `apprise -vvv`; its log (on stdout or stderr, depending on the version) is in `.stdout`."""
    return subprocess.run(
        [*APPRISE, "-vvv", "--storage-mode", "memory", "--body", body, url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
        env=env if env is not None else proxied.client_env(),
    )


def stored(proxied, provider: str, text: str) -> list[tuple[str, str, str]]:
    return [(m["to"], m["from"], m["text"]) for m in proxied.messages(provider=provider) if m["text"] == text]


@pytest.mark.parametrize("sender", ["+46766861001", "ElkCo"], ids=["number", "alphanumeric"])
def test_46elks_notification_arrives(proxied, sender):
    body = f"Apprise says hi from {sender}"
    result = notify(proxied, f"46elks://test_user:test_password@{sender}/+46700000123", body)
    assert result.returncode == 0, result.stdout
    assert "Sent 46elks notification to +46700000123" in result.stdout
    assert stored(proxied, "elks", body) == [("+46700000123", sender, body)]


def test_46elks_notification_to_several_recipients(proxied):
    body = "Apprise to two phones"
    result = notify(proxied, "46elks://test_user:test_password@ElkCo/+46700000123/+46700000124", body)
    assert result.returncode == 0, result.stdout
    assert sorted(stored(proxied, "elks", body)) == [("+46700000123", "ElkCo", body), ("+46700000124", "ElkCo", body)]


def test_46elks_wrong_password_is_reported_as_failure(proxied):
    body = "Apprise with a wrong password"
    result = notify(proxied, "46elks://test_user:wrong@ElkCo/+46700000123", body)
    assert result.returncode == 1
    assert "error=401" in result.stdout
    assert stored(proxied, "elks", body) == []


def test_seven_notification_arrives_with_the_given_sender(proxied):
    body = "Apprise grüßt über seven"
    result = notify(proxied, "seven://test_api_key/+4917612345678?from=Apprise", body)
    assert result.returncode == 0, result.stdout
    assert "Sent seven notification to 4917612345678" in result.stdout
    assert stored(proxied, "seven", body) == [("+4917612345678", "Apprise", body)]


def test_seven_notification_without_sender_uses_the_account_default(proxied):
    body = "Apprise via seven, default sender"
    result = notify(proxied, "seven://test_api_key/+4917612345678/+4917612345679", body)
    assert result.returncode == 0, result.stdout
    assert sorted(stored(proxied, "seven", body)) == [("+4917612345678", "TestGmbH", body), ("+4917612345679", "TestGmbH", body)]


def test_no_message_is_stored_when_tls_is_not_trusted(proxied):
    """Without the emulator's CA bundle the notifier cannot even connect: proof that the real
    hostnames are answered with our certificate, not by the real provider."""
    body = "Apprise without the CA bundle"
    env = proxied.client_env()
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        env.pop(name, None)
    result = notify(proxied, "seven://test_api_key/+4917612345678", body, env=env)
    assert result.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stdout
    assert stored(proxied, "seven", body) == []

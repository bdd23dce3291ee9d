"""The rule for webhook target URLs and custom headers, shared by every provider."""

import pytest

from emulator.core.errors import InvalidWebhookTarget
from emulator.core.webhook_targets import (
    MAX_URL_LENGTH, check_custom_headers, check_target_url, parse_custom_headers, parse_hop, target_url_problem,
)


@pytest.mark.parametrize("url", [
    "https://example.com/hook",
    "http://127.0.0.1:8080/dlr?token=abc",
    "https://user:secret@hooks.example.com/p?q=1#frag",
    "http://[::1]:9000/x",
    "http://bücher.de/ä",
    "HTTP://Example.COM/x",
    "http://example.com/" + "a" * (MAX_URL_LENGTH - len("http://example.com/")),
])
def test_valid_targets(url):
    assert target_url_problem(url) is None


@pytest.mark.parametrize("url, reason", [
    ("http://example.com/a\r\nX-Injected: yes", "line break"),
    ("http://example.com/a\nb", "line break"),
    ("http://example.com/\x00", "control character"),
    ("http://example.com/\x7f", "control character"),
    ("ftp://example.com/x", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("not a url", "http or https"),
    ("http:///path", "no host"),
    ("http://:80/", "no host"),
    ("http://example.com:99999/", "Port out of range"),
    ("http://example.com:0/", "port is out of range"),
    ("http://256.1.1.1/", "IPv4"),
    ("http://[zz]/", "not a URL"),
    ("http://xn--/", "not a URL"),
    ("http://exa mple.com/", "host name"),
    ("http://example.com/" + "a" * MAX_URL_LENGTH, "longer than 2048"),
])
def test_invalid_targets(url, reason):
    problem = target_url_problem(url)
    assert problem is not None and reason in problem


def test_check_names_the_field_and_strips():
    assert check_target_url("whendelivered", "  https://example.com/x \n") == "https://example.com/x"
    with pytest.raises(InvalidWebhookTarget) as caught:
        check_target_url("target_url", "https://example.com/a\r\nb")
    assert caught.value.field == "target_url" and caught.value.message == "Invalid target_url: it contains a line break"


def test_long_urls_are_left_to_the_outbox_without_the_length_check():
    assert target_url_problem("http://example.com/?" + "a=1&" * 1000, check_length=False) is None


@pytest.mark.parametrize("text", [
    "X-Token: abc",
    "X-Token: abc\nX-Other: two words\r\n",
    "Authorization: Bearer abc.def",
    "\n\nX-Empty:\n",
])
def test_valid_custom_headers(text):
    assert check_custom_headers("headers", text) == text


@pytest.mark.parametrize("text, reason", [
    ("Transfer-Encoding: chunked", "Transfer-Encoding is set by the emulator"),
    ("content-length: 5", "content-length is set by the emulator"),
    ("Connection: close", "set by the emulator"),
    ("Keep-Alive: timeout=5", "set by the emulator"),
    ("Upgrade: websocket", "set by the emulator"),
    ("TE: trailers", "set by the emulator"),
    ("Trailer: X", "set by the emulator"),
    ("Host: evil.example", "set by the emulator"),
    ("Proxy-Authorization: Basic x", "set by the emulator"),
    ("X-Telco-Emulator-Hop: 0", "set by the emulator"),
    ("X Bad: 1", "not a header name"),
    ("X-Token: a\rInjected: 1", "printable ASCII"),
    ("X-Token: caf\u00e9", "printable ASCII"),
    ("X-Token: a\x00", "printable ASCII"),
    ("no colon here", "Name: value"),
])
def test_invalid_custom_headers(text, reason):
    with pytest.raises(InvalidWebhookTarget) as caught:
        check_custom_headers("headers", text)
    assert reason in caught.value.message


def test_parse_keeps_the_good_lines():
    headers, problems = parse_custom_headers("X-A: 1\nTransfer-Encoding: chunked\nX-B:  2 ")
    assert headers == {"X-A": "1", "X-B": "2"} and len(problems) == 1


@pytest.mark.parametrize("value, hop", [("1", 1), (" 3 ", 3), ("x", None), ("-1", None), ("1e3", None), ("9" * 20, None), ("\u0663", None)])
def test_parse_hop(value, hop):
    assert parse_hop(value) == hop

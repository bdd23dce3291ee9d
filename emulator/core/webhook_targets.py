"""What a webhook target may be: the one rule for every callback URL and custom header a user
gives (46elks `whendelivered`, `voice_start`, `sms_url` ...; seven.io hook `target_url` and
`headers`, `callback` ...), checked when it is given and again before each attempt.

A target URL is an absolute `http` or `https` URL with a host, at most `MAX_URL_LENGTH`
characters, without control characters (a CR/LF would split the request line), that the
outbox's HTTP client can parse. A custom header is `Name: value` with a token for a name and
printable ASCII for a value, and may not set the message framing or the connection
(`Content-Length`, `Transfer-Encoding`, `Connection`, `Host`, `Proxy-*` ...) nor the emulator's
own hop count. Providers call `check_target_url` / `check_custom_headers` and render the
`InvalidWebhookTarget` they raise in their own words; the outbox asks `target_url_problem` /
`header_problem` for what was stored before these rules (a restored snapshot) and fails such a
delivery with the reason instead of sending it.

`HOP_HEADER` and `MAX_HOPS` belong here too: every delivery carries how many webhook hops led
to it, so a webhook that points back at the emulator's own API stops after a few rounds.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from urllib.parse import urlsplit

from .errors import InvalidWebhookTarget

__all__ = [
    "MAX_URL_LENGTH",
    "HOP_HEADER",
    "MAX_HOPS",
    "current_hop",
    "parse_hop",
    "target_url_problem",
    "check_target_url",
    "header_problem",
    "parse_custom_headers",
    "check_custom_headers",
    "FORBIDDEN_HEADERS",
]

MAX_URL_LENGTH = 2048

HOP_HEADER = "X-Telco-Emulator-Hop"
MAX_HOPS = 3  # a provider request that arrives as the 3rd webhook hop is refused
# The hop count of the request being handled (0: it did not come from the emulator's outbox).
current_hop: ContextVar[int] = ContextVar("telco_emulator_hop", default=0)

# Headers that frame the message or manage the connection: the HTTP client sets them itself,
# and a second, contradicting one (`Transfer-Encoding: chunked` next to `Content-Length`) makes
# a request no receiver can read.
FORBIDDEN_HEADERS = frozenset({
    "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer",
    "host", HOP_HEADER.lower(),
})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\x20-\x7e\t]*")
_IPV4_LIKE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")  # urlsplit gives the host in lower case


def _control_problem(text: str) -> str:
    found = _CONTROL.search(text)
    assert found is not None
    char = found.group()
    return "it contains a line break" if char in "\r\n" else f"it contains the control character {char!r}"


def target_url_problem(url: object, *, check_length: bool = True) -> str | None:
    """Why `url` cannot be a webhook target, in plain words; None when it can. The outbox
    skips the length check: it appends its own query to GET hooks.

    A plain ASCII host name or IPv4 address is checked with `urlsplit` (a few microseconds: the
    send path asks for every `whendelivered`); any other host (IDN, IPv6, escapes) is left to
    the outbox's HTTP client to parse, as it would when sending."""
    if not isinstance(url, str):
        return "expected the URL as text"
    if check_length and len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if _CONTROL.search(url):
        return _control_problem(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a bad port or a bracketed host that is no IPv6 address
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "expected an http or https URL"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    if port == 0:
        return "the URL's port is out of range"
    if _IPV4_LIKE.fullmatch(host):  # what the HTTP client reads as an IPv4 address
        if any(int(octet) > 255 or (len(octet) > 1 and octet[0] == "0") for octet in host.split(".")):
            return f"{host} is not an IPv4 address"
    elif not _HOST_NAME.fullmatch(host) or "xn--" in host:
        import httpx  # loaded by the outbox as the server starts

        try:
            parsed_host = httpx.URL(url).host
        except (httpx.InvalidURL, ValueError) as exc:  # an IDNA error is a ValueError
            return f"not a URL ({exc})"
        if not parsed_host or "%" in parsed_host or " " in parsed_host:
            return "the URL's host is not a host name"
    return None


def check_target_url(field: str, url: str) -> str:
    """`url` (surrounding whitespace removed) when it can be a webhook target; raises
    InvalidWebhookTarget naming `field` otherwise."""
    value = url.strip()
    problem = target_url_problem(value)
    if problem is not None:
        raise InvalidWebhookTarget(field, url, problem)
    return value


def header_problem(name: str, value: str) -> str | None:
    """Why a header cannot be sent with a webhook, in plain words; None when it can."""
    if not _TOKEN.fullmatch(name):
        return f"{name!r} is not a header name"
    lowered = name.lower()
    if lowered in FORBIDDEN_HEADERS or lowered.startswith("proxy-"):
        return f"the header {name} is set by the emulator itself"
    if not _FIELD_VALUE.fullmatch(value):
        return f"the value of {name} may only hold printable ASCII characters"
    return None


def parse_custom_headers(text: str) -> tuple[dict[str, str], list[str]]:
    """Custom headers written one per line as `Name: value`: (the headers, the problems of the
    lines that are not valid). Blank lines are skipped."""
    headers: dict[str, str] = {}
    problems: list[str] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip(" \t")
        if not sep or not name:
            problems.append("each custom header must be written 'Name: value'")
            continue
        problem = header_problem(name, value)
        if problem is not None:
            problems.append(problem)
            continue
        headers[name] = value
    return headers, problems


def check_custom_headers(field: str, text: str) -> str:
    """`text` when every line is a header a webhook may carry; raises InvalidWebhookTarget
    naming the first problem otherwise."""
    _, problems = parse_custom_headers(text)
    if problems:
        raise InvalidWebhookTarget(field, text, problems[0])
    return text


def parse_hop(value: str) -> int | None:
    """The hop count of a request's hop header; None when it is not a small whole number."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    return int(value)

"""seven.io signed API requests: checks `X-Signature`, `X-Timestamp` and `X-Nonce` on incoming
requests of an account that has a signing secret.

seven's rule: signing is optional, but a request that carries signature headers must be signed
correctly and recently (its timestamp at most 30 s old), else it is refused with return code 901.
The signature is HMAC-SHA256 (key: the account's signing secret) over
`timestamp\\nnonce\\nMETHOD\\nfull URL\\nmd5_hex(body)`, the same scheme `signing` uses for the
webhooks the emulator sends. The full URL is the one the client addressed: scheme and Host header
as received (the transparent proxy keeps both, so `https://gateway.seven.io/api/sms`), the path as
sent on the wire, and the query string.

Requests of an account without a `signing_secret` are not checked: the emulator cannot know the
key such a client signs with. Under a virtual clock only the signature is checked, not its age:
the client signs with its wall clock, which a virtual clock does not follow.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from starlette.requests import Request

from ..core.clock import MICROS, Clock
from ..core.errors import AuthenticationFailed
from ..core.models import Account
from ..http.params import headers_by_name
from .signing import signature

__all__ = ["MAX_AGE_SECONDS", "SignatureRejected", "carries_signature", "signed_url", "verify_request"]

MAX_AGE_SECONDS = 30
_HEADERS = ("x-signature", "x-timestamp", "x-nonce")


class SignatureRejected(AuthenticationFailed):
    """Signature headers were sent but do not prove the request (seven.io return code 901)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Verification of the signing hash failed: {reason}")
        self.reason = reason


_RAW_HEADERS = frozenset(name.encode("latin-1") for name in _HEADERS)


def carries_signature(request: Request) -> bool:
    return not _RAW_HEADERS.isdisjoint(headers_by_name(request.scope))  # built once per request, reused


def signed_url(request: Request) -> str:
    """The URL as the client addressed it, the one its signature covers."""
    scope = request.scope
    host = request.headers.get("host")
    if not host:
        server_host, port = scope.get("server") or ("localhost", None)
        default = {"http": 80, "https": 443}.get(scope["scheme"])
        host = server_host if port in (None, default) else f"{server_host}:{port}"
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(scope.get("root_path", "") + scope["path"])
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope['scheme']}://{host}{path}" + (f"?{query}" if query else "")


async def verify_request(request: Request, account: Account, clock: Clock) -> None:
    """Raise SignatureRejected if the request carries signature headers that do not hold."""
    if not carries_signature(request):
        return
    headers = request.headers
    secret = account.attributes.get("signing_secret")
    if not secret:
        return
    given, raw_timestamp, nonce = (headers.get(name, "").strip() for name in _HEADERS)
    if not (given and raw_timestamp and nonce):
        raise SignatureRejected("X-Signature, X-Timestamp and X-Nonce must all be sent")
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 19:
        raise SignatureRejected("X-Timestamp must be Unix seconds")
    timestamp = int(raw_timestamp)
    if not clock.virtual and clock.now() // MICROS - timestamp > MAX_AGE_SECONDS:
        raise SignatureRejected(f"X-Timestamp is more than {MAX_AGE_SECONDS} seconds old")
    body = await request.body()
    expected = signature(secret, timestamp, nonce, request.method, signed_url(request), body)
    if not hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace")):
        raise SignatureRejected("X-Signature does not match the request")

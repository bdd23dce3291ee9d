"""seven.io request signing: HMAC-SHA256 over `timestamp\\nnonce\\nMETHOD\\nURL\\nmd5(body)`,
sent as `X-Signature`, `X-Timestamp` and `X-Nonce`. Used for the webhooks the emulator sends on
behalf of an account that has a signing secret."""

from __future__ import annotations

import hashlib
import hmac
import random
import string

__all__ = ["signature", "signed_headers", "NonceSource"]

_ALNUM = string.ascii_letters + string.digits


class NonceSource:
    """Nonces from their own seeded RNG, so signing never disturbs the ids the emulator hands out."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"seven-nonce-{seed}")

    def next(self) -> str:
        return "".join(self._rng.choice(_ALNUM) for _ in range(32))


def signature(secret: str, timestamp: int, nonce: str, method: str, url: str, body: bytes) -> str:
    message = "\n".join([str(timestamp), nonce, method.upper(), url, hashlib.md5(body).hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, nonce: str, method: str, url: str, body: bytes) -> dict[str, str]:
    return {
        "X-Signature": signature(secret, timestamp, nonce, method, url, body),
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
    }

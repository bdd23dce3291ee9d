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
    """The nonce of each webhook attempt: drawn from a generator seeded with the emulator's seed,
    the delivery and the attempt's number, so it is unique to the attempt, never disturbs the ids
    the emulator hands out, and is the same whichever process of a shared world makes it."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def for_attempt(self, delivery_id: str, number: int) -> str:
        rng = random.Random(f"seven-nonce-{self.seed}-{delivery_id}-{number}")
        return "".join(rng.choice(_ALNUM) for _ in range(32))


def signature(secret: str, timestamp: int, nonce: str, method: str, url: str, body: bytes) -> str:
    message = "\n".join([str(timestamp), nonce, method.upper(), url, hashlib.md5(body).hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, nonce: str, method: str, url: str, body: bytes) -> dict[str, str]:
    return {
        "X-Signature": signature(secret, timestamp, nonce, method, url, body),
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
    }

"""seven.io authentication: `X-Api-Key`, `Authorization: Bearer <key>`, `Authorization: Basic
<key>` (the raw key, or base64 of `user:key`) and the legacy `p` parameter."""

from __future__ import annotations

import base64
import binascii

from ..core.errors import AuthenticationFailed
from ..core.models import Account
from ..core.store import Store

__all__ = ["authenticate", "presented_key"]


def presented_key(headers, query_key: str | None) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return value
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return value
            return decoded.partition(":")[2] if ":" in decoded else value
    return query_key.strip() if query_key else None


def authenticate(store: Store, headers, legacy_key: str | None) -> Account:
    key = presented_key(headers, legacy_key)
    if not key:
        raise AuthenticationFailed("Missing API key")
    account = store.account_for_login("seven", key)
    if account is None:
        raise AuthenticationFailed("The given API Key is invalid")
    return account

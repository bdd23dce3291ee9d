"""46elks authentication: HTTP Basic with an account's API username and password, or a
subaccount's id and secret."""

from __future__ import annotations

import base64
import binascii
import hmac

from ..core.errors import AuthenticationFailed
from ..core.models import Account
from ..core.store import Store

__all__ = ["authenticate"]


def authenticate(store: Store, authorization: str | None) -> Account:
    if not authorization:
        raise AuthenticationFailed()
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationFailed()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed() from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthenticationFailed()
    account = store.account_for_login("elks", username)
    if account is None or account.attributes.get("active") is False:
        raise AuthenticationFailed()
    if not hmac.compare_digest(account.credentials["password"].encode(), password.encode()):
        raise AuthenticationFailed()
    return account

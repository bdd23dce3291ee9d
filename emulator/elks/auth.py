"""46elks authentication: HTTP Basic with an account's API username (or its `u...` id) and
password, or a subaccount's id and secret."""

from __future__ import annotations

import base64
import binascii
import hmac

from ..core.errors import AuthenticationFailed
from ..core.models import Account
from ..core.store import Store

__all__ = ["authenticate"]


def _by_account_id(store: Store, username: str) -> Account | None:
    """46elks' API username is the account's id (`u` + 32 hex, as `GET /a1/me` shows it): the
    id logs in as well as the fixture's username, with the same password."""
    account = store.accounts.get(username)
    return account if account is not None and account.provider == "elks" and account.parent_id is None else None


def authenticate(store: Store, authorization: str | None) -> Account:
    if not authorization:
        raise AuthenticationFailed("no Authorization header: 46elks takes HTTP Basic with the API username and password")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationFailed(f"Authorization is {scheme[:20]!r}, not Basic: 46elks takes HTTP Basic with the API username and password")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("Authorization: Basic is not base64 of UTF-8 'username:password'") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthenticationFailed("Authorization: Basic holds no ':' between the API username and the password")
    account = store.account_for_login("elks", username) or _by_account_id(store, username)
    if account is None:
        raise AuthenticationFailed(f"no 46elks account or subaccount has the API username {username[:40]!r}")
    if account.attributes.get("active") is False:
        raise AuthenticationFailed(f"the subaccount {username[:40]!r} is deactivated")
    if not hmac.compare_digest(account.credentials["password"].encode(), password.encode()):
        raise AuthenticationFailed(f"wrong password for the API username {username[:40]!r}")
    return account

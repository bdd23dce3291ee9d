"""seven.io authentication: `X-Api-Key`, `Authorization: Bearer <key or access token>`,
`Authorization: Basic <key>` (the raw key, or base64 of `user:key`), the legacy `p` parameter
(the API key), and the legacy login `u=<username or e-mail>&p=<password>` for accounts whose
fixture has a `password`.

API keys may use every endpoint. OAuth access tokens (from the fixtures or from
`POST /_emulator/seven/tokens`) are limited to their scopes; the scope a request needs follows from
the first segment of its path (`/lookup/hlr` needs `lookup`, `/groups` needs `contacts`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from ..core.errors import AuthenticationFailed, PermissionDenied
from ..core.models import Account
from ..core.store import Store

__all__ = [
    "AccessToken",
    "Credential",
    "SCOPES",
    "TOKENS",
    "authenticate",
    "identify",
    "presented_key",
    "register_token",
    "require_scope",
    "scope_for_path",
]

# The scopes of seven's OAuth flow, plus `numbers`, which the provider's list leaves out.
SCOPES = (
    "analytics", "balance", "contacts", "hooks", "journal", "lookup", "numbers", "pricing", "rcs",
    "sms", "status", "subaccounts", "validate_for_voice", "voice",
)
TOKENS = "seven.tokens"  # store collection of AccessToken, keyed by the token itself

# Path roots whose scope is not named after them.
_SCOPE_OF_ROOT = {"groups": "contacts"}


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    account_id: str
    scopes: frozenset[str]
    created: int


@dataclass(slots=True)  # not frozen: one is made per request, and frozen fields cost a setattr each
class Credential:
    """Who is calling, and what they may do: `scopes` is None for an API key (everything)."""

    account: Account
    scopes: frozenset[str] | None = None


def register_token(store: Store, account_id: str, token: str, scopes, created: int) -> AccessToken:
    access = AccessToken(token, account_id, frozenset(scopes), created)
    store.collection(TOKENS).add(token, account_id, created, access)
    return access


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


def _is_bearer(headers) -> bool:
    return not headers.get("x-api-key") and headers.get("authorization", "").strip().lower().startswith("bearer ")


def _password_login(store: Store, user: str, password: str | None) -> Account | None:
    """The seven.io account whose username or e-mail address is `user` and whose password is
    `password` (an account without a password in its fixture cannot log in this way)."""
    wanted = user.strip().casefold()
    for account in store.accounts.values():
        secret = account.credentials.get("password")
        if account.provider != "seven" or not secret or password is None:
            continue
        names = (account.credentials.get("username") or "", account.email or "")
        if wanted in (name.casefold() for name in names if name) and hmac.compare_digest(secret.encode(), password.encode()):
            return account
    return None


def identify(store: Store, headers, legacy_key: str | None, legacy_user: str | None = None) -> Credential:
    """The account and scopes of the presented credentials, or AuthenticationFailed. With
    `legacy_user` (the `u` parameter) and no key in the headers, `legacy_key` is its password."""
    if legacy_user and legacy_user.strip() and not headers.get("x-api-key") and not headers.get("authorization"):
        account = _password_login(store, legacy_user, legacy_key)
        if account is None:
            raise AuthenticationFailed("Wrong user name or password")
        return Credential(account)
    key = presented_key(headers, legacy_key)
    if not key:
        raise AuthenticationFailed("no API key: send it as X-Api-Key, as Authorization: Bearer <key> (or Basic), or as the p parameter")
    account = store.account_for_login("seven", key)
    if account is not None:
        return Credential(account)
    if _is_bearer(headers):
        access = store.collection(TOKENS).get(key)
        if access is not None:
            account = store.accounts.get(access.account_id)
            if account is not None:
                return Credential(account, access.scopes)
    raise AuthenticationFailed("the API key is not the key of any seven.io account of the fixtures, nor a live access token")


def authenticate(store: Store, headers, legacy_key: str | None) -> Account:
    return identify(store, headers, legacy_key).account


def scope_for_path(path: str) -> str | None:
    """The scope a request to `path` (inside the `/api` mount) needs; None if no scope covers it."""
    root = path.strip("/").split("/")[0].lower()
    scope = _SCOPE_OF_ROOT.get(root, root)
    return scope if scope in SCOPES else None


def require_scope(credential: Credential, path: str) -> None:
    if credential.scopes is None:
        return
    scope = scope_for_path(path)
    if scope is None or scope not in credential.scopes:
        raise PermissionDenied("The API key does not have access rights to this endpoint.")

"""Client-side help for the control API, shared by the pytest plugin and the scenario runner:
reading lists across pages, and passing the control token of a shared emulator."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator

import httpx

__all__ = ["collect", "ControlToken", "control_token_auth", "TOKEN_ENV", "TOKEN_HEADER"]

TOKEN_ENV = "TELCO_EMULATOR_CONTROL_TOKEN"
TOKEN_HEADER = "X-Telco-Emulator-Token"


class ControlToken(httpx.Auth):
    """httpx authentication that adds the control token to requests for `/_emulator/...` only:
    the providers' mounts never see it (nor record it in a request journal)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if "/_emulator" in request.url.path:
            request.headers[TOKEN_HEADER] = self.token
        yield request


def control_token_auth(token: str | None = None) -> ControlToken | None:
    """`token`, else the `TELCO_EMULATOR_CONTROL_TOKEN` environment variable, as httpx auth;
    None when there is neither (an emulator without a token)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    return ControlToken(token) if token else None


def collect(fetch: Callable[[dict[str, str]], dict[str, Any]], params: dict[str, str], limit: int = 100) -> list[dict[str, Any]]:
    """Up to `limit` records of a control-API list, newest first. `fetch(params)` answers one
    page; `next` is followed, since a filtered list can answer short (even empty) pages before
    the end (the server looks at a bounded number of records per request)."""
    items: list[dict[str, Any]] = []
    cursor = params.get("cursor", "")
    while len(items) < limit:
        page = fetch({**params, "limit": str(min(1000, limit - len(items))), "cursor": cursor})
        items += page["data"]
        if page["next"] is None:
            break
        cursor = page["next"]
    return items[:limit]

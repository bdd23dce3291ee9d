"""`GET /_emulator/accounts`: every account of both providers (main accounts and subaccounts)
with its balance and its active numbers, for dashboards such as the web inbox.

Balances are integers in 1/10000 of the account's currency, as everywhere in the control API.
A number's webhook URLs (`sms_url`, `mms_url`, `voice_start`) are the 46elks number settings;
seven.io numbers have none (seven.io calls the account's hooks instead).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidParameter
from ..core.models import Account, Number
from ..providers import NAMES as PROVIDERS

__all__ = ["account_json", "number_json", "ROUTES"]

_NUMBER_URLS = ("sms_url", "mms_url", "voice_start")


def number_json(number: Number) -> dict[str, Any]:
    attributes = number.attributes
    name = attributes.get("name") or attributes.get("friendly_name") or None
    body: dict[str, Any] = {
        "id": number.id,
        "number": number.number,
        "country": number.country,
        "capabilities": list(number.capabilities),
        "name": name if isinstance(name, str) else None,
    }
    for key in _NUMBER_URLS:
        value = attributes.get(key)
        body[key] = value if isinstance(value, str) and value else None
    return body


def account_json(account: Account, numbers: list[Number]) -> dict[str, Any]:
    return {
        "id": account.id,
        "provider": account.provider,
        "name": account.name,
        "parent": account.parent_id,
        "currency": account.currency,
        "balance": account.balance,
        "numbers": [number_json(number) for number in numbers],
    }


async def list_accounts(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    provider = request.query_params.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise InvalidParameter("provider", provider, f"expected one of: {', '.join(PROVIDERS)}")
    numbers: dict[str, list[Number]] = {}
    for number in engine.store.numbers:
        if number.active:
            numbers.setdefault(number.account_id, []).append(number)
    accounts = [
        account
        for account in engine.store.accounts.values()
        if provider is None or account.provider == provider
    ]
    # Main accounts in the order they were made, each followed by its subaccounts.
    rank = {account.id: index for index, account in enumerate(accounts)}
    accounts.sort(key=lambda a: (PROVIDERS.index(a.provider), rank.get(a.parent_id or a.id, -1), a.parent_id is not None, rank[a.id]))
    return JSONResponse({"data": [account_json(a, numbers.get(a.id, [])) for a in accounts]})


ROUTES = [Route("/accounts", list_accounts, methods=["GET"])]

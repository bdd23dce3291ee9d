"""seven.io as one `Provider` (see `emulator/core/provider.py`): the `/api` mount and its routes,
its fault answers, and its fixture section (`seven:` accounts with an api_key and access tokens)."""

from __future__ import annotations

import hashlib
from typing import Any

from ..core.ids import IdFactory
from ..core.models import Account
from ..core.provider import FixtureSection, Provider, ScenarioClient
from ..core.store import Store
from . import snapshot as _snapshot  # noqa: F401  (registers seven.io's snapshot sections)
from .auth import SCOPES, register_token
from .render import fault_answer
from .routes import ROUTES, create_seven_app, install, render

__all__ = ["PROVIDER"]


# -- the fixture section -----------------------------------------------------------------------
def _check_account(check: Any, raw: dict[str, Any], where: str, logins: set) -> None:
    for j, token in enumerate(check.sequence(raw.get("tokens"), f"{where}.tokens")):
        twhere = f"{where}.tokens[{j}]"
        token = check.mapping(token, twhere)
        value = check.text(token.get("token"), f"{twhere}.token")
        check.unique(logins, ("seven", value), f"{twhere}.token", "api_key or token")
        for scope in check.sequence(token.get("scopes"), f"{twhere}.scopes"):
            if scope not in SCOPES:
                raise check.fail(f"{twhere}.scopes", f"unknown scope {scope!r}; expected some of {list(SCOPES)}")


def _add_account(store: Store, raw: dict[str, Any], created: int) -> Account:
    account = Account(
        id=str(raw["id"]),
        provider="seven",
        name=str(raw.get("name") or raw["id"]),
        currency=raw.get("currency", "EUR"),
        balance=raw["balance"],
        created=created,
        email=raw.get("email"),
        credentials={"api_key": str(raw["api_key"]), **{k: str(raw[k]) for k in ("username", "password") if raw.get(k)}},
        attributes={
            "default_sender": raw.get("default_sender"),
            "signing_secret": raw.get("signing_secret"),
            **({"reload_lock": False} if raw.get("reload_lock") is False else {}),
        },
    )
    store.add_account(account, str(raw["api_key"]))
    for token in raw.get("tokens") or []:
        register_token(store, account.id, str(token["token"]), token.get("scopes") or (), created)
    return account


def _fresh_credentials(ids: IdFactory, account: dict[str, Any]) -> None:
    account["id"] = str(ids.sequence("sandbox.seven.account", 5_000_001))
    account["api_key"] = ids.token(48)
    for token in account.get("tokens") or []:
        token["token"] = ids.token(48)
    if account.get("password"):  # a legacy login of its own, not the copied account's
        account["username"] = f"sandbox_{account['id']}"
        account["password"] = hashlib.sha256(f"{account['api_key']}/password".encode()).hexdigest()[:20]


def _sandbox_json(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": raw["id"],
        "api_key": raw["api_key"],
        "numbers": [str(number["number"]) for number in raw.get("numbers") or []],
        "tokens": [{"token": t["token"], "scopes": list(t.get("scopes") or [])} for t in raw.get("tokens") or []],
    }


FIXTURES = FixtureSection(
    login_field="api_key",
    currency="EUR",
    check_account=_check_account,
    add_account=_add_account,
    fresh_credentials=_fresh_credentials,
    number_id=lambda ids, number: number.lstrip("+"),
    sandbox_json=_sandbox_json,
    sandbox_login=("seven_api_key", lambda account: account["api_key"]),
    misplaced_keys={
        "subaccounts": "fixture subaccounts are a 46elks feature (seven.io subaccounts are made with POST /api/subaccounts/create)",
    },
)

# -- how a scenario's steps reach it --------------------------------------------------------------
_SCENARIO_KEY = "test_api_key"  # the default fixtures' account


def _scenario_send(step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    body = {"to": step["to"], "text": step["text"], **(step.get("options") or {})}
    if "from" in step:
        body["from"] = step["from"]
    return "/api/sms", {"json": body}


def _scenario_sent(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise ValueError(f"unexpected answer {answer!r}")
    messages = answer.get("messages") or []
    return {**answer, "id": messages[0]["id"] if messages else None}


SCENARIO = ScenarioClient(
    credentials=lambda step: (step.get("api_key", _SCENARIO_KEY),),
    presented=lambda credentials: {"headers": {"X-Api-Key": credentials[0], "Accept": "application/json"}},
    shown=lambda credentials: f"the seven.io API key {credentials[0]!r}",
    account_path="/api/balance",
    balance_field="amount",
    send=_scenario_send,
    sent=_scenario_sent,
)

PROVIDER = Provider(
    name="seven",
    title="seven.io",
    prefix="/api",
    routes=ROUTES,
    install=install,
    create_app=create_seven_app,
    render_error=render,
    fault_answer=fault_answer,
    fixtures=FIXTURES,
    scenario=SCENARIO,
)

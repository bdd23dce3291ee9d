"""Sandboxes: isolated copies of the fixture world inside one emulator.

`create` copies every fixture account (46elks accounts with their subaccounts, seven.io
accounts) with fresh ids and credentials, the same balances, and fresh phone numbers of the same
countries. Everything a sandbox's accounts do is theirs alone — providers already scope every
record by account — so parallel test workers (pytest-xdist, several CI jobs) sharing one emulator
never see each other's data. A sandbox can be reset to its starting state or deleted on its own;
a global reset removes every sandbox.

Sandboxes are part of the snapshot (section `sandboxes`: each with the fixture entries of its
accounts), so they survive a `--state` restart and a snapshot restore.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from ..core.engine import Engine
from ..core.errors import NotFound
from ..core.snapshot import Section, SnapshotError, Staging, copy_plain, parse_time, plain, register_section, time_text
from ..core.store import SANDBOX, Store
from ..providers import by_name
from .fixtures import PROVIDERS, _check_account, _Checker, add_fixture_account

__all__ = ["Sandbox", "Sandboxes", "sandboxes_of"]


@dataclass
class Sandbox:
    id: str
    name: str | None
    created: int
    accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # provider -> raw fixture accounts
    # What its reset restores, made at the first reset (see `Sandboxes.reset`); not part of the snapshot.
    pristine: list[_Pristine] | None = field(default=None, repr=False, compare=False)

    @property
    def account_ids(self) -> list[str]:
        return [account_id for raws in self.accounts.values() for raw in raws for account_id in _account_ids(raw)]


def _account_ids(raw: dict[str, Any]) -> list[str]:
    """The ids of a fixture account and of its subaccounts."""
    return [str(raw["id"]), *(str(sub["id"]) for sub in raw.get("subaccounts") or [])]


@dataclass(frozen=True)
class _Pristine:
    """One fixture account of a sandbox (with its subaccounts) as its reset restores it: the
    store's state of each of its accounts (`Store.account_state`) just after it was installed."""

    provider: str
    raw: dict[str, Any]
    states: dict[str, tuple]  # account id -> its state when pristine


def sandboxes_of(engine: Engine) -> Sandboxes:
    """The engine's sandboxes, made on first use."""
    found = getattr(engine, "sandboxes", None)
    if found is None:
        found = engine.sandboxes = Sandboxes(engine)  # type: ignore[attr-defined]
    return found


class Sandboxes:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.by_id: dict[str, Sandbox] = {}
        self._counter = 0
        engine.reset_listeners.append(self._forget_all)

    def _forget_all(self) -> None:
        self.by_id.clear()

    def get(self, sandbox_id: str) -> Sandbox:
        sandbox = self.by_id.get(sandbox_id)
        if sandbox is None:
            raise NotFound("sandbox", sandbox_id)
        return sandbox

    # -- lifecycle ---------------------------------------------------------------------------
    def create(self, name: str | None = None) -> Sandbox:
        self._counter += 1
        engine = self.engine
        sandbox = Sandbox(id=f"sb{self._counter}-{engine.ids.hex_id('', 8)}", name=name, created=engine.clock.stamp())
        rng = random.Random(f"{engine.seed}-{sandbox.id}")
        taken = {number.number for number in engine.store.numbers}
        for provider in PROVIDERS:
            templates = engine.fixtures.data.get(provider, {}).get("accounts") or []
            sandbox.accounts[provider] = [self._copy(provider, raw, rng, taken) for raw in templates]
        self._install(sandbox)
        self.by_id[sandbox.id] = sandbox
        engine.events.emit("sandbox.created", None, None, sandbox=sandbox.id)
        return sandbox

    def reset(self, sandbox_id: str) -> Sandbox:
        """Back to the state the sandbox was made in, down to the creation times of its accounts
        and numbers. Only what a test changed is done again: a fixture account (with its
        subaccounts) whose state in the store is still the pristine one is left as it is; the
        others are removed with all they own and installed again, and the accounts made in the
        sandbox since are removed. A test usually touches one account of the sandbox's few, so
        a reset before each test costs that one."""
        sandbox = self.get(sandbox_id)
        store = self.engine.store
        changed = [pristine for pristine in self._pristine(sandbox)
                   if any(store.account_state(account_id) != state for account_id, state in pristine.states.items())]
        made = self._made_in(sandbox)
        self._remove_accounts(made.union(*(pristine.states for pristine in changed)))
        for pristine in changed:
            self._install_account(sandbox, pristine.provider, pristine.raw)
        self.engine.events.emit("sandbox.reset", None, None, sandbox=sandbox.id)
        return sandbox

    def delete(self, sandbox_id: str) -> None:
        sandbox = self.get(sandbox_id)
        self._remove_accounts(set(sandbox.account_ids) | self._made_in(sandbox))
        del self.by_id[sandbox_id]
        self.engine.events.emit("sandbox.deleted", None, None, sandbox=sandbox.id)

    def _install(self, sandbox: Sandbox) -> None:
        for provider, raws in sandbox.accounts.items():
            for raw in raws:
                self._install_account(sandbox, provider, raw)

    def _install_account(self, sandbox: Sandbox, provider: str, raw: dict[str, Any], store: Store | None = None) -> list[str]:
        """Add one of the sandbox's fixture accounts (with its subaccounts and numbers), made
        when the sandbox was; returns the ids of its accounts."""
        store = store or self.engine.store
        add_fixture_account(store, provider, raw, sandbox.created)
        ids = _account_ids(raw)
        for account_id in ids:
            store.accounts[account_id].attributes[SANDBOX] = sandbox.id
        return ids

    def _pristine(self, sandbox: Sandbox) -> list[_Pristine]:
        """The sandbox's fixture accounts as a reset restores them, each installed once into a
        store of its own (`_install_account` makes the same records from the same entry)."""
        if sandbox.pristine is None:
            scratch = Store()
            sandbox.pristine = [
                _Pristine(provider, raw, {account_id: scratch.account_state(account_id)
                                          for account_id in self._install_account(sandbox, provider, raw, scratch)})
                for provider, raws in sandbox.accounts.items() for raw in raws
            ]
        return sandbox.pristine

    def _made_in(self, sandbox: Sandbox) -> set[str]:
        """The ids of the accounts made in the sandbox since it was (subaccounts carry their
        parent's sandbox: `Store.add_account`). Accounts are few (a handful per sandbox): they
        are read by walking them."""
        fixture_ids = set(sandbox.account_ids)
        return {account.id for account in self.engine.store.accounts.values()
                if account.attributes.get(SANDBOX) == sandbox.id and account.id not in fixture_ids}

    def _remove_accounts(self, owned: set[str]) -> None:
        """Forget these accounts of a sandbox and all they own; stop what they have in flight."""
        self.engine.remove_accounts(owned, "sandbox reset")

    # -- copying fixture accounts ------------------------------------------------------------
    def _copy(self, provider: str, raw: dict[str, Any], rng: random.Random, taken: set[str]) -> dict[str, Any]:
        ids = self.engine.ids
        account = copy.deepcopy(raw)
        section = by_name(provider).fixtures
        section.fresh_credentials(ids, account)
        for number in account.get("numbers") or []:
            number["number"] = _fresh_number(str(number["number"]), rng, taken)
            number["id"] = section.number_id(ids, number["number"])
        return account


def _fresh_number(template: str, rng: random.Random, taken: set[str]) -> str:
    """A valid number of the same country and type as `template` that nobody uses yet."""
    parsed = phonenumbers.parse(template, None)
    national = str(parsed.national_number)
    kind = phonenumbers.number_type(parsed)
    for _ in range(10_000):
        tail = "".join(rng.choice("0123456789") for _ in range(min(6, len(national) - 2)))
        candidate = phonenumbers.parse(f"+{parsed.country_code}{national[: len(national) - len(tail)]}{tail}", None)
        e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
        if e164 in taken or not phonenumbers.is_valid_number(candidate):
            continue
        if phonenumbers.number_type(candidate) != kind:
            continue
        taken.add(e164)
        return e164
    raise RuntimeError(f"no free number like {template}")


# -- the snapshot section ------------------------------------------------------------------------
_SANDBOX_NUMBER = re.compile(r"sb([0-9]{1,18})-")


class _SnapshotChecker(_Checker):
    """The fixture checks, reporting a problem at its JSON path in the snapshot."""

    def fail(self, where: str, problem: str) -> SnapshotError:  # type: ignore[override]
        return SnapshotError(where, problem)


def sandbox_to_resource(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "id": sandbox.id,
        "name": sandbox.name,
        "created": time_text(sandbox.created),
        "accounts": {provider: plain(sandbox.accounts.get(provider, []), f"accounts.{provider}") for provider in PROVIDERS},
    }


def _take_sandboxes(engine: Engine) -> list[dict[str, Any]]:
    found = getattr(engine, "sandboxes", None)
    return [sandbox_to_resource(sandbox) for sandbox in found.by_id.values()] if found is not None else []


def _stage_sandboxes(raws: list[dict[str, Any]], staging: Staging) -> dict[str, Sandbox]:
    staged: dict[str, Sandbox] = {}
    check = _SnapshotChecker("snapshot")
    for i, raw in enumerate(raws):
        path = f"$.sandboxes[{i}]"
        if raw["id"] in staged:
            raise SnapshotError(f"{path}.id", f"duplicate sandbox id {raw['id']!r}")
        logins: set = set()
        ids: set = set()
        accounts: dict[str, list[dict[str, Any]]] = {}
        for provider in PROVIDERS:
            accounts[provider] = copy_plain(raw["accounts"][provider], f"{path}.accounts.{provider}")
            for j, account in enumerate(accounts[provider]):
                _check_account(check, provider, account, f"{path}.accounts.{provider}[{j}]", logins, ids)
        staged[raw["id"]] = Sandbox(raw["id"], raw["name"], parse_time(raw["created"], f"{path}.created"), accounts)

    def members_exist() -> None:
        for i, account in enumerate(staging.store.accounts.values()):
            sandbox_id = account.attributes.get(SANDBOX)
            if sandbox_id is not None and sandbox_id not in staged:
                raise SnapshotError(f"$.accounts[{i}].attributes.sandbox", f"no sandbox {sandbox_id!r} in the snapshot")

    staging.later_checks.append(members_exist)
    return staged


def _install_sandboxes(engine: Engine, staged: dict[str, Sandbox]) -> None:
    sandboxes = sandboxes_of(engine)
    sandboxes.by_id = dict(staged)
    numbers = [int(match.group(1)) for sandbox_id in staged if (match := _SANDBOX_NUMBER.match(sandbox_id))]
    sandboxes._counter = max([sandboxes._counter, len(staged), *numbers])


SECTION = register_section(Section("sandboxes", _take_sandboxes, _stage_sandboxes, _install_sandboxes))

"""Fixture files: load, check and turn into a fresh `Store` plus simulation settings.

A fixture file is YAML (see `fixtures/default.yaml`, embedded in the package as the default). A
file may start with `extends: default` to add to the default world instead of replacing it. Any
mistake is reported as a `FixtureError` that names the file and the field.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..core.billing import PriceTable
from ..core.calls import CALL_OUTCOME_STATUSES, CallOutcome, CallPrices, CallRule
from ..core.clock import Clock
from ..core.errors import FixtureError, InvalidNumber
from ..core.lifecycle import InvalidRule, Outcome, OutcomeRule
from ..core.models import Number
from ..core.phone import parse_e164
from ..core.store import Store
from ..core.world import Fixtures as World
from ..http.params import unencodable_path
from ..providers import NAMES as PROVIDERS, PROVIDERS as REGISTERED, by_name

__all__ = ["Fixtures", "load_fixtures", "default_fixture_text", "fixture_schema", "add_fixture_account", "PROVIDERS"]


def default_fixture_text() -> str:
    return resources.files("emulator").joinpath("data/default.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("emulator").joinpath("data/fixtures.schema.json").read_text(encoding="utf-8")


def fixture_schema() -> dict[str, Any]:
    """The fixture format's JSON Schema (a copy of `specs/fixtures.schema.json` inside the package)."""
    return json.loads(_schema_text())


@lru_cache(maxsize=1)
def _known_keys() -> dict[str, Any]:
    return fixture_schema()


def _path_text(path: list[str | int]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _unknown_key(source: str, data: dict[str, Any]) -> FixtureError | None:
    """The first key (in the file's order) that the fixture schema does not know, as an error
    naming its path in this document and the nearest known key; None when every key is known.
    Descends only where the schema describes the document (the schema is not recursive), so the
    depth and cost follow the schema, not the file."""
    root = _known_keys()

    def resolve(schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = ""
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = root["$defs"][name]
        return name, schema

    def walk(schema: dict[str, Any], value: Any, path: list[str | int]) -> str | None:
        kind, schema = resolve(schema)
        if isinstance(value, dict) and ("properties" in schema or "patternProperties" in schema):
            known = schema.get("properties", {})
            patterns = schema.get("patternProperties", {})
            for key, child in value.items():
                name = _key_text(key)
                if name in known:
                    below = known[name]
                else:
                    pattern = next((p for p in patterns if isinstance(key, str) and re.search(p, key)), None)
                    if pattern is None:
                        if schema.get("additionalProperties") is not False:
                            continue
                        problem = _ELSEWHERE.get((kind, name)) or _unknown_key_problem(key, name, list(known), bool(patterns))
                        return f"{_path_text([*path, name])}: {problem}"
                    below = patterns[pattern]
                found = walk(below, child, [*path, name])
                if found:
                    return found
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for index, child in enumerate(value):
                found = walk(schema["items"], child, [*path, index])
                if found:
                    return found
        return None

    found = walk(root, data, [])
    return FixtureError(f"{source}: {found}") if found else None


# Keys that belong to another provider's accounts: a clearer word than "unknown key".
_ELSEWHERE = {
    (f"{provider.name}_account", key): problem
    for provider in REGISTERED for key, problem in provider.fixtures.misplaced_keys.items()
}


def _unknown_key_problem(key: Any, name: str, known: list[str], by_country: bool) -> str:
    if isinstance(key, bool) and by_country:
        return f"unknown key {name}: YAML reads a bare NO (or no, off) as false; write \"NO\""
    problem = f"unknown key {name!r}"
    lowered = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    if close:
        return f"{problem}; did you mean {lowered[close[0]]!r}?"
    if by_country:
        return f"{problem}; expected a two-letter country code or {' or '.join(map(repr, known))}"
    return problem


class Fixtures(World):
    """A checked fixture file: the world it describes (fields in `core/world.py`), whose accounts
    enter a store through each provider's fixture section."""

    def build_store(self, clock: Clock) -> Store:
        store = Store()
        created = clock.now()
        for provider in PROVIDERS:
            for account in self.data.get(provider, {}).get("accounts", []) or []:
                add_fixture_account(store, provider, account, created)
        return store


_ACCOUNT_PATH = re.compile(rf"(?P<provider>{'|'.join(PROVIDERS)})\.accounts\[(?P<index>[0-9]+)\]")


class _Checker:
    """Reads typed values out of the raw YAML, naming the file and field on any mistake."""

    def __init__(self, source: str, shifts: dict[str, int] | None = None) -> None:
        self.source = source
        # provider -> how many default accounts come before the file's own after `extends: default`
        self.shifts = shifts or {}

    def unique(self, seen: set, key: Any, where: str, what: str) -> None:
        if key in seen:
            raise self.fail(where, f"duplicate {what} {key!r}")
        seen.add(key)

    def fail(self, where: str, problem: str) -> FixtureError:
        return FixtureError(f"{self.source}: {self.in_user_file(where)}: {problem}")

    def in_user_file(self, where: str) -> str:
        """`where` in the merged document, as the path of the same entry in the user's own file."""
        found = _ACCOUNT_PATH.match(where)
        if found is None or not self.shifts.get(found["provider"]):
            return where
        index = int(found["index"]) - self.shifts[found["provider"]]
        if index < 0:
            return f"{where} (of the default fixtures)"
        return f"{found['provider']}.accounts[{index}]{where[found.end():]}"


    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping")
        return value

    def sequence(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(where, "expected a list")
        return value

    def integer(self, value: Any, where: str, minimum: int | None = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(where, f"must be at least {minimum}, got {value}")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(where, f"expected a non-negative number, got {value!r}")
        return float(value)

    def text(self, value: Any, where: str, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
            raise self.fail(where, f"expected a non-empty string, got {value!r}")
        return str(value)


# The embedded default fixtures, read at every start, go through libyaml's loader when PyYAML
# has it (some ten times faster); a user's file goes through the Python loader, whose verdicts on
# broken text (lone surrogates, deep nesting) the messages below rely on.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(text: str, source: str, trusted: bool = False) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_FAST_LOADER if trusted else yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise FixtureError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise FixtureError(f"{source}: not valid YAML: nested too deeply") from None
    unencodable = unencodable_path(data)
    if unencodable is not None:  # YAML's "\ud800" escape: text no answer could write
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in unencodable).lstrip(".")
        raise FixtureError(f"{source}: {where or 'the document'}: not valid Unicode text (it holds a lone surrogate)")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FixtureError(f"{source}: the top level must be a mapping")
    return data


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if key == "extends":
            continue
        if key in ("outcomes", "call_outcomes") and isinstance(value, list):
            merged[key] = list(value) + list(merged.get(key) or [])
        elif key in PROVIDERS and isinstance(value, dict):
            section = merged.setdefault(key, {})
            for sub, subvalue in value.items():
                if sub == "accounts" and isinstance(subvalue, list):
                    section["accounts"] = list(section.get("accounts") or []) + subvalue
                elif (sub == "prices" or str(sub).endswith("_prices")) and isinstance(subvalue, dict):
                    section[sub] = {**(section.get(sub) or {}), **subvalue}
                else:
                    section[sub] = subvalue
        elif key == "simulation" and isinstance(value, dict):
            merged["simulation"] = {**(merged.get("simulation") or {}), **value}
        else:
            merged[key] = value
    return merged


def load_fixtures(path: str | Path | None = None) -> Fixtures:
    if path is None:
        source, data = "default fixtures", _read(default_fixture_text(), "default fixtures", trusted=True)
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise FixtureError(f"{source}: cannot read fixture file: {exc.strerror or exc}") from None
        data = _read(text, source)
        unknown = _unknown_key(source, data)  # the user's own document, before any merge
        if unknown is not None:
            raise unknown
        extends = data.get("extends")
        if extends is not None:
            if extends != "default":
                raise FixtureError(f"{source}: extends: only 'default' can be extended, got {extends!r}")
            default = _read(default_fixture_text(), "default fixtures", trusted=True)
            shifts = _account_shifts(default, data)
            data = _merge(default, data)
            check = _Checker(source, shifts)
            fixtures = _check(check, data)
            _check_calls(check, fixtures)
            return fixtures
    check = _Checker(source)
    fixtures = _check(check, data)
    _check_calls(check, fixtures)
    return fixtures


def _account_shifts(default: dict[str, Any], extra: dict[str, Any]) -> dict[str, int]:
    """For each provider whose accounts `_merge` appends to the default ones: how many come first."""
    shifts = {}
    for provider in PROVIDERS:
        mine = extra.get(provider)
        if isinstance(mine, dict) and isinstance(mine.get("accounts"), list):
            shifts[provider] = len((default.get(provider) or {}).get("accounts") or [])
    return shifts


def _outcome(check: _Checker, raw: dict[str, Any], where: str, base: Outcome) -> Outcome:
    status = raw.get("status", base.status)
    try:
        return Outcome(
            status=str(status),
            sent_after=check.number(raw.get("sent_after", base.sent_after), f"{where}.sent_after"),
            final_after=check.number(raw.get("final_after", base.final_after), f"{where}.final_after"),
            buffered=bool(raw.get("buffered", False)),
        )
    except InvalidRule as exc:
        raise check.fail(f"{where}.{exc.field}", str(exc)) from None


def _call_outcome(check: _Checker, raw: dict[str, Any], where: str, base: CallOutcome) -> CallOutcome:
    def seconds(key: str, base_value: float) -> float:
        return check.number(raw.get(key, base_value), f"{where}.{key}")

    status = raw.get("status", base.status)
    if status not in CALL_OUTCOME_STATUSES:
        raise check.fail(f"{where}.status", f"expected one of {list(CALL_OUTCOME_STATUSES)}, got {status!r}")
    digits = raw.get("digits", base.digits)
    if isinstance(digits, int) and not isinstance(digits, bool):
        digits = str(digits)  # `digits: 1` written without quotes
    if not isinstance(digits, str):
        raise check.fail(f"{where}.digits", f"expected a string of keys such as \"12#\", got {digits!r}")
    try:
        return CallOutcome(
            status=status,
            ring_time=seconds("ring_time", base.ring_time),
            talk_time=seconds("talk_time", base.talk_time),
            digits=digits,
            digits_after=seconds("digits_after", base.digits_after),
        )
    except InvalidRule as exc:
        raise check.fail(f"{where}.{exc.field}", str(exc)) from None


def _check_calls(check: _Checker, fixtures: Fixtures) -> None:
    """`call_outcomes` (matched like `outcomes`), defaults from `simulation.call_ring_time`,
    `call_talk_time`, `call_digits_after`, and each provider's `call_prices`."""
    simulation = check.mapping(fixtures.data.get("simulation"), "simulation")
    defaults = {key[len("call_"):]: value for key, value in simulation.items() if key in ("call_ring_time", "call_talk_time", "call_digits_after")}
    default = _call_outcome(check, defaults, "simulation", CallOutcome())
    rules = []
    for i, raw in enumerate(check.sequence(fixtures.data.get("call_outcomes"), "call_outcomes")):
        where = f"call_outcomes[{i}]"
        raw = check.mapping(raw, where)
        match = check.text(raw.get("match"), f"{where}.match")
        provider = raw.get("provider")
        if provider is not None and provider not in PROVIDERS:
            raise check.fail(f"{where}.provider", f"expected one of {list(PROVIDERS)}, got {provider!r}")
        outcome = _call_outcome(check, raw, where, default)
        try:
            rules.append(CallRule(match=str(match), outcome=outcome, provider=provider))
        except InvalidRule as exc:
            raise check.fail(f"{where}.{exc.field}", str(exc)) from None
    fixtures.call_rules = rules
    fixtures.default_call_outcome = default
    fixtures.call_prices = {
        provider: CallPrices.from_mapping(fixtures.price_lists.get(provider, {}).get("call_prices", {}))
        for provider in PROVIDERS
    }


def _check(check: _Checker, data: dict[str, Any]) -> Fixtures:
    simulation = check.mapping(data.get("simulation"), "simulation")
    default_outcome = _outcome(check, simulation, "simulation", Outcome())
    rules = []
    for i, raw in enumerate(check.sequence(data.get("outcomes"), "outcomes")):
        where = f"outcomes[{i}]"
        raw = check.mapping(raw, where)
        match = check.text(raw.get("match"), f"{where}.match")
        provider = raw.get("provider")
        if provider is not None and provider not in PROVIDERS:
            raise check.fail(f"{where}.provider", f"expected one of {list(PROVIDERS)}, got {provider!r}")
        outcome = _outcome(check, raw, where, default_outcome)
        try:
            rules.append(OutcomeRule(match=match, outcome=outcome, provider=provider))
        except InvalidRule as exc:
            raise check.fail(f"{where}.{exc.field}", str(exc)) from None
    prices: dict[str, PriceTable] = {}
    price_lists: dict[str, dict[str, dict[str, int]]] = {}
    logins: set[tuple[str, str]] = set()
    ids: set[str] = set()
    for provider in PROVIDERS:
        section = check.mapping(data.get(provider), provider)
        table = PriceTable()
        for region, price in check.mapping(section.get("prices"), f"{provider}.prices").items():
            value = check.integer(price, f"{provider}.prices.{region}")
            if str(region) == "default":
                table.default_sms = value
            else:
                table.sms[str(region).upper()] = value
        prices[provider] = table
        for name in section:
            if str(name).endswith("_prices"):
                listed = check.mapping(section[name], f"{provider}.{name}")
                price_lists.setdefault(provider, {})[str(name)] = {
                    (str(region) if str(region) == "default" else str(region).upper()): check.integer(price, f"{provider}.{name}.{region}")
                    for region, price in listed.items()
                }
        for i, account in enumerate(check.sequence(section.get("accounts"), f"{provider}.accounts")):
            _check_account(check, provider, check.mapping(account, f"{provider}.accounts[{i}]"), f"{provider}.accounts[{i}]", logins, ids)
    return Fixtures(source=check.source, data=data, prices=prices, rules=rules, default_outcome=default_outcome, price_lists=price_lists)


def _check_account(check: _Checker, provider: str, raw: dict[str, Any], where: str, logins: set, ids: set) -> None:
    check.unique(ids, check.text(raw.get("id"), f"{where}.id"), f"{where}.id", "account id")
    section = by_name(provider).fixtures
    login_field = section.login_field
    login = check.text(raw.get(login_field), f"{where}.{login_field}")
    check.unique(logins, (provider, login), f"{where}.{login_field}", login_field)
    section.check_account(check, raw, where, logins)
    check.integer(raw.get("balance"), f"{where}.balance")
    currency = raw.get("currency", section.currency)
    if currency not in ("SEK", "EUR"):
        raise check.fail(f"{where}.currency", f"expected SEK or EUR, got {currency!r}")
    for j, number in enumerate(check.sequence(raw.get("numbers"), f"{where}.numbers")):
        nwhere = f"{where}.numbers[{j}]"
        number = check.mapping(number, nwhere)
        check.text(number.get("id"), f"{nwhere}.id")
        try:
            parse_e164(str(number.get("number", "")), "number")
        except InvalidNumber:
            raise check.fail(f"{nwhere}.number", f"not an E.164 phone number: {number.get('number')!r}") from None
        for capability in check.sequence(number.get("capabilities", ["sms"]), f"{nwhere}.capabilities"):
            if capability not in ("sms", "mms", "voice"):
                raise check.fail(f"{nwhere}.capabilities", f"unknown capability {capability!r}")
    for j, sub in enumerate(check.sequence(raw.get("subaccounts"), f"{where}.subaccounts")):
        swhere = f"{where}.subaccounts[{j}]"
        sub = check.mapping(sub, swhere)
        sub_id = check.text(sub.get("id"), f"{swhere}.id")
        check.unique(ids, sub_id, f"{swhere}.id", "account id")
        check.unique(logins, (provider, sub_id), f"{swhere}.id", "login")
        check.text(sub.get("secret"), f"{swhere}.secret")
        check.text(sub.get("name"), f"{swhere}.name")
        check.integer(sub.get("usagelimit", 0), f"{swhere}.usagelimit")


def add_fixture_account(store: Store, provider: str, raw: dict[str, Any], created: int) -> None:
    """Add one checked fixture account (with its subaccounts and numbers) to `store`."""
    account = by_name(provider).fixtures.add_account(store, raw, created)
    for number in raw.get("numbers") or []:
        store.numbers.add(
            str(number["id"]),
            account.id,
            created,
            Number(
                id=str(number["id"]),
                provider=provider,
                account_id=account.id,
                number=parse_e164(str(number["number"])).e164,
                country=str(number.get("country") or "").lower(),
                capabilities=tuple(number.get("capabilities", ["sms"])),
                created=created,
                attributes={k: number.get(k) for k in ("name", "sms_url", "mms_url", "voice_start") if number.get(k)},
            ),
        )

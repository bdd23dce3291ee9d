"""What `telco-emulator replay` checks before it runs a single step: that the emulator answers
and takes the control token, that it may be reset when a scenario resets it, and that it has
what the scenarios need (a virtual clock for `advance`, the accounts their steps send and check
balances with, the numbers their inbound traffic is sent to). Each problem is one sentence naming the scenario file and the step; replay
prints them all and stops with exit status 2, having changed nothing.

The checks only read: `GET /_emulator/health`, `GET /_emulator/accounts`, and for each account a
step uses, the provider's own balance request with that step's credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import httpx

from .loader import Scenario
from ..providers import NAMES, by_name

__all__ = ["Needs", "needs_of", "check_target"]

_CREDENTIAL_STEPS = ("send_sms", "expect_balance")
_INBOUND_STEPS = ("inbound_sms", "inbound_mms", "inbound_call")  # their `to` must be one of the emulator's numbers


@dataclass
class Needs:
    """What the scenarios ask of the emulator, each with the first place that asks it."""

    resets: list[Scenario]
    virtual_clock: str | None  # where the first `advance` step is, None: no advance
    accounts: dict[tuple[str, tuple[str, ...]], str]  # (provider, credentials) -> where first used
    numbers: dict[str, tuple[str, str]]  # digits of an inbound step's `to` -> (the `to` as written, where first used)


def _where(scenario: Scenario, index: int, kind: str) -> str:
    return f"{scenario.source}: step {index + 1} ({kind})"


def _literal(value: Any) -> bool:
    """A value known before the run: not a `${saved.field}` reference."""
    return isinstance(value, str) and "${" not in value


def _digits(number: str) -> str:
    """A phone number reduced to its digits, without an international `00` prefix: how the
    scenario and the emulator's list are compared (`+46 70-123 45 67` is `46701234567`)."""
    digits = re.sub(r"\D", "", number)
    return digits[2:] if digits.startswith("00") else digits


def needs_of(scenarios: Iterable[Scenario]) -> Needs:
    needs = Needs(resets=[], virtual_clock=None, accounts={}, numbers={})
    for scenario in scenarios:
        if scenario.reset:
            needs.resets.append(scenario)
        for index, step in enumerate(scenario.steps):
            (kind, value), = step.items()
            if kind == "advance" and needs.virtual_clock is None:
                needs.virtual_clock = _where(scenario, index, kind)
            if kind in _INBOUND_STEPS and isinstance(value, dict) and _literal(value.get("to")):
                needs.numbers.setdefault(_digits(value["to"]), (value["to"], _where(scenario, index, kind)))
            if kind not in _CREDENTIAL_STEPS or not isinstance(value, dict):
                continue
            provider = value.get("provider")
            if provider not in NAMES:
                continue
            credentials = by_name(provider).scenario.credentials(value)
            if all(_literal(part) for part in credentials):
                needs.accounts.setdefault((provider, credentials), _where(scenario, index, kind))
    return needs


def _has_account(client: httpx.Client, provider: str, credentials: tuple[str, ...]) -> bool:
    scenario = by_name(provider).scenario
    return client.get(scenario.account_path, **scenario.presented(credentials)).status_code == 200


def check_target(client: httpx.Client, scenarios: list[Scenario], *, target: str | None, may_reset: bool) -> list[str]:
    """The problems that would make the scenarios fail, or wipe what they must not, before any
    of them runs; [] when there are none. `target`: the URL of a running emulator the user named
    (None: the in-process one replay started, which may always be reset)."""
    needs = needs_of(scenarios)
    named = f"the emulator at {target}" if target else "the in-process emulator"
    problems: list[str] = []
    if target and not may_reset:
        for scenario in needs.resets:
            problems.append(
                f"{scenario.source}: the scenario resets the emulator before it runs (`reset: true`, the default), which would "
                f"wipe every message, call and balance of {named} back to its fixtures; pass --reset to allow that, "
                "or set `reset: false` in the scenario"
            )
    try:
        health = client.get("/_emulator/health")
    except httpx.HTTPError as exc:
        return problems + [f"cannot reach {named}: {exc or type(exc).__name__} (is it running? is the URL right?)"]
    if health.status_code != 200 or "json" not in health.headers.get("content-type", "") or "clock" not in health.json():
        return problems + [f"{named} does not answer as a telco-emulator: GET /_emulator/health gave HTTP {health.status_code}"]
    try:
        control = client.get("/_emulator/accounts")
        if control.status_code in (401, 403):
            problems.append(
                f"{named} refuses its control API (HTTP {control.status_code}): pass its token with --control-token "
                "or TELCO_EMULATOR_CONTROL_TOKEN"
            )
        elif control.status_code == 200:
            known = {_digits(number["number"]) for account in control.json()["data"] for number in account["numbers"]}
            for digits, (written, where) in needs.numbers.items():
                if digits not in known:
                    problems.append(f"{where} sends inbound traffic to {written}, which is not a number of any account of {named}")
        clock = health.json()["clock"]
        if needs.virtual_clock and clock != "virtual":
            problems.append(
                f"{needs.virtual_clock} needs an emulator on the virtual clock, and {named} runs a {clock} clock: "
                "start it with --clock virtual"
            )
        for (provider, credentials), where in needs.accounts.items():
            if not _has_account(client, provider, credentials):
                problems.append(f"{where} uses {by_name(provider).scenario.shown(credentials)}, which {named} does not know")
    except httpx.HTTPError as exc:
        problems.append(f"{named} stopped answering while replay checked it: {exc or type(exc).__name__}")
    return problems

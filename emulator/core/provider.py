"""What a provider is to the rest of the emulator: one `Provider` object per provider package
(`emulator/elks/provider.py`, `emulator/seven/provider.py`), listed once in `emulator/providers.py`.

Everything outside the provider packages (the app's mounts, the fault injector, fixture files,
sandboxes, the control API) loops over that registry and asks these objects; none of it names a
provider. The types stay loose (`Any` for routes, requests and responses) so that the core never
imports Starlette.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .errors import EmulatorError

__all__ = ["Provider", "FixtureSection", "ControlMedia", "InboundMms", "ScenarioClient"]


@dataclass(frozen=True, slots=True)
class FixtureSection:
    """How a provider's section of a fixture file (`elks:`, `seven:`) becomes accounts.

    The common fields (id, balance, currency, numbers, subaccounts) are checked by
    `emulator/world/fixtures.py`; `check_account` checks the provider's own ones (with the fixture
    checker, the account, where it is, and the logins seen so far).
    """

    login_field: str  # the credential an account logs in with: its key must be unique
    currency: str  # an account's currency when the file names none
    check_account: Callable[[Any, dict[str, Any], str, set], None]
    add_account: Callable[[Any, dict[str, Any], int], Any]  # (store, checked raw account, created) -> Account
    fresh_credentials: Callable[[Any, dict[str, Any]], None]  # (ids, copied raw account): a sandbox's own logins
    number_id: Callable[[Any, str], str]  # (ids, E.164 number) -> id of a sandbox's fresh number
    sandbox_json: Callable[[dict[str, Any]], dict[str, Any]]  # what a sandbox's user needs of one account
    sandbox_login: tuple[str, Callable[[dict[str, Any]], Any]]  # key and value of the first account's login
    misplaced_keys: Mapping[str, str]  # a key of another provider's accounts -> a clearer word than "unknown"


@dataclass(frozen=True, slots=True)
class ControlMedia:
    """Media the web inbox downloads without provider credentials."""

    image: Callable[[Any, str], tuple[bytes, str] | None]  # (engine, image id) -> (bytes, media type)
    recording_wav: Callable[[Any, str], tuple[bytes, str] | None]  # (engine, recording id) -> (WAV, file name)


@dataclass(frozen=True, slots=True)
class InboundMms:
    """The control API's `/inbound/mms`: a phone sends an MMS to one of the provider's numbers."""

    max_images: int
    max_text: int  # characters
    read_image: Callable[[str, str], Any]  # (field, data: URI) -> an image payload; raises InvalidParameter
    receive: Callable[..., Any]  # (engine, to, sender, text, payloads, base_url) -> the inbound Message


@dataclass(frozen=True, slots=True)
class ScenarioClient:
    """How a scenario step reaches the provider as the provider's own client would
    (`scenarios/runner.py` runs the steps, `scenarios/preflight.py` checks their accounts first)."""

    credentials: Callable[[dict[str, Any]], tuple[str, ...]]  # a step's, or the default account's
    presented: Callable[[tuple[str, ...]], dict[str, Any]]  # httpx arguments that present them
    shown: Callable[[tuple[str, ...]], str]  # the credentials in a sentence
    account_path: str  # a GET that answers 200 for known credentials, with the balance
    balance_field: str  # the balance's field in that answer
    send: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]  # a `send_sms` step -> (path, httpx arguments)
    sent: Callable[[Any], Any]  # the send's answer as the step's result (with its `id`); ValueError if unreadable


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider: its mount, its explicit routes (in matching order), its wiring into the
    engine, its error answers and its fixture section, and what the control API may ask of it."""

    name: str  # as records carry it (`Message.provider`) and fixture files name their section
    title: str  # as people know it ("46elks")
    prefix: str  # the mount (`/a1`)
    routes: Sequence[Any]  # Starlette routes, tried in this order
    install: Callable[[Any], None]  # (engine): retry policy, listeners, id factories
    create_app: Callable[[Any], Any]  # (engine) -> the mount's ASGI app; calls `install`
    render_error: Callable[[Any, EmulatorError], Any]  # (request, error) -> the provider's own answer
    fault_answer: Callable[[int], tuple[bytes, str]]  # an injected fault's status -> (body, content type)
    fixtures: FixtureSection
    scenario: ScenarioClient
    media: ControlMedia | None = None
    inbound_mms: InboundMms | None = None

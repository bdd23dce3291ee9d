"""46elks as one `Provider` (see `emulator/core/provider.py`): the `/a1` mount and its routes,
its fault answers, its fixture section (`elks:` accounts with username, password and
subaccounts) and what the control API asks of it (inbound MMS, images and recordings)."""

from __future__ import annotations

from typing import Any

from ..core.engine import Engine
from ..core.errors import InvalidParameter, NotFound
from ..core.ids import IdFactory
from ..core.models import Account, Message
from ..core.provider import ControlMedia, FixtureSection, InboundMms, Provider, ScenarioClient
from ..core.store import Store
from . import snapshot as _snapshot  # noqa: F401  (registers 46elks' snapshot sections)
from .image_data import ImagePayload, read_image
from .images import COLLECTION as IMAGES, image_url, store_images
from .mms import MAX_IMAGES, MAX_MMS_TEXT
from .recordings import wav_bytes
from .render import fault_answer
from .routes import ROUTES, create_elks_app, install, render

__all__ = ["PROVIDER"]

_IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


# -- the fixture section -----------------------------------------------------------------------
def _check_account(check: Any, raw: dict[str, Any], where: str, logins: set) -> None:
    check.text(raw.get("password"), f"{where}.password")
    if raw.get("tokens") is not None:
        raise check.fail(f"{where}.tokens", "access tokens are a seven.io feature")


def _add_account(store: Store, raw: dict[str, Any], created: int) -> Account:
    account = Account(
        id=str(raw["id"]),
        provider="elks",
        name=str(raw.get("displayname") or raw["username"]),
        currency=raw.get("currency", "SEK"),
        balance=raw["balance"],
        created=created,
        email=raw.get("email"),
        credentials={"username": str(raw["username"]), "password": str(raw["password"])},
        attributes={
            "mobilenumber": raw.get("mobilenumber"),
            "creditalert": raw.get("creditalert"),
            "opening_balance": raw["balance"],  # its one transaction (elks/billing.py)
        },
    )
    store.add_account(account, str(raw["username"]))
    for sub in raw.get("subaccounts") or []:
        limit = sub.get("usagelimit", 0)
        store.add_account(
            Account(
                id=str(sub["id"]),
                provider="elks",
                name=str(sub["name"]),
                currency=account.currency,
                balance=limit,
                created=created,
                parent_id=account.id,
                credentials={"username": str(sub["id"]), "password": str(sub["secret"])},
                attributes={"usagelimit": limit},
            ),
            str(sub["id"]),
        )
    return account


def _fresh_credentials(ids: IdFactory, account: dict[str, Any]) -> None:
    account["id"] = ids.hex_id("u")
    account["username"] = account["id"]
    account["password"] = ids.secret()
    for sub in account.get("subaccounts") or []:
        sub["id"] = ids.hex_id("a", 31)
        sub["secret"] = ids.secret()


def _sandbox_json(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": raw["id"],
        "username": raw["username"],
        "password": raw["password"],
        "numbers": [str(number["number"]) for number in raw.get("numbers") or []],
        "subaccounts": [{"id": sub["id"], "secret": sub["secret"], "name": sub.get("name")} for sub in raw.get("subaccounts") or []],
    }


FIXTURES = FixtureSection(
    login_field="username",
    currency="SEK",
    check_account=_check_account,
    add_account=_add_account,
    fresh_credentials=_fresh_credentials,
    number_id=lambda ids, number: ids.hex_id("n"),
    sandbox_json=_sandbox_json,
    sandbox_login=("elks_auth", lambda account: [account["username"], account["password"]]),
    misplaced_keys={
        "tokens": "access tokens are a seven.io feature",
        "api_key": "an api_key logs in to seven.io; a 46elks account has username and password",
    },
)


# -- what the control API asks -----------------------------------------------------------------
def _image(engine: Engine, image_id: str) -> tuple[bytes, str] | None:
    found = engine.store.collection(IMAGES).get(image_id)
    if found is None or found.data is None or found.filetype not in _IMAGE_TYPES:
        return None
    return found.data, _IMAGE_TYPES[found.filetype]


def _recording_wav(engine: Engine, recording_id: str) -> tuple[bytes, str] | None:
    recording = engine.store.collection("recordings").get(recording_id)
    if recording is None:
        return None
    return wav_bytes(recording.duration), f"{recording.id}.wav"


def _receive_mms(engine: Engine, to: str, sender: str, text: str, payloads: list[ImagePayload], base: str) -> Message:
    """An MMS from a phone to a 46elks number: its images become `/a1/images/<mms id>-i<k>`."""
    number = engine.store.active_number(to, "elks")
    if number is None:
        raise NotFound("number", to)
    if "mms" not in number.capabilities:
        raise InvalidParameter("to", to, "this 46elks number cannot receive MMS")
    mms_id = engine.ids.hex_id("m")
    image_ids = store_images(engine, number.account_id, mms_id, payloads)
    attributes = {"images": image_ids, "image_urls": [image_url(base, i) for i in image_ids]}
    return engine.receive_message(number, sender, text, attributes, make_id=lambda: mms_id, kind="mms")


# -- how a scenario's steps reach it --------------------------------------------------------------
_SCENARIO_LOGIN = ("test_user", "test_password")  # the default fixtures' account


def _scenario_send(step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = {"from": step.get("from", "ElkCo"), "to": step["to"], "message": step["text"], **(step.get("options") or {})}
    return "/a1/SMS", {"data": data}


SCENARIO = ScenarioClient(
    credentials=lambda step: tuple(step.get("auth") or _SCENARIO_LOGIN),
    presented=lambda credentials: {"auth": credentials},
    shown=lambda credentials: f"the 46elks API username {credentials[0]!r} with its password",
    account_path="/a1/me",
    balance_field="balance",
    send=_scenario_send,
    sent=lambda answer: answer,
)

PROVIDER = Provider(
    name="elks",
    title="46elks",
    prefix="/a1",
    routes=ROUTES,
    install=install,
    create_app=create_elks_app,
    render_error=render,
    fault_answer=fault_answer,
    fixtures=FIXTURES,
    scenario=SCENARIO,
    media=ControlMedia(image=_image, recording_wav=_recording_wav),
    inbound_mms=InboundMms(max_images=MAX_IMAGES, max_text=MAX_MMS_TEXT, read_image=read_image, receive=_receive_mms),
)

"""46elks refusals, request by request: one table row per request the real API would reject with
a specific error, across every resource (SMS, MMS, calls, numbers, subaccounts, me, images,
recordings), the credentials and the routing.

Each row asserts the status, the exact plain-text body (46elks answers every refusal as
`text/plain; charset=utf-8`, the 401 with a `WWW-Authenticate` challenge) and that nothing in
the simulated world changed: the emulator's whole snapshot (store, balances, id generators,
clock, event log) is the same before and after the request.

Rows name objects of the `world` fixture in braces: `{other_sms}` is an SMS of another account,
`{main_number}` a number of the main account, and so on.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_ACCOUNT, ELKS_SUB_AUTH, filled, world_state

TEXT = "text/plain; charset=utf-8"
UNAUTHORIZED = "Authorization failed: wrong API username or password."
SMS = {"from": "ElkCo", "to": "+46700000123", "message": "Hello"}
MMS = {"from": "+46766861001", "to": "+46700000123", "message": "Hello"}
CALL = {"from": "+46766861001", "to": "+46700000123", "voice_start": '{"play": "sound/beep"}'}
DEEP_ACTION = '{"play": "sound/beep", "next": ' + "[" * 2_000 + "]" * 2_000 + "}"  # nested 2,000 deep
DIGITS_5000 = "9" * 5_000  # beyond the 4,300 digits int() reads
PNG_1PX = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def but(base: dict[str, str], **changes: str | None) -> dict[str, str]:
    """`base` with some fields changed, and those given as None left out."""
    merged = {**base, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def drain(account_id: str, balance: int = 0) -> Callable[[Any], None]:
    def prepare(engine) -> None:
        engine.store.accounts[account_id].balance = balance

    return prepare


def deactivate_subaccount(engine) -> None:
    engine.store.accounts[ELKS_SUB_ACCOUNT].attributes["active"] = False
    engine.store.accounts[ELKS_SUB_ACCOUNT].attributes["deactivated"] = engine.clock.now()


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    path: str
    status: int
    body: str
    data: dict[str, Any] | None = None
    params: dict[str, str] | None = None
    auth: tuple[str, str] | None = ELKS_AUTH
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    prepare: Callable[[Any], None] | None = None


ROWS = [
    # -- credentials -----------------------------------------------------------------------
    Row("auth: none", "GET", "/a1/me", 401, UNAUTHORIZED, auth=None),
    Row("auth: wrong password", "POST", "/a1/SMS", 401, UNAUTHORIZED, data=SMS, auth=("test_user", "wrong")),
    Row("auth: unknown user", "GET", "/a1/SMS", 401, UNAUTHORIZED, auth=("nobody", "test_password")),
    Row("auth: another account's password", "GET", "/a1/numbers", 401, UNAUTHORIZED, auth=("test_user", "other_password")),
    Row("auth: Bearer instead of Basic", "GET", "/a1/numbers", 401, UNAUTHORIZED, auth=None,
        headers={"Authorization": "Bearer test_password"}),
    Row("auth: Basic that is not base64", "GET", "/a1/me", 401, UNAUTHORIZED, auth=None, headers={"Authorization": "Basic !!!"}),
    Row("auth: Basic without a colon", "GET", "/a1/me", 401, UNAUTHORIZED, auth=None,
        headers={"Authorization": "Basic " + base64.b64encode(b"test_user").decode()}),
    Row("auth: deactivated subaccount", "POST", "/a1/SMS", 401, UNAUTHORIZED, data=SMS, auth=ELKS_SUB_AUTH,
        prepare=deactivate_subaccount),
    # -- routing ---------------------------------------------------------------------------
    Row("path: unknown resource", "GET", "/a1/Faxes", 404, "The resource /a1/Faxes does not exist."),
    Row("path: unknown, without credentials", "GET", "/a1/faxes", 404, "The resource /a1/faxes does not exist.", auth=None),
    Row("path: below an object", "GET", "/a1/SMS/{main_sms}/parts", 404, "The resource /a1/SMS/{main_sms}/parts does not exist."),
    Row("method: PUT on SMS", "PUT", "/a1/SMS", 403, "PUT is not supported on /a1/SMS.", data=SMS),
    Row("method: PATCH on an SMS", "PATCH", "/a1/SMS/{main_sms}", 403, "PATCH is not supported on /a1/SMS/{main_sms}."),
    Row("method: DELETE on me", "DELETE", "/a1/me", 403, "DELETE is not supported on /a1/me."),
    Row("method: DELETE a number (46elks deallocates with active=no)", "DELETE", "/a1/numbers/{main_number}", 403,
        "DELETE is not supported on /a1/numbers/{main_number}."),
    Row("method: DELETE a subaccount (46elks has none)", "DELETE", "/a1/subaccounts/" + ELKS_SUB_ACCOUNT, 403,
        f"DELETE is not supported on /a1/subaccounts/{ELKS_SUB_ACCOUNT}."),
    Row("method: POST an image", "POST", "/a1/images", 403, "POST is not supported on /a1/images."),
    Row("method: DELETE a recording", "DELETE", "/a1/recordings/c1-r0", 403, "DELETE is not supported on /a1/recordings/c1-r0."),
    # -- request bodies --------------------------------------------------------------------
    Row("body: JSON instead of a form", "POST", "/a1/SMS", 403, "Malformed request body: unsupported content type 'application/json'",
        content=b'{"from": "ElkCo", "to": "+46700000123", "message": "Hello"}', headers={"Content-Type": "application/json"}),
    Row("body: not UTF-8", "POST", "/a1/SMS", 403,
        "Malformed request body: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        content=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}),
    # -- SMS -------------------------------------------------------------------------------
    Row("sms: missing to", "POST", "/a1/SMS", 403, "Missing key to", data=but(SMS, to=None)),
    Row("sms: missing from", "POST", "/a1/SMS", 403, "Missing key from", data=but(SMS, **{"from": None})),
    Row("sms: missing message", "POST", "/a1/SMS", 403, "Missing key message", data=but(SMS, message=None)),
    Row("sms: empty message", "POST", "/a1/SMS", 403, "Missing key message", data=but(SMS, message="")),
    Row("sms: to in national format", "POST", "/a1/SMS", 403, "Invalid to number", data=but(SMS, to="0700000123")),
    Row("sms: to too short", "POST", "/a1/SMS", 403, "Invalid to number", data=but(SMS, to="+46")),
    Row("sms: to too long", "POST", "/a1/SMS", 403, "Invalid to number", data=but(SMS, to="+4670000012345678")),
    Row("sms: to in letters", "POST", "/a1/SMS", 403, "Invalid to number", data=but(SMS, to="Anna")),
    Row("sms: to of a country code that does not exist", "POST", "/a1/SMS", 403, "Invalid to number", data=but(SMS, to="+999123456789")),
    Row("sms: from starting with a digit", "POST", "/a1/SMS", 403, "Invalid from number", data=but(SMS, **{"from": "1Elk"})),
    Row("sms: from of two letters", "POST", "/a1/SMS", 403, "Invalid from number", data=but(SMS, **{"from": "El"})),
    Row("sms: from of twelve letters", "POST", "/a1/SMS", 403, "Invalid from number", data=but(SMS, **{"from": "TwelveLetter"})),
    Row("sms: from with a comma", "POST", "/a1/SMS", 403, "Invalid from number", data=but(SMS, **{"from": "Elk,Co"})),
    Row("sms: from ending in a space", "POST", "/a1/SMS", 403, "Invalid from number", data=but(SMS, **{"from": "ElkCo "})),
    Row("sms: from a number the account does not own", "POST", "/a1/SMS", 403, "Invalid from number",
        data=but(SMS, **{"from": "+46700000002"})),
    Row("sms: message too long", "POST", "/a1/SMS", 403, "Too long message (1531 characters, at most 1530).",
        data=but(SMS, message="a" * 1531)),
    Row("sms: whendelivered not a URL", "POST", "/a1/SMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(SMS, whendelivered="not a url")),
    Row("sms: whendelivered not http", "POST", "/a1/SMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(SMS, whendelivered="ftp://example.com/dlr")),
    Row("sms: whendelivered with a line break", "POST", "/a1/SMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(SMS, whendelivered="https://example.com/dlr\r\nX-Injected: yes")),
    Row("sms: whendelivered with a control character", "POST", "/a1/SMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(SMS, whendelivered="https://example.com/\x00dlr")),
    Row("sms: whendelivered without a host", "POST", "/a1/SMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(SMS, whendelivered="https:///dlr")),
    Row("sms: whendelivered over 2048 characters", "POST", "/a1/SMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(SMS, whendelivered="https://example.com/" + "d" * 2030)),
    Row("sms: whendelivered with a port out of range", "POST", "/a1/SMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(SMS, whendelivered="https://example.com:70000/dlr")),
    Row("sms: flashsms neither yes nor no", "POST", "/a1/SMS", 403, "Invalid flashsms: expected yes or no", data=but(SMS, flashsms="maybe")),
    Row("sms: dryrun neither yes nor no", "POST", "/a1/SMS", 403, "Invalid dryrun: expected yes or no", data=but(SMS, dryrun="perhaps")),
    Row("sms: dryrun still validates", "POST", "/a1/SMS", 403, "Invalid to number", data=but(SMS, dryrun="yes", to="0700")),
    Row("sms: not enough credits", "POST", "/a1/SMS", 403, "Not enough credits to complete this request.", data=SMS,
        prepare=drain(ELKS_ACCOUNT, 3499)),
    Row("sms: subaccount over its limit", "POST", "/a1/SMS", 403, "Not enough credits to complete this request.", data=SMS,
        auth=ELKS_SUB_AUTH, prepare=drain(ELKS_SUB_ACCOUNT)),
    Row("sms: get unknown id", "GET", "/a1/SMS/s00000000000000000000000000000000", 404, "SMS not found."),
    Row("sms: get another account's", "GET", "/a1/SMS/{other_sms}", 404, "SMS not found."),
    Row("sms: delete another account's", "DELETE", "/a1/SMS/{other_sms}", 404, "SMS not found."),
    Row("sms: get an MMS by the SMS resource", "GET", "/a1/SMS/{main_mms}", 404, "SMS not found."),
    Row("sms: subaccount reads its parent's", "GET", "/a1/SMS/{main_sms}", 404, "SMS not found.", auth=ELKS_SUB_AUTH),
    Row("sms: list start not a time", "GET", "/a1/SMS", 403, "Invalid start: expected a time like 2018-07-13T13:57:23.741000",
        params={"start": "yesterday"}),
    Row("sms: list end not a date", "GET", "/a1/SMS", 403, "Invalid end: expected a time like 2018-07-13T13:57:23.741000",
        params={"end": "2026-13-01"}),
    Row("sms: list limit 0", "GET", "/a1/SMS", 403, "Invalid limit: expected a whole number from 1 to 100", params={"limit": "0"}),
    Row("sms: list limit in words", "GET", "/a1/SMS", 403, "Invalid limit: expected a whole number from 1 to 100", params={"limit": "ten"}),
    # -- MMS -------------------------------------------------------------------------------
    Row("mms: missing to", "POST", "/a1/MMS", 403, "Missing key to", data=but(MMS, to=None)),
    Row("mms: missing from", "POST", "/a1/MMS", 403, "Missing key from", data=but(MMS, **{"from": None})),
    Row("mms: neither message nor image", "POST", "/a1/MMS", 403, "Missing key message", data=but(MMS, message=None)),
    Row("mms: from an alphanumeric sender", "POST", "/a1/MMS", 403, "Invalid from number", data=but(MMS, **{"from": "ElkCo"})),
    Row("mms: from a number without MMS", "POST", "/a1/MMS", 403, "Invalid from number", data=but(MMS, **{"from": "+46700000001"})),
    Row("mms: from another account's number", "POST", "/a1/MMS", 403, "Invalid from number", data=but(MMS, **{"from": "{other_number_e164}"})),
    Row("mms: to not a number", "POST", "/a1/MMS", 403, "Invalid to number", data=but(MMS, to="Anna")),
    Row("mms: whendelivered with a line break", "POST", "/a1/MMS", 403, "The whendelivered you tried to use is not a valid URL",
        data=but(MMS, whendelivered="https://example.com/dlr\nX: 1", image=PNG_1PX)),
    Row("mms: image neither URL nor data URI", "POST", "/a1/MMS", 403,
        "Invalid image: expected an http(s) URL or a data: URI of a JPEG, PNG or GIF image", data=but(MMS, image="notaurl")),
    Row("mms: image data that is not base64", "POST", "/a1/MMS", 403, "Invalid image: the base64 data cannot be decoded",
        data=but(MMS, image="data:image/png;base64,***")),
    Row("mms: image data that is not an image", "POST", "/a1/MMS", 403, "Invalid image: the data is not a JPEG, PNG or GIF image",
        data=but(MMS, image="data:image/png;base64," + base64.b64encode(b"hello").decode())),
    Row("mms: image2 broken", "POST", "/a1/MMS", 403, "Invalid image2: the image is empty",
        data=but(MMS, image=PNG_1PX, image2="data:image/png;base64,")),
    Row("mms: eleven images", "POST", "/a1/MMS", 403, "Invalid image: at most 10 images per MMS",
        data=but(MMS, **{"image" if k == 1 else f"image{k}": PNG_1PX for k in range(1, 12)})),
    Row("mms: message too long", "POST", "/a1/MMS", 403, "Too long message (5001 characters, at most 5000).", data=but(MMS, message="a" * 5001)),
    Row("mms: not enough credits", "POST", "/a1/MMS", 403, "Not enough credits to complete this request.", data=MMS,
        prepare=drain(ELKS_ACCOUNT, 12499)),
    Row("mms: get unknown id", "GET", "/a1/MMS/m00000000000000000000000000000000", 404, "MMS not found."),
    Row("mms: delete unknown id", "DELETE", "/a1/MMS/m00000000000000000000000000000000", 404, "MMS not found."),
    Row("mms: get another account's", "GET", "/a1/MMS/{other_mms}", 404, "MMS not found."),
    Row("mms: get an SMS by the MMS resource", "GET", "/a1/MMS/{main_sms}", 404, "MMS not found."),
    Row("mms: list limit of ten digits", "GET", "/a1/MMS", 403, "Invalid limit: expected a whole number from 1 to 100", params={"limit": "1" + "0" * 9}),
    Row("mms: list limit of 5,000 digits", "GET", "/a1/MMS", 403, "Invalid limit: expected a whole number from 1 to 100",
        params={"limit": DIGITS_5000}),
    # -- calls -----------------------------------------------------------------------------
    Row("call: missing voice_start", "POST", "/a1/Calls", 403, "Missing key voice_start", data=but(CALL, voice_start=None)),
    Row("call: missing to", "POST", "/a1/Calls", 403, "Missing key to", data=but(CALL, to=None)),
    Row("call: missing from", "POST", "/a1/Calls", 403, "Missing key from", data=but(CALL, **{"from": None})),
    Row("call: from an alphanumeric sender", "POST", "/a1/Calls", 403, "Invalid from number", data=but(CALL, **{"from": "ElkCo"})),
    Row("call: from a number the account does not own", "POST", "/a1/Calls", 403, "Invalid from number",
        data=but(CALL, **{"from": "+46700000002"})),
    Row("call: to not a number", "POST", "/a1/Calls", 403, "Invalid to number", data=but(CALL, to="+46-70")),
    Row("call: voice_start neither URL nor action", "POST", "/a1/Calls", 403,
        'Invalid voice_start: expected an http(s) URL or a JSON action such as {"play": "https://..."}', data=but(CALL, voice_start="hello")),
    Row("call: voice_start broken JSON", "POST", "/a1/Calls", 403,
        'Invalid voice_start: expected an http(s) URL or a JSON action such as {"play": "https://..."}', data=but(CALL, voice_start='{"play": ')),
    Row("call: voice_start with NaN, which JSON lacks", "POST", "/a1/Calls", 403,
        'Invalid voice_start: expected an http(s) URL or a JSON action such as {"play": "https://..."}', data=but(CALL, voice_start='{"play": NaN}')),
    Row("call: voice_start nested 2,000 deep", "POST", "/a1/Calls", 403,
        'Invalid voice_start: expected an http(s) URL or a JSON action such as {"play": "https://..."}', data=but(CALL, voice_start=DEEP_ACTION)),
    Row("call: timeout of 5,000 digits", "POST", "/a1/Calls", 403, "Invalid timeout: expected whole seconds from 1 to 600",
        data=but(CALL, timeout=DIGITS_5000)),
    Row("call: timeout in words", "POST", "/a1/Calls", 403, "Invalid timeout: expected whole seconds from 1 to 600", data=but(CALL, timeout="soon")),
    Row("call: timeout 0", "POST", "/a1/Calls", 403, "Invalid timeout: expected whole seconds from 1 to 600", data=but(CALL, timeout="0")),
    Row("call: whenhangup not a URL", "POST", "/a1/Calls", 403, "The whenhangup you tried to use is not a valid URL",
        data=but(CALL, whenhangup="nope")),
    Row("call: whenhangup with a line break", "POST", "/a1/Calls", 403, "The whenhangup you tried to use is not a valid URL",
        data=but(CALL, whenhangup="https://example.com/hangup\r\nX: 1")),
    Row("call: voice_start URL with a line break", "POST", "/a1/Calls", 403, "The voice_start you tried to use is not a valid URL",
        data=but(CALL, voice_start="https://example.com/start\r\nX: 1")),
    Row("call: voice_start URL over 2048 characters", "POST", "/a1/Calls", 403, "The voice_start you tried to use is not a valid URL",
        data=but(CALL, voice_start="https://example.com/" + "s" * 2048)),
    Row("call: voice_start action whose next has a line break", "POST", "/a1/Calls", 403,
        "The voice_start you tried to use is not a valid URL",
        data=but(CALL, voice_start='{"play": "sound/beep", "next": "https://example.com/next\\r\\nX: 1"}')),
    Row("call: voice_start action whose ivr key is no http URL", "POST", "/a1/Calls", 403,
        "The voice_start you tried to use is not a valid URL",
        data=but(CALL, voice_start='{"ivr": "sound/beep", "1": {"play": "sound/beep", "next": "ftp://example.com/x"}}')),
    Row("call: not enough credits", "POST", "/a1/Calls", 403, "Not enough credits to complete this request.", data=CALL,
        prepare=drain(ELKS_ACCOUNT)),
    Row("call: get unknown id", "GET", "/a1/Calls/c00000000000000000000000000000000", 404, "Call not found."),
    Row("call: delete unknown id", "DELETE", "/a1/Calls/c00000000000000000000000000000000", 404, "Call not found."),
    Row("call: get another account's", "GET", "/a1/Calls/{other_call}", 404, "Call not found."),
    Row("call: list start not a time", "GET", "/a1/Calls", 403, "Invalid start: expected a time like 2018-07-13T13:57:23.741000",
        params={"start": "now"}),
    # -- numbers ---------------------------------------------------------------------------
    Row("number: missing country", "POST", "/a1/numbers", 403, "Missing key country", data={"capabilities": "sms"}),
    Row("number: country not a code", "POST", "/a1/numbers", 403,
        "Unable to allocate number. Unknown country 'sweden': expected a two-letter ISO code.", data={"country": "sweden"}),
    Row("number: country without numbers", "POST", "/a1/numbers", 403, "Unable to allocate number. No numbers are offered in XX.",
        data={"country": "xx"}),
    Row("number: unknown capability", "POST", "/a1/numbers", 403, "Invalid capabilities: expected a comma-separated list of sms, mms, voice",
        data={"country": "se", "capabilities": "sms,fax"}),
    Row("number: fixed number with sms", "POST", "/a1/numbers", 403, "Unable to allocate number. A fixed number cannot have sms or mms.",
        data={"country": "se", "category": "fixed", "capabilities": "sms"}),
    Row("number: unknown category", "POST", "/a1/numbers", 403, "Invalid category: expected mobile or fixed",
        data={"country": "se", "category": "premium"}),
    Row("number: sms_url not a URL", "POST", "/a1/numbers", 403, "The sms_url you tried to use is not a valid URL",
        data={"country": "se", "sms_url": "nope"}),
    Row("number: voice_start not a URL or action", "POST", "/a1/numbers", 403, "The voice_start you tried to use is not a valid URL",
        data={"country": "se", "voice_start": "{}"}),
    Row("number: sms_url action that is no JSON", "POST", "/a1/numbers/{main_number}", 403,
        "The sms_url you tried to use is not a valid URL", data={"sms_url": '{"reply": NaN}'}),
    Row("number: voice_start action nested 2,000 deep", "POST", "/a1/numbers/{main_number}", 403,
        "The voice_start you tried to use is not a valid URL", data={"voice_start": DEEP_ACTION}),
    Row("number: sms_replies neither yes nor no", "POST", "/a1/numbers", 403, "Invalid sms_replies: expected yes or no",
        data={"country": "se", "sms_replies": "sometimes"}),
    Row("number: name too long", "POST", "/a1/numbers", 403, "Too long name (51 characters, at most 50).",
        data={"country": "se", "name": "n" * 51}),
    Row("number: wanted number taken", "POST", "/a1/numbers", 403,
        "Unable to allocate number. +46766861001 is not a free mobile number of SE.", data={"country": "se", "number": "+46766861001"}),
    Row("number: wanted number not a number", "POST", "/a1/numbers", 403, "Unable to allocate number. 'ring me' is not a phone number.",
        data={"country": "se", "number": "ring me"}),
    Row("number: not enough credits", "POST", "/a1/numbers", 403, "Not enough credits to complete this request.", data={"country": "se"},
        prepare=drain(ELKS_ACCOUNT, 249_999)),
    Row("number: get unknown id", "GET", "/a1/numbers/n00000000000000000000000000000000", 404, "Invalid number id"),
    Row("number: change unknown id", "POST", "/a1/numbers/n00000000000000000000000000000000", 404, "Invalid number id", data={"name": "x"}),
    Row("number: get another account's", "GET", "/a1/numbers/{other_number}", 404, "Invalid number id"),
    Row("number: deallocate another account's", "POST", "/a1/numbers/{other_number}", 404, "Invalid number id", data={"active": "no"}),
    Row("number: change nothing", "POST", "/a1/numbers/{main_number}", 403,
        "Unable to change number. Give at least one of sms_url, mms_url, voice_start, sms_replies, name, active."),
    Row("number: active neither yes nor no", "POST", "/a1/numbers/{main_number}", 403, "Invalid active: expected yes or no",
        data={"active": "off"}),
    Row("number: mms_url not a URL", "POST", "/a1/numbers/{main_number}", 403, "The mms_url you tried to use is not a valid URL",
        data={"mms_url": "mailto:me@example.com"}),
    Row("number: sms_url with a line break", "POST", "/a1/numbers/{main_number}", 403, "The sms_url you tried to use is not a valid URL",
        data={"sms_url": "https://example.com/sms\r\nX: 1"}),
    Row("number: voice_start over 2048 characters", "POST", "/a1/numbers/{main_number}", 403,
        "The voice_start you tried to use is not a valid URL", data={"voice_start": "https://example.com/" + "v" * 2048}),
    Row("number: voice_start action whose whenhangup has no host", "POST", "/a1/numbers", 403,
        "The voice_start you tried to use is not a valid URL",
        data={"country": "se", "voice_start": '{"connect": "+46700000001", "whenhangup": "https:///hangup"}'}),
    Row("number: change a deallocated one", "POST", "/a1/numbers/{released_number}", 403,
        "Unable to change number. It has been deallocated.", data={"name": "Back"}),
    Row("number: list limit 0", "GET", "/a1/numbers", 403, "Invalid limit: expected a whole number from 1 to 100", params={"limit": "0"}),
    # -- subaccounts -----------------------------------------------------------------------
    Row("subaccount: missing name", "POST", "/a1/subaccounts", 403, "Missing key name", data={"usagelimit": "1000"}),
    Row("subaccount: name too long", "POST", "/a1/subaccounts", 403, "Too long name (101 characters, at most 100).", data={"name": "n" * 101}),
    Row("subaccount: name none", "POST", "/a1/subaccounts", 403, "Invalid name: a subaccount needs a name", data={"name": "none"}),
    Row("subaccount: usagelimit in words", "POST", "/a1/subaccounts", 403, "Invalid usagelimit: expected a whole number of 1/10000 units",
        data={"name": "Co", "usagelimit": "lots"}),
    Row("subaccount: usagelimit negative", "POST", "/a1/subaccounts", 403, "Invalid usagelimit: expected a whole number of 1/10000 units",
        data={"name": "Co", "usagelimit": "-5"}),
    Row("subaccount: created by a subaccount", "POST", "/a1/subaccounts", 403,
        "Subaccounts cannot manage subaccounts; use the main account's credentials.", data={"name": "Co"}, auth=ELKS_SUB_AUTH),
    Row("subaccount: listed by a subaccount", "GET", "/a1/subaccounts", 403,
        "Subaccounts cannot manage subaccounts; use the main account's credentials.", auth=ELKS_SUB_AUTH),
    Row("subaccount: get unknown id", "GET", "/a1/subaccounts/a0000000000000000000000000000000", 404, "Unable to get subaccount."),
    Row("subaccount: update unknown id", "POST", "/a1/subaccounts/a0000000000000000000000000000000", 404, "Unable to get subaccount.",
        data={"name": "x"}),
    Row("subaccount: get another account's", "GET", "/a1/subaccounts/{other_subaccount}", 404, "Unable to get subaccount."),
    Row("subaccount: update nothing", "POST", "/a1/subaccounts/" + ELKS_SUB_ACCOUNT, 403,
        "Unable to update subaccount. Give at least one of name, usagelimit, secret, active."),
    Row("subaccount: secret too short", "POST", "/a1/subaccounts/" + ELKS_SUB_ACCOUNT, 403,
        "Invalid secret: expected 16 to 64 letters or digits", data={"secret": "short"}),
    Row("subaccount: active neither yes nor no", "POST", "/a1/subaccounts/" + ELKS_SUB_ACCOUNT, 403, "Invalid active: expected yes or no",
        data={"active": "disabled"}),
    Row("subaccount: deactivate while it holds numbers", "POST", "/a1/subaccounts/" + ELKS_SUB_ACCOUNT, 403,
        "Unable to update subaccount. It still has active numbers; deallocate them first.", data={"active": "no"}),
    Row("subaccount: update a deactivated one", "POST", "/a1/subaccounts/" + ELKS_SUB_ACCOUNT, 403,
        "Unable to update subaccount. It has been deactivated.", data={"name": "Again"}, prepare=deactivate_subaccount),
    # -- me --------------------------------------------------------------------------------
    Row("me: missing creditalert", "POST", "/a1/me", 403, "Missing key creditalert"),
    Row("me: creditalert of 5,000 digits", "POST", "/a1/me", 403, "Invalid creditalert: expected a whole number of 1/10000 units",
        data={"creditalert": DIGITS_5000}),
    Row("me: creditalert beyond any amount", "POST", "/a1/me", 403, "Invalid creditalert: expected a whole number of 1/10000 units",
        data={"creditalert": "9" * 20}),
    Row("me: creditalert in words", "POST", "/a1/me", 403, "Invalid creditalert: expected a whole number of 1/10000 units",
        data={"creditalert": "lots"}),
    Row("me: creditalert negative", "POST", "/a1/me", 403, "Invalid creditalert: expected a whole number of 1/10000 units",
        data={"creditalert": "-5"}),
    # -- images ----------------------------------------------------------------------------
    Row("image: get unknown id", "GET", "/a1/images/m00000000000000000000000000000000-i0", 404, "Image not found."),
    Row("image: download unknown id", "GET", "/a1/images/m00000000000000000000000000000000-i0.jpg", 404, "Image not found."),
    Row("image: get another account's", "GET", "/a1/images/{other_mms}-i0", 404, "Image not found."),
    Row("image: download one sent as a URL (never fetched)", "GET", "/a1/images/{main_mms}-i0.jpg", 404, "Unable to download image."),
    Row("image: list end not a time", "GET", "/a1/images", 403, "Invalid end: expected a time like 2018-07-13T13:57:23.741000",
        params={"end": "never"}),
    # -- recordings ------------------------------------------------------------------------
    Row("recording: get unknown id", "GET", "/a1/recordings/c00000000000000000000000000000000-r0", 404, "Recording not found."),
    Row("recording: download unknown id", "GET", "/a1/recordings/c00000000000000000000000000000000-r0.wav", 404, "Recording not found."),
    Row("recording: list limit negative", "GET", "/a1/recordings", 403, "Invalid limit: expected a whole number from 1 to 100",
        params={"limit": "-1"}),
]


async def _created(client, path: str, data: dict[str, str], auth=ELKS_AUTH) -> dict[str, Any]:
    response = await client.post(path, data=data, auth=auth)
    assert response.status_code == 200, (path, response.text)
    return response.json()


@pytest.fixture
async def world(client) -> dict[str, str]:
    """Objects the rows refer to: the main account's SMS, MMS (its image given as a URL) and a
    deallocated number; another account's number, SMS, MMS, call and subaccount; and a number
    that the subaccount holds."""
    other_number = await _created(client, "/a1/numbers", {"country": "se", "capabilities": "sms,mms,voice"}, ELKS_OTHER_AUTH)
    other_sms = await _created(client, "/a1/SMS", SMS, ELKS_OTHER_AUTH)
    other_mms = await _created(client, "/a1/MMS", but(MMS, **{"from": other_number["number"]}, image=PNG_1PX), ELKS_OTHER_AUTH)
    other_call = await _created(client, "/a1/Calls", but(CALL, **{"from": other_number["number"]}), ELKS_OTHER_AUTH)
    other_subaccount = await _created(client, "/a1/subaccounts", {"name": "Their Co"}, ELKS_OTHER_AUTH)
    main_sms = await _created(client, "/a1/SMS", SMS)
    main_mms = await _created(client, "/a1/MMS", but(MMS, image="https://example.com/cat.png"))
    released = await _created(client, "/a1/numbers", {"country": "se"})
    await _created(client, f"/a1/numbers/{released['id']}", {"active": "no"})
    await _created(client, "/a1/numbers", {"country": "se"}, ELKS_SUB_AUTH)
    return {
        "main_sms": main_sms["id"],
        "main_mms": main_mms["id"],
        "main_number": "n53c05a4e002ae26f790cbaf82b93bc37",
        "released_number": released["id"],
        "other_number": other_number["id"],
        "other_number_e164": other_number["number"],
        "other_sms": other_sms["id"],
        "other_mms": other_mms["id"],
        "other_call": other_call["id"],
        "other_subaccount": other_subaccount["id"],
    }


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_46elks_refuses(emulator, client, world, row: Row):
    if row.prepare is not None:
        row.prepare(emulator.engine)
    before = world_state(emulator.engine)
    response = await client.request(
        row.method,
        filled(row.path, world),
        data=filled(row.data, world),
        params=row.params,
        content=row.content,
        headers=row.headers,
        auth=row.auth,
    )
    assert response.status_code == row.status, response.text
    assert response.headers["content-type"] == TEXT
    assert response.text == filled(row.body, world)
    if row.status == 401:
        assert response.headers["www-authenticate"] == 'Basic realm="46elks API"'
    assert world_state(emulator.engine) == before, "a refused request changed the world"
    reason = response.headers.get("x-telco-emulator-reason", "")
    assert len(reason) > 12 and "gave no reason" not in reason, f"a refusal says why in words, not {reason!r}"
    journaled = (await client.get("/_emulator/requests", params={"limit": 1})).json()["data"][0]
    assert journaled["status"] == row.status and journaled["reason"] == reason
    if os.environ.get("PRINT_REASONS"):
        print(f"\nREASON {row.id}: {response.status_code} {reason}")


def test_every_resource_has_rows():
    covered = {row.id.split(":")[0] for row in ROWS}
    assert {"auth", "path", "method", "body", "sms", "mms", "call", "number", "subaccount", "me", "image", "recording"} <= covered

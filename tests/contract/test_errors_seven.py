"""seven.io refusals, request by request: one table row per request the real API would reject with
a specific error, across every resource (SMS, voice, status, hooks, contacts, groups, lookups,
numbers, subaccounts, journal, analytics, pricing, RCS, balance, caller-id validation), the
credentials, the answer formats and the routing.

seven.io answers a refused request with its return code (`900` wrong key, `202` recipient
invalid, `500` no credit ...): the bare code as the whole body for the classic endpoints (a JSON
number when the client asks for JSON, plain text otherwise), a failure object for the REST
endpoints (`{"success": false, "code": ..., "error_message": ...}`, or `{"success": false,
"error": ...}` where seven's own answer has that shape). The real gateway sends these with HTTP
200; the emulator adds a 4xx status (see the README).

Each row asserts the status, the content type, the exact body, and that nothing in the simulated
world changed: the emulator's whole snapshot is the same before and after the request.
Rows name objects of the `world` fixture in braces (`{other_contact}`, `{main_call}` ...).
"""

from __future__ import annotations

import os

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from support import SEVEN_ACCOUNT, SEVEN_KEY, SEVEN_OTHER_KEY, filled, world_state

JSON = {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"}
PLAIN = {"X-Api-Key": SEVEN_KEY}
OTHER = {"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"}
TEXT_TYPE = "text/plain; charset=utf-8"
JSON_TYPE = "application/json"
SMS = {"to": "+4917612345678", "text": "Hallo"}
SENT_SMS = {**SMS, "text": "Hallo world"}  # the world's own message: SMS rows are not its repeats (reload lock)
VOICE = {"to": "+4917612345678", "text": "Hallo"}
NOTHING = object()
JSON_BODY = {**JSON, "Content-Type": "application/json"}
PLAIN_JSON_BODY = {**PLAIN, "Content-Type": "application/json"}
LONE_SURROGATE_SMS = b'{"to": "+4917612345678", "text": "x\\ud800"}'  # JSON may write it; no UTF-8 can
DEEP = b"[" * 2_000 + b"]" * 2_000  # JSON nested 2,000 deep
DIGITS_5000 = "9" * 5_000  # beyond the 4,300 digits int() reads


def but(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`base` with some fields changed, and those given as None left out."""
    merged = {**base, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def failure(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "code": code, "error_message": message}


def refused(message: str) -> dict[str, Any]:
    return {"success": False, "error": message}


def drain(balance: int = 0) -> Callable[[Any], None]:
    def prepare(engine) -> None:
        engine.store.accounts[SEVEN_ACCOUNT].balance = balance

    return prepare


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    path: str
    status: int
    json: Any = NOTHING  # the JSON body expected, or
    text: str | None = None  # the plain-text body expected
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    data: dict[str, Any] | None = None
    body: Any = NOTHING  # sent as JSON
    params: dict[str, str] | None = None
    content: bytes | None = None
    prepare: Callable[[Any], None] | None = None
    allow: str | None = None


ROWS = [
    # -- credentials -----------------------------------------------------------------------
    Row("auth: wrong key, JSON", "POST", "/api/sms", 401, json=900, data=SMS, headers={"X-Api-Key": "wrong", "Accept": "application/json"}),
    Row("auth: wrong key, text", "POST", "/api/sms", 401, text="900", data=SMS, headers={"X-Api-Key": "wrong"}),
    Row("auth: no key", "GET", "/api/balance", 401, text="900", headers={}),
    Row("auth: wrong Bearer token", "GET", "/api/balance", 401, json=900, headers={"Authorization": "Bearer nope", "Accept": "application/json"}),
    Row("auth: wrong legacy p parameter", "GET", "/api/balance", 401, text="900", headers={}, params={"p": "wrong"}),
    Row("auth: wrong key on a REST endpoint", "GET", "/api/hooks", 401, json=900, headers={"X-Api-Key": "wrong", "Accept": "application/json"}),
    Row("auth: token without the scope", "GET", "/api/hooks", 403,
        json=failure("902", "The API key does not have access rights to this endpoint."),
        headers={"Authorization": "Bearer test_oauth_token", "Accept": "application/json"}),
    Row("auth: token without the scope, classic endpoint", "POST", "/api/voice", 403, json=902, data=VOICE,
        headers={"Authorization": "Bearer test_oauth_token", "Accept": "application/json"}),
    Row("auth: X-Account-Id of no subaccount", "GET", "/api/balance", 403, json=902, headers={**JSON, "X-Account-Id": "999"}),
    Row("auth: X-Account-Id of another account's subaccount", "GET", "/api/balance", 403, json=902,
        headers={**JSON, "X-Account-Id": "{other_subaccount}"}),
    # -- routing and bodies ----------------------------------------------------------------
    Row("path: unknown", "GET", "/api/faxes", 404, json=failure("700", "No such resource: /api/faxes")),
    Row("path: unknown lookup type", "GET", "/api/lookup/imei", 404, json=failure("700", "No such resource: /api/lookup/imei"),
        params={"number": "+4917612345678"}),
    Row("method: PUT on sms", "PUT", "/api/sms", 405, json=700, data=SMS, allow="DELETE, GET, HEAD, POST"),
    Row("method: DELETE on balance", "DELETE", "/api/balance", 405, json=700, allow="GET, HEAD"),
    Row("method: PUT on a contact", "PUT", "/api/contacts/1", 405, json=failure("700", "Method PUT not allowed on /api/contacts/1"),
        allow="DELETE, GET, HEAD, PATCH"),
    Row("method: GET on numbers/order", "GET", "/api/numbers/order", 405, json=failure("700", "Method GET not allowed on /api/numbers/order"),
        allow="POST"),
    Row("body: broken JSON", "POST", "/api/sms", 400, json=700, content=b'{"to": ', headers={**JSON, "Content-Type": "application/json"}),
    Row("body: JSON array", "POST", "/api/contacts", 400, json=failure("700", "Malformed request body: the JSON body must be an object"),
        content=b"[1, 2]", headers={**JSON, "Content-Type": "application/json"}),
    Row("body: XML", "POST", "/api/sms", 400, json=700, content=b"<sms/>", headers={**JSON, "Content-Type": "application/xml"}),
    Row("body: JSON with NaN", "POST", "/api/subaccounts/transfer_credits", 400,
        json=failure("700", "Malformed request body: invalid JSON: NaN is not a JSON number"),
        content=b'{"id": "1000101", "amount": NaN}', headers={**JSON, "Content-Type": "application/json"}),
    Row("body: JSON nested 2,000 deep", "POST", "/api/sms", 400, json=700, content=b'{"to": "+4917612345678", "text": "x", "x": ' + DEEP + b"}",
        headers=JSON_BODY),
    Row("body: JSON nested 2,000 deep, text", "POST", "/api/sms", 400, text="700", content=b'{"to": "+4917612345678", "x": ' + DEEP + b"}",
        headers=PLAIN_JSON_BODY),
    Row("body: JSON nested 2,000 deep, REST", "POST", "/api/contacts", 400,
        json=failure("700", "Malformed request body: invalid JSON: nested deeper than 64 levels"),
        content=b'{"firstname": "Erika", "x": ' + DEEP + b"}", headers=JSON_BODY),
    Row("body: text with a lone surrogate", "POST", "/api/sms", 400, json=700, content=LONE_SURROGATE_SMS, headers=JSON_BODY),
    Row("body: text with a lone surrogate, text", "POST", "/api/sms", 400, text="700", content=LONE_SURROGATE_SMS, headers=PLAIN_JSON_BODY),
    Row("body: text with a lone surrogate as raw bytes", "POST", "/api/sms", 400, json=700,
        content=b'{"to": "+4917612345678", "text": "x\xed\xa0\x80"}', headers=JSON_BODY),
    Row("body: contact name with a lone surrogate", "POST", "/api/contacts", 400,
        json=failure("700", "Invalid firstname: not valid Unicode text (it holds a lone surrogate)"),
        content=b'{"firstname": "Erika\\udc00"}', headers=JSON_BODY),
    Row("body: voice text with a lone surrogate", "POST", "/api/voice", 400, json=700,
        content=b'{"to": "+4917612345678", "text": "\\ud83d"}', headers=JSON_BODY),
    # -- SMS -------------------------------------------------------------------------------
    Row("sms: missing to", "POST", "/api/sms", 400, json=301, data=but(SMS, to=None)),
    Row("sms: missing to, text", "POST", "/api/sms", 400, text="301", data=but(SMS, to=None), headers=PLAIN),
    Row("sms: empty to", "POST", "/api/sms", 400, json=301, body=but(SMS, to=[])),
    Row("sms: missing text", "POST", "/api/sms", 400, json=305, data=but(SMS, text=None)),
    Row("sms: blank text", "POST", "/api/sms", 400, json=305, data=but(SMS, text="   ")),
    Row("sms: to not a number", "POST", "/api/sms", 400, json=202, data=but(SMS, to="Erika")),
    Row("sms: none of several recipients a number", "POST", "/api/sms", 400, json=202, data=but(SMS, to="Erika,0")),
    Row("sms: to of the wrong type", "POST", "/api/sms", 400, json=700, body=but(SMS, to={"number": "+4917612345678"})),
    Row("sms: sender too long", "POST", "/api/sms", 400, json=201, data=but(SMS, **{"from": "TwelveLetter"})),
    Row("sms: numeric sender too long", "POST", "/api/sms", 400, json=201, data=but(SMS, **{"from": "12345678901234567"})),
    Row("sms: sender with a forbidden character", "POST", "/api/sms", 400, json=201, data=but(SMS, **{"from": "Shop#1"})),
    Row("sms: text too long", "POST", "/api/sms", 400, json=401, data=but(SMS, text="x" * 1521)),
    Row("sms: text too long, text", "POST", "/api/sms", 400, text="401", data=but(SMS, text="x" * 1521), headers=PLAIN),
    Row("sms: flash neither yes nor no", "POST", "/api/sms", 400, json=700, body=but(SMS, flash="maybe")),
    Row("sms: label with a space", "POST", "/api/sms", 400, json=700, data=but(SMS, label="summer sale")),
    Row("sms: foreign_id too long", "POST", "/api/sms", 400, json=700, data=but(SMS, foreign_id="f" * 65)),
    Row("sms: delay not a time", "POST", "/api/sms", 400, json=700, data=but(SMS, delay="next tuesday")),
    Row("sms: delay past the clock's range", "POST", "/api/sms", 400, json=700, data=but(SMS, delay="9999-12-31 23:00:00")),
    Row("sms: delay a timestamp past the clock's range", "POST", "/api/sms", 400, json=700, data=but(SMS, delay="253402297199000")),  # 9999-12-31, in milliseconds
    Row("sms: delay of 5,000 digits", "POST", "/api/sms", 400, json=700, data=but(SMS, delay=DIGITS_5000)),
    Row("sms: debug still validates", "POST", "/api/sms", 400, json=202, data=but(SMS, to="Erika", debug="1")),
    Row("sms: not enough credit", "POST", "/api/sms", 402, json=500, data=SMS, prepare=drain(749)),
    Row("sms: not enough credit, text", "POST", "/api/sms", 402, text="500", data=SMS, headers=PLAIN, prepare=drain(749)),
    Row("sms: not enough credit for every recipient", "POST", "/api/sms", 402, json=500,
        data=but(SMS, to="+4917612345678,+4915123456789"), prepare=drain(1499)),
    Row("sms: reload lock, same text and recipient within 180 s", "POST", "/api/sms", 409, json=402, data=SENT_SMS),
    Row("sms: reload lock, text", "POST", "/api/sms", 409, text="402", data=SENT_SMS, headers=PLAIN),
    Row("sms: type outside direct and economy", "POST", "/api/sms", 400, json=400, data=but(SMS, type="quality")),
    Row("sms cancel: missing ids", "DELETE", "/api/sms", 400, json=700, data={}),
    Row("sms cancel: ids not numbers", "DELETE", "/api/sms", 400, json=700, data={"ids": "abc"}),
    # -- status ----------------------------------------------------------------------------
    Row("status: missing msg_id", "GET", "/api/status", 400, json=700),
    Row("status: unknown message", "GET", "/api/status", 404, json=901, params={"msg_id": "77999999999"}),
    Row("status: unknown message, text", "GET", "/api/status", 404, text="901", params={"msg_id": "77999999999"}, headers=PLAIN),
    Row("status: another account's message", "GET", "/api/status", 404, json=901, params={"msg_id": "{other_sms}"}),
    Row("status: one of several unknown", "GET", "/api/status", 404, json=901, params={"msg_id": "{main_sms},77999999999"}),
    Row("status: more than 100 ids", "GET", "/api/status", 400, json=700, params={"msg_id": ",".join(["{main_sms}"] * 101)}),
    # -- balance ---------------------------------------------------------------------------
    Row("balance: wrong key, JSON", "GET", "/api/balance", 401, json=900, headers={"X-Api-Key": "wrong", "Accept": "application/json"}),
    Row("balance: legacy json=1 with a wrong key", "GET", "/api/balance", 401, json=900, headers={"X-Api-Key": "wrong"}, params={"json": "1"}),
    # -- voice -----------------------------------------------------------------------------
    Row("voice: missing to", "POST", "/api/voice", 400, json=301, data=but(VOICE, to=None)),
    Row("voice: missing to, text", "POST", "/api/voice", 400, text="301\n\n0", data=but(VOICE, to=None), headers=PLAIN),
    Row("voice: missing text", "POST", "/api/voice", 400, json=305, data=but(VOICE, text=None)),
    Row("voice: to not a number", "POST", "/api/voice", 400, json=202, data=but(VOICE, to="Erika")),
    Row("voice: text too long", "POST", "/api/voice", 400, json=401, data=but(VOICE, text="x" * 10_001)),
    Row("voice: caller id not validated", "POST", "/api/voice", 400, json=201, data=but(VOICE, **{"from": "+4917699999999"})),
    Row("voice: caller id not a number", "POST", "/api/voice", 400, json=201, data=but(VOICE, **{"from": "Shop"})),
    Row("voice: ringtime too long", "POST", "/api/voice", 400, json=700, data=but(VOICE, ringtime="100")),
    Row("voice: ringtime in words", "POST", "/api/voice", 400, text="700\n\n0", data=but(VOICE, ringtime="long"), headers=PLAIN),
    Row("voice: not enough credit", "POST", "/api/voice", 402, json=500, data=VOICE, prepare=drain(0)),
    Row("voice: not enough credit, text", "POST", "/api/voice", 402, text="500\n\n0", data=VOICE, headers=PLAIN, prepare=drain(0)),
    Row("voice hangup: unknown call", "POST", "/api/voice/999/hangup", 404, json=refused("Call 999 not found.")),
    Row("voice hangup: another account's call", "POST", "/api/voice/{other_call}/hangup", 404, json=refused("Call {other_call} not found.")),
    Row("voice hangup: call not answered yet", "POST", "/api/voice/{main_call}/hangup", 409,
        json=refused("Call {main_call} is not in progress yet.")),
    # -- hooks -----------------------------------------------------------------------------
    Row("hooks: missing target_url", "POST", "/api/hooks", 400, json=failure("700", "Missing key target_url"), data={"event_type": "dlr"}),
    Row("hooks: target_url not http", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid target_url: expected an http or https URL"), data={"target_url": "abc://x", "event_type": "dlr"}),
    Row("hooks: target_url with a line break", "POST", "/api/hooks", 400, json=failure("700", "Invalid target_url: it contains a line break"),
        data={"target_url": "https://example.com/hook\r\nX-Injected: yes", "event_type": "dlr"}),
    Row("hooks: target_url with a control character", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid target_url: it contains the control character '\\x01'"),
        body={"target_url": "https://example.com/\x01hook", "event_type": "dlr"}),
    Row("hooks: target_url without a host", "POST", "/api/hooks", 400, json=failure("700", "Invalid target_url: the URL has no host"),
        data={"target_url": "https:///hook", "event_type": "dlr"}),
    Row("hooks: target_url over 2048 characters", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid target_url: longer than 2048 characters"),
        data={"target_url": "https://example.com/" + "h" * 2030, "event_type": "dlr"}),
    Row("hooks: target_url javascript", "POST", "/api/hooks", 400, json=failure("700", "Invalid target_url: expected an http or https URL"),
        data={"target_url": "javascript:alert(1)", "event_type": "dlr"}),
    Row("hooks: GET hook to a host that is no IPv4 address", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid target_url: 300.0.0.1 is not an IPv4 address"),
        data={"target_url": "http://300.0.0.1/hook", "event_type": "dlr", "request_method": "GET"}),
    Row("hooks: missing event_type", "POST", "/api/hooks", 400, json=failure("700", "Missing key event_type"),
        data={"target_url": "https://example.com/hook"}),
    Row("hooks: unknown event_type", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid event_type: expected one of all, sms_mo, dlr, voice_call, voice_status, voice_dtmf, tracking, rcs"),
        data={"target_url": "https://example.com/hook", "event_type": "everything"}),
    Row("hooks: unknown request_method", "POST", "/api/hooks", 400, json=failure("700", "Invalid request_method: expected POST, JSON or GET"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "request_method": "PUT"}),
    Row("hooks: header line without a colon", "POST", "/api/hooks", 400,
        json=failure("700", "each custom header must be written 'Name: value'"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "X-Token abc"}),
    Row("hooks: header that sets the framing", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid headers: the header Transfer-Encoding is set by the emulator itself"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "Transfer-Encoding: chunked"}),
    Row("hooks: Content-Length among good headers", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid headers: the header content-length is set by the emulator itself"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "X-Token: abc\ncontent-length: 0"}),
    Row("hooks: Host header", "POST", "/api/hooks", 400, json=failure("700", "Invalid headers: the header Host is set by the emulator itself"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "Host: internal.example"}),
    Row("hooks: hop-by-hop header", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid headers: the header Connection is set by the emulator itself"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "Connection: upgrade"}),
    Row("hooks: proxy header", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid headers: the header Proxy-Authorization is set by the emulator itself"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "Proxy-Authorization: Basic eDp5"}),
    Row("hooks: the emulator's hop header", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid headers: the header X-Telco-Emulator-Hop is set by the emulator itself"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "X-Telco-Emulator-Hop: 0"}),
    Row("hooks: header value with a carriage return", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid headers: the value of X-Token may only hold printable ASCII characters"),
        body={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "X-Token: a\rX-Injected: b"}),
    Row("hooks: header name with a space", "POST", "/api/hooks", 400,
        json=failure("700", "Invalid headers: 'X Token' is not a header name"),
        data={"target_url": "https://example.com/hook", "event_type": "dlr", "headers": "X Token: abc"}),
    Row("hooks: delete without id", "DELETE", "/api/hooks", 400, json=failure("700", "Missing key id")),
    Row("hooks: delete unknown id", "DELETE", "/api/hooks", 404, json=failure("901", "hook '999' not found"), params={"id": "999"}),
    Row("hooks: delete another account's", "DELETE", "/api/hooks", 404, json=failure("901", "hook '{other_hook}' not found"),
        params={"id": "{other_hook}"}),
    # -- contacts --------------------------------------------------------------------------
    Row("contacts: e-mail not an address", "POST", "/api/contacts", 400, json=failure("700", "Invalid email: expected an e-mail address"),
        data={"email": "broken"}),
    Row("contacts: birthday not a date", "POST", "/api/contacts", 400, json=failure("700", "Invalid birthday: expected a date YYYY-MM-DD"),
        data={"birthday": "01.01.2000"}),
    Row("contacts: mobile number in letters", "POST", "/api/contacts", 400, json=failure("700", "Invalid mobile_number: expected a phone number"),
        data={"mobile_number": "call me"}),
    Row("contacts: avatar not a URL", "POST", "/api/contacts", 400, json=failure("700", "Invalid avatar: expected an http or https URL"),
        data={"avatar": "me.png"}),
    Row("contacts: notes too long", "POST", "/api/contacts", 400, json=failure("700", "Invalid notes: at most 2000 characters"),
        data={"notes": "n" * 2001}),
    Row("contacts: unknown group", "POST", "/api/contacts", 400, json=failure("700", "Invalid groups: no group with id 999"),
        data={"firstname": "Erika", "groups": "999"}),
    Row("contacts: another account's group", "POST", "/api/contacts", 400,
        json=failure("700", "Invalid groups: no group with id {other_group}"), data={"firstname": "Erika", "groups": "{other_group}"}),
    Row("contacts: firstname of the wrong type", "POST", "/api/contacts", 400, json=failure("700", "Invalid firstname: expected text"),
        body={"firstname": ["Erika"]}),
    Row("contacts legacy: unknown action", "POST", "/api/contacts", 400, json={"return": "151"}, data={"action": "merge", "nick": "Erika"}),
    Row("contacts legacy: delete an unknown id", "POST", "/api/contacts", 404, text="151", data={"action": "del", "id": "999"}, headers=PLAIN),
    Row("contacts legacy: delete another account's contact", "GET", "/api/contacts", 404, json={"return": "151"},
        params={"action": "del", "id": "{other_contact}"}),
    Row("contacts legacy: delete without id", "POST", "/api/contacts", 400, json={"return": "151"}, data={"action": "del"}),
    Row("contacts legacy: write a number that is none", "POST", "/api/contacts", 400, text="151",
        data={"action": "write", "nick": "Erika", "empfaenger": "call me"}, headers=PLAIN),
    Row("contacts legacy: edit an unknown id", "POST", "/api/contacts", 404, json={"return": "151"},
        data={"action": "write", "id": "999", "nick": "Erika"}),
    Row("contacts legacy: read an unknown id", "GET", "/api/contacts", 404, json={"return": "151"}, params={"action": "read", "id": "999"}),
    Row("contacts: get unknown id", "GET", "/api/contacts/999", 404, json=failure("901", "contact '999' not found")),
    Row("contacts: get an id of 5,000 digits", "GET", "/api/contacts/" + DIGITS_5000, 404,
        json=failure("901", f"contact '{DIGITS_5000}' not found")),
    Row("contacts: group id of 5,000 digits", "POST", "/api/contacts", 400, json=failure("700", f"Invalid groups: no group with id {DIGITS_5000}"),
        data={"firstname": "Erika", "groups": DIGITS_5000}),
    Row("contacts: get another account's", "GET", "/api/contacts/{other_contact}", 404,
        json=failure("901", "contact '{other_contact}' not found")),
    Row("contacts: update unknown id", "PATCH", "/api/contacts/999", 404, json=failure("901", "contact '999' not found"),
        data={"firstname": "Max"}),
    Row("contacts: bad update", "PATCH", "/api/contacts/{main_contact}", 400, json=failure("700", "Invalid email: expected an e-mail address"),
        data={"firstname": "Max", "email": "broken"}),
    Row("contacts: delete another account's", "DELETE", "/api/contacts/{other_contact}", 404,
        json=failure("901", "contact '{other_contact}' not found")),
    Row("contacts: list limit 0", "GET", "/api/contacts", 400, json=failure("700", "Invalid limit: expected a whole number from 1 to 1000"),
        params={"limit": "0"}),
    Row("contacts: list offset negative", "GET", "/api/contacts", 400, json=failure("700", "Invalid offset: expected a whole number at least 0"),
        params={"offset": "-1"}),
    Row("contacts: list order_by unknown", "GET", "/api/contacts", 400,
        json=failure("700", "Invalid order_by: expected one of id, created, fullname, firstname, lastname, mobile_number, "
                            "home_number, email, address, postal_code, city, birthday, notes"),
        params={"order_by": "shoe_size"}),
    Row("contacts: list order_direction unknown", "GET", "/api/contacts", 400,
        json=failure("700", "Invalid order_direction: expected asc or desc"), params={"order_direction": "up"}),
    # -- groups ----------------------------------------------------------------------------
    Row("groups: missing name", "POST", "/api/groups", 400, json=failure("700", "Missing key name"), data={}),
    Row("groups: name too long", "POST", "/api/groups", 400, json=failure("700", "Invalid name: at most 100 characters"),
        data={"name": "g" * 101}),
    Row("groups: name of the wrong type", "POST", "/api/groups", 400, json=failure("700", "Invalid name: expected text"),
        body={"name": {"de": "Team"}}),
    Row("groups: get unknown id", "GET", "/api/groups/999", 404, json=failure("901", "group '999' not found")),
    Row("groups: get another account's", "GET", "/api/groups/{other_group}", 404, json=failure("901", "group '{other_group}' not found")),
    Row("groups: rename to nothing", "PATCH", "/api/groups/{main_group}", 400, json=failure("700", "Missing key name"), data={"name": " "}),
    Row("groups: delete unknown id", "DELETE", "/api/groups/999", 404, json=failure("901", "group '999' not found")),
    Row("groups: delete_contacts neither yes nor no", "DELETE", "/api/groups/{main_group}", 400,
        json=failure("700", "Invalid delete_contacts: expected a boolean (1/0, true/false)"), params={"delete_contacts": "some"}),
    Row("groups: list limit in words", "GET", "/api/groups", 400, json=failure("700", "Invalid limit: expected a whole number"),
        params={"limit": "ten"}),
    # -- lookups ---------------------------------------------------------------------------
    Row("lookup: missing number", "GET", "/api/lookup/format", 400, json=failure("700", "Missing key number")),
    Row("lookup format: not a number", "GET", "/api/lookup/format", 400, params={"number": "abc"}, json={
        "success": False, "national": "", "international": "+", "international_formatted": "", "country_name": None,
        "country_code": False, "country_iso": None, "carrier": None, "network_type": None}),
    Row("lookup rcs: not a number", "GET", "/api/lookup/rcs", 400, params={"number": "abc"}, json={
        "success": False, "national": "", "international": "+", "international_formatted": "", "country_name": None,
        "country_code": False, "country_iso": None, "carrier": None, "network_type": None, "rcs_capabilities": []}),
    Row("lookup mnp: not a number", "GET", "/api/lookup/mnp", 400, params={"number": "abc"}, json={"success": False, "code": 202, "price": 0}),
    Row("lookup cnam: not a number", "GET", "/api/lookup/cnam", 400, params={"number": "abc"}, json={"code": 202}),
    Row("lookup hlr: not a number", "GET", "/api/lookup/hlr", 400, params={"number": "abc"}, json={
        "status": True, "status_message": "success", "lookup_outcome": False, "lookup_outcome_message": "Number is not valid",
        "international_format_number": "", "international_formatted": "", "national_format_number": "", "country_code": "",
        "country_name": None, "country_prefix": False,
        "current_carrier": {"network_code": "", "name": None, "country": "", "network_type": None},
        "original_carrier": {"network_code": "", "name": None, "country": "", "network_type": None},
        "valid_number": "not_valid", "reachable": "bad_number", "ported": "unknown", "roaming": "unknown",
        "gsm_code": None, "gsm_message": None}),
    Row("lookup mnp: one of several not a number", "GET", "/api/lookup/mnp", 400, params={"number": "+4917612345678,abc"},
        json=[{"success": False, "code": 202, "price": 0}]),
    Row("lookup: more than 50 numbers", "GET", "/api/lookup/format", 400,
        json=failure("700", "Invalid number: at most 50 numbers per request"), params={"number": ",".join(["+4917612345678"] * 51)}),
    Row("lookup hlr: not enough credit", "GET", "/api/lookup/hlr", 402,
        json=failure("500", "Not enough credits: 150 needed, 149 available"), params={"number": "+4917612345678"}, prepare=drain(149)),
    # -- numbers ---------------------------------------------------------------------------
    Row("numbers available: unknown country", "GET", "/api/numbers/available", 400,
        json=failure("700", "Invalid country: expected an ISO 3166-1 alpha-2 country code"), params={"country": "XX"}),
    Row("numbers available: feature flag in words", "GET", "/api/numbers/available", 400,
        json=failure("700", "Invalid features_sms: expected a boolean (1/0, true/false)"), params={"features_sms": "plenty"}),
    Row("numbers order: missing number", "POST", "/api/numbers/order", 400, json=refused("Missing key number"), data={}),
    Row("numbers order: a number not on offer", "POST", "/api/numbers/order", 400, json=refused("This number is not available."),
        data={"number": "+4917612345678"}),
    Row("numbers order: a number already active", "POST", "/api/numbers/order", 400, json=refused("This number is not available."),
        data={"number": "+4915799912345"}),
    Row("numbers order: not a number", "POST", "/api/numbers/order", 400, json=refused("Invalid number: not a valid phone number"),
        data={"number": "the blue one"}),
    Row("numbers order: unknown payment interval", "POST", "/api/numbers/order", 400,
        json=refused("Invalid payment_interval: expected annually or monthly"), data={"number": "{offer}", "payment_interval": "weekly"}),
    Row("numbers order: not enough credit", "POST", "/api/numbers/order", 402, json=refused("Not enough credits: {offer_price} needed, 0 available"),
        data={"number": "{offer}"}, prepare=drain(0)),
    Row("numbers active: get unknown", "GET", "/api/numbers/active/4917612345678", 404, json=failure("901", "number '4917612345678' not found")),
    Row("numbers active: get another account's", "GET", "/api/numbers/active/{other_number}", 404,
        json=failure("901", "number '{other_number}' not found")),
    Row("numbers active: update unknown", "PATCH", "/api/numbers/active/4917612345678", 404,
        json=failure("901", "number '4917612345678' not found"), data={"friendly_name": "x"}),
    Row("numbers active: friendly name too long", "PATCH", "/api/numbers/active/4915799912345", 400,
        json=failure("700", "Invalid friendly_name: at most 100 characters"), data={"friendly_name": "f" * 101}),
    Row("numbers active: forward to an e-mail that is not one", "PATCH", "/api/numbers/active/4915799912345", 400,
        json=failure("700", "Invalid email_forward: expected e-mail addresses"), data={"email_forward[]": "broken"}),
    Row("numbers active: forward to a number that is not one", "PATCH", "/api/numbers/active/4915799912345", 400,
        json=failure("202", "Invalid sms_forward: not a valid phone number"), data={"sms_forward[]": "Erika"}),
    Row("numbers active: forward to a Slack URL that is not one", "PATCH", "/api/numbers/active/4915799912345", 400,
        json=failure("700", "Invalid slack_forward: expected https URLs"), data={"slack_forward[]": "#general"}),
    Row("numbers active: delete unknown", "DELETE", "/api/numbers/active/4917612345678", 404,
        json=failure("901", "number '4917612345678' not found")),
    Row("numbers active: delete_immediately in words", "DELETE", "/api/numbers/active/4915799912345", 400,
        json=failure("700", "Invalid delete_immediately: expected a boolean (1/0, true/false)"), params={"delete_immediately": "now"}),
    # -- subaccounts -----------------------------------------------------------------------
    Row("subaccounts: listed by a subaccount", "GET", "/api/subaccounts/list", 403,
        json=failure("902", "A subaccount cannot manage subaccounts."), headers={"X-Api-Key": "{main_subaccount_key}", "Accept": "application/json"}),
    Row("subaccounts: created by a subaccount", "POST", "/api/subaccounts/create", 403,
        json=failure("902", "A subaccount cannot manage subaccounts."), data={"name": "Sub", "email": "sub@example.com"},
        headers={"X-Api-Key": "{main_subaccount_key}", "Accept": "application/json"}),
    Row("subaccounts: create without name", "POST", "/api/subaccounts/create", 400, json=refused("Missing key name"),
        data={"email": "sub@example.com"}),
    Row("subaccounts: create without email", "POST", "/api/subaccounts/create", 400, json=refused("Missing key email"), data={"name": "Sub"}),
    Row("subaccounts: create with a bad email", "POST", "/api/subaccounts/create", 400, json=refused("Invalid email: expected an e-mail address"),
        data={"name": "Sub", "email": "broken"}),
    Row("subaccounts: update unknown id", "POST", "/api/subaccounts/update", 404, json=refused("subaccount '999' not found"),
        data={"id": "999", "threshold": "1", "amount": "1"}),
    Row("subaccounts: update another account's", "POST", "/api/subaccounts/update", 404,
        json=refused("subaccount '{other_subaccount}' not found"), data={"id": "{other_subaccount}", "threshold": "1", "amount": "1"}),
    Row("subaccounts: update amount in words", "POST", "/api/subaccounts/update", 400,
        json=refused("Invalid amount: expected an amount in euros"), data={"id": "{main_subaccount}", "threshold": "1", "amount": "a lot"}),
    Row("subaccounts: update without threshold", "POST", "/api/subaccounts/update", 400, json=refused("Missing key threshold"),
        data={"id": "{main_subaccount}", "amount": "1"}),
    Row("subaccounts: transfer nothing", "POST", "/api/subaccounts/transfer_credits", 400,
        json=refused("Invalid amount: expected a positive amount in euros"), data={"id": "{main_subaccount}", "amount": "0"}),
    Row("subaccounts: transfer a negative amount", "POST", "/api/subaccounts/transfer_credits", 400,
        json=refused("Invalid amount: expected a positive amount in euros"), data={"id": "{main_subaccount}", "amount": "-5"}),
    Row("subaccounts: transfer fractions of a cent", "POST", "/api/subaccounts/transfer_credits", 400,
        json=refused("Invalid amount: at most four decimals"), data={"id": "{main_subaccount}", "amount": "0.00001"}),
    Row("subaccounts: transfer more than the balance", "POST", "/api/subaccounts/transfer_credits", 402,
        json=refused("Not enough credits: 1010000 needed, 1000000 available"), data={"id": "{main_subaccount}", "amount": "101"}),
    Row("subaccounts: delete without id", "POST", "/api/subaccounts/delete", 400, json=refused("Missing key id"), data={}),
    Row("subaccounts: delete another account's", "POST", "/api/subaccounts/delete", 404,
        json=refused("subaccount '{other_subaccount}' not found"), data={"id": "{other_subaccount}"}),
    # -- journal ---------------------------------------------------------------------------
    Row("journal: date_from not a date", "GET", "/api/journal/outbound", 400,
        json=failure("700", "Invalid date_from: expected a date YYYY-MM-DD"), params={"date_from": "yesterday"}),
    Row("journal: limit above 100", "GET", "/api/journal/inbound", 400,
        json=failure("700", "Invalid limit: expected a whole number from 1 to 100"), params={"limit": "500"}),
    Row("journal: offset negative", "GET", "/api/journal/voice", 400,
        json=failure("700", "Invalid offset: expected a whole number at least 0"), params={"offset": "-1"}),
    Row("journal: id 0", "GET", "/api/journal/replies", 400, json=failure("700", "Invalid id: expected a whole number at least 1"),
        params={"id": "0"}),
    Row("journal: to not a number", "GET", "/api/journal/outbound", 400, json=failure("202", "Invalid to: not a valid phone number"),
        params={"to": "Erika"}),
    Row("journal: offset of 5,000 digits", "GET", "/api/journal/outbound", 400,
        json=failure("700", "Invalid offset: expected a whole number of at most 19 digits"), params={"offset": DIGITS_5000}),
    Row("journal: limit of 20 digits", "GET", "/api/journal/outbound", 400,
        json=failure("700", "Invalid limit: expected a whole number of at most 19 digits"), params={"limit": "9" * 20}),
    # -- analytics -------------------------------------------------------------------------
    Row("analytics: start after end", "GET", "/api/analytics/date", 400, json=failure("700", "Invalid start: the start lies after the end"),
        params={"start": "2026-02-01", "end": "2026-01-01"}),
    Row("analytics: end not a date", "GET", "/api/analytics/country", 400, json=failure("700", "Invalid end: expected a date YYYY-MM-DD"),
        params={"end": "2026-13-01"}),
    Row("analytics: unknown subaccount", "GET", "/api/analytics/subaccount", 404, json=failure("901", "subaccount '999' not found"),
        params={"subaccounts": "999"}),
    Row("analytics: subaccounts neither a choice nor an id", "GET", "/api/analytics/label", 400,
        json=failure("700", "Invalid subaccounts: expected only_main, all or a sub-account id"), params={"subaccounts": "everyone"}),
    # -- pricing ---------------------------------------------------------------------------
    Row("pricing: unknown format", "GET", "/api/pricing", 400, json=failure("700", "Invalid format: expected json or csv"),
        params={"format": "xml"}),
    # -- RCS -------------------------------------------------------------------------------
    Row("rcs: missing to", "POST", "/api/rcs/messages", 400, json=failure("301", "Missing key to"), data={"text": "Hallo"}),
    Row("rcs: missing text", "POST", "/api/rcs/messages", 400, json=failure("305", "Missing key text"), data={"to": "+4917612345678"}),
    Row("rcs: to not a number", "POST", "/api/rcs/messages", 400, json=failure("202", "Invalid to: not a valid phone number"),
        data={"to": "Erika", "text": "Hallo"}),
    Row("rcs: text too long", "POST", "/api/rcs/messages", 400, json=failure("401", "Invalid text: 3073 characters, at most 3072 allowed"),
        data={"to": "+4917612345678", "text": "x" * 3073}),
    Row("rcs: agent id with a space", "POST", "/api/rcs/messages", 400,
        json=failure("201", "Invalid from: an RCS agent id has at most 64 of A-Z a-z 0-9 _ . @ -"),
        data={"to": "+4917612345678", "text": "Hallo", "from": "my agent"}),
    Row("rcs: unknown fallback", "POST", "/api/rcs/messages", 400, json=failure("700", "Invalid fallback: expected sms or webview"),
        data={"to": "+4917612345678", "text": "Hallo", "fallback": "fax"}),
    Row("rcs: ttl of 30 digits", "POST", "/api/rcs/messages", 400, json=failure("700", "Invalid ttl: expected whole minutes"),
        data={"to": "+4917612345678", "text": "Hallo", "fallback": "sms", "ttl": "9" * 30}),
    Row("rcs: delay past the clock's range", "POST", "/api/rcs/messages", 400,
        json=failure("700", "Invalid delay: the time must lie before 9000-01-01 00:00:00"),
        data={"to": "+4917612345678", "text": "Hallo", "fallback": "sms", "delay": "9999-12-31 00:00:00"}),
    Row("rcs: ttl in words", "POST", "/api/rcs/messages", 400, json=failure("700", "Invalid ttl: expected whole minutes"),
        data={"to": "+4917612345678", "text": "Hallo", "ttl": "a day"}),
    Row("rcs: not enough credit", "POST", "/api/rcs/messages", 402, json=failure("500", "Not enough credits: {rcs_price} needed, 0 available"),
        data={"to": "+4917612345678", "text": "Hallo", "fallback": "sms"}, prepare=drain(0)),
    Row("rcs cancel: unknown id", "DELETE", "/api/rcs/messages/999", 404, json=refused("RCS message '999' not found")),
    Row("rcs cancel: an SMS", "DELETE", "/api/rcs/messages/{main_sms}", 404, json=refused("RCS message '{main_sms}' not found")),
    Row("rcs cancel: already sent", "DELETE", "/api/rcs/messages/{main_rcs}", 409,
        json=refused("The message has already been sent and cannot be deleted.")),
    Row("rcs event: missing event", "POST", "/api/rcs/events", 400, json=refused("Missing key event"), data={"to": "+4917612345678"}),
    Row("rcs event: unknown event", "POST", "/api/rcs/events", 400, json=refused("Invalid event: expected IS_TYPING or READ"),
        data={"event": "DANCING", "to": "+4917612345678"}),
    Row("rcs event: unknown message", "POST", "/api/rcs/events", 404, json=refused("RCS message '999' not found"),
        data={"event": "READ", "msg_id": "999"}),
    Row("rcs event: nothing received yet", "POST", "/api/rcs/events", 400,
        json=refused("No RCS message has been received yet: give `to` or `msg_id`."), data={"event": "READ"}),
    # -- caller-id validation --------------------------------------------------------------
    Row("validate_for_voice: missing number", "POST", "/api/validate_for_voice", 400, data={}, json={
        "id": None, "sender": "", "formatted_output": None, "success": False, "error": "Reception number invalid", "voice": False}),
    Row("validate_for_voice: not a number", "POST", "/api/validate_for_voice", 400, data={"number": "Erika"}, json={
        "id": None, "sender": "Erika", "formatted_output": None, "success": False, "error": "Number is invalid", "voice": False}),
    Row("validate_for_voice: number of no network", "POST", "/api/validate_for_voice", 400, data={"number": "+49123"}, json={
        "id": None, "sender": "+49123", "formatted_output": None, "success": False, "error": "Number is invalid", "voice": False}),
    Row("validate_for_voice: callback not a URL", "POST", "/api/validate_for_voice", 400,
        data={"number": "+4917612345678", "callback": "ftp://example.com"}, json={
            "id": None, "sender": "+4917612345678", "formatted_output": None, "success": False, "error": "Callback URL invalid",
            "voice": False}),
    Row("validate_for_voice: callback with a line break", "POST", "/api/validate_for_voice", 400,
        data={"number": "+4917612345678", "callback": "https://example.com/cb\nX: 1"}, json={
            "id": None, "sender": "+4917612345678", "formatted_output": None, "success": False, "error": "Callback URL invalid",
            "voice": False}),
]


async def _ok(response) -> Any:
    assert response.status_code == 200, (response.request.url, response.text)
    return response.json()


@pytest.fixture
async def world(emulator, client) -> dict[str, str]:
    """Objects the rows refer to: the main account's SMS, RCS message (already sent), call,
    contact, group and subaccount (with its API key); another account's SMS, call, hook, contact,
    group, number and subaccount; a number on offer and its price."""
    from emulator.core.phone import parse_loose
    from emulator.seven.lookup import rcs_capabilities
    from emulator.seven.numbers import fees_for, offers
    from emulator.seven.rcs import rcs_price

    engine = emulator.engine
    other_sms = await _ok(await client.post("/api/sms", data=SMS, headers=OTHER))
    other_call = await _ok(await client.post("/api/voice", data=VOICE, headers=OTHER))
    other_hook = await _ok(await client.post("/api/hooks", data={"target_url": "https://example.com/h", "event_type": "dlr"}, headers=OTHER))
    other_contact = await _ok(await client.post("/api/contacts", data={"firstname": "Theirs"}, headers=OTHER))
    other_group = await _ok(await client.post("/api/groups", data={"name": "Theirs"}, headers=OTHER))
    other_subaccount = await _ok(await client.post("/api/subaccounts/create", data={"name": "Their Sub", "email": "t@example.com"}, headers=OTHER))
    main_sms = await _ok(await client.post("/api/sms", data=SENT_SMS, headers=JSON))
    main_rcs = await _ok(await client.post("/api/rcs/messages", data={**SMS, "fallback": "sms"}, headers=JSON))
    main_call = await _ok(await client.post("/api/voice", data=VOICE, headers=JSON))
    main_contact = await _ok(await client.post("/api/contacts", data={"firstname": "Erika"}, headers=JSON))
    main_group = await _ok(await client.post("/api/groups", data={"name": "Team"}, headers=JSON))
    main_subaccount = await _ok(await client.post("/api/subaccounts/create", data={"name": "Sub", "email": "s@example.com"}, headers=JSON))
    await _ok(await client.post("/api/subaccounts/transfer_credits", data={"id": main_subaccount["subaccount"]["id"], "amount": "10"},
                                headers=JSON))
    engine.store.accounts[SEVEN_ACCOUNT].balance = 1_000_000  # 100 EUR again, a round number for the rows
    their_offer, offer = offers(engine, "DE")[:2]
    await _ok(await client.post("/api/numbers/order", data={"number": their_offer.e164, "payment_interval": "monthly"}, headers=OTHER))
    fees = fees_for(engine, "DE")
    recipient = parse_loose(SMS["to"])
    rcs_cost = rcs_price(engine, recipient) if rcs_capabilities(engine, recipient) else engine.quote_sms("seven", recipient, "Hallo").cost
    return {
        "other_sms": other_sms["messages"][0]["id"],
        "other_call": str(other_call["messages"][0]["id"]),
        "other_hook": str(other_hook["id"]),
        "other_contact": str(other_contact["id"]),
        "other_group": str(other_group["id"]),
        "other_subaccount": other_subaccount["subaccount"]["id"],
        "other_number": their_offer.e164.lstrip("+"),
        "main_sms": main_sms["messages"][0]["id"],
        "main_rcs": main_rcs["messages"][0]["id"],
        "main_call": str(main_call["messages"][0]["id"]),
        "main_contact": str(main_contact["id"]),
        "main_group": str(main_group["id"]),
        "main_subaccount": main_subaccount["subaccount"]["id"],
        "main_subaccount_key": main_subaccount["subaccount"]["api_key"],
        "offer": offer.e164,
        "offer_price": str(fees.setup + fees.basic_charge("annually")),
        "rcs_price": str(rcs_cost),
    }


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_seven_refuses(emulator, client, world, row: Row):
    if row.prepare is not None:
        row.prepare(emulator.engine)
    before = world_state(emulator.engine)
    response = await client.request(
        row.method,
        filled(row.path, world),
        headers=filled(row.headers, world),
        data=filled(row.data, world),
        json=filled(row.body, world) if row.body is not NOTHING else None,
        params=filled(row.params, world),
        content=row.content,
    )
    assert response.status_code == row.status, response.text
    if row.text is not None:
        assert response.headers["content-type"] == TEXT_TYPE
        assert response.text == filled(row.text, world)
    else:
        assert response.headers["content-type"] == JSON_TYPE
        assert response.json() == filled(row.json, world)
    if row.allow is not None:
        assert response.headers["allow"] == row.allow
    assert world_state(emulator.engine) == before, "a refused request changed the world"
    reason = response.headers.get("x-telco-emulator-reason", "")
    assert len(reason) > 12 and "gave no reason" not in reason, f"a refusal says why in words, not {reason!r}"
    journaled = (await client.get("/_emulator/requests", params={"limit": 1})).json()["data"][0]
    assert journaled["status"] == row.status and journaled["reason"] == reason
    if os.environ.get("PRINT_REASONS"):
        print(f"\nREASON {row.id}: {response.status_code} {reason}")


def test_every_resource_has_rows():
    covered = {row.id.split(":")[0].split(" ")[0] for row in ROWS}
    assert {
        "auth", "path", "method", "body", "sms", "status", "balance", "voice", "hooks", "contacts", "groups", "lookup",
        "numbers", "subaccounts", "journal", "analytics", "pricing", "rcs", "validate_for_voice",
    } <= covered

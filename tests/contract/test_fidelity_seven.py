"""seven.io, fact by fact: one row per checkable fact of the behaviour reference
(`../shared/reference/seven.md`), each naming its section, the request(s) a client makes, and
what the real service answers. Run in-process against the app on a virtual clock.

A row whose fact the emulator does not match on purpose is marked `xfail(strict=True)` with the
reason, and listed in the README's "Fidelity and limitations"; a strict xfail that starts
passing fails the suite, so the list stays true. Facts the reference marks as unknown (its
section 10) and facts that cannot be observed from a client (source IPs, internal states) have
no row.

Steps are requests (`ask`) or moves of the virtual clock (a number of seconds); a step's fields
may be a function of the answers so far (`ctx`), to use an id an earlier answer gave. `check`
gets the last answer and the context, and asserts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from support import SEVEN_ACCOUNT, SEVEN_KEY

J = {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"}
T = {"X-Api-Key": SEVEN_KEY}
TEXT = "text/plain; charset=utf-8"
DE = "+4917612345678"
DE2 = "+4915123456789"
SMS = {"to": DE, "text": "Hallo"}
HOOK = "http://hooks.test/seven"
MOMENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}")
SECOND = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@dataclass
class Ask:
    method: str
    path: str | Callable[[Ctx], str]
    headers: dict[str, str] | Callable[[Ctx], dict[str, str]] = field(default_factory=lambda: dict(J))
    data: Any = None  # form fields
    json: Any = None
    params: Any = None


def ask(method: str, path: Any, headers: dict[str, str] | None = None, **kwargs: Any) -> Ask:
    return Ask(method, path, dict(J) if headers is None else headers, **kwargs)


@dataclass
class Ctx:
    emulator: Any
    answers: list[Any] = field(default_factory=list)

    def json(self, index: int) -> Any:
        return self.answers[index].json()

    @property
    def hooks(self) -> list[Any]:
        return self.emulator.receiver.to(HOOK)


@dataclass
class Fact:
    section: str
    fact: str
    steps: list[Ask | float]
    check: Callable[[Any, Ctx], None]
    xfail: str | None = None


def _value(value: Any, ctx: Ctx) -> Any:
    return value(ctx) if callable(value) else value


# -- checks ---------------------------------------------------------------------------------
def answers(status: int, body: Any = None, *, text: str | None = None, content_type: str | None = None):
    def check(r, ctx):
        assert r.status_code == status, r.text
        if body is not None:
            assert r.json() == body, r.text
        if text is not None:
            assert r.text == text
        if content_type is not None:
            assert r.headers["content-type"].startswith(content_type)
    return check


def body_has(**fields: Any):
    def check(r, ctx):
        assert r.status_code == 200, r.text
        body = r.json()
        for name, expected in fields.items():
            assert body[name] == expected, (name, body[name])
    return check


def message_has(**fields: Any):
    def check(r, ctx):
        assert r.status_code == 200, r.text
        message = r.json()["messages"][0]
        for name, expected in fields.items():
            assert message[name] == expected, (name, message[name])
    return check


def text_matches(pattern: str):
    def check(r, ctx):
        assert r.status_code == 200 and r.headers["content-type"] == TEXT, r.text
        assert re.fullmatch(pattern, r.text), r.text
    return check


def that(predicate: Callable[[Any], bool], status: int = 200):
    def check(r, ctx):
        assert r.status_code == status, r.text
        assert predicate(r), r.text
    return check


def hook_json() -> Ask:
    return ask("POST", "/api/hooks", data={"target_url": HOOK, "event_type": "all", "request_method": "JSON"})


def signed(method: str, url: str, body: bytes = b"", secret: str = "test_signing_secret", timestamp: str = "1767225600",
           nonce: str = "n" * 32) -> dict[str, str]:
    to_sign = "\n".join([timestamp, nonce, method, url, hashlib.md5(body).hexdigest()])
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return {**J, "X-Signature": signature, "X-Timestamp": timestamp, "X-Nonce": nonce}


def _sms_id(ctx: Ctx, index: int = 0) -> str:
    return ctx.json(index)["messages"][0]["id"]


def _signature_ok(received) -> bool:
    headers = received.headers
    to_sign = "\n".join([headers["x-timestamp"], headers["x-nonce"], received.method, received.url, hashlib.md5(received.body).hexdigest()])
    return headers["x-signature"] == hmac.new(b"test_signing_secret", to_sign.encode(), hashlib.sha256).hexdigest()


def _subaccount_key(ctx: Ctx) -> dict[str, str]:
    return {**J, "X-Account-Id": str(ctx.json(0)["subaccount"]["id"])}


PDF = base64.b64encode(b"%PDF-1.4").decode()
SUB = {"name": "Sub", "email": "sub@example.com"}

FACTS = [
    # -- 0. cross-cutting --------------------------------------------------------------------
    Fact("0", "logical errors answer HTTP 200 with the code in the body", [ask("POST", "/api/sms", {"X-Api-Key": "wrong"}, data=SMS)],
         answers(200, text="900"), xfail="the emulator adds a 4xx status to every refusal (README: seven.io error status)"),
    Fact("0", "a rejected request's body is just the return code", [ask("POST", "/api/sms", {"X-Api-Key": "wrong"}, data=SMS)],
         that(lambda r: r.text == "900", 401)),
    Fact("0", "JSON-mode clients get the code as JSON 900", [ask("POST", "/api/sms", {"X-Api-Key": "wrong", "Accept": "application/json"}, data=SMS)],
         that(lambda r: r.json() == 900, 401)),
    Fact("0", "Accept: application/json selects JSON", [ask("GET", "/api/balance")], body_has(currency="EUR")),
    Fact("0", "json=1 selects JSON", [ask("GET", "/api/balance", T, params={"json": "1"})], body_has(currency="EUR")),
    Fact("0", "neither: plain text", [ask("GET", "/api/balance", T)], answers(200, text="100.0", content_type="text/plain")),
    Fact("0", "JSON request bodies", [ask("POST", "/api/sms", json=SMS)], body_has(success="100")),
    Fact("0", "form-encoded request bodies", [ask("POST", "/api/sms", data=SMS)], body_has(success="100")),
    Fact("0", "query strings (GET)", [ask("GET", "/api/sms", params=SMS)], body_has(success="100")),
    Fact("0", "booleans as 1/0", [ask("POST", "/api/sms", data={**SMS, "debug": "1"})], body_has(debug="true")),
    Fact("0", "booleans as true/false", [ask("POST", "/api/sms", json={**SMS, "debug": True})], body_has(debug="true")),
    Fact("0", "unset optionals sent as empty or 0", [ask("POST", "/api/sms", data={**SMS, "delay": "", "ttl": "0", "flash": "0", "label": ""})],
         message_has(success=True, label=None)),
    Fact("0", "SentWith header and param have no effect", [ask("POST", "/api/sms", {**J, "SentWith": "js"}, data={**SMS, "sentWith": "php-api"})],
         body_has(success="100")),
    Fact("0", "SMS ids are numeric strings", [ask("POST", "/api/sms", data=SMS)],
         that(lambda r: isinstance(r.json()["messages"][0]["id"], str) and r.json()["messages"][0]["id"].isdigit())),
    Fact("0", "voice ids are JSON integers", [ask("POST", "/api/voice", data=SMS)], that(lambda r: isinstance(r.json()["messages"][0]["id"], int))),
    Fact("0", "hook ids: integers when created, strings in lists", [hook_json(), ask("GET", "/api/hooks")],
         lambda r, ctx: (isinstance(ctx.json(0)["id"], int) and r.json()["hooks"][0]["id"] == str(ctx.json(0)["id"])) or pytest.fail(r.text)),
    # -- 1.1 credentials ---------------------------------------------------------------------
    Fact("1.1", "X-Api-Key", [ask("GET", "/api/balance", {"X-Api-Key": SEVEN_KEY, "Accept": "application/json"})], body_has(amount=100.0)),
    Fact("1.1", "header name case-insensitive (x-api-key)", [ask("GET", "/api/balance", {"x-api-key": SEVEN_KEY, "accept": "application/json"})], body_has(amount=100.0)),
    Fact("1.1", "Authorization: basic <raw key>", [ask("GET", "/api/balance", {"Authorization": f"basic {SEVEN_KEY}", "Accept": "application/json"})], body_has(amount=100.0)),
    Fact("1.1", "Authorization: Basic <raw key> (Go client)", [ask("GET", "/api/balance", {"Authorization": f"Basic {SEVEN_KEY}", "Accept": "application/json"})], body_has(amount=100.0)),
    Fact("1.1", "Authorization: Bearer <access token>", [ask("GET", "/api/balance", {"Authorization": "Bearer test_oauth_token", "Accept": "application/json"})], body_has(amount=100.0)),
    Fact("1.1", "legacy p=<key> in the query", [ask("GET", "/api/balance", {}, params={"p": SEVEN_KEY})], answers(200, text="100.0")),
    Fact("1.1", "legacy p=<key> in a form body", [ask("POST", "/api/sms", {}, data={**SMS, "p": SEVEN_KEY})], answers(200, text="100")),
    Fact("1.1", "legacy u=<login alias>&p=<password>", [ask("GET", "/api/balance", {}, params={"u": "test_gmbh", "p": "test_password"})], answers(200, text="100.0")),
    Fact("1.1", "legacy u=<e-mail>&p=<password>", [ask("GET", "/api/balance", {}, params={"u": "test@example.de", "p": "test_password"})], answers(200, text="100.0")),
    Fact("1.1", "X-Account-Id acts as the subaccount and bills it",
         [ask("POST", "/api/subaccounts/create", data=SUB),
          ask("POST", "/api/subaccounts/transfer_credits", data=lambda c: {"id": c.json(0)["subaccount"]["id"], "amount": "1"}),
          ask("POST", "/api/sms", _subaccount_key, data=SMS)],
         lambda r, ctx: (r.json()["success"] == "100" and ctx.emulator.engine.store.messages.get(r.json()["messages"][0]["id"]).account_id
                         == str(ctx.json(0)["subaccount"]["id"])) or pytest.fail(r.text)),
    # -- 1.2 auth failures -------------------------------------------------------------------
    Fact("1.2", "wrong key: 900", [ask("GET", "/api/balance", {"X-Api-Key": "nope"})], that(lambda r: r.text == "900", 401)),
    Fact("1.2", "bad user/password: 900", [ask("GET", "/api/balance", {}, params={"u": "test_gmbh", "p": "nope"})], that(lambda r: r.text == "900", 401)),
    Fact("1.2", "missing credential: 900 (modern)", [ask("GET", "/api/balance", {})], that(lambda r: r.text == "900", 401)),
    Fact("1.2", "invalid signature: 901", [ask("GET", "/api/balance", {**J, "X-Signature": "0" * 64, "X-Timestamp": "1767225600", "X-Nonce": "n" * 32})],
         that(lambda r: r.json() == 901, 401)),
    Fact("1.2", "a valid signature passes", [ask("GET", "/api/balance", signed("GET", "http://emulator.test/api/balance"))], body_has(amount=100.0)),
    Fact("1.2", "key without rights for the endpoint: 902", [ask("GET", "/api/hooks", {"Authorization": "Bearer test_oauth_token", "Accept": "application/json"})],
         that(lambda r: r.json() == 902 or r.json().get("code") == "902", 403)),
    Fact("1.2", "caller IP outside the whitelist: 903", [ask("GET", "/api/balance", {**J, "X-Forwarded-For": "203.0.113.9"})],
         that(lambda r: r.json() == 903), xfail="IP whitelists are not modelled: every caller is allowed"),
    # -- 1.3 debug ---------------------------------------------------------------------------
    Fact("1.3", "debug SMS JSON: debug 'true', ids null, prices 0, success '100'", [ask("POST", "/api/sms", data={**SMS, "debug": "1"})],
         lambda r, ctx: (r.json()["debug"] == "true" and r.json()["success"] == "100" and r.json()["total_price"] == 0
                         and r.json()["messages"][0]["id"] is None and r.json()["messages"][0]["price"] == 0) or pytest.fail(r.text)),
    Fact("1.3", "debug SMS charges and stores nothing", [ask("POST", "/api/sms", data={**SMS, "debug": "1"})],
         lambda r, ctx: (len(ctx.emulator.engine.store.messages) == 0 and ctx.emulator.balance(SEVEN_ACCOUNT) == 1_000_000) or pytest.fail("changed")),
    Fact("1.3", "debug text with return_msg_id: dummy id 1234567890", [ask("POST", "/api/sms", T, data={**SMS, "debug": "1", "return_msg_id": "1"})],
         answers(200, text="100\n1234567890")),
    Fact("1.3", "debug voice text: 100, 123456789, 0", [ask("POST", "/api/voice", T, data={**SMS, "debug": "1"})], answers(200, text="100\n123456789\n0")),
    Fact("1.3", "debug voice JSON: debug true, total_price 0", [ask("POST", "/api/voice", data={**SMS, "debug": "1"})], body_has(debug=True, total_price=0)),
    Fact("1.3", "debug details text ends with Debug: true", [ask("POST", "/api/sms", T, data={**SMS, "debug": "1", "details": "1"})],
         that(lambda r: r.text.endswith("Debug: true"))),
    # -- 2.1 requests ------------------------------------------------------------------------
    Fact("2.1", "legacy GET /sms?p=..&to=..&text=.. with type=direct, json=1, SentWith", [ask("GET", "/api/sms", {}, params={**SMS, "p": SEVEN_KEY, "type": "direct", "json": "1", "SentWith": "plugin"})],
         body_has(success="100", sms_type="direct")),
    Fact("2.1", "legacy POST /status with a form body", [ask("POST", "/api/sms", data=SMS), ask("POST", "/api/status", T, data=lambda c: {"msg_id": _sms_id(c)})],
         answers(200, text="\n")),
    Fact("2.1", "ids as PHP-style ids[0]=..&ids[1]=..", [ask("POST", "/api/sms", data={**SMS, "delay": "1767229200"}),
                                                         ask("DELETE", "/api/sms", params=lambda c: {"ids[0]": _sms_id(c), "ids[1]": "1"})],
         lambda r, ctx: r.json() == {"success": True, "deleted": [_sms_id(ctx)]} or pytest.fail(r.text)),
    Fact("2.1", "ids as repeated ids[]", [ask("POST", "/api/sms", data={**SMS, "delay": "1767229200"}), ask("DELETE", "/api/sms", params=lambda c: {"ids[]": _sms_id(c)})],
         lambda r, ctx: r.json()["deleted"] == [_sms_id(ctx)] or pytest.fail(r.text)),
    Fact("2.1", "ids comma-joined", [ask("POST", "/api/sms", data={**SMS, "delay": "1767229200"}), ask("DELETE", "/api/sms", params=lambda c: {"ids": f"{_sms_id(c)},1"})],
         lambda r, ctx: r.json()["deleted"] == [_sms_id(ctx)] or pytest.fail(r.text)),
    Fact("2.1", "several recipients comma-separated", [ask("POST", "/api/sms", data={**SMS, "to": f"{DE},{DE2}"})],
         that(lambda r: [m["recipient"] for m in r.json()["messages"]] == [DE[1:], DE2[1:]])),
    # -- 2.2 responses -----------------------------------------------------------------------
    Fact("2.2", "/sms plain text: the return code", [ask("POST", "/api/sms", T, data=SMS)], answers(200, text="100", content_type="text/plain")),
    Fact("2.2", "/status plain text: two lines", [ask("POST", "/api/sms", data=SMS), 5.0, ask("GET", "/api/status", T, params=lambda c: {"msg_id": _sms_id(c)})],
         text_matches(r"DELIVERED\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}")),
    Fact("2.2", "/voice plain text: three lines", [ask("POST", "/api/voice", T, data=SMS)], text_matches(r"100\n\d+\n0\.045")),
    Fact("2.2", "/balance plain text: a decimal with a dot", [ask("GET", "/api/balance", T)], text_matches(r"\d+\.\d+")),
    Fact("2.2", "/pricing?format=csv plain text", [ask("GET", "/api/pricing", T, params={"format": "csv", "country": "de"})],
         that(lambda r: r.text.startswith('"countryCode";"countryName";"countryPrefix";"mcc";"mncs";"networkName";"price";"features";"comment"'))),
    Fact("2.2", "legacy /lookup?type=mnp plain text", [ask("GET", "/api/lookup", T, params={"type": "mnp", "number": DE})],
         text_matches(r"d1|d2|o2|eplus|int|N/A")),
    Fact("2.2", "REST endpoints answer JSON without Accept", [ask("GET", "/api/hooks", T)], that(lambda r: r.json()["success"] is True)),
    Fact("2.2", "lookup of one number: an object", [ask("GET", "/api/lookup/format", params={"number": DE})], that(lambda r: isinstance(r.json(), dict))),
    Fact("2.2", "lookup of several numbers: an array", [ask("GET", "/api/lookup/format", params={"number": f"{DE},{DE2}"})],
         that(lambda r: isinstance(r.json(), list) and len(r.json()) == 2)),
    # -- 3. return codes ---------------------------------------------------------------------
    Fact("3", "100: accepted", [ask("POST", "/api/sms", T, data=SMS)], answers(200, text="100")),
    Fact("3", "101: one of several recipients failed", [ask("POST", "/api/sms", data={**SMS, "to": f"{DE},notanumber"})],
         that(lambda r: r.json()["success"] in ("100", "101") and [m["success"] for m in r.json()["messages"]] == [True, False])),
    Fact("3", "201: sender too long", [ask("POST", "/api/sms", data={**SMS, "from": "ABCDEFGHIJKL"})], that(lambda r: r.json() == 201, 400)),
    Fact("3", "202: recipient invalid", [ask("POST", "/api/sms", data={**SMS, "to": "12"})], that(lambda r: r.json() == 202, 400)),
    Fact("3", "301: to missing", [ask("POST", "/api/sms", data={"text": "x"})], that(lambda r: r.json() == 301, 400)),
    Fact("3", "305: text missing", [ask("POST", "/api/sms", data={"to": DE})], that(lambda r: r.json() == 305, 400)),
    Fact("3", "305: empty text", [ask("POST", "/api/sms", data={"to": DE, "text": ""})], that(lambda r: r.json() == 305, 400)),
    Fact("3", "400: type invalid", [ask("POST", "/api/sms", data={**SMS, "type": "quality"})], that(lambda r: r.json() == 400, 400)),
    Fact("3", "401: text too long", [ask("POST", "/api/sms", data={"to": DE, "text": "a" * 1521})], that(lambda r: r.json() == 401, 400)),
    Fact("3", "402: reload lock", [ask("POST", "/api/sms", data=SMS), ask("POST", "/api/sms", T, data=SMS)], that(lambda r: r.text == "402", 409)),
    Fact("3", "403: daily limit for a recipient", [ask("POST", "/api/sms", data={**SMS, "text": f"n{n}"}) for n in range(3)],
         that(lambda r: r.json() == 403), xfail="no daily per-recipient limit is modelled"),
    Fact("3", "500: insufficient credit", [ask("POST", "/api/sms", data={"to": ",".join(f"+4917612345{n:03d}" for n in range(150)), "text": "a" * 1520})],
         that(lambda r: r.json() == 500, 402)),  # 150 x 10 parts x 0.075 > the 100 EUR balance
    Fact("3", "900: authentication failed", [ask("POST", "/api/sms", {"X-Api-Key": "x"}, data=SMS)], that(lambda r: r.text == "900", 401)),
    Fact("3", "901 on /status: unknown message id", [ask("GET", "/api/status", T, params={"msg_id": "0"})], that(lambda r: r.text == "901", 404)),
    # -- 4.1 SMS parameters ------------------------------------------------------------------
    Fact("4.1", "to as 0049…", [ask("POST", "/api/sms", data={**SMS, "to": "004917612345678"})], message_has(recipient=DE[1:])),
    Fact("4.1", "to as 49…", [ask("POST", "/api/sms", data={**SMS, "to": "4917612345678"})], message_has(recipient=DE[1:])),
    Fact("4.1", "to as +49…", [ask("POST", "/api/sms", data=SMS)], message_has(recipient=DE[1:])),
    Fact("4.1", "to as national 0176…", [ask("POST", "/api/sms", data={**SMS, "to": "017612345678"})], message_has(recipient=DE[1:])),
    Fact("4.1", "to names a contact", [ask("POST", "/api/contacts", data={"firstname": "Erika", "lastname": "Muster", "mobile_number": DE}),
                                       ask("POST", "/api/sms", data={**SMS, "to": "Erika Muster"})], message_has(recipient=DE[1:])),
    Fact("4.1", "to names a group", [ask("POST", "/api/groups", data={"name": "Team"}),
                                     ask("POST", "/api/contacts", data=lambda c: {"firstname": "A", "mobile_number": DE, "groups": c.json(0)["id"]}),
                                     ask("POST", "/api/sms", data={**SMS, "to": "Team"})], message_has(recipient=DE[1:])),
    Fact("4.1", "text of 1520 characters accepted", [ask("POST", "/api/sms", data={"to": DE, "text": "a" * 1520})], message_has(parts=10)),
    Fact("4.1", "from: 11 alphanumeric characters", [ask("POST", "/api/sms", data={**SMS, "from": "ABCDEFGHIJK"})], message_has(sender="ABCDEFGHIJK")),
    Fact("4.1", "from: 16 digits", [ask("POST", "/api/sms", data={**SMS, "from": "4917612345678901"})], message_has(sender="4917612345678901")),
    Fact("4.1", "from: 17 digits refused", [ask("POST", "/api/sms", data={**SMS, "from": "49176123456789012"})], that(lambda r: r.json() == 201, 400)),
    Fact("4.1", "from: the SDK's extra characters / . - @ _ ! ( ) + $ , &", [ask("POST", "/api/sms", data={**SMS, "from": "A/.-@_!()$&"})],
         message_has(sender="A/.-@_!()$&")),
    Fact("4.1", "from omitted: the account's default sender", [ask("POST", "/api/sms", data=SMS)], message_has(sender="TestGmbH")),
    Fact("4.1", "delay as a Unix timestamp schedules", [ask("POST", "/api/sms", data={**SMS, "delay": "1767229200"}),
                                                         ask("GET", "/api/status", params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: r.json()[0]["status"] is None)),
    Fact("4.1", "delay as YYYY-MM-DD hh:mm:ss schedules", [ask("POST", "/api/sms", data={**SMS, "delay": "2026-01-01 01:00:00"}), 3599.0,
                                                            ask("GET", "/api/status", params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: r.json()[0]["status"] is None)),
    Fact("4.1", "delay as yyyy-mm-dd hh:ii (older docs)", [ask("POST", "/api/sms", data={**SMS, "delay": "2026-01-01 01:00"}), 3601.0,
                                                           ask("GET", "/api/status", params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: r.json()[0]["status"] is not None)),
    Fact("4.1", "flash accepted", [ask("POST", "/api/sms", T, data={**SMS, "flash": "1", "details": "1"})], that(lambda r: "Flash SMS: true" in r.text)),
    Fact("4.1", "udh with hex text: binary", [ask("POST", "/api/sms", data={**SMS, "text": "48656C6C6F", "udh": "050003CC0201"})],
         message_has(udh="050003CC0201", is_binary=True)),
    Fact("4.1", "ttl in minutes accepted", [ask("POST", "/api/sms", data={**SMS, "ttl": "2880"})], body_has(success="100")),
    Fact("4.1", "label: 100 characters of a-z A-Z 0-9 . - _ @", [ask("POST", "/api/sms", data={**SMS, "label": "a.b-c_d@" + "x" * 92})],
         message_has(label="a.b-c_d@" + "x" * 92)),
    Fact("4.1", "label over 100 characters refused", [ask("POST", "/api/sms", data={**SMS, "label": "x" * 101})], that(lambda r: r.json() == 700, 400)),
    Fact("4.1", "foreign_id up to 64 characters, echoed in dlr", [hook_json(), ask("POST", "/api/sms", data={**SMS, "foreign_id": "f" * 64}), 1.0],
         lambda r, ctx: ctx.hooks[-1].json["data"]["foreign_id"] == "f" * 64 or pytest.fail(str(ctx.hooks[-1].json))),
    Fact("4.1", "foreign_id over 64 characters refused", [ask("POST", "/api/sms", data={**SMS, "foreign_id": "f" * 65})], that(lambda r: r.json() == 700, 400)),
    Fact("4.1", "performance_tracking replaces URLs by short links", [ask("POST", "/api/sms", data={**SMS, "text": "see https://x.example/a", "performance_tracking": "1"})],
         that(lambda r: re.fullmatch(r"see https://ul\.gl/\w+", r.json()["messages"][0]["text"]) is not None)),
    Fact("4.1", "files: [[name]] becomes a short URL (ul.gl)", [ask("POST", "/api/sms", data={**SMS, "text": "[[a.pdf]]", "files[0][contents]": PDF, "files[0][name]": "a.pdf"})],
         that(lambda r: r.json()["messages"][0]["text"].startswith("https://ul.gl/"))),
    Fact("4.1", "no_reload lifts the reload lock", [ask("POST", "/api/sms", data=SMS), ask("POST", "/api/sms", data={**SMS, "no_reload": "1"})], body_has(success="100")),
    Fact("4.1", "unicode forces UCS-2", [ask("POST", "/api/sms", data={**SMS, "unicode": "1"})], message_has(encoding="ucs2")),
    Fact("4.1", "utf8 accepted, no effect", [ask("POST", "/api/sms", data={**SMS, "utf8": "1"})], message_has(encoding="gsm")),
    Fact("4.1", "type direct", [ask("POST", "/api/sms", data={**SMS, "type": "direct"})], body_has(sms_type="direct")),
    Fact("4.1", "type economy (legacy)", [ask("POST", "/api/sms", data={**SMS, "type": "economy"})], body_has(sms_type="economy")),
    # -- 4.2 length and segments -------------------------------------------------------------
    Fact("4.2", "GSM: 160 characters, one part", [ask("POST", "/api/sms", data={"to": DE, "text": "a" * 160})], message_has(parts=1, encoding="gsm")),
    Fact("4.2", "GSM: 161 characters, two parts", [ask("POST", "/api/sms", data={"to": DE, "text": "a" * 161})], message_has(parts=2)),
    Fact("4.2", "GSM: 306 characters, two parts of 153", [ask("POST", "/api/sms", data={"to": DE, "text": "a" * 306})], message_has(parts=2)),
    Fact("4.2", "GSM: 307 characters, three parts", [ask("POST", "/api/sms", data={"to": DE, "text": "a" * 307})], message_has(parts=3)),
    Fact("4.2", "UCS-2: 70 characters, one part", [ask("POST", "/api/sms", data={"to": DE, "text": "ж" * 70})], message_has(parts=1, encoding="ucs2")),
    Fact("4.2", "UCS-2: 71 characters, two parts", [ask("POST", "/api/sms", data={"to": DE, "text": "ж" * 71})], message_has(parts=2)),
    Fact("4.2", "UCS-2: 135 characters, three parts of 67", [ask("POST", "/api/sms", data={"to": DE, "text": "ж" * 135})], message_has(parts=3)),
    Fact("4.2", "one character outside GSM-7 makes it UCS-2", [ask("POST", "/api/sms", data={"to": DE, "text": "Hallo ✓"})], message_has(encoding="ucs2")),
    Fact("4.2", "extension characters count 2: 80 € in one part", [ask("POST", "/api/sms", data={"to": DE, "text": "€" * 80})], message_has(parts=1, encoding="gsm")),
    Fact("4.2", "extension characters count 2: 81 € in two parts", [ask("POST", "/api/sms", data={"to": DE, "text": "€" * 81})], message_has(parts=2)),
    Fact("4.2", "each part is billed", [ask("POST", "/api/sms", data={"to": DE, "text": "a" * 161})], message_has(price=0.15)),
    # -- 4.3 plain-text /sms -----------------------------------------------------------------
    Fact("4.3", "return_msg_id: code and id", [ask("POST", "/api/sms", T, data={**SMS, "return_msg_id": "1"})], text_matches(r"100\n\d+")),
    Fact("4.3", "details: the detail lines in order", [ask("POST", "/api/sms", T, data={**SMS, "details": "1"})],
         text_matches(r"100\nVerbucht: 1\nPreis: 0\.075\nGuthaben: 99\.925\nText: Hallo\nSMS-Typ: direct\nFlash SMS: false\nEncoding: gsm\nGSM0338: true\nDebug: false")),
    Fact("4.3", "both: code, id, then the details", [ask("POST", "/api/sms", T, data={**SMS, "details": "1", "return_msg_id": "1"})],
         text_matches(r"100\n\d+\nVerbucht: 1\n(.|\n)*Debug: false")),
    # -- 4.4 JSON /sms -----------------------------------------------------------------------
    Fact("4.4", "top-level keys in order", [ask("POST", "/api/sms", data=SMS)],
         that(lambda r: list(r.json()) == ["success", "total_price", "balance", "debug", "sms_type", "messages"])),
    Fact("4.4", "message keys in order", [ask("POST", "/api/sms", data=SMS)],
         that(lambda r: list(r.json()["messages"][0])[:13] == ["id", "sender", "recipient", "text", "encoding", "label", "parts", "udh", "is_binary", "price",
                                                             "success", "error", "error_text"])),
    Fact("4.4", "types: success and debug strings, prices numbers", [ask("POST", "/api/sms", data=SMS)],
         that(lambda r: (r.json()["success"], r.json()["debug"], r.json()["total_price"], r.json()["balance"]) == ("100", "false", 0.075, 99.925))),
    Fact("4.4", "an accepted message: success true, error and error_text null", [ask("POST", "/api/sms", data=SMS)],
         message_has(success=True, error=None, error_text=None, udh=None, is_binary=False, label=None)),
    Fact("4.4", "recipient without +", [ask("POST", "/api/sms", data=SMS)], message_has(recipient="4917612345678")),
    Fact("4.4", "sender echoes from", [ask("POST", "/api/sms", data={**SMS, "from": "MyShop"})], message_has(sender="MyShop")),
    # -- 4.5 DELETE /sms ---------------------------------------------------------------------
    Fact("4.5", "cancel a scheduled message", [ask("POST", "/api/sms", data={**SMS, "delay": "1767229200"}), ask("DELETE", "/api/sms", json=lambda c: {"ids": [_sms_id(c)]})],
         lambda r, ctx: r.json() == {"success": True, "deleted": [_sms_id(ctx)]} or pytest.fail(r.text)),
    Fact("4.5", "nothing deletable: success false, deleted []", [ask("POST", "/api/sms", data=SMS), ask("DELETE", "/api/sms", json=lambda c: {"ids": [_sms_id(c)]})],
         answers(200, {"success": False, "deleted": []})),
    # -- 5 status ----------------------------------------------------------------------------
    Fact("5.1", "several comma-separated ids", [ask("POST", "/api/sms", data={**SMS, "to": f"{DE},{DE2}"}), 2.0,
                                                ask("GET", "/api/status", params=lambda c: {"msg_id": ",".join(m["id"] for m in c.json(0)["messages"])})],
         that(lambda r: [s["status"] for s in r.json()] == ["DELIVERED", "DELIVERED"])),
    Fact("5.1", "JSON fields id, status, status_time", [ask("POST", "/api/sms", data=SMS), 2.0, ask("GET", "/api/status", params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: list(r.json()[0]) == ["id", "status", "status_time"] and MOMENT.fullmatch(r.json()[0]["status_time"]) is not None)),
    Fact("5.1", "status and status_time null before any report", [ask("POST", "/api/sms", data=SMS), ask("GET", "/api/status", params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: (r.json()[0]["status"], r.json()[0]["status_time"]) == (None, None))),
    Fact("5.1", "answered up to 30 days after sending", [ask("POST", "/api/sms", data=SMS), 30 * 86400.0, ask("GET", "/api/status", params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: r.json()[0]["status"] == "DELIVERED")),
    Fact("5.1", "not after 30 days: 901", [ask("POST", "/api/sms", data=SMS), 30 * 86400.0 + 1, ask("GET", "/api/status", T, params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: r.text == "901", 404)),
    Fact("5.2", "TRANSMITTED, then DELIVERED", [hook_json(), ask("POST", "/api/sms", data=SMS), 2.0],
         lambda r, ctx: [h.json["data"]["status"] for h in ctx.hooks] == ["TRANSMITTED", "DELIVERED"] or pytest.fail(str([h.json for h in ctx.hooks]))),
    Fact("5.2", "NOTDELIVERED", [hook_json(), ask("POST", "/api/sms", data={**SMS, "to": "+4915700000404"}), 2.0],
         lambda r, ctx: ctx.hooks[-1].json["data"]["status"] == "NOTDELIVERED" or pytest.fail("")),
    Fact("5.2", "EXPIRED", [hook_json(), ask("POST", "/api/sms", data={**SMS, "to": "+4915700000410"}), 2.0],
         lambda r, ctx: ctx.hooks[-1].json["data"]["status"] == "EXPIRED" or pytest.fail("")),
    Fact("5.2", "internal states (Created, Queued, Processed) are never reported",
         [hook_json(), ask("POST", "/api/sms", data=SMS), 2.0, ask("GET", "/api/journal/outbound")],
         lambda r, ctx: not {"Created", "Queued", "Processed"} & {h.json["data"]["status"] for h in ctx.hooks} or pytest.fail("")),
    # -- 6.1 hooks ---------------------------------------------------------------------------
    Fact("6.1", "GET /hooks: success, code null, hooks", [hook_json(), ask("GET", "/api/hooks")],
         that(lambda r: list(r.json()) == ["success", "code", "hooks"] and r.json()["code"] is None)),
    Fact("6.1", "hook fields and types", [hook_json(), ask("GET", "/api/hooks")],
         that(lambda r: (lambda h: isinstance(h["id"], str) and h["enabled"] is True and h["event_filter"] is None and SECOND.fullmatch(h["created"])
                         and {"id", "target_url", "event_type", "event_filter", "request_method", "enabled", "created"} <= set(h))(r.json()["hooks"][0]))),
    Fact("6.1", "POST /hooks: success true and an integer id", [hook_json()], that(lambda r: r.json()["success"] is True and isinstance(r.json()["id"], int))),
    Fact("6.1", "request_method defaults to POST", [ask("POST", "/api/hooks", data={"target_url": HOOK, "event_type": "dlr"}), ask("GET", "/api/hooks")],
         that(lambda r: r.json()["hooks"][0]["request_method"] == "POST")),
    Fact("6.1", "an invalid target_url (abc://): success false, no id", [ask("POST", "/api/hooks", data={"target_url": "abc://x", "event_type": "dlr"})],
         that(lambda r: r.json()["success"] is False and r.json().get("id") is None, 400)),
    Fact("6.1", "DELETE /hooks?id=", [hook_json(), ask("DELETE", "/api/hooks", params=lambda c: {"id": c.json(0)["id"]})], answers(200, {"success": True})),
    Fact("6.1", "DELETE /hooks with id in the body", [hook_json(), ask("DELETE", "/api/hooks", data=lambda c: {"id": c.json(0)["id"]})], answers(200, {"success": True})),
    Fact("6.1", "legacy GET ?action=subscribe", [ask("GET", "/api/hooks", params={"action": "subscribe", "target_url": HOOK, "event_type": "dlr"})],
         that(lambda r: r.json()["success"] is True and isinstance(r.json()["id"], int))),
    Fact("6.1", "legacy POST ?action=read", [hook_json(), ask("POST", "/api/hooks", data={"action": "read"})], that(lambda r: len(r.json()["hooks"]) == 1)),
    Fact("6.1", "legacy ?action=unsubscribe", [hook_json(), ask("GET", "/api/hooks", params=lambda c: {"action": "unsubscribe", "id": c.json(0)["id"]}), ask("GET", "/api/hooks")],
         that(lambda r: r.json()["hooks"] == [])),
    *[Fact("6.1", f"event_type {kind}", [ask("POST", "/api/hooks", data={"target_url": HOOK, "event_type": kind})], body_has(success=True))
      for kind in ("all", "sms_mo", "dlr", "voice_status", "voice_call", "voice_dtmf", "tracking", "rcs")],
    Fact("6.1", "custom headers, one per line", [ask("POST", "/api/hooks", data={"target_url": HOOK, "event_type": "dlr", "headers": "X-A: 1\nX-B: 2"}),
                                                  ask("POST", "/api/sms", data=SMS), 1.0],
         lambda r, ctx: (ctx.hooks[0].headers["x-a"], ctx.hooks[0].headers["x-b"]) == ("1", "2") or pytest.fail("")),
    Fact("6.1", "request_method POST: form body", [ask("POST", "/api/hooks", data={"target_url": HOOK, "event_type": "dlr"}), ask("POST", "/api/sms", data=SMS), 1.0],
         lambda r, ctx: (ctx.hooks[0].method, ctx.hooks[0].headers["content-type"]) == ("POST", "application/x-www-form-urlencoded") or pytest.fail("")),
    Fact("6.1", "request_method GET: query string", [ask("POST", "/api/hooks", data={"target_url": HOOK, "event_type": "dlr", "request_method": "GET"}),
                                                      ask("POST", "/api/sms", data=SMS), 1.0],
         lambda r, ctx: (ctx.hooks[0].method == "GET" and "webhook_event=dlr" in ctx.hooks[0].url) or pytest.fail("")),
    Fact("6.1", "request_method JSON: JSON body", [hook_json(), ask("POST", "/api/sms", data=SMS), 1.0],
         lambda r, ctx: ctx.hooks[0].headers["content-type"] == "application/json" or pytest.fail("")),
    # -- 6.2 delivery ------------------------------------------------------------------------
    Fact("6.2", "X-Signature, X-Timestamp (unix seconds), X-Nonce (32 characters) on every webhook", [hook_json(), ask("POST", "/api/sms", data=SMS), 1.0],
         lambda r, ctx: all(h.headers["x-timestamp"].isdigit() and len(h.headers["x-nonce"]) == 32 and _signature_ok(h) for h in ctx.hooks)
         or pytest.fail("")),
    Fact("6.2", "fired immediately", [hook_json(), ask("POST", "/api/sms", data=SMS), 0.5],
         lambda r, ctx: [h.json["data"]["status"] for h in ctx.hooks] == ["TRANSMITTED"] or pytest.fail("")),
    Fact("6.2", "a 3xx answer is success (not retried)", [hook_json(), ask("POST", "/api/sms", data={**SMS, "to": "+4915700000408"}), 3600.0],
         lambda r, ctx: len(ctx.hooks) == 1 or pytest.fail(str(len(ctx.hooks)))),
    Fact("6.2", "429 and 5xx are retried: +1 min, +5 min", [hook_json(), ask("POST", "/api/sms", data={**SMS, "to": "+4915700000408"}), 0.5, 60.0, 300.0],
         lambda r, ctx: len(ctx.hooks) == 3 or pytest.fail(str(len(ctx.hooks)))),
    Fact("6.2", "other 4xx are not retried", [hook_json(), ask("POST", "/api/sms", data={**SMS, "to": "+4915700000408"}), 0.5, 7200.0],
         lambda r, ctx: len(ctx.hooks) == 1 or pytest.fail(str(len(ctx.hooks)))),
    # -- 6.3 payloads ------------------------------------------------------------------------
    Fact("6.3", "envelope webhook_event, webhook_timestamp, data", [hook_json(), ask("POST", "/api/sms", data=SMS), 1.0],
         lambda r, ctx: (list(ctx.hooks[0].json) == ["webhook_event", "webhook_timestamp", "data"] and SECOND.fullmatch(ctx.hooks[0].json["webhook_timestamp"]))
         or pytest.fail("")),
    Fact("6.3", "dlr: msg_id string, status, timestamp with microseconds", [hook_json(), ask("POST", "/api/sms", data=SMS), 1.0],
         lambda r, ctx: (lambda d: d["msg_id"] == _sms_id(ctx, 1) and d["status"] == "DELIVERED"
                         and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", d["timestamp"]))(ctx.hooks[-1].json["data"]) or pytest.fail("")),
    Fact("6.3", "sms_mo: id string, sender, system, text, time as a string, message_type SMS",
         [hook_json(), ask("POST", "/_emulator/inbound/sms", {}, json={"to": "+4915799912345", "from": DE, "text": "Hi"}), 0.0],
         lambda r, ctx: (lambda d: isinstance(d["id"], str) and d["sender"] == DE[1:] and d["system"] == "4915799912345" and d["text"] == "Hi"
                         and isinstance(d["time"], str) and d["time"].isdigit() and d["message_type"] == "SMS")(ctx.hooks[-1].json["data"])
         or pytest.fail(str(ctx.hooks[-1].json))),
    Fact("6.3", "tracking: final_url, sms_id, sms_label, total_clicks, total_views, tracking_url, type",
         [hook_json(), ask("POST", "/api/sms", data={**SMS, "text": "https://x.example", "performance_tracking": "1"}),
          ask("POST", "/_emulator/seven/tracking", {}, json=lambda c: {"url": c.json(1)["messages"][0]["text"]}), 0.0],
         lambda r, ctx: sorted(ctx.hooks[-1].json["data"]) == ["final_url", "sms_id", "sms_label", "total_clicks", "total_views", "tracking_url", "type"]
         or pytest.fail("")),
    Fact("6.3", "voice_status: callerId, duration (string), id, pricePerMinute, recipient, status, timestamp",
         [hook_json(), ask("POST", "/api/voice", data={**SMS, "to": "+4915700000490"}), 30.0],
         lambda r, ctx: (lambda d: {"callerId", "duration", "id", "pricePerMinute", "recipient", "status", "timestamp"} <= set(d)
                         and isinstance(d["duration"], str) and isinstance(d["timestamp"], int))(
             [h.json["data"] for h in ctx.hooks if h.json["webhook_event"] == "voice_status"][-1]) or pytest.fail("")),
    Fact("6.3", "voice_call: caller, id (int), system, time (unix int)",
         [hook_json(), ask("POST", "/_emulator/inbound/call", {}, json={"to": "+4915799912345", "from": DE}), 5.0],
         lambda r, ctx: (lambda d: sorted(d) == ["caller", "id", "system", "time"] and isinstance(d["id"], int) and isinstance(d["time"], int))(
             [h.json["data"] for h in ctx.hooks if h.json["webhook_event"] == "voice_call"][0]) or pytest.fail("")),
    Fact("6.3", "voice_dtmf: a key pressed on an inbound call",
         [hook_json(), ask("POST", "/_emulator/inbound/call", {}, json={"to": "+4915799912345", "from": DE, "digits": "7", "talk_time": 20}), 60.0],
         lambda r, ctx: [h.json["data"]["dtmf_digit"] for h in ctx.hooks if h.json["webhook_event"] == "voice_dtmf"] == ["7"] or pytest.fail("")),
    # -- 6.4 signing -------------------------------------------------------------------------
    Fact("6.4", "signed GET: URL with query, md5 of the empty body", [ask("GET", "/api/balance", signed("GET", "http://emulator.test/api/balance?json=1"), params={"json": "1"})],
         body_has(amount=100.0)),
    Fact("6.4", "signed form POST: md5 of the exact urlencoded body",
         [ask("POST", "/api/sms", {**signed("POST", "http://emulator.test/api/sms", b"to=%2B4917612345678&text=Hallo"),
                                   "Content-Type": "application/x-www-form-urlencoded"}, data=SMS)], body_has(success="100")),
    Fact("6.4", "a signature of another body: 901", [ask("POST", "/api/sms", {**signed("POST", "http://emulator.test/api/sms", b"other"),
                                                                              "Content-Type": "application/x-www-form-urlencoded"}, data=SMS)],
         that(lambda r: r.json() == 901, 401)),
    # -- 7 voice -----------------------------------------------------------------------------
    Fact("7.1", "JSON answer keys in order", [ask("POST", "/api/voice", data=SMS)],
         that(lambda r: list(r.json()) == ["success", "total_price", "balance", "debug", "messages"]
              and list(r.json()["messages"][0]) == ["id", "sender", "recipient", "text", "price", "success", "error", "error_text"])),
    Fact("7.1", "success '100' string, debug a JSON bool", [ask("POST", "/api/voice", data=SMS)], body_has(success="100", debug=False)),
    Fact("7.1", "one messages[] entry per recipient", [ask("POST", "/api/voice", data={**SMS, "to": f"{DE},{DE2}"})], that(lambda r: len(r.json()["messages"]) == 2)),
    Fact("7.1", "text up to 10000 characters", [ask("POST", "/api/voice", data={"to": DE, "text": "a" * 10000})], body_has(success="100")),
    Fact("7.1", "text over 10000 characters refused", [ask("POST", "/api/voice", data={"to": DE, "text": "a" * 10001})], that(lambda r: r.json() == 401, 400)),
    Fact("7.1", "ringtime 5-60", [ask("POST", "/api/voice", data={**SMS, "ringtime": "61"})], that(lambda r: r.json() == 700, 400)),
    Fact("7.1", "from at most 16 characters", [ask("POST", "/api/voice", data={**SMS, "from": "49176123456789012"})], that(lambda r: r.json() == 201, 400)),
    Fact("7.1", "plain text on error: code, empty id, cost", [ask("POST", "/api/voice", T, data={"text": "x"})], that(lambda r: r.text == "301\n\n0", 400)),
    Fact("7.1", "bad key: 900", [ask("POST", "/api/voice", {"X-Api-Key": "x"}, data=SMS)], that(lambda r: r.text == "900", 401)),
    Fact("7.2", "hangup a call in progress: success true, error null", [ask("POST", "/api/voice", data=SMS), 5.0,
                                                                         ask("POST", lambda c: f"/api/voice/{c.json(0)['messages'][0]['id']}/hangup")],
         answers(200, {"success": True, "error": None})),
    Fact("7.3", "validate_for_voice: code as a digit string, error null, success true", [ask("POST", "/api/validate_for_voice", data={"number": DE2})],
         that(lambda r: r.json()["success"] is True and r.json()["error"] is None and r.json()["code"].isdigit())),
    Fact("7.3", "invalid number: id null, success false, voice false", [ask("POST", "/api/validate_for_voice", data={"number": "12"})],
         that(lambda r: (r.json()["id"], r.json()["success"], r.json()["voice"], r.json()["formatted_output"]) == (None, False, False, None), 400)),
    Fact("7.3", "already validated: The sender ID is already saved.", [ask("POST", "/api/validate_for_voice", data={"number": DE2}), 20.0,
                                                                         ask("POST", "/api/validate_for_voice", data={"number": DE2})],
         that(lambda r: (r.json()["success"], r.json()["error"], r.json()["voice"]) == (True, "The sender ID is already saved.", True))),
    Fact("7.3", "after validation the callback gets a GET with error, formatted_output, id, sender",
         [ask("POST", "/api/validate_for_voice", data={"number": DE2, "callback": HOOK}), 20.0],
         lambda r, ctx: (ctx.hooks[0].method == "GET" and all(f"{k}=" in ctx.hooks[0].url for k in ("error", "formatted_output", "id", "sender")))
         or pytest.fail(str([h.url for h in ctx.hooks]))),
    # -- 8.1-8.4 -----------------------------------------------------------------------------
    Fact("8.1", "balance JSON: amount and currency", [ask("GET", "/api/balance")], answers(200, {"amount": 100.0, "currency": "EUR"})),
    Fact("8.1", "a balance never reads as a return code", [ask("GET", "/api/balance", T)], that(lambda r: "." in r.text)),
    Fact("8.2", "pricing JSON fields", [ask("GET", "/api/pricing", params={"country": "DE"})],
         that(lambda r: {"countCountries", "countNetworks", "countries"} <= set(r.json())
              and {"countryCode", "countryName", "countryPrefix", "networks"} <= set(r.json()["countries"][0])
              and {"mcc", "mncs", "networkName", "price", "features", "comment"} <= set(r.json()["countries"][0]["networks"][0]))),
    Fact("8.2", "country lower case", [ask("GET", "/api/pricing", params={"country": "de"})], that(lambda r: r.json()["countCountries"] == 1)),
    Fact("8.3", "journal rows: strings, price with four decimals", [ask("POST", "/api/sms", data=SMS), ask("GET", "/api/journal/outbound")],
         that(lambda r: (lambda row: all(isinstance(row[k], str) for k in ("id", "from", "to", "text", "timestamp", "price")) and row["price"] == "0.0750"
                         and {"dlr", "dlr_timestamp", "mccmnc", "latency", "type", "channel", "connection", "label", "foreign_id"} <= set(row))(r.json()[0]))),
    Fact("8.3", "legacy /journal?type=outbound", [ask("POST", "/api/sms", data=SMS), ask("GET", "/api/journal", params={"type": "outbound"})], that(lambda r: len(r.json()) == 1)),
    Fact("8.3", "limit above 100 refused", [ask("GET", "/api/journal/outbound", params={"limit": "101"})], that(lambda r: r.json()["success"] is False, 400)),
    Fact("8.3", "date_from=undefined counts as absent (JS client)", [ask("POST", "/api/sms", data=SMS), ask("GET", "/api/journal/outbound", params={"date_from": "undefined"})],
         that(lambda r: len(r.json()) == 1)),
    Fact("8.4", "analytics rows: sms, rcs, voice, hlr, mnp, inbound, usage_eur and the group key", [ask("POST", "/api/sms", data=SMS), ask("GET", "/api/analytics/date")],
         that(lambda r: {"sms", "rcs", "voice", "hlr", "mnp", "inbound", "usage_eur", "date"} <= set(r.json()[0]))),
    Fact("8.4", "legacy /analytics?group_by=label", [ask("POST", "/api/sms", data={**SMS, "label": "x"}), ask("GET", "/api/analytics", params={"group_by": "label"})],
         that(lambda r: r.json()[0]["label"] == "x")),
    # -- 8.5 lookups -------------------------------------------------------------------------
    Fact("8.5", "format fields", [ask("GET", "/api/lookup/format", params={"number": DE})],
         that(lambda r: list(r.json()) == ["success", "national", "international", "international_formatted", "country_name", "country_code", "country_iso",
                                           "carrier", "network_type"] and r.json()["international"] == DE and r.json()["country_code"] == "49")),
    Fact("8.5", "rcs: format fields and rcs_capabilities", [ask("GET", "/api/lookup/rcs", params={"number": DE})],
         that(lambda r: isinstance(r.json()["rcs_capabilities"], list) and "network_type" in r.json())),
    Fact("8.5", "mnp: success bool, code int, price number, mnp object", [ask("GET", "/api/lookup/mnp", params={"number": DE})],
         that(lambda r: (r.json()["success"], r.json()["code"]) == (True, 100) and isinstance(r.json()["price"], float)
              and {"country", "number", "national_format", "international_formatted", "network", "mccmnc", "isPorted"} <= set(r.json()["mnp"]))),
    Fact("8.5", "mnp: networkType", [ask("GET", "/api/lookup/mnp", params={"number": DE})], that(lambda r: "networkType" in r.json()["mnp"]),
         xfail="the emulator follows the seed spec's `network_type` for the MNP object, where the reference has `networkType`"),
    Fact("8.5", "cnam: success the string 'true', code '100', number, name", [ask("GET", "/api/lookup/cnam", params={"number": DE})],
         that(lambda r: (r.json()["success"], r.json()["code"]) == ("true", "100") and {"number", "name"} <= set(r.json()))),
    Fact("8.5", "hlr fields", [ask("GET", "/api/lookup/hlr", params={"number": DE})],
         that(lambda r: {"status", "status_message", "lookup_outcome", "lookup_outcome_message", "international_format_number", "international_formatted",
                         "national_format_number", "country_code", "country_name", "country_prefix", "current_carrier", "original_carrier", "valid_number",
                         "reachable", "ported", "roaming", "gsm_code", "gsm_message"} <= set(r.json())
              and r.json()["valid_number"] in ("valid", "not_valid", "unknown")
              and r.json()["reachable"] in ("reachable", "undeliverable", "absent", "bad_number", "blacklisted", "unknown"))),
    Fact("8.5", "network_type values", [ask("GET", "/api/lookup/format", params={"number": f"{DE},+4930123456,+498001234567"})],
         that(lambda r: {item["network_type"] for item in r.json()} <= {"fixed_line", "fixed_line_or_mobile", "mobile", "pager", "personal_number", "premium_rate",
                                                                         "shared_cost", "toll_free", "uan", "unknown", "voicemail", "voip"})),
    Fact("8.5", "legacy /lookup?type=hlr", [ask("GET", "/api/lookup", params={"type": "hlr", "number": DE})], that(lambda r: "reachable" in r.json())),
    # -- 8.6 numbers -------------------------------------------------------------------------
    Fact("8.6", "available numbers", [ask("GET", "/api/numbers/available", params={"country": "DE", "features_sms": "1"})],
         that(lambda r: {"country", "number", "number_parsed", "fees", "features"} <= set(r.json()["availableNumbers"][0])
              and {"monthly", "annually", "sms_mo", "voice_mo"} <= set(r.json()["availableNumbers"][0]["fees"]))),
    Fact("8.6", "order: success and error null", [ask("GET", "/api/numbers/available", params={"country": "DE"}),
                                                  ask("POST", "/api/numbers/order", data=lambda c: {"number": c.json(0)["availableNumbers"][0]["number"]})],
         answers(200, {"success": True, "error": None})),
    Fact("8.6", "active numbers", [ask("GET", "/api/numbers/active")],
         that(lambda r: {"number", "country", "friendly_name", "billing", "features", "forward_sms_mo", "expires", "created"} <= set(r.json()["activeNumbers"][0]))),
    Fact("8.6", "PATCH an active number: friendly_name, the updated number", [ask("PATCH", "/api/numbers/active/4915799912345", data={"friendly_name": "Hotline"})],
         that(lambda r: r.json()["friendly_name"] == "Hotline" and r.json()["number"] == "4915799912345")),
    Fact("8.6", "DELETE an active number: success", [ask("DELETE", "/api/numbers/active/4915799912345", params={"delete_immediately": "true"})],
         that(lambda r: r.json()["success"] is True)),
    # -- 8.7 subaccounts ---------------------------------------------------------------------
    Fact("8.7", "create: success, error null, the subaccount", [ask("POST", "/api/subaccounts/create", data=SUB)],
         that(lambda r: (r.json()["success"], r.json()["error"]) == (True, None) and r.json()["subaccount"]["company"] is None)),
    Fact("8.7", "list by ?action=read", [ask("POST", "/api/subaccounts/create", data=SUB), ask("GET", "/api/subaccounts", params={"action": "read"})],
         that(lambda r: len(r.json()) == 1)),
    Fact("8.7", "list by /read (JS SDK)", [ask("POST", "/api/subaccounts/create", data=SUB), ask("GET", "/api/subaccounts/read")], that(lambda r: len(r.json()) == 1)),
    Fact("8.7", "list by /list (seed)", [ask("POST", "/api/subaccounts/create", data=SUB), ask("GET", "/api/subaccounts/list")], that(lambda r: len(r.json()) == 1)),
    Fact("8.7", "create by POST action=create", [ask("POST", "/api/subaccounts", data={**SUB, "action": "create"})], body_has(success=True)),
    Fact("8.7", "transfer_credits: success, error null", [ask("POST", "/api/subaccounts/create", data=SUB),
                                                          ask("POST", "/api/subaccounts/transfer_credits", data=lambda c: {"id": c.json(0)["subaccount"]["id"], "amount": "5"})],
         answers(200, {"success": True, "error": None})),
    Fact("8.7", "update (auto top-up): success, error null", [ask("POST", "/api/subaccounts/create", data=SUB),
                                                              ask("POST", "/api/subaccounts/update", data=lambda c: {"id": c.json(0)["subaccount"]["id"], "threshold": "1", "amount": "5"})],
         answers(200, {"success": True, "error": None})),
    Fact("8.7", "delete: success, error null", [ask("POST", "/api/subaccounts/create", data=SUB),
                                                ask("POST", "/api/subaccounts/delete", data=lambda c: {"id": c.json(0)["subaccount"]["id"]})],
         answers(200, {"success": True, "error": None})),
    Fact("8.7", "negative amount refused", [ask("POST", "/api/subaccounts/create", data=SUB),
                                            ask("POST", "/api/subaccounts/transfer_credits", data=lambda c: {"id": c.json(0)["subaccount"]["id"], "amount": "-5"})],
         that(lambda r: r.json()["success"] is False, 400)),
    Fact("8.7", "failure: success false and a text", [ask("POST", "/api/subaccounts/create", data={"name": "", "email": "x@example.com"})],
         that(lambda r: r.json()["success"] is False and isinstance(r.json()["error"], str), 400)),
    # -- 8.8 contacts ------------------------------------------------------------------------
    Fact("8.8", "list: data and pagingMetadata", [ask("POST", "/api/contacts", data={"firstname": "A"}), ask("GET", "/api/contacts")],
         that(lambda r: set(r.json()["pagingMetadata"]) == {"offset", "count", "total", "limit", "has_more"} and len(r.json()["data"]) == 1)),
    Fact("8.8", "contact fields", [ask("POST", "/api/contacts", data={"firstname": "A", "mobile_number": DE})],
         that(lambda r: isinstance(r.json()["id"], int) and {"id", "avatar", "validation", "initials", "properties", "groups", "created"} <= set(r.json())
              and r.json()["properties"]["lastname"] is None and r.json()["validation"]["state"] == "valid")),
    Fact("8.8", "DELETE /contacts/{id}: success", [ask("POST", "/api/contacts", data={"firstname": "A"}), ask("DELETE", lambda c: f"/api/contacts/{c.json(0)['id']}")],
         that(lambda r: r.json()["success"] is True)),
    Fact("8.8", "group fields", [ask("POST", "/api/groups", data={"name": "Team"})], that(lambda r: {"id", "name", "members_count", "created"} <= set(r.json()))),
    Fact("8.8", "DELETE /groups/{id}?delete_contacts=true", [ask("POST", "/api/groups", data={"name": "Team"}),
                                                             ask("DELETE", lambda c: f"/api/groups/{c.json(0)['id']}", params={"delete_contacts": "true"})],
         that(lambda r: r.json()["success"] is True)),
    Fact("8.8", "legacy contacts read: quoted ;-separated id;nick;number",
         [ask("POST", "/api/contacts", T, data={"action": "write", "nick": "Peter", "empfaenger": "004901234567890"}), ask("GET", "/api/contacts", T, params={"action": "read"})],
         that(lambda r: re.fullmatch(r'"\d+";"Peter";"004901234567890"', r.text) is not None)),
    Fact("8.8", "legacy contacts read with json=1", [ask("POST", "/api/contacts", T, data={"action": "write", "nick": "Peter"}),
                                                     ask("GET", "/api/contacts", T, params={"action": "read", "json": "1"})],
         that(lambda r: set(r.json()[0]) == {"ID", "Name", "Number"})),
    Fact("8.8", "legacy contacts write: 152, JSON {return, id}", [ask("POST", "/api/contacts", data={"action": "write", "nick": "Peter"})],
         that(lambda r: r.json()["return"] == "152" and isinstance(r.json()["id"], int))),
    Fact("8.8", "legacy contacts del of an unknown id: 151", [ask("POST", "/api/contacts", T, data={"action": "del", "id": "42"})], that(lambda r: r.text == "151", 404)),
    # -- 8.9 RCS -----------------------------------------------------------------------------
    Fact("8.9", "RCS send: the SMS envelope, messages with channel and fallback", [ask("POST", "/api/rcs/messages", data={**SMS, "fallback": "sms"})],
         that(lambda r: r.json()["success"] == "100" and {"channel", "fallback"} <= set(r.json()["messages"][0]))),
    Fact("8.9", "GET /rcs/agents", [ask("GET", "/api/rcs/agents")], that(lambda r: "agents" in r.json())),
    # -- 9 quirks ----------------------------------------------------------------------------
    Fact("9", "no rate limit: 30 quick requests all pass", [ask("GET", "/api/balance") for _ in range(30)], body_has(currency="EUR")),
    Fact("9", "delay as a millisecond epoch (one SDK)", [ask("POST", "/api/sms", data={**SMS, "delay": "1767229200000"}),
                                                         ask("GET", "/api/status", params=lambda c: {"msg_id": _sms_id(c)})],
         that(lambda r: r.json()[0]["status"] is None)),
    # -- 11 clients of both generations ------------------------------------------------------
    Fact("11", "Accept: */* gets the plain-text forms", [ask("GET", "/api/balance", {"X-Api-Key": SEVEN_KEY, "Accept": "*/*"})], answers(200, text="100.0")),
    Fact("11", "POST with everything in the query and an empty body", [ask("POST", "/api/sms", {}, params={**SMS, "p": SEVEN_KEY})], answers(200, text="100")),
    Fact("11", "to as a JSON array", [ask("POST", "/api/sms", json={"to": [DE, DE2], "text": "x"})], that(lambda r: len(r.json()["messages"]) == 2)),
    Fact("11", "Content-Type: application/json on a GET without a body", [ask("GET", "/api/balance", {**J, "Content-Type": "application/json"})], body_has(currency="EUR")),
    Fact("11", "signed URL includes scheme, host, port and query", [ask("GET", "/api/balance", signed("GET", "http://emulator.test/api/balance?a=1"), params={"a": "1"})],
         body_has(currency="EUR")),
]


# Receivers' answers for the retry rows: 308 (success), 503 (retried), 404 (not retried).
_RECEIVER_STATUSES = {
    "a 3xx answer is success (not retried)": [308],
    "429 and 5xx are retried: +1 min, +5 min": [503, 429, 500, 200],
    "other 4xx are not retried": [404],
}


def _param(fact: Fact):
    marks = [pytest.mark.xfail(reason=fact.xfail, strict=True)] if fact.xfail else []
    return pytest.param(fact, id=f"{fact.section} {fact.fact}", marks=marks)


def test_every_row_is_named_once():
    names = [f"{fact.section} {fact.fact}" for fact in FACTS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("fact", [_param(fact) for fact in FACTS])
async def test_fact(emulator, client, fact: Fact):
    emulator.receiver.statuses = _RECEIVER_STATUSES.get(fact.fact, [200])
    ctx = Ctx(emulator)
    for step in fact.steps:
        if isinstance(step, float):
            await emulator.advance(step)
            continue
        kwargs: dict[str, Any] = {"headers": _value(step.headers, ctx)}
        for name in ("data", "json", "params"):
            value = _value(getattr(step, name), ctx)
            if value is not None:
                kwargs[name] = value
        response = await client.request(step.method, _value(step.path, ctx), **kwargs)
        assert response.status_code < 500, response.text
        ctx.answers.append(response)
    fact.check(ctx.answers[-1] if ctx.answers else None, ctx)

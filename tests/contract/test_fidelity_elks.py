"""46elks fidelity: one row per checkable fact of the behaviour reference
(`reference/46elks.md`, kept beside the seed specs), each citing its section, run in-process
against the app on a virtual clock.

A row is a request (or a few) and what 46elks answers. Facts the emulator cannot match are
marked `xfail(strict=True)` with the reason, and listed in the README's "Fidelity and
limitations"; facts that need the real network (retries over 24 h, handsets) are checked where
the emulator simulates them. Refusals with their exact texts are also in `test_errors_elks.py`.
"""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpx
import pytest
from PIL import Image

from emulator.core.calls import CallOutcome, CallRule
from support import ELKS_ACCOUNT, ELKS_AUTH, ELKS_OTHER_AUTH, ELKS_SUB_ACCOUNT, ELKS_SUB_AUTH, Emulator, Received, Receiver, make_engine, running_emulator

OUR_NUMBER = "+46766861001"  # the default account's sms, voice and mms number
NUMBER_ID = "n53c05a4e002ae26f790cbaf82b93bc37"
PHONE = "+46701234567"
HOOKS = "http://hooks.test"
TEXT = "text/plain; charset=utf-8"
CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")  # no zone, six fraction digits


def hex_id(prefix: str) -> re.Pattern[str]:
    return re.compile(prefix + r"[0-9a-f]{32}")


def png_uri() -> str:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


class ScriptedReceiver(Receiver):
    """Answers each webhook path with what `answers` holds for it: an action dict (JSON), a text,
    or a (status, text) pair; `200` with an empty body otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, Any] = {}

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append(Received(request.method, str(request.url), request.headers, body))
        answer = self.answers.get(request.url.path, "")
        status, text = answer if isinstance(answer, tuple) else (200, answer)
        if isinstance(text, dict):
            return httpx.Response(status, json=text)
        return httpx.Response(status, text=text)

    def path(self, path: str) -> list[Received]:
        return [r for r in self.requests if httpx.URL(r.url).path == path]


@dataclass
class Elks:
    """The probe's handle: the emulator and short ways to call it as the default account."""

    emulator: Emulator

    @property
    def receiver(self) -> ScriptedReceiver:
        return self.emulator.receiver  # type: ignore[return-value]

    @property
    def engine(self):
        return self.emulator.engine

    async def get(self, path: str, auth: Any = ELKS_AUTH, **params: Any) -> httpx.Response:
        return await self.emulator.client.get(path, params=params, auth=auth)

    async def post(self, path: str, auth: Any = ELKS_AUTH, **data: Any) -> httpx.Response:
        return await self.emulator.client.post(path, data=data, auth=auth)

    async def ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    async def sms(self, auth: Any = ELKS_AUTH, **fields: Any) -> httpx.Response:
        data = {"from": "ElkCo", "to": "+46700000123", "message": "Hello"} | fields
        return await self.post("/a1/SMS", auth=auth, **{k: v for k, v in data.items() if v is not None})

    async def call(self, action: Any = None, **fields: Any) -> dict[str, Any]:
        data = {"from": OUR_NUMBER, "to": PHONE, "voice_start": json.dumps(action or {"play": "sound/beep"})} | fields
        return await self.ok(await self.post("/a1/Calls", **data))

    async def run_call(self, call_id: str, limit: int = 600) -> None:
        for _ in range(limit):
            if self.engine.calls.get(call_id).status in ("ended", "busy", "no_answer", "failed"):
                return
            await self.advance(1)
        raise AssertionError(f"call {call_id} did not end")

    async def advance(self, seconds: float) -> None:
        await self.emulator.advance(seconds)

    def balance(self, account_id: str = ELKS_ACCOUNT) -> int:
        return self.emulator.balance(account_id)

    async def inbound_sms(self, text: str = "Hello elk", sender: str = PHONE) -> dict[str, Any]:
        response = await self.emulator.client.post("/_emulator/inbound/sms", json={"to": OUR_NUMBER, "from": sender, "text": text})
        assert response.status_code == 200, response.text
        assert await self.engine.outbox.drain()
        return response.json()

    async def configure(self, **settings: str) -> None:
        await self.ok(await self.post(f"/a1/numbers/{NUMBER_ID}", **settings))

    async def refused(self, response: httpx.Response, status: int, text: str | None = None, prefix: str | None = None) -> None:
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"] == TEXT
        if text is not None:
            assert response.text == text
        if prefix is not None:
            assert response.text.startswith(prefix), response.text


Probe = Callable[[Elks], Awaitable[None]]
FACTS: list[Any] = []


def fact(section: str, text: str, xfail: str | None = None) -> Callable[[Probe], Probe]:
    """Register one row: `section` of the reference, the fact in a few words, and why it fails
    when the emulator cannot match it."""
    def register(probe: Probe) -> Probe:
        marks = [pytest.mark.xfail(reason=xfail, strict=True)] if xfail else []
        FACTS.append(pytest.param(probe, id=f"[{section}] {text}", marks=marks))
        return probe
    return register


@pytest.fixture
async def elks() -> Any:
    async with running_emulator(make_engine(), ScriptedReceiver()) as running:
        yield Elks(running)


@pytest.mark.parametrize("probe", FACTS)
async def test_46elks_fact(elks: Elks, probe: Probe) -> None:
    await probe(elks)


# == §0 Global conventions =========================================================================


@fact("0", "a POST body is application/x-www-form-urlencoded")
async def _(e: Elks) -> None:
    body = "from=ElkCo&to=%2B46700000123&message=Hej+d%C3%A5"
    response = await e.emulator.client.post("/a1/SMS", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, auth=ELKS_AUTH)
    assert (await e.ok(response))["message"] == "Hej då"


@fact("0", "a create answers 200 with JSON, not 201")
async def _(e: Elks) -> None:
    response = await e.sms()
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")


@fact("0", "an error body is plain text, not JSON")
async def _(e: Elks) -> None:
    await e.refused(await e.sms(to=None), 403, "Missing key to")


@fact("0", "booleans are the strings yes and no")
async def _(e: Elks) -> None:
    number = await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}"))
    assert (number["active"], number["sms_replies"]) == ("yes", "yes")
    assert (await e.ok(await e.sms(flashsms="yes")))["flashsms"] == "yes"


@fact("0", "a list is {data, next} and next is there only while more items exist")
async def _(e: Elks) -> None:
    for _ in range(3):
        await e.sms()
    page = await e.ok(await e.get("/a1/SMS", limit=2))
    assert set(page) == {"data", "next"} and len(page["data"]) == 2
    rest = await e.ok(await e.get("/a1/SMS", limit=2, start=page["next"]))
    assert set(rest) == {"data"} and len(rest["data"]) == 1


@fact("0", "a page holds at most 100 items; limit lowers it")
async def _(e: Elks) -> None:
    for _ in range(102):
        await e.sms()
    full = await e.ok(await e.get("/a1/SMS"))
    assert len(full["data"]) == 100 and "next" in full
    assert len((await e.ok(await e.get("/a1/SMS", limit=5)))["data"]) == 5
    above = await e.ok(await e.get("/a1/SMS", limit=500))
    assert len(above["data"]) == 100 and above["next"] == full["next"]


@fact("0", "money is an integer in 1/10000 of the currency")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms())
    me = await e.ok(await e.get("/a1/me"))
    assert body["cost"] == 3500 and isinstance(me["balance"], int) and isinstance(me["creditalert"], int)


@fact("0", "timestamps are UTC ISO-8601 with six fraction digits and no zone")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms())
    assert CREATED.fullmatch(body["created"])
    listed = (await e.ok(await e.get("/a1/SMS")))["data"][0]
    assert CREATED.fullmatch(listed["created"])


@fact("0", "a number's expires has no fraction")
async def _(e: Elks) -> None:
    number = await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", number["expires"])


@fact("0", "SMS history shows delivered as 2017-03-14T09:52:10Z")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms())
    await e.advance(2)
    stored = await e.ok(await e.get(f"/a1/SMS/{body['id']}"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stored["delivered"])


@fact("0", "the incoming-MMS hook's created has a space: 2016-11-03 12:30:18.937464")
async def _(e: Elks) -> None:
    await e.configure(mms_url=f"{HOOKS}/mms")
    response = await e.emulator.client.post("/_emulator/inbound/mms", json={"to": OUR_NUMBER, "from": PHONE, "text": "Look", "images": [png_uri()]})
    assert response.status_code == 200, response.text
    assert await e.engine.outbox.drain()
    (hook,) = e.receiver.path("/mms")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", hook.form["created"])


@fact("0", "numbers are E.164 with a leading + everywhere")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(**{"from": OUR_NUMBER}))
    assert (body["to"], body["from"]) == ("+46700000123", OUR_NUMBER)
    number = await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}"))
    me = await e.ok(await e.get("/a1/me"))
    assert number["number"].startswith("+") and me["mobilenumber"].startswith("+")


# -- §0.1 path casing, §0.2 GET as POST ----------------------------------------------------------


for _path in ("/a1/sms", "/a1/SMS", "/a1/mms", "/a1/MMS", "/a1/calls", "/a1/Calls", "/a1/numbers", "/a1/Numbers",
              "/a1/me", "/a1/Me", "/a1/subaccounts", "/a1/Subaccounts", "/a1/images", "/a1/recordings", "/a1/Recordings"):
    def _casing(path: str) -> Probe:
        async def probe(e: Elks) -> None:
            assert (await e.get(path)).status_code == 200
        return probe
    fact("0.1", f"GET {_path} answers in either casing")(_casing(_path))


@fact("0.1", "capitalised /Numbers/{id} and /Subaccounts/{id} answer")
async def _(e: Elks) -> None:
    await e.ok(await e.get(f"/a1/Numbers/{NUMBER_ID}"))
    await e.ok(await e.get(f"/a1/Subaccounts/{ELKS_SUB_ACCOUNT}"))


@fact("0.1", "/Recordings/<id>.wav answers the audio")
async def _(e: Elks) -> None:
    call = await e.call({"record": f"{HOOKS}/rec", "timelimit": 2})
    await e.run_call(call["id"])
    response = await e.get(f"/a1/Recordings/{call['id']}-r0.wav")
    assert response.status_code == 200 and response.content[:4] == b"RIFF"


@fact("0.2", "GET <resource>/POST?... does the POST")
async def _(e: Elks) -> None:
    response = await e.get("/a1/sms/POST", to="+46700000123", **{"from": "ElkCo"}, message="Hello")
    body = await e.ok(response)
    assert body["status"] == "created" and (await e.ok(await e.get(f"/a1/SMS/{body['id']}")))["message"] == "Hello"


# -- §0.3 extra resources --------------------------------------------------------------------------


@fact("0.3", "GET /billing: {data: [{id, created, reference, cost, subaccount?}]}, reference /<category>/...")
async def _(e: Elks) -> None:
    sent = await e.ok(await e.sms())
    (row,) = (await e.ok(await e.get("/a1/billing")))["data"]
    assert set(row) == {"id", "created", "reference", "cost"}
    assert (row["reference"].split("/")[1], row["reference"], row["cost"]) == ("sms", f"/sms/{sent['id']}", 3500)


@fact("0.3", "GET /billing names the subaccount of a subaccount's charge")
async def _(e: Elks) -> None:
    await e.ok(await e.sms(auth=ELKS_SUB_AUTH))
    (row,) = (await e.ok(await e.get("/a1/billing")))["data"]
    assert row["subaccount"] == ELKS_SUB_ACCOUNT


@fact("0.3", "GET /transactions: {data: [{id, details, created, amount}]}")
async def _(e: Elks) -> None:
    rows = (await e.ok(await e.get("/a1/transactions")))["data"]
    assert rows and all(set(row) == {"id", "details", "created", "amount"} for row in rows)


# -- §0.4 ids ---------------------------------------------------------------------------------------


@fact("0.4", "account id is u + 32 hex")
async def _(e: Elks) -> None:
    assert hex_id("u").fullmatch((await e.ok(await e.get("/a1/me")))["id"])


@fact("0.4", "SMS id is s + 32 hex")
async def _(e: Elks) -> None:
    assert hex_id("s").fullmatch((await e.ok(await e.sms()))["id"])


@fact("0.4", "MMS id is m + 32 hex, with owner = the account id")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **{"from": OUR_NUMBER, "to": "+46700000123", "message": "Hej!"}))
    assert hex_id("m").fullmatch(body["id"]) and body["owner"] == ELKS_ACCOUNT


@fact("0.4", "call id is c + 32 hex, with owner = the account id")
async def _(e: Elks) -> None:
    body = await e.call()
    assert hex_id("c").fullmatch(body["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["owner"] == ELKS_ACCOUNT


@fact("0.4", "number id is n + 32 hex")
async def _(e: Elks) -> None:
    assert hex_id("n").fullmatch((await e.ok(await e.post("/a1/numbers", country="se")))["id"])


@fact("0.4", "image id is <mms id>-i<k> from 0")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **{"from": OUR_NUMBER, "to": "+46700000123", "image": png_uri(), "image2": png_uri()}))
    assert body["images"] == [f"{body['id']}-i0", f"{body['id']}-i1"]


@fact("0.4", "recording id is <call id>-r<k> from 0")
async def _(e: Elks) -> None:
    call = await e.call({"record": f"{HOOKS}/rec", "timelimit": 2})
    await e.run_call(call["id"])
    assert [r["id"] for r in (await e.ok(await e.get("/a1/recordings")))["data"]] == [f"{call['id']}-r0"]


@fact("0.4", "a subaccount id is 32 chars starting with a; its secret 32 upper-case hex")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/subaccounts", name="Shop"))
    assert re.fullmatch(r"a[0-9a-f]{31}", body["id"]) and re.fullmatch(r"[0-9A-F]{32}", body["secret"])


# == §1 Authentication =============================================================================


@fact("1", "HTTP Basic with the API username and password")
async def _(e: Elks) -> None:
    await e.ok(await e.get("/a1/me"))


@fact("1", "the account id (u...) works as the API username")
async def _(e: Elks) -> None:
    me = await e.ok(await e.get("/a1/me", auth=(ELKS_ACCOUNT, ELKS_AUTH[1])))
    assert me["id"] == ELKS_ACCOUNT


@fact("1", "credentials in the URL are Basic auth")
async def _(e: Elks) -> None:
    user, password = ELKS_AUTH
    response = await e.emulator.client.get(f"http://{user}:{password}@emulator.test/a1/me")
    assert (await e.ok(response))["id"] == ELKS_ACCOUNT


@fact("1", "a subaccount logs in with its id and the secret read from /Subaccounts/<id>")
async def _(e: Elks) -> None:
    secret = (await e.ok(await e.get(f"/a1/Subaccounts/{ELKS_SUB_ACCOUNT}")))["secret"]
    me = await e.ok(await e.get("/a1/me", auth=(ELKS_SUB_ACCOUNT, secret)))
    assert me["id"] == ELKS_SUB_ACCOUNT


@fact("1", "a subaccount's sends spend its usagelimit; balanceused grows")
async def _(e: Elks) -> None:
    main_before = e.balance()
    await e.ok(await e.sms(auth=ELKS_SUB_AUTH))
    sub = await e.ok(await e.get(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}"))
    assert sub["balanceused"] == 3500 and e.balance() == main_before


@fact("1", "wrong or missing credentials answer 401")
async def _(e: Elks) -> None:
    assert (await e.get("/a1/me", auth=("test_user", "wrong"))).status_code == 401
    assert (await e.get("/a1/me", auth=None)).status_code == 401


@fact("1", "a deactivated subaccount loses its secret, and its credentials answer 401")
async def _(e: Elks) -> None:
    await e.ok(await e.post(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}", active="no"))
    sub = await e.ok(await e.get(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}"))
    assert "secret" not in sub and sub["active"] == "no" and "deactivated" in sub
    assert (await e.get("/a1/me", auth=ELKS_SUB_AUTH)).status_code == 401


# == §2 Errors =====================================================================================


@fact("2.1", "a disallowed method answers 403 or 404, never 405, with no Allow header")
async def _(e: Elks) -> None:
    for method in ("PUT", "PATCH", "OPTIONS"):
        response = await e.emulator.client.request(method, "/a1/SMS", auth=ELKS_AUTH)
        assert response.status_code in (403, 404) and "allow" not in response.headers
    assert (await e.emulator.client.delete("/a1/me", auth=ELKS_AUTH)).status_code in (403, 404)


@fact("2.1", "an unknown id answers 404 with plain text")
async def _(e: Elks) -> None:
    await e.refused(await e.get("/a1/SMS/s" + "0" * 32), 404)


@fact("2.1", "at balance 0 every chargeable request fails with Not enough credits")
async def _(e: Elks) -> None:
    e.engine.store.accounts[ELKS_ACCOUNT].balance = 0
    await e.refused(await e.sms(), 403, prefix="Not enough credits")
    await e.refused(await e.post("/a1/MMS", **{"from": OUR_NUMBER, "to": "+46700000123", "message": "x"}), 403, prefix="Not enough credits")
    await e.refused(await e.post("/a1/Calls", **{"from": OUR_NUMBER, "to": PHONE, "voice_start": '{"play": "sound/beep"}'}), 403, prefix="Not enough credits")
    await e.refused(await e.post("/a1/numbers", country="se"), 403, prefix="Not enough credits")


for _field in ("from", "to", "message"):
    def _missing(field: str) -> Probe:
        async def probe(e: Elks) -> None:
            await e.refused(await e.sms(**{field: None}), 403, f"Missing key {field}")
        return probe
    fact("2.2", f"POST /sms without {_field}: Missing key {_field}")(_missing(_field))


@fact("2.2", "Missing key voice_start")
async def _(e: Elks) -> None:
    await e.refused(await e.post("/a1/Calls", **{"from": OUR_NUMBER, "to": PHONE}), 403, "Missing key voice_start")


@fact("2.2", "Invalid to number")
async def _(e: Elks) -> None:
    await e.refused(await e.sms(to="hello"), 403, "Invalid to number")


@fact("2.2", "Invalid from number for a number the account does not own")
async def _(e: Elks) -> None:
    await e.refused(await e.sms(**{"from": "+46709999999"}), 403, "Invalid from number")


@fact("2.2", "Not enough credits for a subaccount over its usagelimit")
async def _(e: Elks) -> None:
    e.engine.store.accounts[ELKS_SUB_ACCOUNT].balance = 100
    await e.refused(await e.sms(auth=ELKS_SUB_AUTH), 403, prefix="Not enough credits")


@fact("2.2", "Too long ... for a text over the limit")
async def _(e: Elks) -> None:
    await e.refused(await e.sms(message="a" * 1531), 403, prefix="Too long ")


@fact("2.2", "The sms_url you tried to use is not a valid URL")
async def _(e: Elks) -> None:
    await e.refused(await e.post(f"/a1/numbers/{NUMBER_ID}", sms_url="not a url"), 403, "The sms_url you tried to use is not a valid URL")


@fact("2.2", "Invalid number id (404) for an unknown number")
async def _(e: Elks) -> None:
    await e.refused(await e.get("/a1/numbers/n" + "0" * 32), 404, "Invalid number id")
    await e.refused(await e.post("/a1/numbers/n" + "0" * 32, name="x"), 404, "Invalid number id")


@fact("2.3", "Unable to allocate number. when no number can be had")
async def _(e: Elks) -> None:
    await e.refused(await e.post("/a1/numbers", country="zz"), 403, prefix="Unable to allocate number.")


@fact("2.3", "Unable to get subaccount. for an unknown subaccount")
async def _(e: Elks) -> None:
    await e.refused(await e.get("/a1/subaccounts/a" + "0" * 31), 404, "Unable to get subaccount.")


# == §3 SMS =========================================================================================


for _sender, _ok in (("ElkCo", True), ("Elk", True), ("ElkCompany1", True), ("Elk Co", True), ("Elk.Co", True),
                     ("El", False), ("ElkCompany12", False), ("1Elk", False), ("Elk!Co", False), ("Älg", False)):
    def _alpha(sender: str, accepted: bool) -> Probe:
        async def probe(e: Elks) -> None:
            response = await e.sms(**{"from": sender})
            if accepted:
                assert (await e.ok(response))["from"] == sender
            else:
                await e.refused(response, 403, "Invalid from number")
        return probe
    _rule = "accepted" if _ok else "refused"
    fact("3.1", f"alphanumeric sender {_sender!r} is {_rule} (A-Z a-z 0-9, 3-11, not starting with a digit; spaces and dots pass)")(_alpha(_sender, _ok))


@fact("3.1", "from may be an own 46elks number or the signup number")
async def _(e: Elks) -> None:
    assert (await e.ok(await e.sms(**{"from": OUR_NUMBER})))["from"] == OUR_NUMBER
    assert (await e.ok(await e.sms(**{"from": "+46700000001"})))["from"] == "+46700000001"


@fact("3.1", "to a US number an alphanumeric sender is replaced by a number")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(to="+14155550100"))
    assert body["from"].startswith("+1") and body["from"] != "ElkCo"
    assert (await e.ok(await e.sms(to="+46700000123")))["from"] == "ElkCo"


@fact("3.1", "to in local format with the ISO country prefix (SE0723175800)")
async def _(e: Elks) -> None:
    assert (await e.ok(await e.sms(to="SE0723175800")))["to"] == "+46723175800"


@fact("3.1", "message may be any Unicode, emoji included")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(message="Hej 🦌 ÅÄÖ"))
    assert body["message"] == "Hej 🦌 ÅÄÖ" and body["parts"] == 1


@fact("3.1", "flashsms=yes is echoed as flashsms: yes")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(flashsms="yes"))
    assert body["flashsms"] == "yes"
    assert (await e.ok(await e.get(f"/a1/SMS/{body['id']}")))["flashsms"] == "yes"


@fact("3.1", "dontlog=message keeps the text out of the answer and of history")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(dontlog="message", message="1234"))
    assert "message" not in body
    stored = await e.ok(await e.get(f"/a1/SMS/{body['id']}"))
    assert "message" not in stored and stored["to"] == "+46700000123"


@fact("3.1", "explicit negatives (dryrun=no, flashsms=no, dontlog=) count as off")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(dryrun="no", flashsms="no", dontlog=""))
    assert body["message"] == "Hello" and "flashsms" not in body and "id" in body


@fact("3.1", "an unknown parameter (flash=yes) is ignored")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(flash="yes"))
    assert "flashsms" not in body and body["status"] == "created"


@fact("3.2", "the send answers status created with id, direction, from, to, created, message, cost, parts")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms())
    assert set(body) == {"id", "status", "direction", "from", "to", "created", "message", "cost", "parts"}
    assert (body["status"], body["direction"], body["from"], body["to"], body["message"], body["cost"], body["parts"]) == (
        "created", "outgoing", "ElkCo", "+46700000123", "Hello", 3500, 1)


@fact("3.2", "cost covers all parts")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(message="a" * 161))
    assert (body["parts"], body["cost"]) == (2, 7000)


@fact("3.2", "dryrun answers estimated_cost, parts, status, from, to, message; no id, nothing stored or charged")
async def _(e: Elks) -> None:
    before = e.balance()
    body = await e.ok(await e.sms(dryrun="yes"))
    assert {"estimated_cost", "parts", "status", "from", "to", "message"} <= set(body)
    assert "id" not in body and "cost" not in body and body["estimated_cost"] == 3500
    assert e.balance() == before and (await e.ok(await e.get("/a1/SMS")))["data"] == []


@fact("3.3", "status goes created -> sent -> delivered")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms())
    seen = [body["status"]]
    for _ in range(2):
        await e.advance(0.5)
        seen.append((await e.ok(await e.get(f"/a1/SMS/{body['id']}")))["status"])
    assert seen == ["created", "sent", "delivered"]


@fact("3.3", "a failed delivery ends in failed")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(to="+46700000404"))
    await e.advance(2)
    assert (await e.ok(await e.get(f"/a1/SMS/{body['id']}")))["status"] == "failed"


for _message, _parts in (("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("å" * 160, 1),
                         ("ж" * 70, 1), ("ж" * 71, 2), ("ж" * 134, 2), ("ж" * 135, 3), ("€" * 80, 1), ("€" * 81, 2),
                         ("😀" * 35, 1), ("😀" * 36, 2)):
    def _parts_probe(message: str, parts: int) -> Probe:
        async def probe(e: Elks) -> None:
            assert (await e.ok(await e.sms(message=message)))["parts"] == parts
        return probe
    fact("3.4", f"{len(_message)} x {_message[0]!r} is {_parts} part(s) (GSM 160/153, UCS-2 70/67, extension chars and emoji count 2)")(
        _parts_probe(_message, _parts))


@fact("3.4", "1530 characters are accepted")
async def _(e: Elks) -> None:
    assert (await e.ok(await e.sms(message="a" * 1530)))["parts"] == 10


@fact("3.5", "GET /sms is newest first; start = older than, end = newer than")
async def _(e: Elks) -> None:
    ids = [(await e.ok(await e.sms(message=str(k))))["id"] for k in range(3)]
    listed = (await e.ok(await e.get("/a1/SMS")))["data"]
    assert [m["id"] for m in listed] == ids[::-1]
    older = (await e.ok(await e.get("/a1/SMS", start=listed[0]["created"])))["data"]
    newer = (await e.ok(await e.get("/a1/SMS", end=listed[2]["created"])))["data"]
    assert [m["id"] for m in older] == ids[1::-1] and [m["id"] for m in newer] == ids[:0:-1]


@fact("3.5", "GET /sms?to= filters by recipient")
async def _(e: Elks) -> None:
    await e.ok(await e.sms(to="+46700000123"))
    mine = await e.ok(await e.sms(to="+46700000124"))
    assert [m["id"] for m in (await e.ok(await e.get("/a1/SMS", to="+46700000124")))["data"]] == [mine["id"]]


@fact("3.5", "next is a timestamp passed as start for the older page, until it is missing")
async def _(e: Elks) -> None:
    ids = [(await e.ok(await e.sms()))["id"] for _ in range(5)]
    seen, start = [], None
    for _ in range(5):
        page = await e.ok(await e.get("/a1/SMS", limit=2, **({"start": start} if start else {})))
        seen += [m["id"] for m in page["data"]]
        if "next" not in page:
            break
        assert CREATED.fullmatch(page["next"])
        start = page["next"]
    assert seen == ids[::-1]


@fact("3.5", "incoming SMS are listed with direction incoming")
async def _(e: Elks) -> None:
    inbound = await e.inbound_sms()
    (item,) = (await e.ok(await e.get("/a1/SMS")))["data"]
    assert (item["id"], item["direction"], item["from"], item["to"], item["message"]) == (inbound["id"], "incoming", PHONE, OUR_NUMBER, "Hello elk")


@fact("3.5", "a reply from the sms_url answer is listed as outgoing-reply")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    e.receiver.answers["/sms"] = {"reply": "Thanks"}
    await e.inbound_sms()
    listed = (await e.ok(await e.get("/a1/SMS")))["data"]
    assert [(m["direction"], m["message"]) for m in listed] == [("outgoing-reply", "Thanks"), ("incoming", "Hello elk")]


@fact("3.5", "GET /sms/{id} has id, direction, from, to, created, delivered?, message?, status?, cost?, parts?, flashsms?")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(flashsms="yes"))
    await e.advance(2)
    stored = await e.ok(await e.get(f"/a1/SMS/{body['id']}"))
    assert set(stored) <= {"id", "direction", "from", "to", "created", "delivered", "message", "status", "cost", "parts", "flashsms"}
    assert {"id", "direction", "from", "to", "created", "delivered"} <= set(stored)


@fact("3.5", "DELETE /sms/{id} answers {id, deleted}; then GET is 404 plain text and the list leaves it out")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms())
    deleted = await e.ok(await e.emulator.client.delete(f"/a1/SMS/{body['id']}", auth=ELKS_AUTH))
    assert set(deleted) == {"id", "deleted"} and deleted["id"] == body["id"] and CREATED.fullmatch(deleted["deleted"])
    await e.refused(await e.get(f"/a1/SMS/{body['id']}"), 404)
    assert (await e.ok(await e.get("/a1/SMS")))["data"] == []


@fact("3.5", "the unofficial direction parameter on GET /sms is accepted")
async def _(e: Elks) -> None:
    await e.ok(await e.sms())
    assert (await e.get("/a1/SMS", direction="outgoing")).status_code == 200


# == §4 Delivery reports ============================================================================


@fact("4", "each state change is POSTed form-encoded to whendelivered: sent, then delivered with its time")
async def _(e: Elks) -> None:
    body = await e.ok(await e.sms(whendelivered=f"{HOOKS}/dlr"))
    await e.advance(2)
    sent, delivered = e.receiver.path("/dlr")
    assert sent.method == "POST" and sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.form == {"id": body["id"], "status": "sent"}
    assert set(delivered.form) == {"id", "status", "delivered"} and delivered.form["status"] == "delivered"


@fact("4", "a failed SMS reports failed")
async def _(e: Elks) -> None:
    await e.ok(await e.sms(to="+46700000404", whendelivered=f"{HOOKS}/dlr"))
    await e.advance(2)
    assert [r.form["status"] for r in e.receiver.path("/dlr")] == ["sent", "failed"]


@fact("4", "user:pass@ in the URL is sent as Basic auth and query parameters are kept")
async def _(e: Elks) -> None:
    await e.ok(await e.sms(whendelivered="http://me:secret@hooks.test/dlr?key=abc"))
    await e.advance(2)
    report = e.receiver.path("/dlr")[0]
    assert report.headers["authorization"] == "Basic " + base64.b64encode(b"me:secret").decode()
    assert httpx.URL(report.url).params["key"] == "abc"


@fact("4", "an answer outside 200-204 is retried; the body is ignored")
async def _(e: Elks) -> None:
    e.receiver.answers["/dlr"] = (500, "down")
    await e.ok(await e.sms(whendelivered=f"{HOOKS}/dlr"))
    await e.advance(1)
    failed = len(e.receiver.path("/dlr"))
    e.receiver.answers["/dlr"] = (204, "")
    await e.advance(300)
    assert len(e.receiver.path("/dlr")) > failed


@fact("4", "retries go on for at least 6 hours and 5 attempts")
async def _(e: Elks) -> None:
    e.receiver.answers["/dlr"] = (503, "")
    await e.ok(await e.sms(whendelivered=f"{HOOKS}/dlr"))
    await e.advance(0.5)
    await e.advance(6 * 3600)
    sent_reports = [r for r in e.receiver.path("/dlr") if r.form["status"] == "sent"]
    assert len(sent_reports) >= 5 and len(sent_reports) >= 6 * 12


# == §5 Incoming SMS ================================================================================


@fact("5", "an incoming SMS is POSTed to sms_url: id, from, to, message, direction=incoming, created")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    inbound = await e.inbound_sms()
    (hook,) = e.receiver.path("/sms")
    assert set(hook.form) == {"id", "from", "to", "message", "direction", "created"}
    assert (hook.form["id"], hook.form["from"], hook.form["to"], hook.form["direction"]) == (inbound["id"], PHONE, OUR_NUMBER, "incoming")
    assert hex_id("s").fullmatch(hook.form["id"])


@fact("5", "from may be alphanumeric (Martin)")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    await e.inbound_sms(sender="Martin")
    assert e.receiver.path("/sms")[0].form["from"] == "Martin"


@fact("5", "a plain-text answer is sent back to the sender")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    e.receiver.answers["/sms"] = "Got it"
    await e.inbound_sms()
    reply = (await e.ok(await e.get("/a1/SMS")))["data"][0]
    assert (reply["direction"], reply["to"], reply["from"], reply["message"]) == ("outgoing-reply", PHONE, OUR_NUMBER, "Got it")


@fact("5", "an empty answer or 204 sends nothing back")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    e.receiver.answers["/sms"] = (204, "")
    await e.inbound_sms()
    assert [m["direction"] for m in (await e.ok(await e.get("/a1/SMS")))["data"]] == ["incoming"]


@fact("5", "{reply} and {forward, prefix, suffix} answers")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    e.receiver.answers["/sms"] = {"forward": "+46700000999", "prefix": "[", "suffix": "]"}
    await e.inbound_sms(text="hi")
    forwarded = (await e.ok(await e.get("/a1/SMS")))["data"][0]
    assert (forwarded["to"], forwarded["message"], forwarded["direction"]) == ("+46700000999", "[hi]", "outgoing-reply")


@fact("5", "sms_replies=no turns replies off")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms", sms_replies="no")
    e.receiver.answers["/sms"] = "Got it"
    await e.inbound_sms()
    assert [m["direction"] for m in (await e.ok(await e.get("/a1/SMS")))["data"]] == ["incoming"]


@fact("5", "sms_url may itself be a JSON action")
async def _(e: Elks) -> None:
    await e.configure(sms_url=json.dumps({"reply": "Auto"}))
    await e.inbound_sms()
    assert (await e.ok(await e.get("/a1/SMS")))["data"][0]["message"] == "Auto"


@fact("5", "a reply is charged like an SMS")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    e.receiver.answers["/sms"] = "Got it"
    before = e.balance()
    await e.inbound_sms()
    reply = (await e.ok(await e.get("/a1/SMS")))["data"][0]
    assert reply["cost"] == 3500 and e.balance() == before - 3500


@fact("5", "a failed sms_url delivery is retried")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms")
    e.receiver.answers["/sms"] = (500, "")
    await e.inbound_sms()
    await e.advance(300)
    assert len(e.receiver.path("/sms")) == 2


# == §6 MMS =========================================================================================


def _mms(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in ({"from": OUR_NUMBER, "to": "+46700000123", "message": "Hej!"} | fields).items() if v is not None}


@fact("6.1", "the send answers direction, from, created, to, cost, owner, message, id")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **_mms()))
    assert {"direction", "from", "created", "to", "cost", "owner", "message", "id"} <= set(body)
    assert (body["direction"], body["cost"], body["owner"]) == ("outgoing", 12500, ELKS_ACCOUNT)


@fact("6.1", "from noreply sends from a number of 46elks")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **_mms(**{"from": "noreply"})))
    assert body["from"].startswith("+46") and body["from"] != OUR_NUMBER


@fact("6.1", "from must be an MMS number of the account")
async def _(e: Elks) -> None:
    await e.refused(await e.post("/a1/MMS", **_mms(**{"from": "+46709999999"})), 403, "Invalid from number")


@fact("6.1", "an image alone (data: URL) is enough; neither message nor image is refused")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **_mms(message=None, image=png_uri())))
    assert body["images"] == [f"{body['id']}-i0"]
    await e.refused(await e.post("/a1/MMS", **_mms(message=None)), 403, prefix="Missing key")


@fact("6.2", "GET /mms lists, GET /mms/{id} shows id, direction, from, to, created, message, status, cost, images; DELETE answers {id, deleted}")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **_mms(image=png_uri())))
    listed = (await e.ok(await e.get("/a1/MMS")))["data"]
    assert [m["id"] for m in listed] == [body["id"]]
    got = await e.ok(await e.get(f"/a1/MMS/{body['id']}"))
    assert {"id", "direction", "from", "to", "created", "message", "status", "cost", "images"} <= set(got)
    deleted = await e.ok(await e.emulator.client.delete(f"/a1/MMS/{body['id']}", auth=ELKS_AUTH))
    assert set(deleted) == {"id", "deleted"}
    assert (await e.get(f"/a1/MMS/{body['id']}")).status_code == 404


@fact("6.3", "an incoming MMS is POSTed to mms_url with id, from, to, message, created, direction, image, image2")
async def _(e: Elks) -> None:
    await e.configure(mms_url=f"{HOOKS}/mms")
    await e.emulator.client.post("/_emulator/inbound/mms", json={"to": OUR_NUMBER, "from": PHONE, "text": "Look", "images": [png_uri(), png_uri()]})
    assert await e.engine.outbox.drain()
    (hook,) = e.receiver.path("/mms")
    assert set(hook.form) == {"id", "from", "to", "message", "created", "direction", "image", "image2"}
    assert hex_id("m").fullmatch(hook.form["id"]) and hook.form["direction"] == "incoming"
    assert hook.form["image"].endswith(f"/a1/images/{hook.form['id']}-i0.jpg")


@fact("6.4", "GET /images: {created, filetype, mmsid, bytes, id, digest (40 hex)}; {id}.jpg serves bytes")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **_mms(image=png_uri())))
    (image,) = (await e.ok(await e.get("/a1/images")))["data"]
    assert set(image) == {"created", "filetype", "mmsid", "bytes", "id", "digest"}
    assert (image["mmsid"], image["filetype"]) == (body["id"], "png") and re.fullmatch(r"[0-9a-f]{40}", image["digest"])
    assert await e.ok(await e.get(f"/a1/images/{image['id']}")) == image
    download = await e.get(f"/a1/images/{image['id']}.jpg")
    assert download.status_code == 200 and download.content[:2] == b"\xff\xd8"


@fact("6.4", "the same digest can appear on several images")
async def _(e: Elks) -> None:
    same = png_uri()
    await e.ok(await e.post("/a1/MMS", **_mms(image=same, image2=same)))
    digests = [i["digest"] for i in (await e.ok(await e.get("/a1/images")))["data"]]
    assert len(digests) == 2 and digests[0] == digests[1]


# == §7 Calls =======================================================================================


@fact("7.1", "the call answers {direction, from, created, to, state: ongoing, id}")
async def _(e: Elks) -> None:
    body = await e.call()
    assert set(body) == {"direction", "from", "created", "to", "state", "id"}
    assert (body["direction"], body["state"]) == ("outgoing", "ongoing")


@fact("7.1", "an alphanumeric from is refused")
async def _(e: Elks) -> None:
    await e.refused(await e.post("/a1/Calls", **{"from": "ElkCo", "to": PHONE, "voice_start": '{"play": "sound/beep"}'}), 403, "Invalid from number")


@fact("7.1", "voice_start as a URL is fetched only after the callee answers, with callid, from, to, direction, created")
async def _(e: Elks) -> None:
    e.receiver.answers["/start"] = {"play": "sound/beep"}
    body = await e.call(voice_start=f"{HOOKS}/start")
    assert e.receiver.path("/start") == []
    await e.run_call(body["id"])
    (start,) = e.receiver.path("/start")
    assert start.form == {"callid": body["id"], "from": OUR_NUMBER, "to": PHONE, "direction": "outgoing", "created": body["created"]}


@fact("7.1", "whenhangup is POSTed also when the call never connects")
async def _(e: Elks) -> None:
    body = await e.call(to="+46700000488", whenhangup=f"{HOOKS}/hangup")
    await e.run_call(body["id"])
    (hook,) = e.receiver.path("/hangup")
    assert (hook.form["state"], hook.form["callid"]) == ("failed", body["id"])


@fact("7.2", "a call's object: id, direction, from, to, created, start, state, duration, cost, actions, legs, timeout, owner")
async def _(e: Elks) -> None:
    body = await e.call({"connect": "+46700000490"})
    await e.run_call(body["id"])
    call = await e.ok(await e.get(f"/a1/Calls/{body['id']}"))
    assert {"id", "direction", "from", "to", "created", "start", "state", "duration", "cost", "actions", "legs", "timeout", "owner"} <= set(call)
    assert call["state"] == "success" and call["actions"][0] == {"connect": "+46700000490", "result": "success"}
    (leg,) = call["legs"]
    assert set(leg) == {"duration", "to", "state", "from"} and leg["state"] == "success"


@fact("7.2", "a call that recorded carries recordings")
async def _(e: Elks) -> None:
    body = await e.call({"record": f"{HOOKS}/rec", "timelimit": 2})
    await e.run_call(body["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["recordings"] == [f"{body['id']}-r0"]


@fact("7.2", "a failed outgoing call in history has only direction, from, to, created, state, id")
async def _(e: Elks) -> None:
    body = await e.call(to="+46700000488")
    await e.run_call(body["id"])
    call = await e.ok(await e.get(f"/a1/Calls/{body['id']}"))
    assert set(call) == {"direction", "from", "to", "created", "state", "id"} and call["state"] == "failed"


@fact("7.2", "a busy callee ends the call busy")
async def _(e: Elks) -> None:
    body = await e.call(to="+46700000486")
    await e.run_call(body["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["state"] == "busy"


@fact("7.2", "GET /calls pages (limit, next) and DELETE answers {id, deleted}")
async def _(e: Elks) -> None:
    first = await e.call()
    second = await e.call()
    page = await e.ok(await e.get("/a1/Calls", limit=1))
    assert [c["id"] for c in page["data"]] == [second["id"]] and "next" in page
    rest = await e.ok(await e.get("/a1/Calls", start=page["next"]))
    assert [c["id"] for c in rest["data"]] == [first["id"]] and "next" not in rest
    deleted = await e.ok(await e.emulator.client.delete(f"/a1/Calls/{first['id']}", auth=ELKS_AUTH))
    assert set(deleted) == {"id", "deleted"}


@fact("7.3", "without next the call ends after the action")
async def _(e: Elks) -> None:
    body = await e.call({"play": "sound/beep"})
    await e.run_call(body["id"])
    call = await e.ok(await e.get(f"/a1/Calls/{body['id']}"))
    assert (call["state"], len(call["actions"])) == ("success", 1)


@fact("7.3", "next as a URL gets callid and result, and its answer runs")
async def _(e: Elks) -> None:
    e.receiver.answers["/next"] = {"hangup": "reject"}
    body = await e.call({"play": "sound/beep", "next": f"{HOOKS}/next"})
    await e.run_call(body["id"])
    (hook,) = e.receiver.path("/next")
    assert (hook.form["callid"], hook.form["result"]) == (body["id"], "success")
    assert [list(a)[0] for a in (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["actions"]] == ["play", "hangup"]


@fact("7.3", "a later whenhangup overrides an earlier one")
async def _(e: Elks) -> None:
    body = await e.call({"play": "sound/beep", "whenhangup": f"{HOOKS}/late"}, whenhangup=f"{HOOKS}/early")
    await e.run_call(body["id"])
    assert e.receiver.path("/early") == [] and len(e.receiver.path("/late")) == 1


@fact("7.3", "connect takes a comma list (first to answer wins) and runs busy/failed branches")
async def _(e: Elks) -> None:
    body = await e.call({"connect": "+46700000486,+46700000490"})
    await e.run_call(body["id"])
    legs = (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["legs"]
    assert [leg["to"] for leg in legs] == ["+46700000490"]
    e.receiver.answers["/busy"] = ""
    busy = await e.call({"connect": "+46700000486", "busy": f"{HOOKS}/busy"})
    await e.run_call(busy["id"])
    assert e.receiver.path("/busy")[0].form["result"] == "busy"


@fact("7.3", "connect's callerid defaults to the original caller's number")
async def _(e: Elks) -> None:
    body = await e.call({"connect": "+46700000490"})
    await e.run_call(body["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["legs"][0]["from"] == OUR_NUMBER


@fact("7.3", "ivr posts the keys as result (with from) to next; keys map to branches")
async def _(e: Elks) -> None:
    e.receiver.answers["/pin"] = ""
    body = await e.call({"ivr": "sound/beep", "digits": 1, "next": f"{HOOKS}/pin"}, to="+46700000489")
    await e.run_call(body["id"])
    (hook,) = e.receiver.path("/pin")
    assert (hook.form["result"], hook.form["callid"], hook.form["from"]) == ("1", body["id"], OUR_NUMBER)


@fact("7.3", "record POSTs callid, created, duration, wav, from, to to its URL")
async def _(e: Elks) -> None:
    body = await e.call({"record": f"{HOOKS}/rec", "timelimit": 2})
    await e.run_call(body["id"])
    (posted,) = e.receiver.path("/rec")
    assert {"callid", "created", "duration", "wav", "from", "to"} <= set(posted.form)
    assert posted.form["wav"].endswith(f"/a1/recordings/{body['id']}-r0.wav")


@fact("7.3", "hangup busy only as the first action; later only reject")
async def _(e: Elks) -> None:
    late = await e.call({"play": "sound/beep", "next": {"hangup": "busy"}})
    await e.run_call(late["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{late['id']}")))["state"] == "failed"
    reject = await e.call({"play": "sound/beep", "next": {"hangup": "reject"}})
    await e.run_call(reject["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{reject['id']}")))["state"] == "success"


@fact("7.3", "an incoming call to a Swedish mobile number connects only to Swedish mobile numbers")
async def _(e: Elks) -> None:
    e.engine.store.active_number(OUR_NUMBER).attributes["voice_start"] = json.dumps({"connect": "+4915112345678"})
    created = (await e.emulator.client.post("/_emulator/inbound/call", json={"to": OUR_NUMBER, "from": PHONE})).json()
    await e.run_call(created["id"])
    call = await e.ok(await e.get(f"/a1/Calls/{created['id']}"))
    assert call["legs"] == [] and call["actions"][0]["result"] == "failed"


@fact("7.4", "an incoming call POSTs callid, from, to, direction=incoming, created, result=newincoming to voice_start")
async def _(e: Elks) -> None:
    await e.configure(voice_start=f"{HOOKS}/in")
    e.receiver.answers["/in"] = {"play": "sound/beep"}
    created = (await e.emulator.client.post("/_emulator/inbound/call", json={"to": OUR_NUMBER, "from": PHONE})).json()
    await e.run_call(created["id"])
    (hook,) = e.receiver.path("/in")
    assert set(hook.form) == {"callid", "from", "to", "direction", "created", "result"}
    assert (hook.form["direction"], hook.form["result"]) == ("incoming", "newincoming")


@fact("7.4", "an answer other than 200-204 with an action ends the call (not retried)")
async def _(e: Elks) -> None:
    e.receiver.answers["/start"] = (500, "")
    body = await e.call(voice_start=f"{HOOKS}/start")
    await e.run_call(body["id"])
    await e.advance(600)
    assert len(e.receiver.path("/start")) == 1
    assert (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["state"] == "failed"


@fact("7.4", "whenhangup gets id/callid, from, to, direction, created, start, duration, state, cost, actions and legs as JSON text")
async def _(e: Elks) -> None:
    body = await e.call(whenhangup=f"{HOOKS}/hangup")
    await e.run_call(body["id"])
    (hook,) = e.receiver.path("/hangup")
    assert {"callid", "from", "to", "direction", "created", "start", "duration", "state", "cost", "actions", "legs"} <= set(hook.form)
    assert json.loads(hook.form["actions"])[0]["play"] == "sound/beep" and json.loads(hook.form["legs"]) == []


@fact("7.4", "whenhangup is retried")
async def _(e: Elks) -> None:
    e.receiver.answers["/hangup"] = (500, "")
    body = await e.call(whenhangup=f"{HOOKS}/hangup")
    await e.run_call(body["id"])
    await e.advance(300)
    assert len(e.receiver.path("/hangup")) == 2


# == §8 Numbers =====================================================================================


@fact("8.1", "allocate: country, capabilities; answers the number with active yes")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/numbers", country="se", capabilities="sms,voice"))
    assert (body["active"], body["country"], body["capabilities"]) == ("yes", "se", ["sms", "voice"]) and body["number"].startswith("+46")


@fact("8.1", "a fixed number cannot have sms")
async def _(e: Elks) -> None:
    await e.refused(await e.post("/a1/numbers", country="se", category="fixed", capabilities="sms"), 403, prefix="Unable to allocate number.")
    assert (await e.ok(await e.post("/a1/numbers", country="se", category="fixed", capabilities="voice")))["category"] == "fixed"


@fact("8.1", "allocation is charged (a rental)")
async def _(e: Elks) -> None:
    before = e.balance()
    await e.ok(await e.post("/a1/numbers", country="se"))
    assert e.balance() < before


@fact("8.2", "configure sms_url, mms_url, voice_start, sms_replies, name; none or a space clears")
async def _(e: Elks) -> None:
    await e.configure(sms_url=f"{HOOKS}/sms", mms_url=f"{HOOKS}/mms", voice_start=f"{HOOKS}/voice", sms_replies="no", name="Desk")
    number = await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}"))
    assert (number["sms_url"], number["sms_replies"], number["name"]) == (f"{HOOKS}/sms", "no", "Desk")
    await e.configure(sms_url="none", mms_url=" ")
    number = await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}"))
    assert "sms_url" not in number and "mms_url" not in number and number["voice_start"] == f"{HOOKS}/voice"


@fact("8.2", "name is at most 50 characters")
async def _(e: Elks) -> None:
    await e.configure(name="x" * 50)
    assert (await e.post(f"/a1/numbers/{NUMBER_ID}", name="x" * 51)).status_code == 403


@fact("8.2", "active=no deallocates for good: {id, active: no, deallocated}")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post(f"/a1/numbers/{NUMBER_ID}", active="no"))
    assert set(body) == {"id", "active", "deallocated"} and body["active"] == "no"
    assert (await e.post(f"/a1/numbers/{NUMBER_ID}", active="yes")).status_code == 403


@fact("8.3", "the number object: only set urls present, deallocated only when inactive, no cost")
async def _(e: Elks) -> None:
    number = await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}"))
    assert {"id", "active", "country", "number", "capabilities", "category", "sms_replies", "created", "allocated", "expires"} <= set(number)
    assert "deallocated" not in number and "cost" not in number and "sms_url" not in number


@fact("8.3", "GET /numbers lists active and deallocated numbers")
async def _(e: Elks) -> None:
    await e.ok(await e.post(f"/a1/numbers/{NUMBER_ID}", active="no"))
    extra = await e.ok(await e.post("/a1/numbers", country="se"))
    listed = (await e.ok(await e.get("/a1/numbers")))["data"]
    assert {(n["id"], n["active"]) for n in listed} == {(NUMBER_ID, "no"), (extra["id"], "yes")}


# == §9 Account, subaccounts, recordings ===========================================================


@fact("9.1", "GET /me: id, displayname, email, mobilenumber, currency, balance, creditalert")
async def _(e: Elks) -> None:
    me = await e.ok(await e.get("/a1/me"))
    assert {"id", "displayname", "email", "mobilenumber", "currency", "balance", "creditalert"} <= set(me)
    assert me["currency"] in ("SEK", "EUR")


@fact("9.2", "POST /me creditalert returns the account with it")
async def _(e: Elks) -> None:
    assert (await e.ok(await e.post("/a1/me", creditalert="5000")))["creditalert"] == 5000


@fact("9.3", "POST /subaccounts (name, usagelimit) answers {secret, created, usagelimit, id, name}")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/subaccounts", name="Shop", usagelimit="10000"))
    assert set(body) == {"secret", "created", "usagelimit", "id", "name"} and body["usagelimit"] == 10000


@fact("9.3", "GET /subaccounts is {data: [...]}")
async def _(e: Elks) -> None:
    listed = await e.ok(await e.get("/a1/subaccounts"))
    assert [s["id"] for s in listed["data"]] == [ELKS_SUB_ACCOUNT]


@fact("9.3", "balanceused appears only once credits were used")
async def _(e: Elks) -> None:
    assert "balanceused" not in await e.ok(await e.get(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}"))
    await e.ok(await e.sms(auth=ELKS_SUB_AUTH))
    assert (await e.ok(await e.get(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}")))["balanceused"] == 3500


@fact("9.3", "POST /subaccounts/{id}: name, usagelimit none, a new secret")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}", name="Renamed", usagelimit="none", secret="A" * 32))
    assert body["name"] == "Renamed" and "usagelimit" not in body
    assert (await e.get("/a1/me", auth=(ELKS_SUB_ACCOUNT, "A" * 32))).status_code == 200


@fact("9.3", "active=no is refused while the subaccount has active numbers")
async def _(e: Elks) -> None:
    await e.ok(await e.post("/a1/numbers", auth=ELKS_SUB_AUTH, country="se"))
    assert (await e.post(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}", active="no")).status_code == 403


@fact("9.3", "subaccounts have no DELETE")
async def _(e: Elks) -> None:
    response = await e.emulator.client.delete(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}", auth=ELKS_AUTH)
    assert response.status_code in (403, 404) and response.headers["content-type"] == TEXT


@fact("9.4", "GET /recordings items {duration, id, created, callid, bytes}; /recordings/{id}.wav is WAV audio")
async def _(e: Elks) -> None:
    body = await e.call({"record": f"{HOOKS}/rec", "timelimit": 2})
    await e.run_call(body["id"])
    (item,) = (await e.ok(await e.get("/a1/recordings")))["data"]
    assert set(item) >= {"duration", "id", "created", "callid", "bytes"}
    assert await e.ok(await e.get(f"/a1/recordings/{item['id']}")) == item
    wav = await e.get(f"/a1/recordings/{item['id']}.wav")
    assert wav.content[:4] == b"RIFF" and len(wav.content) == item["bytes"]


# == §10 Webhooks in general =======================================================================


@fact("10", "every hook is a form-encoded POST; 201-203 count as success (no retry)")
async def _(e: Elks) -> None:
    e.receiver.answers["/dlr"] = (202, "")
    await e.ok(await e.sms(whendelivered=f"{HOOKS}/dlr"))
    await e.advance(2)
    await e.advance(600)
    assert [r.form["status"] for r in e.receiver.path("/dlr")] == ["sent", "delivered"]
    assert all(r.method == "POST" for r in e.receiver.path("/dlr"))


@fact("10", "no HMAC signature header is sent")
async def _(e: Elks) -> None:
    await e.ok(await e.sms(whendelivered=f"{HOOKS}/dlr"))
    await e.advance(1)
    headers = {k.lower() for k in e.receiver.path("/dlr")[0].headers}
    assert not headers & {"x-signature", "x-hub-signature", "x-elks-signature"}


# == §11 Dry run, sink number, balance ==============================================================


@fact("11", "the sink +46700000000 is accepted and listed, and costs nothing")
async def _(e: Elks) -> None:
    before = e.balance()
    body = await e.ok(await e.sms(to="+46700000000"))
    assert body["cost"] == 0 and e.balance() == before
    assert [m["id"] for m in (await e.ok(await e.get("/a1/SMS")))["data"]] == [body["id"]]


@fact("11", "no throttling: 150 sends in a row all answer 200")
async def _(e: Elks) -> None:
    for _ in range(150):
        assert (await e.sms()).status_code == 200


# == §12 Defaults (inferred) ========================================================================


@fact("12", "an unknown path answers 404 plain text")
async def _(e: Elks) -> None:
    await e.refused(await e.get("/a1/nothing-here"), 404)


@fact("12", "a 401 is plain text")
async def _(e: Elks) -> None:
    await e.refused(await e.get("/a1/SMS", auth=None), 401)


@fact("Appendix", "a POST to /a1/sms and /a1/SMS both send")
async def _(e: Elks) -> None:
    await e.ok(await e.post("/a1/sms", **{"from": "ElkCo", "to": "+46700000123", "message": "a"}))
    await e.ok(await e.post("/a1/SMS", **{"from": "ElkCo", "to": "+46700000123", "message": "b"}))
    assert len((await e.ok(await e.get("/a1/SMS")))["data"]) == 2


# == Rows added while going through the reference a second time ===================================


@fact("3.1", "one recipient per request: a list in to is refused")
async def _(e: Elks) -> None:
    await e.refused(await e.sms(to="+46700000123,+46700000124"), 403, "Invalid to number")
    assert e.engine.store.messages.by_id == {}


@fact("6.1", "an incoming MMS shows status recieved (sic) in history")
async def _(e: Elks) -> None:
    response = await e.emulator.client.post("/_emulator/inbound/mms", json={"to": OUR_NUMBER, "from": PHONE, "text": "Look"})
    assert response.status_code == 200, response.text
    (item,) = (await e.ok(await e.get("/a1/MMS")))["data"]
    assert (item["direction"], item["status"]) == ("incoming", "recieved")


@fact("6.3", "a failed mms_url delivery is retried; only the status matters")
async def _(e: Elks) -> None:
    await e.configure(mms_url=f"{HOOKS}/mms")
    e.receiver.answers["/mms"] = (500, "")
    await e.emulator.client.post("/_emulator/inbound/mms", json={"to": OUR_NUMBER, "from": PHONE, "text": "Look"})
    assert await e.engine.outbox.drain()
    e.receiver.answers["/mms"] = (200, "this body is ignored")
    await e.advance(300)
    assert len(e.receiver.path("/mms")) == 2
    await e.advance(600)
    assert len(e.receiver.path("/mms")) == 2 and len((await e.ok(await e.get("/a1/SMS")))["data"]) == 0


@fact("7.2", "start is absent when the call was never answered")
async def _(e: Elks) -> None:
    body = await e.call(to="+46700000486")
    await e.run_call(body["id"])
    assert "start" not in await e.ok(await e.get(f"/a1/Calls/{body['id']}"))


for _timeout, _seconds in ((5, 3 * (3 + 5)), (30, 3 * (3 + 30)), (50, 3 * (3 + 10)), (0, 3 * (3 + 10))):
    def _ivr_timeout(timeout: int, seconds: int) -> Probe:
        async def probe(e: Elks) -> None:
            e.receiver.answers["/none"] = ""
            e.engine.calls.add_rule(CallRule(PHONE, CallOutcome(talk_time=1000)))  # stays on the line
            body = await e.call({"ivr": "sound/beep", "timeout": timeout, "next": f"{HOOKS}/none"})
            await e.advance(3)  # rings 3 s, then the prompt starts
            await e.advance(seconds - 1)
            assert e.receiver.path("/none") == []
            await e.advance(1)
            assert [r.form["result"] for r in e.receiver.path("/none")] == ["failed"]
            assert body["id"]
        return probe
    fact("7.3", f"ivr timeout {_timeout} waits {'as given' if 1 <= _timeout <= 30 else 'the default 10 s'} (1-30 allowed, else 10), 3 rounds by default")(
        _ivr_timeout(_timeout, _seconds))


@fact("7.3", "recordcall alone, without another action, is not a script")
async def _(e: Elks) -> None:
    body = await e.call({"recordcall": f"{HOOKS}/whole"})
    await e.run_call(body["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["state"] == "failed"


@fact("7.3", "hangup takes no next")
async def _(e: Elks) -> None:
    body = await e.call({"hangup": "reject", "next": f"{HOOKS}/never"})
    await e.run_call(body["id"])
    assert e.receiver.path("/never") == []


@fact("8.1", "a specific number can be asked for")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/numbers", country="se", number="+46766861999"))
    assert body["number"] == "+46766861999"


@fact("8.2", "voice_start and sms_url may be JSON actions")
async def _(e: Elks) -> None:
    await e.configure(voice_start=json.dumps({"play": "sound/beep"}), sms_url=json.dumps({"reply": "hi"}))
    number = await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}"))
    assert json.loads(number["voice_start"]) == {"play": "sound/beep"}


@fact("9.1", "GET /me carries trialactivated, a timestamp")
async def _(e: Elks) -> None:
    assert CREATED.fullmatch((await e.ok(await e.get("/a1/me")))["trialactivated"])


for _local, _e164 in (("SE0723175800", "+46723175800"), ("DK20123456", "+4520123456"), ("NO41234567", "+4741234567"),
                      ("FI0401234567", "+358401234567"), ("US4155550100", "+14155550100"), ("CA6135550123", "+16135550123"),
                      ("AU0412345678", "+61412345678"), ("IN9876543210", "+919876543210")):
    def _local_format(local: str, e164: str) -> Probe:
        async def probe(e: Elks) -> None:
            assert (await e.ok(await e.sms(to=local, **{"from": OUR_NUMBER})))["to"] == e164
        return probe
    fact("3.1", f"to in local format with the ISO prefix: {_local}")(_local_format(_local, _e164))


@fact("6.3", "the incoming-MMS hook has image only when an image was sent")
async def _(e: Elks) -> None:
    await e.configure(mms_url=f"{HOOKS}/mms")
    await e.emulator.client.post("/_emulator/inbound/mms", json={"to": OUR_NUMBER, "from": PHONE, "text": "Only words"})
    assert await e.engine.outbox.drain()
    (hook,) = e.receiver.path("/mms")
    assert "image" not in hook.form and hook.form["message"] == "Only words"


@fact("6.1", "an image given by URL can be downloaded", xfail="image URLs are never fetched, so such images have no bytes (README)")
async def _(e: Elks) -> None:
    body = await e.ok(await e.post("/a1/MMS", **_mms(message=None, image="https://pics.example.com/cat.jpg")))
    assert (await e.get(f"/a1/images/{body['images'][0]}.jpg")).status_code == 200


@fact("7.3", "an ivr answer of variable length ends with #")
async def _(e: Elks) -> None:
    e.engine.calls.add_rule(CallRule(PHONE, CallOutcome(digits="12#")))
    e.receiver.answers["/pin"] = ""
    body = await e.call({"ivr": "sound/beep", "digits": 5, "next": f"{HOOKS}/pin"})
    await e.run_call(body["id"])
    assert e.receiver.path("/pin")[0].form["result"] == "12"


@fact("7.3", "connect's timeout may be a string or an int")
async def _(e: Elks) -> None:
    for timeout in ("20", 20):
        body = await e.call({"connect": "+46700000487", "timeout": timeout})
        await e.run_call(body["id"])
        call = await e.ok(await e.get(f"/a1/Calls/{body['id']}"))
        assert call["actions"][0]["result"] == "failed" and call["duration"] == 20


@fact("7.3", "a play is skippable: a key press goes on to next at once",
      xfail="the callee's keys are heard only at ivr prompts; every play lasts 3 s (README)")
async def _(e: Elks) -> None:
    e.engine.calls.add_rule(CallRule(PHONE, CallOutcome(digits="1", digits_after=1)))
    e.receiver.answers["/after"] = ""
    await e.call({"play": "https://sounds.example/long.mp3", "next": f"{HOOKS}/after"})
    await e.advance(3 + 1)
    assert len(e.receiver.path("/after")) == 1


@fact("7.3", "connect to a sip: host that is not whitelisted fails",
      xfail="there is no SIP whitelist: a sip: URI rings like a number (README)")
async def _(e: Elks) -> None:
    body = await e.call({"connect": "sip:desk@unlisted.example.com"})
    await e.run_call(body["id"])
    assert (await e.ok(await e.get(f"/a1/Calls/{body['id']}")))["actions"][0]["result"] == "failed"


@fact("7.3", "recordings are fetchable for 72 hours")
async def _(e: Elks) -> None:
    body = await e.call({"record": f"{HOOKS}/rec", "timelimit": 2})
    await e.run_call(body["id"])
    recording = f"{body['id']}-r0"
    await e.advance(71 * 3600)
    assert (await e.get(f"/a1/recordings/{recording}.wav")).status_code == 200
    await e.advance(2 * 3600)
    await e.refused(await e.get(f"/a1/recordings/{recording}.wav"), 404)
    await e.refused(await e.get(f"/a1/recordings/{recording}"), 404)
    assert (await e.ok(await e.get("/a1/recordings")))["data"] == []


@fact("8.3", "GET /numbers pages with limit and next")
async def _(e: Elks) -> None:
    await e.advance(1)  # (see the next row)
    first = await e.ok(await e.post("/a1/numbers", country="se"))
    second = await e.ok(await e.post("/a1/numbers", country="se"))
    page = await e.ok(await e.get("/a1/numbers", limit=1))
    assert [n["id"] for n in page["data"]] == [second["id"]] and "next" in page
    rest = await e.ok(await e.get("/a1/numbers", start=page["next"]))
    assert [n["id"] for n in rest["data"]] == [first["id"], NUMBER_ID] and "next" not in rest


@fact("3.5", "paging with next never skips an item",
      xfail="records loaded from the fixtures are stamped with the clock's start instant, which the first record made "
            "at that instant also gets; a page ending between the two skips the other (README)")
async def _(e: Elks) -> None:
    extra = await e.ok(await e.post("/a1/numbers", country="se"))
    page = await e.ok(await e.get("/a1/numbers", limit=1))
    rest = await e.ok(await e.get("/a1/numbers", start=page["next"]))
    assert {n["id"] for n in page["data"] + rest["data"]} == {extra["id"], NUMBER_ID}


@fact("9.3", "usagelimit=0 stops a subaccount from spending (how a proxy 'deletes' one)")
async def _(e: Elks) -> None:
    await e.ok(await e.post(f"/a1/subaccounts/{ELKS_SUB_ACCOUNT}", usagelimit="0"))
    await e.refused(await e.sms(auth=ELKS_SUB_AUTH), 403, prefix="Not enough credits")


@fact("7.3", "ivr takes 1 key by default")
async def _(e: Elks) -> None:
    e.engine.calls.add_rule(CallRule(PHONE, CallOutcome(digits="12")))
    e.receiver.answers["/key"] = ""
    body = await e.call({"ivr": "sound/beep", "next": f"{HOOKS}/key"})
    await e.run_call(body["id"])
    assert e.receiver.path("/key")[0].form["result"] == "1"


@fact("7.3", "record to local/<name> is kept for the call only: not posted, not listed")
async def _(e: Elks) -> None:
    body = await e.call({"record": "local/voicemail", "timelimit": 2, "next": {"play": "local/voicemail"}})
    await e.run_call(body["id"])
    assert (await e.ok(await e.get("/a1/recordings")))["data"] == []
    assert "recordings" not in await e.ok(await e.get(f"/a1/Calls/{body['id']}"))


@fact("0.2", "GET <resource>/<id>/POST?... changes a number")
async def _(e: Elks) -> None:
    await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}/POST", name="Via GET"))
    assert (await e.ok(await e.get(f"/a1/numbers/{NUMBER_ID}")))["name"] == "Via GET"


@fact("11", "a dry run validates fully")
async def _(e: Elks) -> None:
    await e.refused(await e.sms(dryrun="yes", to="hello"), 403, "Invalid to number")
    await e.refused(await e.sms(dryrun="yes", message=None), 403, "Missing key message")
    await e.refused(await e.sms(dryrun="yes", **{"from": "1Elk"}), 403, "Invalid from number")

"""seven.io signed API requests: `X-Signature`, `X-Timestamp`, `X-Nonce` over
`timestamp\\nnonce\\nMETHOD\\nfull URL\\nmd5(body)` with the account's signing secret. Optional, but
when sent they must hold (and be at most 30 s old), else the request is refused with 901 and changes
nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest

from emulator.app import create_app
from emulator.settings import Settings
from support import SEVEN_ACCOUNT, SEVEN_KEY, SEVEN_OTHER_KEY, VIRTUAL_START

SECRET = "s3cret-signing-key"
BASE = "http://emulator.test"
NOW = VIRTUAL_START // 1_000_000
NONCE = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"

pytestmark = pytest.mark.local_changes  # the fixture `secret` gives the account a signing secret on the engine


def sign(method: str, url: str, body: bytes = b"", *, secret: str = SECRET, timestamp: int = NOW, nonce: str = NONCE) -> dict[str, str]:
    message = "\n".join([str(timestamp), nonce, method, url, hashlib.md5(body).hexdigest()])
    return {
        "X-Signature": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest(),
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
    }


def headers(**extra: str) -> dict[str, str]:
    return {"X-Api-Key": SEVEN_KEY, "Accept": "application/json", **extra}


@pytest.fixture
def secret(emulator) -> str:
    emulator.engine.store.accounts[SEVEN_ACCOUNT].attributes["signing_secret"] = SECRET
    return SECRET


def sms_count(emulator) -> int:
    return len([m for m in emulator.engine.store.messages.page(SEVEN_ACCOUNT, limit=10_000).items])


async def post_json(client, path: str, payload: dict, signature: dict[str, str]) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await client.post(path, content=body, headers=headers(**{"Content-Type": "application/json"}, **signature))


# --- accepted ------------------------------------------------------------------------------------


async def test_signed_get_with_query_is_accepted(client, secret):
    url = f"{BASE}/api/lookup/format?number=%2B4917612345678"
    response = await client.get(url, headers=headers(**sign("GET", url)))
    assert response.status_code == 200, response.text
    assert response.json()["international"] == "+4917612345678"


async def test_signed_json_sms_is_accepted_and_sent(emulator, client, secret):
    payload = {"to": "+4917612345678", "text": "Signed hello", "from": "Signer"}
    body = json.dumps(payload).encode()
    response = await post_json(client, "/api/sms", payload, sign("POST", f"{BASE}/api/sms", body))
    assert response.status_code == 200, response.text
    assert response.json()["success"] == "100"
    stored = emulator.engine.store.messages.get(response.json()["messages"][0]["id"])
    assert (stored.recipient, stored.text) == ("+4917612345678", "Signed hello")


async def test_signed_form_post_is_accepted(emulator, client, secret):
    body = b"target_url=http%3A%2F%2Fhooks.test%2Fsigned&event_type=dlr"
    response = await client.post(
        "/api/hooks", content=body,
        headers=headers(**{"Content-Type": "application/x-www-form-urlencoded"}, **sign("POST", f"{BASE}/api/hooks", body)),
    )
    assert response.status_code == 200, response.text
    assert [h.target_url for h in emulator.engine.store.hooks.page(SEVEN_ACCOUNT, limit=10).items] == ["http://hooks.test/signed"]


async def test_signed_multipart_post_is_accepted(emulator, client, secret):
    request = client.build_request("POST", "/api/hooks", files={"target_url": (None, "http://hooks.test/multi"), "event_type": (None, "dlr")})
    body = request.read()
    request.headers.update(headers(**sign("POST", f"{BASE}/api/hooks", body)))
    response = await client.send(request)
    assert response.status_code == 200, response.text
    assert [h.target_url for h in emulator.engine.store.hooks.page(SEVEN_ACCOUNT, limit=10).items] == ["http://hooks.test/multi"]


async def test_upper_case_hex_signature_is_accepted(client, secret):
    signature = sign("GET", f"{BASE}/api/balance")
    signature["X-Signature"] = signature["X-Signature"].upper()
    response = await client.get("/api/balance", headers=headers(**signature))
    assert response.status_code == 200 and response.json()["currency"] == "EUR"


async def test_unsigned_requests_still_pass_when_the_account_has_a_secret(client, secret):
    response = await client.get("/api/balance", headers=headers())
    assert response.status_code == 200 and response.json()["amount"] == 100


async def test_signature_headers_are_not_checked_for_an_account_without_a_secret(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].attributes["signing_secret"] = None  # a fixture without one
    response = await client.get("/api/balance", headers=headers(**sign("GET", f"{BASE}/api/balance", secret="whatever")))
    assert response.status_code == 200 and response.json()["amount"] == 100


async def test_virtual_clock_does_not_judge_the_age(client, secret):
    """The client signs with its wall clock, which a virtual clock does not follow."""
    old = sign("GET", f"{BASE}/api/balance", timestamp=NOW - 86_400)
    response = await client.get("/api/balance", headers=headers(**old))
    assert response.status_code == 200


# --- refused -------------------------------------------------------------------------------------


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == 901


async def test_wrong_signature_refuses_sms_and_changes_nothing(emulator, client, secret):
    balance, count = emulator.balance(SEVEN_ACCOUNT), sms_count(emulator)
    payload = {"to": "+4917612345678", "text": "Forged"}
    body = json.dumps(payload).encode()
    response = await post_json(client, "/api/sms", payload, sign("POST", f"{BASE}/api/sms", body, secret="not-the-secret"))
    assert_refused(response)
    assert emulator.balance(SEVEN_ACCOUNT) == balance and sms_count(emulator) == count


async def test_signature_of_another_body_is_refused(emulator, client, secret):
    count = sms_count(emulator)
    signed_for = json.dumps({"to": "+4917612345678", "text": "one euro"}).encode()
    response = await post_json(client, "/api/sms", {"to": "+4917612345678", "text": "one million euro"}, sign("POST", f"{BASE}/api/sms", signed_for))
    assert_refused(response)
    assert sms_count(emulator) == count


@pytest.mark.parametrize(
    "signed_url",
    ["https://emulator.test/api/balance", "http://gateway.seven.io/api/balance", f"{BASE}/api/balance?x=1", "/api/balance"],
    ids=["other-scheme", "other-host", "other-query", "path-only"],
)
async def test_signature_of_another_url_is_refused(client, secret, signed_url):
    assert_refused(await client.get("/api/balance", headers=headers(**sign("GET", signed_url))))


async def test_signature_of_another_method_is_refused(client, secret):
    assert_refused(await client.get("/api/balance", headers=headers(**sign("POST", f"{BASE}/api/balance"))))


@pytest.mark.parametrize("missing", ["X-Signature", "X-Timestamp", "X-Nonce"])
async def test_incomplete_signature_headers_are_refused(client, secret, missing):
    signature = sign("GET", f"{BASE}/api/balance")
    del signature[missing]
    assert_refused(await client.get("/api/balance", headers=headers(**signature)))


async def test_non_numeric_timestamp_is_refused(client, secret):
    signature = sign("GET", f"{BASE}/api/balance")
    signature["X-Timestamp"] = "yesterday"
    assert_refused(await client.get("/api/balance", headers=headers(**signature)))


@pytest.mark.parametrize("timestamp", ["9" * 5_000, "9" * 20])
async def test_a_timestamp_of_thousands_of_digits_is_refused_not_crashed(client, secret, timestamp):
    """int() refuses more than 4,300 digits with an error of its own (a 500 before)."""
    signature = sign("GET", f"{BASE}/api/balance")
    signature["X-Timestamp"] = timestamp
    assert_refused(await client.get("/api/balance", headers=headers(**signature)))


async def test_non_ascii_signature_is_refused_not_crashed(client, secret):
    signature = sign("GET", f"{BASE}/api/balance")
    signature["X-Signature"] = "é" * 64
    response = await client.get("/api/balance", headers={k: v.encode("latin-1") for k, v in headers(**signature).items()})
    assert_refused(response)


async def test_rest_endpoints_answer_a_bare_901_and_store_nothing(emulator, client, secret):
    body = b"target_url=http%3A%2F%2Fhooks.test%2Fforged&event_type=dlr"
    response = await client.post(
        "/api/hooks", content=body,
        headers=headers(**{"Content-Type": "application/x-www-form-urlencoded"}, **sign("POST", f"{BASE}/api/hooks", b"other")),
    )
    assert_refused(response)
    assert emulator.engine.store.hooks.page(SEVEN_ACCOUNT, limit=10).items == []


async def test_text_clients_get_901_as_text(client, secret):
    response = await client.get("/api/balance", headers={"X-Api-Key": SEVEN_KEY, **sign("GET", f"{BASE}/api/balance", secret="wrong")})
    assert (response.status_code, response.text) == (401, "901")


async def test_a_wrong_api_key_is_900_before_any_signature_check(client, secret):
    response = await client.get("/api/balance", headers={"X-Api-Key": "nope", "Accept": "application/json", **sign("GET", f"{BASE}/api/balance", secret="wrong")})
    assert (response.status_code, response.json()) == (401, 900)


async def test_each_account_is_checked_with_its_own_secret(emulator, client, secret):
    emulator.engine.store.accounts["1000002"].attributes["signing_secret"] = "other-secret"
    mine = sign("GET", f"{BASE}/api/balance")
    other = {"X-Api-Key": SEVEN_OTHER_KEY, "Accept": "application/json"}
    assert_refused(await client.get("/api/balance", headers={**other, **mine}))
    theirs = sign("GET", f"{BASE}/api/balance", secret="other-secret")
    response = await client.get("/api/balance", headers={**other, **theirs})
    assert response.status_code == 200 and response.json()["amount"] == 20


# --- age, on the real clock ----------------------------------------------------------------------


@pytest.fixture
async def real_clock_client():
    app = create_app(Settings(clock="real"))
    app.state.engine.store.accounts[SEVEN_ACCOUNT].attributes["signing_secret"] = SECRET
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            yield client


@pytest.mark.parametrize(("age", "accepted"), [(0, True), (25, True), (-60, True), (45, False), (3600, False)])
async def test_timestamps_older_than_30_seconds_are_refused(real_clock_client, age, accepted):
    signature = sign("GET", f"{BASE}/api/balance", timestamp=int(time.time()) - age)
    response = await real_clock_client.get("/api/balance", headers=headers(**signature))
    if accepted:
        assert response.status_code == 200 and response.json()["currency"] == "EUR"
    else:
        assert_refused(response)


async def test_acting_as_a_subaccount_is_signed_with_the_main_accounts_secret(emulator, client, secret):
    created = await client.post("/api/subaccounts/create", json={"name": "Sub", "email": "sub@example.com"}, headers=headers())
    sub_id = created.json()["subaccount"]["id"]
    acting = headers(**{"X-Account-Id": sub_id})
    signed = await client.get("/api/balance", headers={**acting, **sign("GET", f"{BASE}/api/balance")})
    assert signed.status_code == 200 and signed.json()["amount"] == 0  # the subaccount's balance
    assert_refused(await client.get("/api/balance", headers={**acting, **sign("GET", f"{BASE}/api/balance", secret="sub-secret")}))

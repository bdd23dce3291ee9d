"""seven.io bad input: seven's return code as the body, a 4xx status, and no change of state."""

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_KEY

GOOD = {"to": "+4917612345678", "text": "Hello"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "x"}, 301),
        ({"to": "", "text": "x"}, 301),
        ({"to": "+4917612345678"}, 305),
        (GOOD | {"text": ""}, 305),
        (GOOD | {"to": "abc"}, 202),
        (GOOD | {"to": "nonsense,+49+1"}, 202),  # no recipient is a number: the whole request is refused
        (GOOD | {"from": "TwelveChars!"}, 201),
        (GOOD | {"from": "12345678901234567"}, 201),
        (GOOD | {"text": "a" * 1521}, 401),
        (GOOD | {"label": "bad label!"}, 700),
        (GOOD | {"foreign_id": "x" * 65}, 700),
        (GOOD | {"flash": "sometimes"}, 700),
        (GOOD | {"to": {"nested": 1}}, 700),
    ],
)
@pytest.mark.parametrize("as_json", [True, False])
async def test_sms_refusals(emulator, client, body, code, as_json):
    before = emulator.balance(SEVEN_ACCOUNT)
    headers = SEVEN_JSON if as_json else {"X-Api-Key": SEVEN_KEY}
    response = await client.post("/api/sms", json=body, headers=headers)
    assert 400 <= response.status_code < 500
    if as_json:
        assert response.json() == code
    else:
        assert response.text == str(code)
    assert emulator.balance(SEVEN_ACCOUNT) == before
    assert len(emulator.engine.store.messages) == 0


@pytest.mark.local_changes  # changes the engine directly
async def test_insufficient_credit_is_500_and_nothing_is_sent(emulator, client):
    emulator.engine.store.accounts[SEVEN_ACCOUNT].balance = 1000  # enough for one SMS, not two
    response = await client.post("/api/sms", json={"to": "+4917612345678,+4917612345679", "text": "x"}, headers=SEVEN_JSON)
    assert response.status_code == 402 and response.json() == 500
    assert emulator.balance(SEVEN_ACCOUNT) == 1000
    assert len(emulator.engine.store.messages) == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Api-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic wrong"}, {"X-Api-Key": ""}],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/api/sms"), ("GET", "/api/balance"), ("GET", "/api/status"), ("GET", "/api/hooks")])
async def test_bad_key_is_900_everywhere(emulator, client, headers, method, path):
    response = await client.request(method, path, headers=headers, json=GOOD if method == "POST" else None)
    assert response.status_code == 401
    assert response.text == "900"
    assert len(emulator.engine.store.messages) == 0


async def test_bad_key_in_json_mode_is_a_json_number(client):
    response = await client.get("/api/balance", headers={"X-Api-Key": "wrong", "Accept": "application/json"})
    assert response.json() == 900 and response.headers["content-type"] == "application/json"


async def test_malformed_json_body(emulator, client):
    response = await client.post("/api/sms", content=b"{not json", headers=SEVEN_JSON | {"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    response = await client.post("/api/sms", content=b"[1, 2]", headers=SEVEN_JSON | {"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    response = await client.post("/api/sms", content=b"x", headers=SEVEN_JSON | {"Content-Type": "application/xml"})
    assert 400 <= response.status_code < 500
    assert len(emulator.engine.store.messages) == 0


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/api/nothing", 404), ("PUT", "/api/hooks", 405), ("DELETE", "/api/balance", 405)])
async def test_unknown_paths_and_methods_answer_in_seven_shape(client, method, path, status):
    response = await client.request(method, path, headers=SEVEN_JSON)
    assert response.status_code == status
    assert response.headers["content-type"] in ("application/json", "text/plain; charset=utf-8")
    assert "Not Found" not in response.text and "Method Not Allowed" not in response.text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("PUT", "/api/contacts/1", "DELETE, GET, HEAD, PATCH"), ("PATCH", "/api/hooks", "DELETE, GET, HEAD, POST"), ("POST", "/api/balance", "GET, HEAD")],
)
async def test_wrong_method_names_every_allowed_method(client, method, path, allow):
    """Regression: a 405 had no `Allow` header (and Starlette's own named only the first route)."""
    response = await client.request(method, path, headers=SEVEN_JSON)
    assert response.status_code == 405
    assert response.headers["allow"] == allow

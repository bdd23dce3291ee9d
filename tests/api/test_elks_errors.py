"""46elks bad input: each answer is 46elks' plain-text error with a 4xx, and nothing changes."""

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH

GOOD = {"from": "ElkCo", "to": "+46700000123", "message": "Hello"}


def without(name):
    return {k: v for k, v in GOOD.items() if k != name}


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        (without("to"), 403, "Missing key to"),
        (without("from"), 403, "Missing key from"),
        (without("message"), 403, "Missing key message"),
        (GOOD | {"message": ""}, 403, "Missing key message"),
        (GOOD | {"to": "0700000123"}, 403, "Invalid to number"),
        (GOOD | {"to": "+46"}, 403, "Invalid to number"),
        (GOOD | {"to": "+4670000012345678"}, 403, "Invalid to number"),
        (GOOD | {"to": "not a number"}, 403, "Invalid to number"),
        (GOOD | {"from": "1Elk"}, 403, "Invalid from number"),
        (GOOD | {"from": "El"}, 403, "Invalid from number"),
        (GOOD | {"from": "TwelveLetter"}, 403, "Invalid from number"),
        (GOOD | {"from": "Elk_Co"}, 403, "Invalid from number"),
        (GOOD | {"from": "+46709999999"}, 403, "Invalid from number"),  # a number this account does not own
        (GOOD | {"message": "a" * 1531}, 403, "Too long "),
        (GOOD | {"whendelivered": "ftp://example.com/x"}, 403, "The whendelivered you tried to use is not a valid URL"),
        (GOOD | {"whendelivered": "not a url"}, 403, "The whendelivered you tried to use is not a valid URL"),
        (GOOD | {"flashsms": "maybe"}, 403, "Invalid flashsms"),
        (GOOD | {"dryrun": "perhaps"}, 403, "Invalid dryrun"),
    ],
)
async def test_send_refusals(emulator, client, data, status, text):
    before = emulator.balance(ELKS_ACCOUNT)
    response = await client.post("/a1/SMS", data=data, auth=ELKS_AUTH)
    assert response.status_code == status
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith(text)
    assert emulator.balance(ELKS_ACCOUNT) == before
    assert len(emulator.engine.store.messages) == 0


@pytest.mark.local_changes  # changes the engine directly
async def test_not_enough_credits(emulator, client):
    emulator.engine.store.accounts[ELKS_ACCOUNT].balance = 3499
    response = await client.post("/a1/SMS", data=GOOD, auth=ELKS_AUTH)
    assert response.status_code == 403
    assert response.text.startswith("Not enough credits")
    assert emulator.balance(ELKS_ACCOUNT) == 3499
    assert len(emulator.engine.store.messages) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dGVzdF91c2VyOndyb25n"},  # test_user:wrong
        {"Authorization": "Basic bm9ib2R5OnRlc3RfcGFzc3dvcmQ="},  # nobody:test_password
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic dGVzdF91c2Vy"},  # no colon
        {"Authorization": "Bearer test_password"},
    ],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/a1/me"), ("GET", "/a1/SMS"), ("POST", "/a1/SMS"), ("GET", "/a1/SMS/s1")])
async def test_bad_credentials_are_401_on_every_route(emulator, client, headers, method, path):
    response = await client.request(method, path, headers=headers, data=GOOD if method == "POST" else None)
    assert response.status_code == 401
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert len(emulator.engine.store.messages) == 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/a1/nothing", 404),
        ("GET", "/a1/SMS/s00000000000000000000000000000000", 404),
        ("PUT", "/a1/SMS", 403),
        ("PATCH", "/a1/me", 403),
        ("DELETE", "/a1/me", 403),
    ],
)
async def test_unknown_paths_and_methods_answer_in_46elks_shape(client, method, path, status):
    response = await client.request(method, path, auth=ELKS_AUTH)
    assert response.status_code == status
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text and "Not Found" not in response.text and "<html" not in response.text.lower()


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "1.5"}, {"limit": "ten"}, {"start": "yesterday"}, {"end": "2026-13-01"}]
)
async def test_bad_list_parameters(client, params):
    response = await client.get("/a1/SMS", params=params, auth=ELKS_AUTH)
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_malformed_multipart_body_is_a_4xx(emulator, client):
    response = await client.post(
        "/a1/SMS", content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data; boundary=x"}, auth=ELKS_AUTH
    )
    assert 400 <= response.status_code < 500
    assert len(emulator.engine.store.messages) == 0


async def test_refusals_name_the_path_as_the_client_wrote_it(client):
    """Regression: the texts named the lower-cased path the mount routes by (`/a1/sms`)."""
    response = await client.put("/a1/SMS/s1", auth=ELKS_AUTH)
    assert response.status_code == 403 and response.text == "PUT is not supported on /a1/SMS/s1."
    response = await client.get("/a1/Nothing", auth=ELKS_AUTH)
    assert response.status_code == 404 and response.text == "The resource /a1/Nothing does not exist."

"""The exposure guard and the body bound, in-process: which requests reach the control API, and
the 413 each mount answers in its own shape (a declared length, or a chunked body counted as it
arrives)."""

from __future__ import annotations

import httpx
import pytest

from emulator.app import create_app
from emulator.settings import Settings
from support import ELKS_AUTH, SEVEN_KEY, VIRTUAL_START, world_state


def app_with(**settings):
    return create_app(Settings(clock="virtual", clock_start=VIRTUAL_START, **settings))


async def chunks(total: int, size: int = 4096):
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size


@pytest.fixture
async def small_limit():
    app = app_with(max_body_size=10_000)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            yield app, client


async def test_each_mount_answers_413_in_its_own_shape(small_limit):
    app, client = small_limit
    before = world_state(app.state.engine)
    body = b"to=%2B46700000123&message=" + b"a" * 20_000
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    elks = await client.post("/a1/SMS", content=body, headers=form, auth=ELKS_AUTH)
    assert elks.status_code == 413 and elks.headers["content-type"].startswith("text/plain")
    assert elks.text == "Request body too large: at most 10000 bytes are accepted."
    seven = await client.post("/api/sms", content=body, headers={**form, "X-Api-Key": SEVEN_KEY})
    assert seven.status_code == 413 and seven.text == "700"  # seven.io's bare return code
    seven_json = await client.post("/api/sms", content=body, headers={**form, "X-Api-Key": SEVEN_KEY, "Accept": "application/json"})
    assert seven_json.status_code == 413 and seven_json.json() == 700
    rest = await client.post("/api/hooks", content=body, headers={**form, "X-Api-Key": SEVEN_KEY})
    assert rest.status_code == 413 and rest.json()["success"] is False and rest.json()["code"] == "700"
    control = await client.post("/_emulator/inbound/sms", content=body, headers=form)
    assert control.status_code == 413 and control.json()["error"]["type"] == "BodyTooLarge"
    for answer in (elks, seven, control):
        assert answer.headers["connection"] == "close"
    assert world_state(app.state.engine) == before


async def test_a_chunked_body_is_refused_once_it_goes_over(small_limit):
    app, client = small_limit
    before = world_state(app.state.engine)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    elks = await client.post("/a1/SMS", content=chunks(50_000), headers=form, auth=ELKS_AUTH)
    assert elks.status_code == 413 and "too large" in elks.text
    seven = await client.post("/api/sms", content=chunks(50_000), headers={**form, "X-Api-Key": SEVEN_KEY})
    assert seven.status_code == 413
    control = await client.post("/_emulator/outcomes", content=chunks(50_000), headers={"Content-Type": "application/json"})
    assert control.status_code == 413 and control.json()["error"]["type"] == "BodyTooLarge"
    assert world_state(app.state.engine) == before
    under = await client.post("/_emulator/inbound/sms", content=chunks(4096), headers={"Content-Type": "application/json"})
    assert under.status_code == 400  # read whole and refused for what it says, not for its size


async def test_the_default_guard_answers_local_names_only():
    app = app_with()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        assert (await client.get("/_emulator/health")).status_code == 200
        refused = await client.get("/_emulator/snapshot", headers={"Host": "rebound.example"})
        assert refused.status_code == 403 and "--allowed-hosts rebound.example" in refused.json()["error"]["message"]
        root = await client.get("/", headers={"Host": "rebound.example"})
        assert root.status_code == 403
        provider = await client.get("/a1/me", auth=ELKS_AUTH, headers={"Host": "api.46elks.com"})
        assert provider.status_code == 200


async def test_the_root_redirect_carries_the_sign_in():
    app = app_with(control_token="tok")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        root = await client.get("/?token=tok")
        assert root.status_code == 307 and root.headers["location"] == "/_emulator/ui?token=tok"
        signed_in = await client.get(root.headers["location"])
        assert signed_in.status_code == 303 and "telco_emulator_token=tok" in signed_in.headers["set-cookie"]
        assert (await client.get("/_emulator/ui")).status_code == 200  # the client kept the cookie

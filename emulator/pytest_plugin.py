"""pytest plugin: the `telco_emulator` fixture.

Installing telco-emulator registers this plugin (entry point `pytest11`). The fixture runs one
emulator per test session in-process (a uvicorn server on a free loopback port, in a background
thread, on a virtual clock by default), resets it before each test, and hands the test a
`TelcoEmulator` with helpers to drive and observe it. With `--telco-emulator-url` the tests use
an emulator that is already running instead; when that one is shared with a control token, pass it
with `--telco-emulator-token` or the `TELCO_EMULATOR_CONTROL_TOKEN` environment variable.

    def test_delivery_report(telco_emulator):
        sms = httpx.post(telco_emulator.elks_url + "/SMS", auth=telco_emulator.elks_auth,
                         data={"from": "ElkCo", "to": "+46700000123", "message": "Hi"}).json()
        telco_emulator.advance(1)
        event = telco_emulator.wait_for_message(id=sms["id"], status="delivered")
"""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from .control_client import collect, control_token_auth
from .server import BackgroundServer

__all__ = ["TelcoEmulator", "telco_emulator"]

ELKS_AUTH = ("test_user", "test_password")
SEVEN_API_KEY = "test_api_key"


class TelcoEmulator:
    """A handle on a running emulator: URLs, default credentials, and control helpers."""

    def __init__(self, url: str, control_token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.control_token = control_token
        self.elks_url = self.url + "/a1"
        self.seven_url = self.url + "/api"
        self.control_url = self.url + "/_emulator"
        self.elks_auth = ELKS_AUTH
        self.seven_api_key = SEVEN_API_KEY
        self.seven_headers = {"X-Api-Key": SEVEN_API_KEY, "Accept": "application/json"}
        self.client = httpx.Client(base_url=self.control_url, timeout=60, auth=control_token_auth(control_token))
        self.sandbox_id: str | None = None  # set on the handles `sandbox()` returns
        self.sandbox_info: dict | None = None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} /_emulator{path} answered {response.status_code}: {response.text}")
        return response.json()

    def _scoped(self, filters: dict[str, Any]) -> dict[str, str]:
        params = _params(filters)
        if self.sandbox_id is not None:
            params.setdefault("sandbox", self.sandbox_id)
        return params

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the fixtures (a sandbox handle resets only its sandbox)."""
        if self.sandbox_id is not None:
            self._call("POST", f"/sandboxes/{self.sandbox_id}/reset")
        else:
            self._call("POST", "/reset")

    def _list(self, path: str, params: dict[str, str]) -> list[dict]:
        """Up to `limit` (default 100) records, newest first, across short pages."""
        limit = int(params.pop("limit", 100))
        return collect(lambda page: self._call("GET", path, params=page), params, limit)

    def messages(self, **filters: str) -> list[dict]:
        return self._list("/messages", self._scoped(filters))

    def webhooks(self, **filters: str) -> list[dict]:
        return self._list("/webhooks", self._scoped(filters))

    def calls(self, **filters: str) -> list[dict]:
        return self._list("/calls", _params(filters))

    def sandbox(self, name: str | None = None) -> "TelcoEmulator":
        """An isolated copy of the fixture accounts in the same emulator: a handle whose
        credentials, numbers, `messages`, `webhooks` and waits see only that sandbox. Parallel
        test workers sharing one emulator each take one."""
        info = self._call("POST", "/sandboxes", json={"name": name} if name else {})
        handle = TelcoEmulator(self.url, self.control_token)
        handle.sandbox_id, handle.sandbox_info = info["id"], info
        handle.elks_auth = tuple(info["elks_auth"])
        handle.seven_api_key = info["seven_api_key"]
        handle.seven_headers = {"X-Api-Key": handle.seven_api_key, "Accept": "application/json"}
        return handle

    def delete_sandbox(self) -> None:
        if self.sandbox_id is not None:
            self._call("DELETE", f"/sandboxes/{self.sandbox_id}")

    # -- time ------------------------------------------------------------------------------
    def advance(self, seconds: float) -> dict:
        """Move the virtual clock; every due status change, report and retry happens in order,
        each at its own due time, and the webhook attempts due on the way have been made when
        this returns. A receiver that keeps the clock waiting over 20 s fails the call (504,
        naming the receiver); the clock stays where it stopped."""
        return self._call("POST", "/clock/advance", json={"seconds": seconds})

    def set_time(self, iso_time: str) -> dict:
        return self._call("POST", "/clock/set", json={"time": iso_time})

    # -- waiting ---------------------------------------------------------------------------
    def wait_for(self, kind: str | None = None, timeout: float = 10.0, after: int = 0, **filters: str) -> dict:
        """The first event matching the filters, waiting up to `timeout` seconds; fails the test
        if none comes. Events that already happened count (pass `after` to skip older ones)."""
        params = self._scoped(filters)
        if kind:
            params["kind"] = kind
        response = self.client.get("/wait", params={**params, "after": after, "timeout": timeout})
        if response.status_code == 408:
            raise AssertionError(f"no event matching {params} within {timeout} s")
        response.raise_for_status()
        return response.json()["event"]

    def wait_for_message(self, timeout: float = 10.0, kind: str = "message.*", **filters: str) -> dict:
        """A message event (`message.created`, `.status` or `.received`) matching the filters,
        e.g. `wait_for_message(to="+46700000123", status="delivered")`."""
        return self.wait_for(kind, timeout=timeout, **filters)

    def wait_for_webhook(self, timeout: float = 10.0, **filters: str) -> dict:
        """A webhook attempt matching the filters, e.g. `wait_for_webhook(url=..., state="delivered")`."""
        return self.wait_for("webhook.attempt", timeout=timeout, **filters)

    # -- driving the network ---------------------------------------------------------------
    def inject_sms(self, to: str, from_: str, text: str) -> dict:
        """A phone sends an SMS to one of the accounts' numbers."""
        return self._call("POST", "/inbound/sms", json={"to": to, "from": from_, "text": text})

    def inject_call(self, to: str, from_: str, digits: str | None = None, **options: Any) -> dict:
        """A phone calls one of the accounts' numbers, pressing `digits` when asked."""
        body = {"to": to, "from": from_, **options}
        if digits is not None:
            body["digits"] = digits
        return self._call("POST", "/inbound/call", json=body)

    def add_outcome(self, match: str, status: str = "delivered", **options: Any) -> dict:
        """Decide the fate of messages to `match` (exact number, prefix*, or re:REGEX)."""
        return self._call("POST", "/outcomes", json={"match": match, "status": status, **options})

    def add_fault(self, **rule: Any) -> dict:
        """Make a provider's API fail: e.g. `add_fault(provider="elks", status=429, count=2)`."""
        return self._call("POST", "/faults", json=rule)

    def close(self) -> None:
        self.client.close()


def _params(filters: dict[str, Any]) -> dict[str, str]:
    # `from` is a Python keyword: accept from_ as well.
    return {("from" if key == "from_" else key): str(value) for key, value in filters.items() if value is not None}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("telco-emulator")
    group.addoption("--telco-emulator-url", default=None, help="use the emulator running at this URL instead of starting one")
    group.addoption("--telco-emulator-fixtures", default=None, help="fixture file for the in-process emulator")
    group.addoption("--telco-emulator-clock", default="virtual", choices=("virtual", "real"), help="clock of the in-process emulator (default virtual)")
    group.addoption("--telco-emulator-seed", default=46, type=int, help="seed of the in-process emulator")
    group.addoption("--telco-emulator-token", default=None, help="control token of the --telco-emulator-url emulator (default: env TELCO_EMULATOR_CONTROL_TOKEN)")


@pytest.fixture(scope="session")
def _telco_emulator_url(request: pytest.FixtureRequest) -> Iterator[str]:
    config = request.config
    url = config.getoption("--telco-emulator-url")
    if url:
        yield url
        return
    server = BackgroundServer(
        config.getoption("--telco-emulator-clock"), config.getoption("--telco-emulator-fixtures"), config.getoption("--telco-emulator-seed")
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def telco_emulator(request: pytest.FixtureRequest, _telco_emulator_url: str) -> Iterator[TelcoEmulator]:
    """A running telco-emulator, reset to its fixtures before the test."""
    handle = TelcoEmulator(_telco_emulator_url, request.config.getoption("--telco-emulator-token"))
    handle.reset()
    try:
        yield handle
    finally:
        handle.close()

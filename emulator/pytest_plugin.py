"""pytest plugin: the `telco_emulator` fixture.

Installing telco-emulator registers this plugin (entry point `pytest11`). The fixture runs one
emulator per test session (per pytest-xdist worker), on a free loopback port and a virtual clock
by default, resets it before each test, and hands the test a `TelcoEmulator` with helpers to drive
and observe it. The emulator runs as a child process (`python -m emulator`, stopped at the end of
the session): a server thread inside the test process would compete with the test for the
interpreter lock and make every request some 20 ms slower; `--telco-emulator-mode thread` runs it
in-process all the same. `telco_sandbox` is the same handle on a sandbox of its own, made once per
session (per xdist worker) and reset before each test, for workers that share one emulator. With
`--telco-emulator-url` the tests use an emulator that is already running instead; when that one is
shared with a control token, pass it with `--telco-emulator-token` or the
`TELCO_EMULATOR_CONTROL_TOKEN` environment variable.

    def test_delivery_report(telco_emulator):
        sms = httpx.post(telco_emulator.elks_url + "/SMS", auth=telco_emulator.elks_auth,
                         data={"from": "ElkCo", "to": "+46700000123", "message": "Hi"}).json()
        telco_emulator.advance(1)
        event = telco_emulator.wait_for_message(id=sms["id"], status="delivered")
"""

from __future__ import annotations

from typing import Any, Iterator

import json as _json

import httpx
import pytest

from .control_client import ControlConnection, collect, control_token_auth

__all__ = ["TelcoEmulator", "telco_emulator", "telco_sandbox"]

ELKS_AUTH = ("test_user", "test_password")
SEVEN_API_KEY = "test_api_key"


class TelcoEmulator:
    """A handle on a running emulator: URLs, default credentials, and control helpers."""

    def __init__(self, url: str, control_token: str | None = None, connection: ControlConnection | None = None) -> None:
        self.url = url.rstrip("/")
        self.control_token = control_token
        self.elks_url = self.url + "/a1"
        self.seven_url = self.url + "/api"
        self.control_url = self.url + "/_emulator"
        self.elks_auth = ELKS_AUTH
        self.seven_api_key = SEVEN_API_KEY
        self.seven_headers = {"X-Api-Key": SEVEN_API_KEY, "Accept": "application/json"}
        # One keep-alive connection (per thread) for every handle of a session: a new httpx
        # client per test would pay for a TLS context and a TCP connection each time.
        self._owns_connection = connection is None
        self.connection = connection or ControlConnection(self.url, control_token)
        self._client: httpx.Client | None = None
        self._resets_ahead = False  # whether a test's reset is sent as the previous one ends
        self.sandbox_id: str | None = None  # set on the handles `sandbox()` returns
        self.sandbox_info: dict | None = None

    @property
    def client(self) -> httpx.Client:
        """An httpx client of the control API (`/_emulator`), for calls the helpers do not cover."""
        if self._client is None:
            self._client = control_client(self.url, self.control_token)
        return self._client

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        status, body = self.connection.request(method, path, params=params, body=json)
        _check(method, path, status, body)
        return _json.loads(body)

    def _scoped(self, filters: dict[str, Any]) -> dict[str, str]:
        params = _params(filters)
        if self.sandbox_id is not None:
            params.setdefault("sandbox", self.sandbox_id)
        return params

    # -- state -----------------------------------------------------------------------------
    def _reset_path(self) -> str:
        return f"/sandboxes/{self.sandbox_id}/reset" if self.sandbox_id is not None else "/reset"

    def reset(self) -> None:
        """Back to the fixtures (a sandbox handle resets only its sandbox)."""
        path = self._reset_path()
        status, body = self.connection.request("POST", path, minimal=True)
        _check("POST", path, status, body)

    def _reset_for_the_next_test(self) -> None:
        """Send the reset as a test ends; `_reset_before_the_test` waits for its answer."""
        if self._resets_ahead:
            self.connection.send_ahead("POST", self._reset_path(), minimal=True)

    def _reset_before_the_test(self) -> None:
        answer = self.connection.collect_ahead(("POST", self._reset_path()))
        if answer is None:
            self.reset()  # the first test, or the reset sent ahead was lost with its connection
        else:
            _check("POST", self._reset_path(), *answer)

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
        return self._with_sandbox(self._call("POST", "/sandboxes", json={"name": name} if name else {}))

    def _with_sandbox(self, info: dict) -> "TelcoEmulator":
        handle = TelcoEmulator(self.url, self.control_token, connection=self.connection)
        handle._resets_ahead = self._resets_ahead
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
        status, body = self.connection.request("GET", "/wait", params={**params, "after": after, "timeout": timeout}, timeout=timeout + 60)
        if status == 408:
            raise AssertionError(f"no event matching {params} within {timeout} s")
        _check("GET", "/wait", status, body)
        return _json.loads(body)["event"]

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
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._owns_connection:
            self.connection.close()


def control_client(url: str, control_token: str | None = None) -> httpx.Client:
    """An httpx client of the control API at `url` (the emulator's base URL)."""
    return httpx.Client(base_url=url.rstrip("/") + "/_emulator", timeout=60, auth=control_token_auth(control_token))


def _check(method: str, path: str, status: int, body: bytes) -> None:
    """Fail the test when a control call was refused, with the emulator's answer."""
    if status >= 400:
        raise AssertionError(f"{method} /_emulator{path} answered {status}: {body.decode(errors='replace')}")


def _params(filters: dict[str, Any]) -> dict[str, str]:
    # `from` is a Python keyword: accept from_ as well.
    return {("from" if key == "from_" else key): str(value) for key, value in filters.items() if value is not None}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("telco-emulator")
    group.addoption("--telco-emulator-url", default=None, help="use the emulator running at this URL instead of starting one")
    group.addoption("--telco-emulator-fixtures", default=None, help="fixture file of the emulator the plugin starts")
    group.addoption("--telco-emulator-clock", default="virtual", choices=("virtual", "real"), help="clock of the emulator the plugin starts (default virtual)")
    group.addoption("--telco-emulator-seed", default=46, type=int, help="seed of the emulator the plugin starts")
    group.addoption("--telco-emulator-mode", default="process", choices=("process", "thread"), help="run the emulator as a child process (default) or in a thread of the test process")
    group.addoption("--telco-emulator-token", default=None, help="control token of the --telco-emulator-url emulator (default: env TELCO_EMULATOR_CONTROL_TOKEN)")


@pytest.fixture(scope="session")
def _telco_emulator_url(request: pytest.FixtureRequest) -> Iterator[str]:
    config = request.config
    url = config.getoption("--telco-emulator-url")
    if url:
        yield url
        return
    settings = (config.getoption("--telco-emulator-clock"), config.getoption("--telco-emulator-fixtures"), config.getoption("--telco-emulator-seed"))
    if config.getoption("--telco-emulator-mode") == "thread":
        from .background import BackgroundServer

        server: Any = BackgroundServer(*settings)
    else:
        from .child import ChildServer

        server = ChildServer(*settings)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _telco_emulator_session(request: pytest.FixtureRequest, _telco_emulator_url: str) -> Iterator[TelcoEmulator]:
    handle = TelcoEmulator(_telco_emulator_url, request.config.getoption("--telco-emulator-token"))
    # In another process the emulator resets while pytest moves on to the next test; in a thread
    # of this one it would only compete with pytest for the interpreter lock.
    handle._resets_ahead = request.config.getoption("--telco-emulator-mode") != "thread" or bool(request.config.getoption("--telco-emulator-url"))
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def telco_emulator(_telco_emulator_session: TelcoEmulator) -> Iterator[TelcoEmulator]:
    """A running telco-emulator, reset to its fixtures before the test."""
    session = _telco_emulator_session
    handle = TelcoEmulator(session.url, session.control_token, connection=session.connection)  # a test may change its handle
    handle._resets_ahead = session._resets_ahead
    # The reset is sent as the previous test ended (the emulator does it while pytest moves on)
    # and its answer is awaited here, before the test starts.
    handle._reset_before_the_test()
    yield handle
    handle.close()
    handle._reset_for_the_next_test()


@pytest.fixture(scope="session")
def _telco_sandbox_session(_telco_emulator_session: TelcoEmulator) -> Iterator[dict[str, Any]]:
    holder: dict[str, Any] = {"sandbox": None}  # the session's sandbox, made at first use
    try:
        yield holder
    finally:
        if holder["sandbox"] is not None:
            try:
                holder["sandbox"].delete_sandbox()
            except AssertionError:
                pass  # already gone (a global reset removes every sandbox)


@pytest.fixture
def telco_sandbox(_telco_emulator_session: TelcoEmulator, _telco_sandbox_session: dict[str, Any]) -> Iterator[TelcoEmulator]:
    """A sandbox of this session (of this xdist worker) in the running emulator, reset to its
    starting state before the test: its own accounts, credentials and numbers, so workers that
    share one emulator (`--telco-emulator-url`) never see each other's messages. (A global reset,
    such as `telco_emulator` makes, removes it: the next test gets a new one.)"""
    known = _telco_sandbox_session["sandbox"]
    handle = None
    if known is not None:
        handle = known._with_sandbox(known.sandbox_info or {})
        try:
            handle._reset_before_the_test()  # sent as the previous test ended, as with telco_emulator
        except AssertionError:
            handle = None  # the sandbox is gone
    if handle is None:
        handle = _telco_sandbox_session["sandbox"] = _telco_emulator_session.sandbox()
    yield handle
    handle.close()
    handle._reset_for_the_next_test()

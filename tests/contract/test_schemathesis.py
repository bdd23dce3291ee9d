"""Contract tests: schemathesis generates requests from the providers' own specs and checks the
answers of every implemented operation with all of its checks: no 5xx ever; every status code,
content type, header and body is one the spec documents; invalid input is refused with a 4xx;
credentials are enforced; unknown methods are refused; and a refusal changes nothing (after every
non-2xx answer of the whole run, no balance changed and nothing was stored: `refusals_change_nothing`).
Stateful runs then chain operations along the specs' links (create, then read, change and delete
what was created).

The operations tested are those of the spec that the emulator routes, found from the app itself,
so the run grows with the emulator; `test_routed_operations_are_in_the_spec` keeps the two honest.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import schemathesis
import schemathesis.checks as checks
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, initialize
from schemathesis import GenerationMode
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.generation.stateful.state_machine import StepInput

from emulator.app import create_app
from emulator.settings import Settings

SPECS = Path(__file__).resolve().parents[2] / "specs"
ELKS_CREDENTIALS = ("test_user", "test_password")
# seven.io takes its API key as a Bearer token too; the spec's security scheme (OAuth2) names
# the Authorization header, so `ignored_auth` can take the credentials away and expect a refusal.
SEVEN_AUTH = {"Authorization": "Bearer test_api_key"}
# Sent with each call rather than as a case header: schemathesis' ASGI transport lets the
# session's default `Accept: */*` win over a case's own Accept header.
SEVEN_ACCEPT = {"Accept": "application/json"}
MAX_EXAMPLES = 40
VIRTUAL_START = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z

# Every check schemathesis has is on, but one:
# - object_level_authorization needs several identities declared to schemathesis (a WFC auth
#   document); that one account cannot reach another's objects is covered by the error tables
#   (tests/contract/test_errors_*.py: another account's id answers the provider's "not found").
EXCLUDED_CHECKS = ["object_level_authorization"]
# positive_data_acceptance: the specs type phone numbers, senders and ids as free strings, so a
# schema-valid request may still name a number that does not exist. Each provider refuses those
# with its own status (46elks 403, among the check's defaults; seven.io 400, or 402 when the
# credit is short, as the emulator renders seven's HTTP-200 return codes), which is therefore
# accepted here; anything else (405, 415, 422 ...) still fails the check.
SEVEN_SEMANTIC_REFUSALS = ["400", "402"]
# The control API's inputs are free strings too (a number no account owns, a snapshot from another
# version, a clock time in the past): refused with 400.
CONTROL_SEMANTIC_REFUSALS = ["400"]

# A virtual clock: nothing fires, so the run is deterministic and never calls a webhook URL.
# The control API gets an app of its own: its faults, resets and clock moves stay there.
APP = create_app(Settings(clock="virtual", clock_start=VIRTUAL_START, allowed_hosts=("emulator.test",)))
CONTROL_APP = create_app(Settings(clock="virtual", clock_start=VIRTUAL_START, allowed_hosts=("emulator.test",)))


def world_fingerprint(engine) -> dict[str, object]:
    """What a refused request must leave as it was, cheap enough to take around every request:
    every balance, how many numbers (and active ones), messages, hooks, deliveries and records of
    each provider collection (contacts, calls, lookups ...) exist, the rules, the clock."""
    store = engine.store
    sandboxes = getattr(engine, "sandboxes", None)
    return {
        **{f"balance of {account.id}": account.balance for account in store.accounts.values()},
        "numbers": len(store.numbers), "active numbers": sum(1 for number in store.numbers if number.active),
        "messages": len(store.messages), "hooks": len(store.hooks), "deliveries": len(store.deliveries),
        **{name: len(collection) for name, collection in store._named.items() if len(collection)},
        "outcome rules": len(engine.lifecycle.rules), "call rules": len(engine.calls.rules), "faults": len(engine.faults.rules),
        "sandboxes": len(sandboxes.by_id) if sandboxes is not None else 0,
        "clock": engine.clock.now(), "timed events": engine.clock.pending(),
    }


WORLD_CHANGES: list[str] = []  # refusals that changed the world, until a check reports them


class WorldWatch:
    """The app, with the world's fingerprint taken before each request and again when a non-2xx
    answer starts (the handler is done by then); a difference is recorded in `WORLD_CHANGES`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        engine = self.app.state.engine
        before = world_fingerprint(engine)

        async def watched(message) -> None:
            if message["type"] == "http.response.start" and not 200 <= message["status"] < 300:
                after = world_fingerprint(engine)
                if after != before:
                    changed = [f"{name} {before.get(name)} -> {after.get(name)}" for name in {**before, **after} if before.get(name) != after.get(name)]
                    WORLD_CHANGES.append(f"{scope['method']} {scope['path']} answered {message['status']} but changed: {'; '.join(changed)}")
            await send(message)

        await self.app(scope, receive, watched)


WATCHED_APP = WorldWatch(APP)
WATCHED_CONTROL_APP = WorldWatch(CONTROL_APP)


@schemathesis.check
def refusals_change_nothing(ctx, response, case):
    """Validate, then mutate: after a non-2xx answer no balance changed and nothing was stored
    (requests that other checks make are reported at the next check or the test's end)."""
    changes = list(WORLD_CHANGES)
    WORLD_CHANGES.clear()
    assert not changes, "a refused request changed the world: " + " | ".join(changes)
    return None


@schemathesis.deserializer("text/plain", "text/csv")
def _plain_text(ctx, response):
    """Plain-text bodies (46elks errors, seven.io return codes) are validated as strings."""
    return response.content.decode(response.encoding or "utf-8")


@schemathesis.check
def elks_wire_format(ctx, response, case):
    """46elks answers JSON on success and a non-empty plain text on refusal; Swagger 2.0 lists
    one set of content types per operation, so content_type_conformance cannot tell them apart."""
    if "swagger" not in case.operation.schema.raw_schema:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if 200 <= response.status_code < 300:
        expected = {"/images/{id}.jpg": "image/jpeg", "/recordings/{id}.wav": "audio/wav"}.get(case.operation.path, "application/json")
        assert content_type.startswith(expected), f"a 46elks success is {expected}, got {content_type!r}"
    elif 400 <= response.status_code < 500:
        assert content_type == "text/plain; charset=utf-8", f"a 46elks refusal is plain text, got {content_type!r}"
        assert response.content.strip(), "a 46elks refusal says why"
    return None


def is_seven(case) -> bool:
    return case.operation.schema.raw_schema.get("info", {}).get("title", "").startswith("seven")


@schemathesis.check
def seven_answers_json(ctx, response, case):
    """A client that asks seven.io for JSON gets JSON, refusals included."""
    if not is_seven(case) or response.request.headers.get("accept") != "application/json":
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/json") or (case.operation.path == "/pricing" and content_type.startswith("text/csv")), (
        f"seven.io answers JSON when asked for it, got {content_type!r}"
    )
    return None


def routed(mount: str, fold_case: bool = False, app=APP) -> set[tuple[str, str]]:
    """(METHOD, path) of every route under `mount`, as the spec writes paths."""
    inner = next(route for route in app.routes if getattr(route, "path", "") == mount).app
    while not hasattr(inner, "routes"):  # unwrap path-rewriting middleware
        inner = inner.app
    pairs = {(method, route.path) for route in inner.routes for method in route.methods - {"HEAD"}}
    return {(method, path.lower() if fold_case else path) for method, path in pairs}


def load(name: str, mount: str, fold_case: bool = False, app=APP):
    schema = schemathesis.openapi.from_path(SPECS / name)
    schema.app = WATCHED_APP if app is APP else WATCHED_CONTROL_APP
    schema.config.update(base_url=f"http://emulator.test{mount}")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, allow_extra_parameters=False
    )
    schema.config.checks.update(excluded_check_names=EXCLUDED_CHECKS)
    served = routed(mount, fold_case, app)

    def implemented(ctx) -> bool:
        path = ctx.operation.path.lower() if fold_case else ctx.operation.path
        return (ctx.operation.method.upper(), path) in served

    return schema.include(implemented)


ELKS = load("46elks.yaml", "/a1", fold_case=True)
ELKS.config.update(basic_auth=ELKS_CREDENTIALS)
SEVEN = load("seven.json", "/api")
SEVEN.config.update(headers=SEVEN_AUTH)
SEVEN.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=PositiveDataAcceptanceConfig().expected_statuses + SEVEN_SEMANTIC_REFUSALS
)
# Long-polling and streaming operations wait for real time; their own API tests cover them.
CONTROL = load("control.yaml", "/_emulator", app=CONTROL_APP).exclude(path_regex="^/(wait|events)$")
CONTROL.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=PositiveDataAcceptanceConfig().expected_statuses + CONTROL_SEMANTIC_REFUSALS
)

HYPOTHESIS = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(autouse=True)
def fresh_world():
    """Each operation starts from the fixtures: balances full, no leftovers of the last one. No
    refusal may have changed the world, up to the last request of the test."""
    APP.state.engine.reset()
    CONTROL_APP.state.engine.reset()
    WORLD_CHANGES.clear()
    yield
    changes = list(WORLD_CHANGES)
    WORLD_CHANGES.clear()
    assert not changes, "a refused request changed the world: " + " | ".join(changes)


@ELKS.parametrize()
@HYPOTHESIS
def test_46elks_operations(case):
    case.call_and_validate()


# Form encoding cannot tell a one-item array from a scalar (`ids=5`), and seven.io takes comma
# lists in scalars anyway, so "wrong type" negatives of these array fields are valid requests.
FORM_ARRAYS = {("DELETE", "/sms")}
# Paths that also answer a legacy method the spec leaves out (GET /sms, POST /status): that
# method is not "unsupported", and `Allow` rightly names it.
LEGACY_METHOD_PATHS = {"/sms", "/status"}


@SEVEN.parametrize()
@HYPOTHESIS
def test_seven_operations(case):
    excluded = []
    if (case.method.upper(), case.path) in FORM_ARRAYS:
        excluded.append(checks.negative_data_rejection)
    if case.path in LEGACY_METHOD_PATHS:
        excluded += [checks.unsupported_method, checks.allow_header_conformance]
    case.call_and_validate(headers=SEVEN_ACCEPT, excluded_checks=excluded)


# The built-in webhook receiver answers 200 to any method by design (QUERY, PROPFIND ... too):
# no method is "unsupported" there.
ANY_METHOD_PATHS = ("/sink/",)


@CONTROL.parametrize()
@HYPOTHESIS
def test_control_operations(case):
    excluded = [checks.unsupported_method] if case.path.startswith(ANY_METHOD_PATHS) else []
    case.call_and_validate(excluded_checks=excluded)


# Inputs the generated data rarely reaches, each of which once answered 500 after the money was
# taken: `refusals_change_nothing` (and `not_a_server_error`) must hold for them too.
SMS_OK = {"to": "+4917612345678", "text": "Workflow"}


@pytest.mark.parametrize(
    "body",
    [{**SMS_OK, "text": "x\ud800"}, {**SMS_OK, "text": "\udc00"}, {**SMS_OK, "label": "\ud800"}],
    ids=["lone high surrogate", "lone low surrogate", "surrogate in another field"],
)
def test_a_text_that_cannot_be_written_is_refused_changing_nothing(body):
    case = SEVEN["/sms"]["POST"].Case(body=body, media_type="application/json")
    response = case.call(headers={**SEVEN_AUTH, **SEVEN_ACCEPT})
    case.validate_response(response)
    assert response.status_code == 400 and response.json() == 700


@pytest.mark.parametrize(
    "rule",
    [{"match": "re:([", "status": "failed"}, {"match": "*", "sent_after": 1e308, "final_after": 1e308}],
    ids=["pattern that does not compile", "delay of 1e308 seconds"],
)
def test_after_a_bad_rule_sends_are_whole(rule):
    """The rule is refused (it was accepted, and every send after it answered 500, charged)."""
    added = CONTROL["/outcomes"]["POST"].Case(body=rule, media_type="application/json").call(app=WATCHED_APP)
    assert added.status_code == 400, added.text
    balance = APP.state.engine.store.accounts["1000001"].balance
    case = SEVEN["/sms"]["POST"].Case(body=SMS_OK, media_type="application/json")
    response = case.call(headers={**SEVEN_AUTH, **SEVEN_ACCEPT})
    case.validate_response(response)
    assert response.status_code == 200
    assert APP.state.engine.store.accounts["1000001"].balance == balance - round(response.json()["total_price"] * 10_000)


def spec_operations(name: str, fold_case: bool = False) -> set[tuple[str, str]]:
    schema = schemathesis.openapi.from_path(SPECS / name)
    pairs = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    return {(method, path.lower() if fold_case else path) for method, path in pairs}


# Forms the providers serve beyond their specs, which older clients still use (46elks: the lists
# the official CLI reads, `elks billing` and `elks transactions`), and seven.io's RCS agents,
# which the seed spec leaves out (tests/api/test_seven_rcs.py).
LEGACY = {
    "46elks.yaml": {
        ("GET", "/billing"),
        ("GET", "/transactions"),
    },
    "seven.json": {
        ("GET", "/sms"),
        ("POST", "/status"),
        ("GET", "/journal"),
        ("GET", "/analytics"),
        ("GET", "/subaccounts"),
        ("POST", "/subaccounts"),
        ("GET", "/subaccounts/read"),
        ("GET", "/lookup"),  # the legacy lookup, ?type=format|hlr|mnp|cnam
        ("POST", "/lookup"),
        ("GET", "/rcs/agents"),
    },
}


@pytest.mark.parametrize(("name", "mount", "fold_case", "minimum"), [("46elks.yaml", "/a1", True, 6), ("seven.json", "/api", False, 7)])
def test_routed_operations_are_in_the_spec(name, mount, fold_case, minimum):
    """Every route answers an operation of the spec or a known legacy form, and the tested set is not empty."""
    served = routed(mount, fold_case)
    spec = spec_operations(name, fold_case)
    assert len(served & spec) >= minimum
    assert served - spec == LEGACY.get(name, set())


# -- stateful: chains along the specs' links --------------------------------------------------
#
# schemathesis follows the links of the specs (and those it infers) from one operation's answer
# to the next. Its own root steps draw random values, which the providers refuse (no such
# number, no such sender) — those refusals are checked too — so each scenario also starts with
# a few requests that create something real, with values from the fixture world; the links then
# read, change and delete what they created.

STATEFUL = settings(HYPOTHESIS, max_examples=40, stateful_step_count=15)
RESULTS = Bundle("catch_all")  # the results' bundle; schemathesis files each result by its links
ELKS_AUTH_HEADER = {"Authorization": "Basic " + base64.b64encode(":".join(ELKS_CREDENTIALS).encode()).decode()}
FORM = "application/x-www-form-urlencoded"


def creation(schema, path: str, method: str, headers: dict[str, str], body: dict[str, object]):
    return schema[path][method].Case(headers=dict(headers), body=body, media_type=FORM)


def created(machine, case):
    """Run `case` as a root step of `machine`, recorded like the steps schemathesis draws itself."""
    step = StepInput.initial(case)
    machine.recorder.record_case(case=case)
    machine.control.record_step(step, machine.recorder)
    return machine.step(step)


class ElksWorkflows(ELKS.as_state_machine()):
    """Send, read and delete SMS, MMS and calls; allocate, read and change numbers; create, read
    and change subaccounts."""

    def setup(self):
        APP.state.engine.reset()

    def create(self, path, body):
        return created(self, creation(ELKS, path, "POST", ELKS_AUTH_HEADER, body))

    @initialize(target=RESULTS)
    def send_sms(self):
        return self.create("/SMS", {"from": "ElkCo", "to": "+46700000123", "message": "Workflow"})

    @initialize(target=RESULTS)
    def send_mms(self):
        return self.create("/MMS", {"from": "+46766861001", "to": "+46700000123", "message": "Workflow"})

    @initialize(target=RESULTS)
    def place_call(self):
        return self.create("/Calls", {"from": "+46766861001", "to": "+46700000123", "voice_start": '{"play": "sound/beep"}'})

    @initialize(target=RESULTS)
    def allocate_number(self):
        return self.create("/numbers", {"country": "se", "capabilities": "sms,voice"})

    @initialize(target=RESULTS)
    def create_subaccount(self):
        return self.create("/subaccounts", {"name": "Workflow Co", "usagelimit": "100000"})


class SevenWorkflows(SEVEN.as_state_machine()):
    """Create, read, change and delete contacts and groups; create and delete hooks; send an SMS
    and ask its status; place a call and hang up; send an RCS message and cancel it; create, top
    up and delete subaccounts."""

    def setup(self):
        APP.state.engine.reset()

    def get_call_kwargs(self, case):
        return {"headers": dict(SEVEN_ACCEPT)}

    def create(self, path, body):
        return created(self, creation(SEVEN, path, "POST", SEVEN_AUTH, body))

    @initialize(target=RESULTS)
    def add_contact(self):
        return self.create("/contacts", {"firstname": "Erika", "lastname": "Mustermann", "mobile_number": "+4917612345678"})

    @initialize(target=RESULTS)
    def add_group(self):
        return self.create("/groups", {"name": "Workflow"})

    @initialize(target=RESULTS)
    def add_hook(self):
        return self.create("/hooks", {"target_url": "https://example.com/hook", "event_type": "dlr"})

    @initialize(target=RESULTS)
    def send_sms(self):
        return self.create("/sms", {"to": "+4917612345678", "text": "Workflow"})

    @initialize(target=RESULTS)
    def place_call(self):
        return self.create("/voice", {"to": "+4917612345678", "text": "Workflow"})

    @initialize(target=RESULTS)
    def send_rcs(self):
        return self.create("/rcs/messages", {"to": "+4917612345678", "text": "Workflow", "fallback": "sms", "delay": "2030-01-01 00:00:00"})

    @initialize(target=RESULTS)
    def create_subaccount(self):
        return self.create("/subaccounts/create", {"name": "Workflow GmbH", "email": "workflow@example.com"})


TestElksWorkflows = ElksWorkflows.TestCase
TestElksWorkflows.settings = STATEFUL
TestSevenWorkflows = SevenWorkflows.TestCase
TestSevenWorkflows.settings = STATEFUL

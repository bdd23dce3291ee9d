"""Contract tests: schemathesis generates requests from the providers' own specs and checks the
answers of every implemented operation — no 5xx ever, and every documented answer matches its
schema; with negative data, invalid input must be refused with a 4xx.

The operations tested are those of the spec that the emulator routes, found from the app itself,
so the run grows with the emulator; `test_routed_operations_are_in_the_spec` keeps the two honest.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, not_a_server_error, response_schema_conformance

from emulator.app import create_app
from emulator.settings import Settings

SPECS = Path(__file__).resolve().parents[2] / "specs"
ELKS_AUTH = {"Authorization": "Basic " + base64.b64encode(b"test_user:test_password").decode()}
SEVEN_AUTH = {"X-Api-Key": "test_api_key", "Accept": "application/json"}
MAX_EXAMPLES = 60

# A virtual clock: nothing fires, so the run is deterministic and never calls a webhook URL.
APP = create_app(Settings(clock="virtual", clock_start=1_767_225_600_000_000))


def routed(mount: str, fold_case: bool = False) -> set[tuple[str, str]]:
    """(METHOD, path) of every route under `mount`, as the spec writes paths."""
    app = next(route for route in APP.routes if getattr(route, "path", "") == mount).app
    while not hasattr(app, "routes"):  # unwrap path-rewriting middleware
        app = app.app
    pairs = {(method, route.path) for route in app.routes for method in route.methods - {"HEAD"}}
    return {(method, path.lower() if fold_case else path) for method, path in pairs}


def load(name: str, mount: str, fold_case: bool = False):
    schema = schemathesis.openapi.from_path(SPECS / name)
    schema.app = APP
    schema.config.update(base_url=f"http://emulator.test{mount}")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, allow_extra_parameters=False
    )
    served = routed(mount, fold_case)

    def implemented(ctx) -> bool:
        path = ctx.operation.path.lower() if fold_case else ctx.operation.path
        return (ctx.operation.method.upper(), path) in served

    return schema.include(implemented)


ELKS = load("46elks.yaml", "/a1", fold_case=True)
SEVEN = load("seven.json", "/api")

CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]
HYPOTHESIS = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@ELKS.parametrize()
@HYPOTHESIS
def test_46elks_operations(case):
    case.call_and_validate(headers=ELKS_AUTH, checks=CHECKS)


# Form encoding cannot tell a one-item array from a scalar (`ids=5`), and seven.io takes comma
# lists in scalars anyway, so "wrong type" negatives of these array fields are valid requests.
FORM_ARRAYS = {("DELETE", "/sms")}


@SEVEN.parametrize()
@HYPOTHESIS
def test_seven_operations(case):
    checks = CHECKS
    if (case.method.upper(), case.path) in FORM_ARRAYS:
        checks = [check for check in CHECKS if check is not negative_data_rejection]
    case.call_and_validate(headers=SEVEN_AUTH, checks=checks)


def spec_operations(name: str, fold_case: bool = False) -> set[tuple[str, str]]:
    schema = schemathesis.openapi.from_path(SPECS / name)
    pairs = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    return {(method, path.lower() if fold_case else path) for method, path in pairs}


# Forms the providers serve beyond their specs, which older clients still use.
LEGACY = {
    "seven.json": {
        ("GET", "/sms"),
        ("POST", "/status"),
        ("GET", "/journal"),
        ("GET", "/analytics"),
        ("GET", "/subaccounts"),
        ("POST", "/subaccounts"),
        ("GET", "/subaccounts/read"),
    },
}


@pytest.mark.parametrize(("name", "mount", "fold_case", "minimum"), [("46elks.yaml", "/a1", True, 6), ("seven.json", "/api", False, 7)])
def test_routed_operations_are_in_the_spec(name, mount, fold_case, minimum):
    """Every route answers an operation of the spec or a known legacy form, and the tested set is not empty."""
    served = routed(mount, fold_case)
    spec = spec_operations(name, fold_case)
    assert len(served & spec) >= minimum
    assert served - spec == LEGACY.get(name, set())


# Long-polling and streaming operations wait for real time; their own API tests cover them.
CONTROL = load("control.yaml", "/_emulator").exclude(path_regex="^/(wait|events)$")


@CONTROL.parametrize()
@HYPOTHESIS
def test_control_operations(case):
    case.call_and_validate(checks=CHECKS)

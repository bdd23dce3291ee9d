"""One error table per provider: `Conflict` in the error tree, rendered by each provider its own
way, and the seven.io routes that declare an answer style of their own (the refusal tables in
`tests/contract/test_errors_*.py` pin every answer's bytes)."""

from __future__ import annotations

import json

from starlette.routing import Route

from emulator.control.render import error_response as control_answer
from emulator.core import errors
from emulator.elks.render import error_response as elks_answer
from emulator.seven import render as seven
from emulator.seven.routes import ROUTES as SEVEN_ROUTES


def test_a_conflict_is_409_in_every_wire_format() -> None:
    conflict = errors.Conflict("Call 7 has already ended.")
    elks = elks_answer(conflict)
    assert (elks.status_code, elks.body) == (409, b"Call 7 has already ended.")
    control = control_answer(conflict)
    assert control.status_code == 409
    assert json.loads(control.body) == {"error": {"type": "Conflict", "message": "Call 7 has already ended."}}
    rest = seven.error_response(conflict, style=seven.REST_STYLE, as_json=True)
    assert rest.status_code == 409 and json.loads(rest.body)["error_message"] == "Call 7 has already ended."
    result = seven.error_response(conflict, style=seven.CODE_STYLE, as_json=True, answers=seven.RESULT_STYLE)
    assert (result.status_code, json.loads(result.body)) == (409, {"success": False, "error": "Call 7 has already ended."})


def test_permission_denied_is_403_in_the_control_api_too() -> None:
    assert control_answer(errors.PermissionDenied("no")).status_code == 403


def test_seven_operations_declare_their_own_answer_styles() -> None:
    declared = {
        f"{' '.join(sorted(route.methods - {'HEAD'}))} {route.path}": seven.declared_style(route.endpoint)
        for route in SEVEN_ROUTES if isinstance(route, Route) and seven.declared_style(route.endpoint)
    }
    assert declared == {
        "POST /numbers/order": "result",
        "DELETE /rcs/messages/{id}": "result",
        "POST /rcs/events": "result",
        "POST /subaccounts/create": "result",
        "POST /subaccounts/update": "result",
        "POST /subaccounts/transfer_credits": "result",
        "POST /subaccounts/delete": "result",
        "GET POST /subaccounts": "result",
        "POST /voice": "lines",
        "POST /voice/{call_id}/hangup": "result",
    }


def test_voice_lines_answer_text_clients_only() -> None:
    refused = errors.InsufficientBalance(100, 0)
    lines = seven.error_response(refused, style=seven.CODE_STYLE, as_json=False, answers=seven.LINES_STYLE)
    assert (lines.status_code, lines.body) == (402, b"500\n\n0")
    as_json = seven.error_response(refused, style=seven.CODE_STYLE, as_json=True, answers=seven.LINES_STYLE)
    assert json.loads(as_json.body) == 500
    denied = seven.error_response(errors.AuthenticationFailed(), style=seven.CODE_STYLE, as_json=False, answers=seven.LINES_STYLE)
    assert denied.body == b"900"


def test_injected_faults_are_built_by_each_providers_renderer() -> None:
    from emulator.elks.render import fault_answer as elks_fault

    assert elks_fault(503) == (b"Service temporarily unavailable.", "text/plain; charset=utf-8")
    assert json.loads(seven.fault_answer(429)[0]) == {"success": False, "code": "429", "error_message": "Too many requests"}

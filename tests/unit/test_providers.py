"""The provider registry and the wiring it gives the app: every mount's routes, in order, and the
hooks each provider adds to the engine. The route tables were pinned before the registry replaced
module scanning, so a change here means a route moved."""

from __future__ import annotations

from typing import Any

from starlette.routing import Mount

from emulator.app import create_app
from emulator.settings import Settings

ROUTE_TABLES = {
    "/a1": [
        "GET /me", "POST /me", "GET /billing", "GET /transactions", "POST /calls", "GET /calls",
        "GET /calls/{id}", "DELETE /calls/{id}", "GET /images", "GET /images/{id}.jpg", "GET /images/{id}",
        "POST /mms", "GET /mms", "GET /mms/{id}", "DELETE /mms/{id}", "POST /numbers", "GET /numbers",
        "GET /numbers/{id}", "POST /numbers/{id}", "GET /recordings", "GET /recordings/{id}.wav",
        "GET /recordings/{id}", "POST /sms", "GET /sms", "GET /sms/{id}", "DELETE /sms/{id}",
        "GET /subaccounts", "POST /subaccounts", "GET /subaccounts/{id}", "POST /subaccounts/{id}",
    ],
    "/api": [
        "GET /balance", "GET /analytics/date", "GET /analytics/label", "GET /analytics/subaccount",
        "GET /analytics/country", "GET /analytics", "GET /contacts", "POST /contacts", "GET /contacts/{id}",
        "PATCH /contacts/{id}", "DELETE /contacts/{id}", "GET /groups", "POST /groups", "GET /groups/{id}",
        "PATCH /groups/{id}", "DELETE /groups/{id}", "GET /hooks", "POST /hooks", "DELETE /hooks",
        "GET /journal/outbound", "GET /journal/inbound", "GET /journal/replies", "GET /journal/voice",
        "GET /journal", "GET POST /lookup", "GET /lookup/format", "GET /lookup/hlr", "GET /lookup/mnp",
        "GET /lookup/cnam", "GET /lookup/rcs", "GET /numbers/available", "POST /numbers/order",
        "GET /numbers/active", "GET /numbers/active/{number}", "PATCH /numbers/active/{number}",
        "DELETE /numbers/active/{number}", "GET /pricing", "POST /rcs/messages", "GET /rcs/agents", "DELETE /rcs/messages/{id}",
        "POST /rcs/events", "GET POST /sms", "DELETE /sms", "GET POST /status", "GET /subaccounts/list",
        "POST /subaccounts/create", "POST /subaccounts/update", "POST /subaccounts/transfer_credits",
        "POST /subaccounts/delete", "GET /subaccounts/read", "GET POST /subaccounts", "POST /voice",
        "POST /voice/{call_id}/hangup", "POST /validate_for_voice",
    ],
    "/_emulator": [
        "GET /accounts", "GET /call-outcomes", "POST /call-outcomes", "GET /calls", "POST /inbound/call",
        "POST /inbound/mms", "GET /faults", "POST /faults", "DELETE /faults", "DELETE /faults/{id}",
        "GET /recordings/{id}.wav", "GET /images/{id}", "POST /webhooks/{id}/redeliver", "GET /requests",
        "GET /requests/{entry_id}", "GET /health", "POST /reset", "GET /messages", "GET /webhooks",
        "GET /clock", "POST /clock/advance", "POST /clock/set", "POST /inbound/sms", "GET /outcomes",
        "POST /outcomes", "GET /wait", "GET /events", "GET /sandboxes", "POST /sandboxes",
        "GET /sandboxes/{id}", "DELETE /sandboxes/{id}", "POST /sandboxes/{id}/reset", "GET /scenario",
        "POST /seven/tokens", "POST /seven/tracking", "GET /sink", "DELETE /sink",
        "DELETE GET OPTIONS PATCH POST PUT TRACE /sink/{path}", "GET /snapshot", "PUT /snapshot", "GET /ui",
        "GET /ui/static/{name}",
    ],
}


def _routes_of(app: Any) -> list[str]:
    while not hasattr(app, "routes"):  # through the wrappers (46elks' path folding)
        app = app.app
    return [" ".join(sorted(route.methods - {"HEAD"})) + " " + route.path for route in app.routes]


def _names(listeners: Any) -> list[str]:
    return [getattr(getattr(item, "func", item), "__qualname__", type(item).__name__) for item in listeners]


def test_every_mount_keeps_its_routes_in_order() -> None:
    app = create_app(Settings(clock="virtual"))
    tables = {route.path: _routes_of(route.app) for route in app.routes if isinstance(route, Mount)}
    assert tables == ROUTE_TABLES


def test_the_providers_add_the_same_hooks_to_the_engine_in_the_same_order() -> None:
    engine = create_app(Settings(clock="virtual")).state.engine
    assert sorted(engine.outbox.policies) == ["elks", "seven"]
    assert sorted(engine.calls.id_factories) == ["elks", "seven"]
    assert sorted(engine.inbound_ids) == ["seven"]
    assert _names(engine.calls.listeners) == ["_Scripts.on_change", "on_call_change"]
    assert _names(engine.inbound_listeners) == ["on_inbound", "report_inbound"]
    assert {name: _names(found) for name, found in engine.lifecycle.provider_listeners.items()} == {
        "elks": ["report_delivery"], "seven": ["report_delivery", "report_status"],
    }
    assert _names(engine.billing_rules) == ["top_up"]
    # 46elks forgets its running call scripts; the request journal and the sink empty themselves
    assert _names(engine.reset_listeners) == ["dict.clear", "Sandboxes._forget_all", "RequestJournal.clear", "RequestJournal.clear"]


def test_the_registry_names_each_provider_once_with_its_mount() -> None:
    from emulator.providers import NAMES, PROVIDERS, by_name

    assert [(provider.name, provider.title, provider.prefix) for provider in PROVIDERS] == [
        ("elks", "46elks", "/a1"), ("seven", "seven.io", "/api"),
    ]
    assert NAMES == ("elks", "seven")
    assert by_name("seven") is PROVIDERS[1]
    assert [provider.name for provider in PROVIDERS if provider.inbound_mms is not None] == ["elks"]


def test_each_mount_serves_its_providers_own_route_list() -> None:
    from emulator.providers import PROVIDERS

    app = create_app(Settings(clock="virtual"))
    mounts = {route.path: route.app for route in app.routes if isinstance(route, Mount)}
    for provider in PROVIDERS:
        served = mounts[provider.prefix]
        while not hasattr(served, "routes"):
            served = served.app
        assert served.routes == list(provider.routes)


def test_an_injected_fault_answers_in_each_providers_own_shape() -> None:
    from emulator.providers import by_name

    assert by_name("elks").fault_answer(429) == (b"Too many requests. Please slow down.", "text/plain; charset=utf-8")
    assert by_name("elks").fault_answer(418) == (b"Request failed.", "text/plain; charset=utf-8")
    assert by_name("seven").fault_answer(503) == (
        b'{"success": false, "code": "503", "error_message": "Service unavailable"}', "application/json",
    )

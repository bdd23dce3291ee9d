"""A valid snapshot changed at random places: `PUT /_emulator/snapshot` either takes it, and then
every record renders (through the control API and both providers, before and after time moves
on) and the snapshot written next is schema-valid; or refuses it with a 4xx, and then the world is
exactly as it was."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import jsonschema
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from emulator.core import snapshot as snapshots
from support import SEVEN_JSON, make_engine, running_emulator, world_state
from snapshot_support import FailingReceiver, build_world

EXAMPLES = 100


def _world_document() -> dict[str, Any]:
    async def build() -> dict[str, Any]:
        async with running_emulator(make_engine(), FailingReceiver()) as running:
            await build_world(running.client, running.advance)
            return (await running.client.get("/_emulator/snapshot")).json()

    return asyncio.run(build())


DOCUMENT = None


def document() -> dict[str, Any]:
    global DOCUMENT
    if DOCUMENT is None:
        DOCUMENT = _world_document()
    return copy.deepcopy(DOCUMENT)


def _places(value: Any, path: tuple = ()) -> list[tuple]:
    """The path of every value in the document (the document itself excluded)."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_places(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_places(item, (*path, index)))
    return found


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([
        "", "x\ud800", "2026-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z", "2026-13-01T00:00:00.000000Z",
        "not-a-time", "re:([", "elks", "seven", "scheduled", "pending", "u5a9566c072160b318445d163949bf505", "1000001",
        "+46700000123", "emulator.__main__:main",
    ]),
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=6)


@st.composite
def mutated(draw) -> dict[str, Any]:
    result = document()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = _places(result)
        path = draw(st.sampled_from(places))
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = draw(st.sampled_from(["retype", "retype", "retype", "replace", "delete", "duplicate", "swap"]))
        current = parent[key]
        if action == "retype" and isinstance(current, (bool, int, float, str)):
            # A value of the same type: often still schema-valid, so the meaning checks are reached.
            if isinstance(current, bool):
                parent[key] = not current
            elif isinstance(current, int):
                parent[key] = draw(st.one_of(st.integers(min_value=-5, max_value=10), st.integers(min_value=-(2**60), max_value=2**60)))
            elif isinstance(current, float):
                parent[key] = draw(st.floats(min_value=-10, max_value=1e6))
            else:
                parent[key] = draw(st.one_of(st.text(max_size=8), st.sampled_from(["x\ud800", "2026-06-01T12:00:00.000000Z", "1999-01-01T00:00:00.000000Z", "re:([", "*"])))
        elif action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif action == "swap":
            source = result  # another place's value, moved here
            for part in draw(st.sampled_from(places)):
                source = source[part]
            parent[key] = copy.deepcopy(source)
        else:
            parent[key] = draw(_VALUES)
    return result


async def _renders(client, document: dict[str, Any]) -> None:
    """Every record answers through every reader, without a 5xx."""
    for path in ("/_emulator/messages?limit=1000", "/_emulator/webhooks?limit=1000", "/_emulator/sandboxes", "/_emulator/outcomes",
                 "/_emulator/call-outcomes", "/_emulator/faults", "/_emulator/health", "/_emulator/clock"):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
    for account in document.get("accounts", []):
        credentials = account.get("credentials") or {}
        if account.get("provider") == "elks" and "username" in credentials:
            auth = (credentials["username"], credentials.get("password", ""))
            for path in ("/a1/me", "/a1/SMS", "/a1/MMS", "/a1/calls", "/a1/numbers", "/a1/recordings", "/a1/images", "/a1/subaccounts"):
                response = await client.get(path, auth=auth)
                assert response.status_code < 500, (path, response.text)
        elif account.get("provider") == "seven" and "api_key" in credentials:
            headers = {**SEVEN_JSON, "X-Api-Key": credentials["api_key"]}
            for path in ("/api/balance", "/api/journal/outbound", "/api/journal/inbound", "/api/journal/voice", "/api/contacts",
                         "/api/groups", "/api/hooks", "/api/numbers/active", "/api/analytics"):
                response = await client.get(path, headers=headers)
                assert response.status_code < 500, (path, response.text)


async def _check(changed: dict[str, Any]) -> str:
    async with running_emulator(make_engine(), FailingReceiver()) as running:
        client = running.client
        before = world_state(running.engine)
        # The reference validator (jsonschema) reaches the same verdict as the fast one.
        try:
            snapshots.prepare(running.engine, json.loads(json.dumps(changed)), fast=False)
            reference = "restored"
        except snapshots.SnapshotError:
            reference = "refused"
        body = json.dumps(changed, ensure_ascii=True)
        response = await client.put("/_emulator/snapshot", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, response.text
        if response.status_code != 200:
            assert 400 <= response.status_code < 500
            assert "\n" not in response.json()["error"]["message"]
            assert world_state(running.engine) == before, "a refused snapshot changed the world"
            assert reference == "refused", "only the fast validator refused it"
            return "refused"
        assert reference == "restored", "only the reference validator refused it"
        await _renders(client, changed)
        for seconds in (1, 400, 4000):
            advanced = await client.post("/_emulator/clock/advance", json={"seconds": seconds})
            assert advanced.status_code == 200, advanced.text
            await running.engine.outbox.drain(timeout=1)
        await _renders(client, changed)
        written = await client.get("/_emulator/snapshot")
        assert written.status_code == 200
        jsonschema.Draft202012Validator(snapshots.schema()).validate(written.json())
        return "restored"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_a_changed_snapshot_is_taken_whole_or_refused_whole(changed):
    event(asyncio.run(_check(changed)))


def test_the_unchanged_world_document_is_taken():
    assert asyncio.run(_check(document())) == "restored"


def test_messages_whose_numbers_are_no_phone_numbers_still_render():
    """A restored snapshot may hold a recipient or sender that is no phone number (the schema
    takes any text there): every reader answers, seven.io's journal with no `mccmnc` for it."""
    changed = document()
    for message in changed["messages"]:
        message["to"], message["from"] = "not a number", "+"
    assert asyncio.run(_check(changed)) == "restored"

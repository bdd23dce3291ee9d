"""The snapshot's per-record codecs: every field of every record comes back (a field added to a
model without teaching the snapshot fails here), times are exact UTC text within the range, and
the schema is valid JSON Schema 2020-12, shipped in the package as it is in specs/."""

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from emulator.core import snapshot as snapshots
from emulator.core.calls import CallOutcome, CallRule
from emulator.core.faults import Fault
from emulator.core.lifecycle import Outcome, OutcomeRule
from emulator.core.models import Account, Attempt, Call, Delivery, Hook, Leg, Message, Number, Recording, StatusChange
from emulator.core.snapshot import SnapshotError, parse_time, time_text
from emulator.elks import snapshot as elks_snapshot
from emulator.elks.images import ElksImage
from emulator.seven import snapshot as seven_snapshot
from emulator.seven.addressbook import Contact
from emulator.seven.lookup import Lookup

REPO = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _every_field_set(record) -> set[str]:
    """Fields whose value differs from the default (so a codec that drops one is caught)."""
    defaults = {f.name: f.default for f in dataclasses.fields(record) if f.default is not dataclasses.MISSING}
    return {f.name for f in dataclasses.fields(record) if f.name not in defaults or getattr(record, f.name) != defaults[f.name]}


MESSAGE = Message(
    "s1", "elks", "u1", "outbound", "A", "+46700000001", "hi ✓", "ucs2", 1, 3500, T0, "scheduled",
    [StatusChange("created", T0 + 1)], "http://cb", T0 + 2, {"send_at": T0 + 3_000_000, "flags": ["a"], "n": {"x": 1.5}}, "mms",
)
ACCOUNT = Account("u1", "elks", "A", "SEK", -5, T0, "a@b", "u0", {"username": "u1", "password": "p"}, {"deactivated": T0 + 7, "usagelimit": 3})
NUMBER = Number("n1", "elks", "u1", "+46700000001", "se", ("sms", "voice"), T0, False, {"deallocated": T0 + 9, "name": "x"})
HOOK = Hook(7, "seven", "1", "http://h", "dlr", "JSON", T0, "filter", "X-A: b", False)
ATTEMPT = Attempt(1, T0, "http://h", "POST", {"a": "b"}, "body", 500, "no", 12.5, "boom")
DELIVERY = Delivery("w1", "seven", "1", "dlr", "http://h", "GET", {"a": "b"}, b"\x00\xff", T0, "s1", "failed", [ATTEMPT], T0 + 5)
LEG = Leg("l1", "c1", "+46700000001", "+46700000002", T0, "ended", T0 + 1, T0 + 2, 1, 100, {"k": "v"})
CALL = Call(
    "c1", "elks", "u1", "inbound", "+46700000001", "+46700000002", T0, "ended", 30.0, T0 + 1, T0 + 2, 1, 100, 200, "12#",
    "callee", "oops", [StatusChange("ringing", T0)], [LEG], [{"play": "x", "result": "success"}], {"recordings": ["c1-r0"]},
)
RECORDING = Recording("c1-r0", "elks", "u1", "c1", T0, 3, {"k": 1})


@pytest.mark.parametrize(
    "record, to_resource, from_resource",
    [
        (MESSAGE, snapshots.message_to_resource, snapshots.message_from_resource),
        (NUMBER, snapshots.number_to_resource, snapshots.number_from_resource),
        (HOOK, snapshots.hook_to_resource, snapshots.hook_from_resource),
        (DELIVERY, snapshots.delivery_to_resource, snapshots.delivery_from_resource),
        (CALL, snapshots.call_to_resource, snapshots.call_from_resource),
        (RECORDING, snapshots.recording_to_resource, snapshots.recording_from_resource),
        (Contact(4, "1", T0, {"firstname": "Ada", "email": None}, "av", [1, 2], "valid", T0 + 1), seven_snapshot.contact_to_resource, seven_snapshot.contact_from_resource),
        (ElksImage("m1-i0", "m1", "u1", T0, "png", b"\x89PNG", "http://x"), elks_snapshot.image_to_resource, elks_snapshot.image_from_resource),
    ],
    ids=lambda value: type(value).__name__ if dataclasses.is_dataclass(value) else "",
)
def test_every_field_comes_back(record, to_resource, from_resource):
    assert _every_field_set(record) == {f.name for f in dataclasses.fields(record)} - {"jpeg"}, "set every field in this test"
    resource = json.loads(json.dumps(to_resource(record)))  # through JSON, as a document travels
    assert from_resource(resource, "$.x") == record


def test_accounts_and_rules_come_back():
    resource = json.loads(json.dumps(snapshots.account_to_resource(ACCOUNT, ["u1"])))
    assert snapshots.account_from_resource(resource, "$.x") == ACCOUNT
    assert resource["attributes"]["deactivated"] == time_text(T0 + 7)
    rule = OutcomeRule("re:\\+46.*", Outcome("failed", 1.0, 2.0, True), "elks")
    assert snapshots.outcome_rule_from_resource(snapshots.outcome_rule_to_resource(rule), "$.x") == rule
    call_rule = CallRule("+4670*", CallOutcome("busy", 1.0, 2.0, "1#", 3.0), "seven")
    assert snapshots.call_rule_from_resource(snapshots.call_rule_to_resource(call_rule), "$.x") == call_rule
    fault = Fault(3, "delay", "elks", "POST", "/sms", 429, 0.5, 7, None, 0.25, 9)
    assert snapshots.fault_from_resource(snapshots.fault_to_resource(fault), "$.x") == fault


def test_a_message_send_time_is_its_own_field():
    resource = snapshots.message_to_resource(MESSAGE)
    assert resource["send_at"] == "2026-01-01T00:00:03.000000Z" and "send_at" not in resource["attributes"]


def test_times_are_exact_utc_text():
    assert time_text(T0 + 123_456) == "2026-01-01T00:00:00.123456Z"
    assert parse_time("2026-01-01T00:00:00.123456Z", "$.t") == T0 + 123_456
    assert parse_time(time_text(snapshots.LATEST - 1), "$.t") == snapshots.LATEST - 1


@pytest.mark.parametrize(
    "text",
    ["not-a-time", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000+01:00", "2026-02-30T00:00:00.000000Z",
     "9999-12-31T23:00:00.000000Z", "1969-12-31T23:59:59.999999Z", 1_767_225_600, None],
)
def test_what_is_not_a_time_in_range_is_refused_with_its_path(text):
    with pytest.raises(SnapshotError) as refused:
        parse_time(text, "$.messages[2].send_at")
    assert refused.value.path == "$.messages[2].send_at"


def test_attributes_that_json_cannot_hold_are_named():
    with pytest.raises(SnapshotError, match="attributes.thing"):
        snapshots.plain({"thing": object()}, "attributes")


def test_the_schema_is_valid_2020_12_and_shipped_as_in_specs():
    published = json.loads((REPO / "specs" / "snapshot.schema.json").read_text(encoding="utf-8"))
    assert published == snapshots.schema()
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(published)


def test_lookups_come_back_through_their_section():
    from emulator.core.snapshot import Staging

    staging = Staging()
    staging.store.accounts["1"] = Account("1", "seven", "S", "EUR", 0, T0)
    lookup = Lookup("9", "1", "hlr", "+4917612345678", 100, T0)
    seven_snapshot._stage_lookups([seven_snapshot.lookup_to_resource(lookup)], staging)
    assert staging.store.collection("seven.lookups").get("9") == lookup

"""Fixture files: the embedded default, extension, and errors that name file and field."""

import pytest

from emulator.core.clock import VirtualClock
from emulator.core.errors import FixtureError
from emulator.fixtures import load_fixtures


def test_default_fixtures_hold_the_documented_accounts():
    fixtures = load_fixtures()
    store = fixtures.build_store(VirtualClock(0))
    elks = store.account_for_login("elks", "test_user")
    assert elks is not None and elks.credentials["password"] == "test_password"
    assert (elks.currency, elks.balance) == ("SEK", 10_000_000)
    sub = store.account_for_login("elks", "af3d05a159669e1951c5301bc6a61bac")
    assert sub is not None and sub.parent_id == elks.id and sub.balance > 0
    seven = store.account_for_login("seven", "test_api_key")
    assert seven is not None and (seven.currency, seven.balance) == ("EUR", 1_000_000)
    numbers = store.numbers.page(elks.id).items
    assert numbers and set(numbers[0].capabilities) == {"sms", "voice", "mms"}
    for provider in ("elks", "seven"):
        table = fixtures.prices[provider]
        assert {"SE", "DE", "GB", "US"} <= set(table.sms) and table.default_sms > 0


def test_a_file_can_extend_the_default(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "extends: default\n"
        "seven:\n"
        "  prices: {DE: 1}\n"
        "  accounts:\n"
        "    - {id: '42', api_key: my_key, balance: 5}\n"
    )
    fixtures = load_fixtures(path)
    store = fixtures.build_store(VirtualClock(0))
    assert store.account_for_login("seven", "my_key").balance == 5
    assert store.account_for_login("seven", "test_api_key") is not None
    assert fixtures.prices["seven"].sms["DE"] == 1
    assert fixtures.prices["seven"].sms["GB"] == 420


def test_a_file_can_replace_the_default(tmp_path):
    path = tmp_path / "only.yaml"
    path.write_text("elks:\n  accounts:\n    - {id: u1, username: me, password: pw, balance: 10}\n")
    store = load_fixtures(path).build_store(VirtualClock(0))
    assert store.account_for_login("elks", "me").balance == 10
    assert store.account_for_login("elks", "test_user") is None


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("elks: {accounts: [{id: u1, username: a, password: b, balance: lots}]}", "elks.accounts[0].balance"),
        ("elks: {accounts: [{id: u1, password: b, balance: 1}]}", "elks.accounts[0].username"),
        ("seven: {accounts: [{id: '1', api_key: k, balance: 1}, {id: '2', api_key: k, balance: 1}]}", "seven.accounts[1].api_key"),
        ("outcomes: [{match: '+1', status: vanished}]", "outcomes[0]"),
        ("elks: {prices: {SE: -1}}", "elks.prices.SE"),
        (
            "elks: {accounts: [{id: u1, username: a, password: b, balance: 1, numbers: [{id: n1, number: '12'}]}]}",
            "elks.accounts[0].numbers[0].number",
        ),
        ("[1, 2]", "top level"),
        ("elks: {accounts: [", "not valid YAML"),
        ("outcomes: [{match: 're:([', status: failed}]", "outcomes[0].match"),
        ("outcomes: [{match: '+1', sent_after: 1e308, final_after: 1e308}]", "outcomes[0].sent_after"),
        ("outcomes: [{match: '+1', final_after: .nan}]", "outcomes[0].final_after"),
        ("simulation: {final_after: .inf}", "simulation.final_after"),
        ("call_outcomes: [{match: 're:(', status: busy}]", "call_outcomes[0].match"),
        ("call_outcomes: [{match: '+1', talk_time: 1e308}]", "call_outcomes[0].talk_time"),
        ('seven: {accounts: [{id: "1", api_key: "k\\ud800", balance: 1}]}', "seven.accounts[0].api_key"),
        ('outcomes: [{match: "+1\\udc00"}]', "outcomes[0].match"),
        ("a: " + "[" * 5000, "nested too deeply"),
    ],
)
def test_mistakes_name_the_file_and_field(tmp_path, text, where):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(FixtureError) as info:
        load_fixtures(path)
    assert str(path) in info.value.message
    assert where in info.value.message


def test_missing_file_is_a_fixture_error(tmp_path):
    with pytest.raises(FixtureError) as info:
        load_fixtures(tmp_path / "nope.yaml")
    assert "nope.yaml" in info.value.message

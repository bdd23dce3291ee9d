"""Fixture files: the embedded default, extension, errors that name file and field (in the user's
own file), unknown keys refused with a suggestion, and the published schema."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from emulator.core.clock import VirtualClock
from emulator.core.errors import FixtureError
from emulator.world.fixtures import default_fixture_text, fixture_schema, load_fixtures


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


# -- strict keys and the fixture schema ------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _load_text(tmp_path, text: str):
    path = tmp_path / "my.yaml"
    path.write_text(text)
    return path, lambda: load_fixtures(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # top level
        ("sevn:\n  accounts: []\n", "sevn: unknown key 'sevn'; did you mean 'seven'?"),
        ("extends: default\noutcome:\n  - {match: '+1', status: failed}\n", "outcome: unknown key 'outcome'; did you mean 'outcomes'?"),
        # a provider section
        ("extends: default\nseven:\n  acounts: []\n", "seven.acounts: unknown key 'acounts'; did you mean 'accounts'?"),
        ("elks:\n  number_price: {SE: 1}\n", "elks.number_price: unknown key 'number_price'; did you mean 'number_prices'?"),
        ("seven:\n  prices: {defualt: 800}\n", "seven.prices.defualt: unknown key 'defualt'; did you mean 'default'?"),
        # inside an account: the path counts the user's own accounts, not the merged list
        (
            "extends: default\nseven:\n  accounts:\n    - {id: '42', api_key: k, balance: 5, api_kye: x}\n",
            "seven.accounts[0].api_kye: unknown key 'api_kye'; did you mean 'api_key'?",
        ),
        (
            "extends: default\nelks:\n  accounts:\n    - {id: u1, username: a, password: b, balance: 1}\n"
            "    - {id: u2, username: c, password: d, balance: 1, numbers: [{id: n1, number: '+46766861999', capabilites: [sms]}]}\n",
            "elks.accounts[1].numbers[0].capabilites: unknown key 'capabilites'; did you mean 'capabilities'?",
        ),
        # inside a list entry
        ("outcomes:\n  - {match: '+1', status: failed}\n  - {match: '+2', staus: failed}\n", "outcomes[1].staus: unknown key 'staus'; did you mean 'status'?"),
        ("call_outcomes:\n  - {match: '+1', digit: '1'}\n", "call_outcomes[0].digit: unknown key 'digit'; did you mean 'digits'?"),
        ("simulation: {final_afer: 2}\n", "simulation.final_afer: unknown key 'final_afer'; did you mean 'final_after'?"),
        ("seven:\n  accounts:\n    - {id: '1', api_key: k, balance: 1, tokens: [{token: t, scope: [sms]}]}\n", "seven.accounts[0].tokens[0].scope: unknown key 'scope'; did you mean 'scopes'?"),
        # nothing close: no suggestion
        ("zzzzz: 1\n", "zzzzz: unknown key 'zzzzz'"),
        ("elks:\n  prices: {SWE: 1}\n", "elks.prices.SWE: unknown key 'SWE'; expected a two-letter country code or 'default'"),
        ("elks:\n  prices: {NO: 1}\n", 'elks.prices.false: unknown key false: YAML reads a bare NO (or no, off) as false; write "NO"'),
        # a key of the other provider
        ("seven:\n  accounts:\n    - {id: '1', api_key: k, balance: 1, subaccounts: []}\n", "seven.accounts[0].subaccounts: fixture subaccounts are a 46elks feature"),
    ],
)
def test_unknown_keys_are_refused_at_their_path_in_the_users_file(tmp_path, text, expected):
    path, load = _load_text(tmp_path, text)
    with pytest.raises(FixtureError) as info:
        load()
    assert info.value.message.startswith(f"{path}: {expected}")
    if "did you mean" not in expected:
        assert "did you mean" not in info.value.message
    assert "\n" not in info.value.message
    # the published schema refuses the same document
    assert not jsonschema.Draft202012Validator(fixture_schema()).is_valid(_json_keys(yaml.safe_load(text)))


def _json_keys(value):
    """The YAML document as JSON sees it: every key a string (a bare NO key is false)."""
    if isinstance(value, dict):
        return {(str(key).lower() if isinstance(key, bool) else str(key)): _json_keys(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_json_keys(child) for child in value]
    return value


def test_the_first_unknown_key_in_the_file_is_the_one_named(tmp_path):
    path, load = _load_text(tmp_path, "elks:\n  prics: {}\n  acounts: []\nsevn: {}\n")
    with pytest.raises(FixtureError, match=r"elks\.prics: unknown key 'prics'; did you mean 'prices'\?$"):
        load()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("extends: default\nseven:\n  accounts:\n    - {id: '42', api_key: k, balance: plenty}\n", "seven.accounts[0].balance: expected an integer"),
        ("extends: default\nseven:\n  accounts:\n    - {id: '42', api_key: test_api_key, balance: 1}\n", "seven.accounts[0].api_key: duplicate api_key"),
        (
            "extends: default\nelks:\n  accounts:\n    - {id: u1, username: a, password: b, balance: 1}\n"
            "    - {id: u2, username: c, password: d, balance: 1, numbers: [{id: n1, number: '12'}]}\n",
            "elks.accounts[1].numbers[0].number: not an E.164 phone number",
        ),
        ("extends: default\noutcomes:\n  - {match: '+1', status: vanished}\n", "outcomes[0].status"),
        ('extends: default\nseven: {accounts: [{id: "1", api_key: "k\\ud800", balance: 1}]}\n', "seven.accounts[0].api_key: not valid Unicode"),
    ],
)
def test_later_mistakes_also_count_the_users_own_entries(tmp_path, text, where):
    path, load = _load_text(tmp_path, text)
    with pytest.raises(FixtureError) as info:
        load()
    assert info.value.message.startswith(f"{path}: {where}")


def _fixture_documents() -> dict[str, object]:
    documents = {
        "fixtures/default.yaml": yaml.safe_load((REPO / "fixtures" / "default.yaml").read_text(encoding="utf-8")),
        "emulator/data/default.yaml": yaml.safe_load(default_fixture_text()),
        "tests/contract/js/fixtures.yaml": yaml.safe_load((REPO / "tests" / "contract" / "js" / "fixtures.yaml").read_text(encoding="utf-8")),
    }
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Your own fixtures", 1)[1].split("\n## ", 1)[0]
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", section, re.S)):
        documents[f"README.md 'Your own fixtures' yaml block {i}"] = yaml.safe_load(block)
    return documents


def test_the_schema_is_valid_2020_12_and_shipped_as_in_specs():
    published = json.loads((REPO / "specs" / "fixtures.schema.json").read_text(encoding="utf-8"))
    assert published == fixture_schema()
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(published)
    assert (REPO / "fixtures" / "default.yaml").read_text(encoding="utf-8") == default_fixture_text()


@pytest.mark.parametrize("name", list(_fixture_documents()))
def test_every_fixture_file_in_the_repository_validates_and_loads(name, tmp_path):
    document = _fixture_documents()[name]
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft202012Validator(fixture_schema()).iter_errors(document)]
    assert errors == []
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(document))
    assert load_fixtures(path).build_store(VirtualClock(0)).accounts


def test_the_schema_describes_every_key_of_the_default_fixtures():
    # every key the default world uses is declared (not merely allowed by a pattern), so editors describe it
    schema = fixture_schema()
    assert set(schema["properties"]) >= set(yaml.safe_load(default_fixture_text()))
    for provider in ("elks", "seven"):
        declared = schema["$defs"][provider]["properties"]
        assert set(declared) >= set(yaml.safe_load(default_fixture_text())[provider])


def test_every_key_the_loader_reads_is_declared_in_the_schema():
    # the loader refuses what the schema does not declare: a key read in emulator/world/fixtures.py but
    # missing from the schema would be refused as unknown
    def declared(node) -> set[str]:
        found = set()
        if isinstance(node, dict):
            found |= set(node.get("properties", {})) if isinstance(node.get("properties"), dict) else set()
            for child in node.values():
                found |= declared(child)
        elif isinstance(node, list):
            for child in node:
                found |= declared(child)
        return found

    source = (REPO / "emulator" / "world" / "fixtures.py").read_text(encoding="utf-8")
    read = set(re.findall(r"""(?:\.get\(|\[)"([a-z_]+)"[,)\]]""", source))
    read -= {"items", "properties", "sms", "index"}  # schema keywords, a default capability, a regex group
    assert read and read <= declared(fixture_schema())

"""Checks for the vendored API specifications in ``specs/``.

* ``specs/46elks.yaml`` is the 46elks Swagger 2.0 document, rebuilt from a seed
  in which all whitespace had been collapsed into single spaces.
* ``specs/seven.json`` is the seven.io OpenAPI 3.0 document, pretty-printed
  from its seed.

The seed files live next to the repository in ``../shared/seeds/``; the tests
that compare against them are skipped when that folder is absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    validate,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = REPO_ROOT / "specs"
ELKS_SPEC = SPECS_DIR / "46elks.yaml"
SEVEN_SPEC = SPECS_DIR / "seven.json"

SEEDS_DIR = REPO_ROOT.parent / "shared" / "seeds"
ELKS_SEED = SEEDS_DIR / "000_8cfefb12b8ccb2d6.txt"
SEVEN_SEED = SEEDS_DIR / "002_0f3fdf3fcc3e7f64.txt"

needs_seeds = pytest.mark.skipif(
    not SEEDS_DIR.is_dir(),
    reason=f"seed folder {SEEDS_DIR} is absent; cannot compare specs with their seeds",
)

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# Every operation of the 46elks spec, as read from the seed.
ELKS_OPERATIONS = {
    ("GET", "/me"),
    ("POST", "/me"),
    ("GET", "/subaccounts"),
    ("POST", "/subaccounts"),
    ("GET", "/subaccounts/{id}"),
    ("POST", "/subaccounts/{id}"),
    ("GET", "/images"),
    ("GET", "/images/{id}"),
    ("GET", "/images/{id}.jpg"),
    ("GET", "/recordings"),
    ("GET", "/recordings/{id}"),
    ("GET", "/recordings/{id}.wav"),
    ("GET", "/numbers"),
    ("POST", "/numbers"),
    ("GET", "/numbers/{id}"),
    ("POST", "/numbers/{id}"),
    ("POST", "/Calls"),
    ("GET", "/Calls"),
    ("DELETE", "/Calls/{id}"),
    ("GET", "/Calls/{id}"),
    ("POST", "/SMS"),
    ("GET", "/SMS"),
    ("DELETE", "/SMS/{id}"),
    ("GET", "/SMS/{id}"),
    ("POST", "/MMS"),
    ("GET", "/MMS"),
    ("DELETE", "/MMS/{id}"),
    ("GET", "/MMS/{id}"),
}

ELKS_DEFINITIONS = {
    "RecordingsList", "Recording", "NumberList", "Number", "SMSHistory",
    "DeletedMMS", "DeletedCall", "DeletedSMS", "SMS", "Callstart",
    "CallsHistory", "Calls", "MMSHistory", "MMS", "ImagesList", "Image",
    "SubaccountsList", "Subaccount", "Account", "Error",
}

# A sample of seven.io operations that the emulator relies on.
SEVEN_SAMPLE_OPERATIONS = {
    ("POST", "/sms"),
    ("DELETE", "/sms"),
    ("GET", "/status"),
    ("GET", "/balance"),
    ("GET", "/pricing"),
    ("POST", "/voice"),
    ("POST", "/voice/{call_id}/hangup"),
    ("POST", "/validate_for_voice"),
    ("GET", "/lookup/hlr"),
    ("GET", "/journal/outbound"),
    ("GET", "/hooks"),
    ("POST", "/hooks"),
    ("DELETE", "/hooks"),
    ("PATCH", "/numbers/active/{number}"),
    ("POST", "/subaccounts/create"),
}
SEVEN_OPERATION_COUNT = 48


# --------------------------------------------------------------------------- helpers


def load_elks() -> dict:
    with ELKS_SPEC.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_seven() -> dict:
    with SEVEN_SPEC.open(encoding="utf-8") as fh:
        return json.load(fh)


def operations(spec: dict) -> set[tuple[str, str]]:
    """(METHOD, path) pairs of a loaded Swagger/OpenAPI document."""
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def is_file_response_schema_error(err) -> bool:
    """True for the one known false positive of openapi-spec-validator on Swagger 2.0.

    Swagger 2.0 allows ``type: file`` as the root type of a *response* schema
    (Response Object, "schema" field), and the Swagger 2.0 JSON Schema accepts it.
    openapi-spec-validator however re-checks every response schema against the
    OpenAPI 3.0 schema-object rules, where ``file`` is not a type.
    """
    return getattr(err, "instance", None) == "file" and getattr(err, "validator", None) in (
        "anyOf",
        "enum",
        "type",
    )


_SWAGGER_PATH_TOKEN = re.compile(r"^'?(/[A-Za-z0-9_.{}/-]*)'?:$")
_METHOD_TOKEN = re.compile(r"^(get|post|put|delete|patch|head|options):$")


def _skip_json_block(tokens: list[str], i: int) -> int:
    """Given the index just after a ``|`` token, return the index after the
    JSON-ish example block that follows it (brackets balanced, string-aware)."""
    depth, in_string, escaped, started = 0, False, False, False
    while i < len(tokens):
        for ch in tokens[i]:
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "{[":
                depth += 1
                started = True
            elif ch in "}]":
                depth -= 1
        i += 1
        if started and depth == 0 and not in_string:
            return i
    raise AssertionError("unterminated example block in seed")


def elks_seed_operations(text: str) -> set[tuple[str, str]]:
    """Extract (METHOD, path) pairs from the whitespace-collapsed Swagger YAML seed.

    Only the ``paths:`` section (up to ``definitions:``) is scanned; example
    blocks (``application/json: | { ... }``) are skipped, so nothing inside an
    example can be taken for a path or an operation.
    """
    tokens = text.split()
    start = tokens.index("paths:") + 1
    end = tokens.index("definitions:")
    assert start < end, "paths: must come before definitions: in the seed"
    pairs: set[tuple[str, str]] = set()
    current_path = None
    i = start
    while i < end:
        tok = tokens[i]
        if tok == "|":
            i = _skip_json_block(tokens, i + 1)
            continue
        m = _SWAGGER_PATH_TOKEN.match(tok)
        if m:
            current_path = m.group(1)
        else:
            m = _METHOD_TOKEN.match(tok)
            if m:
                assert current_path is not None, f"operation {tok} before any path"
                pair = (m.group(1).upper(), current_path)
                assert pair not in pairs, f"duplicate operation {pair} in seed"
                pairs.add(pair)
        i += 1
    return pairs


# --------------------------------------------------------------------------- 46elks


def test_elks_spec_loads_as_swagger_2():
    spec = load_elks()
    assert isinstance(spec, dict)
    assert spec["swagger"] == "2.0"
    assert spec["host"] == "api.46elks.com"
    assert spec["basePath"] == "/a1"
    assert spec["securityDefinitions"]["basicAuth"]["type"] == "basic"


def test_elks_spec_validates_as_swagger_2():
    spec = load_elks()
    errors = list(OpenAPIV2SpecValidator(spec).iter_errors())
    real_errors = [e for e in errors if not is_file_response_schema_error(e)]
    assert real_errors == [], "\n\n".join(str(e) for e in real_errors)
    # The only tolerated complaints are the two binary downloads (type: file).
    file_schemas = [
        (path, method)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        for resp in op["responses"].values()
        if resp.get("schema", {}).get("type") == "file"
    ]
    assert sorted(file_schemas) == [("/images/{id}.jpg", "get"), ("/recordings/{id}.wav", "get")]
    assert len(errors) - len(real_errors) <= len(file_schemas)


def test_elks_spec_without_file_responses_passes_validate():
    """Same document through the plain ``validate`` shortcut, with the two
    ``type: file`` response schemas (see is_file_response_schema_error) dropped."""
    spec = load_elks()
    for item in spec["paths"].values():
        for op in item.values():
            for resp in op["responses"].values():
                if resp.get("schema", {}).get("type") == "file":
                    del resp["schema"]
    validate(spec, cls=OpenAPIV2SpecValidator)


def test_elks_spec_operations():
    assert operations(load_elks()) == ELKS_OPERATIONS


def test_elks_spec_definitions():
    spec = load_elks()
    assert set(spec["definitions"]) == ELKS_DEFINITIONS
    sms = spec["definitions"]["SMS"]["properties"]
    for prop in ("id", "direction", "from", "to", "message", "created", "cost", "status", "delivered"):
        assert prop in sms, prop
    assert spec["definitions"]["Error"] == {"type": "string"}


def test_elks_spec_send_sms_operation():
    op = load_elks()["paths"]["/SMS"]["post"]
    params = {p["name"]: p for p in op["parameters"]}
    assert list(params) == ["from", "to", "message", "whendelivered", "flashsms", "dryrun", "dontlog"]
    assert all(p["in"] == "formData" for p in params.values())
    assert [n for n, p in params.items() if p["required"]] == ["from", "to", "message"]
    assert params["to"]["default"] == "+46723175800"
    ok = op["responses"]["200"]
    assert ok["schema"] == {"$ref": "#/definitions/SMS"}
    example = ok["examples"]["application/json"]
    assert json.loads(example)["id"] == "s70df59406a1b4643b96f3f91e0bfb7b0"
    assert op["responses"]["default"]["examples"] == {
        "text/plain; charset=utf-8": "The message was not sent."
    }


def test_elks_spec_examples_are_block_text():
    """Examples stay literal text (block scalars), including the seed's
    invalid JSON (missing commas) which is kept verbatim."""
    spec = load_elks()
    me = spec["paths"]["/me"]["get"]["responses"]["200"]["examples"]["application/json"]
    assert isinstance(me, str)
    assert me.startswith("{\n") and me.endswith("}\n")
    assert '"mobilenumber": "+46766861647"\n' in me
    with pytest.raises(json.JSONDecodeError):
        json.loads(me)
    calls = spec["paths"]["/Calls/{id}"]["get"]["responses"]["200"]["examples"]["application/json"]
    assert json.loads(calls)["legs"][0]["to"] == "+4634090510"


@needs_seeds
def test_elks_spec_operations_match_seed():
    seed_ops = elks_seed_operations(ELKS_SEED.read_text(encoding="utf-8"))
    assert seed_ops == ELKS_OPERATIONS
    assert operations(load_elks()) == seed_ops


def listed_pointers(heading: str) -> set[str]:
    """The JSON pointers (in backticks) of one section of specs/CHANGES.md."""
    text = (REPO_ROOT / "specs" / "CHANGES.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    (section,) = [part for part in sections if part.startswith(heading + "\n")]
    return set(re.findall(r"`(/[^`]+)`", section))


def _escape(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _spans(node, pointer: str = ""):
    """(start, end, JSON pointer) of every mapping entry and sequence item under a composed YAML
    node, as (line, column) positions; an entry spans its key and its value."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            step = f"{pointer}/{_escape(key.value)}"
            yield (key.start_mark.line, key.start_mark.column), (value.end_mark.line, value.end_mark.column), step
            yield from _spans(value, step)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            step = f"{pointer}/{index}"
            yield (item.start_mark.line, item.start_mark.column), (item.end_mark.line, item.end_mark.column), step
            yield from _spans(item, step)


def _tokens_with_positions(text: str) -> list[tuple[str, tuple[int, int]]]:
    return [
        (match.group(), (line_number, match.start()))
        for line_number, line in enumerate(text.split("\n"))
        for match in re.finditer(r"\S+", line)
    ]


def elks_changed_pointers() -> list[str]:
    """Where the rebuilt 46elks YAML differs from the seed beyond whitespace: the tokens are
    diffed, and each token that is new or changed in our copy (or, for a removal, the token
    just before it) is located as the JSON pointer of the innermost entry that holds it."""
    import difflib

    seed_tokens = ELKS_SEED.read_text(encoding="utf-8").split()
    text = ELKS_SPEC.read_text(encoding="utf-8")
    ours = _tokens_with_positions(text)
    spans = list(_spans(yaml.compose(text)))

    def locate(position: tuple[int, int]) -> str:
        holding = [(start, pointer) for start, end, pointer in spans if start <= position < end]
        return max(holding)[1] if holding else "/"

    matcher = difflib.SequenceMatcher(None, seed_tokens, [token for token, _ in ours], autojunk=False)
    changed: list[str] = []
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        positions = [ours[j][1] for j in range(j1, j2)] if tag != "delete" else [ours[max(j1 - 1, 0)][1]]
        changed.extend(locate(position) for position in positions)
    return sorted(set(changed))


@needs_seeds
def test_elks_spec_differs_from_seed_only_where_changes_md_says():
    """Only whitespace, and the places listed in specs/CHANGES.md (46elks section), differ
    between the rebuilt YAML and the seed."""
    listed = listed_pointers("46elks.yaml")
    changed = elks_changed_pointers()
    assert changed, "CHANGES.md lists changes, so the spec must differ from the seed"
    unlisted = [c for c in changed if not any(c == p or c.startswith(p + "/") for p in listed)]
    assert unlisted == []


@needs_seeds
def test_every_listed_46elks_change_is_a_real_one():
    """A pointer listed in CHANGES.md names a place that exists in our copy and did change."""
    changed = elks_changed_pointers()
    spec = load_elks()
    for pointer in listed_pointers("46elks.yaml"):
        node = spec
        for step in pointer.strip("/").split("/"):
            step = step.replace("~1", "/").replace("~0", "~")
            node = node[int(step)] if isinstance(node, list) else node[step]
        assert any(c == pointer or c.startswith(pointer + "/") for c in changed), pointer


# --------------------------------------------------------------------------- seven.io


def test_seven_spec_validates_as_openapi_30():
    spec = load_seven()
    assert spec["openapi"].startswith("3.0.")
    validate(spec, cls=OpenAPIV30SpecValidator)


def test_seven_spec_operations():
    ops = operations(load_seven())
    assert len(ops) == SEVEN_OPERATION_COUNT
    assert SEVEN_SAMPLE_OPERATIONS <= ops
    assert ops.isdisjoint(ELKS_OPERATIONS)


def test_seven_spec_is_pretty_printed():
    text = SEVEN_SPEC.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text.startswith('{\n  "openapi": "3.0.0",\n')


@needs_seeds
def test_seven_spec_operations_match_seed():
    seed = json.loads(SEVEN_SEED.read_text(encoding="utf-8"))
    assert operations(load_seven()) == operations(seed)


def _differences(a, b, pointer=""):
    """JSON pointers of every place where `a` and `b` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in a.keys() | b.keys():
            step = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            if key not in a or key not in b:
                found.append(step)
            else:
                found.extend(_differences(a[key], b[key], step))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{pointer}/{i}")]
    return [] if a == b else [pointer or "/"]


@needs_seeds
def test_seven_spec_differs_from_seed_only_where_changes_md_says():
    seed = json.loads(SEVEN_SEED.read_text(encoding="utf-8"))
    listed = listed_pointers("seven.json")
    differences = _differences(seed, load_seven())
    assert differences, "CHANGES.md lists changes, so the spec must differ from the seed"
    unlisted = [d for d in differences if not any(d == p or d.startswith(p + "/") for p in listed)]
    assert unlisted == []


@needs_seeds
def test_every_listed_seven_change_is_a_real_one():
    """A pointer listed in CHANGES.md (seven.io section) names a place that did change."""
    differences = _differences(json.loads(SEVEN_SEED.read_text(encoding="utf-8")), load_seven())
    for pointer in listed_pointers("seven.json"):
        assert any(d == pointer or d.startswith(pointer + "/") or pointer.startswith(d + "/") for d in differences), pointer


# --------------------------------------------------------------------------- control API


def test_control_spec_validates_as_openapi_31_and_matches_the_routes():
    from openapi_spec_validator import OpenAPIV31SpecValidator

    from emulator.app import create_app
    from emulator.settings import Settings

    spec = yaml.safe_load((REPO_ROOT / "specs" / "control.yaml").read_text(encoding="utf-8"))
    # base_uri: the snapshot's schema is a file beside the spec (specs/snapshot.schema.json).
    validate(spec, base_uri=(REPO_ROOT / "specs").as_uri() + "/", cls=OpenAPIV31SpecValidator)
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    app = create_app(Settings(clock="virtual"))
    control = next(route for route in app.routes if getattr(route, "path", "") == "/_emulator")
    routed = {(method, route.path) for route in control.app.routes for method in route.methods - {"HEAD"}}
    assert documented == routed

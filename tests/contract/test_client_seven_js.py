"""The official seven.io JavaScript client (`@seven.io/client` from npm, unmodified) against the
real emulator process in transparent HTTPS mode.

The client hard-codes https://gateway.seven.io/api and calls Node's built-in `fetch`. Node runs
with `NODE_EXTRA_CA_CERTS` (the emulator's CA) and `--import proxy-bootstrap.mjs`, which points
fetch's global dispatcher at the emulator's proxy (undici's ProxyAgent). `tests/contract/js/run.mjs`
reads the calls to make as JSON on stdin and prints what the client returned (or threw) as JSON, so
every test asserts both on the client's result and on what the emulator stored.

The Node project (tests/contract/js, pinned by its package-lock.json) is installed once per session
by scripts/install-node-deps.sh when its node_modules is missing. Without Node.js, and no way to
install it, the tests are skipped, except on CI (`CI` set), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from proxy_support import ProxiedEmulator, start_proxied_emulator, stop
from support import Hit, WebhookReceiver, serve_webhook_receiver

JS_PROJECT = Path(__file__).parent / "js"
INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-node-deps.sh"
FIXTURES = JS_PROJECT / "fixtures.yaml"

KEY = "test_api_key"  # default account 1000001, no signing secret
SIGNED_KEY, SIGNING_SECRET, SIGNED_ACCOUNT = "js_signing_key", "js-contract-signing-secret", "3000001"
DE_1, DE_2 = "+4917612345678", "+4915123456789"


# --- the Node project and the emulator -----------------------------------------------------------


def _installed() -> bool:
    modules = JS_PROJECT / "node_modules"
    return (modules / "@seven.io" / "client" / "package.json").is_file() and (modules / "undici" / "package.json").is_file()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the seven.io JS client tests, but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    if not _installed():
        result = subprocess.run(["sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            if shutil.which("node") is None:
                _unavailable(f"Node.js is missing and could not be installed: {result.stderr.strip()[-800:]}")
            pytest.fail(f"{INSTALL_SCRIPT.name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    executable = shutil.which("node")
    if executable is None:
        _unavailable("Node.js is not on PATH")
    return executable


@pytest.fixture(scope="module")
def proxied(node, tmp_path_factory) -> Iterator[ProxiedEmulator]:
    running = start_proxied_emulator(tmp_path_factory.mktemp("seven-js-ca"), "--fixtures", str(FIXTURES))
    yield running
    stop(running)


def run_client(node: str, proxied: ProxiedEmulator, calls: list[dict], *, api_key: str = KEY,
               signing_secret: str | None = None, env: dict[str, str] | None = None) -> list[dict]:
    """Run the calls with one Client; each result is {"value": ...} or {"error": ..., "cause": ...}."""
    options: dict[str, Any] = {"apiKey": api_key}
    if signing_secret is not None:
        options["signingSecret"] = signing_secret
    result = subprocess.run(
        [node, "--import", "./proxy-bootstrap.mjs", "run.mjs"],
        input=json.dumps({"client": options, "calls": calls}),
        cwd=JS_PROJECT, capture_output=True, text=True, timeout=60,
        env=env if env is not None else proxied.client_env(),
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert len(results) == len(calls)
    return results


def value(result: dict) -> Any:
    assert "error" not in result, result
    return result["value"]


def control(proxied: ProxiedEmulator, path: str, **params: Any) -> Any:
    response = httpx.get(proxied.url + "/_emulator" + path, params=params, timeout=30, trust_env=False)
    response.raise_for_status()
    return response.json()


def api(proxied: ProxiedEmulator, method: str, path: str, key: str = KEY, **kwargs: Any) -> httpx.Response:
    """A plain request to the emulator's own URL (not through the client), to see what it stored."""
    return httpx.request(method, proxied.url + "/api" + path, headers={"X-Api-Key": key, "Accept": "application/json"},
                         timeout=10, trust_env=False, **kwargs)


def stored_message(proxied: ProxiedEmulator, message_id: str) -> dict | None:
    found = [m for m in proxied.messages(provider="seven") if m["id"] == message_id]
    return found[0] if found else None


def balance(proxied: ProxiedEmulator, key: str = KEY) -> float:
    return api(proxied, "GET", "/balance", key).json()["amount"]


# --- SMS, status, balance ------------------------------------------------------------------------


def test_sms_to_several_recipients_with_options(node, proxied):
    before = balance(proxied)
    sms = value(run_client(node, proxied, [{"call": "sms.dispatch", "args": [{
        "to": [DE_1, DE_2], "text": "Hallo from the JS client", "from": "JSClient",
        "foreign_id": "order-42", "label": "js-contract",
    }]}])[0])

    assert (sms["success"], sms["debug"], sms["total_price"]) == ("100", "false", 0.15)
    assert [(m["recipient"], m["sender"], m["label"], m["success"]) for m in sms["messages"]] == [
        ("4917612345678", "JSClient", "js-contract", True), ("4915123456789", "JSClient", "js-contract", True)]
    assert sms["balance"] == pytest.approx(before - 0.15)
    for message, recipient in zip(sms["messages"], (DE_1, DE_2)):
        stored = stored_message(proxied, message["id"])
        assert (stored["to"], stored["from"], stored["text"], stored["account_id"]) == (recipient, "JSClient", "Hallo from the JS client", "1000001")
        assert (stored["attributes"]["foreign_id"], stored["attributes"]["label"]) == ("order-42", "js-contract")
    assert balance(proxied) == pytest.approx(before - 0.15)


def test_status_of_a_delivered_message(node, proxied):
    sms = value(run_client(node, proxied, [{"call": "sms.dispatch", "args": [{"to": [DE_1], "text": "Status please"}]}])[0])
    message_id = sms["messages"][0]["id"]
    control(proxied, "/wait", kind="message.status", id=message_id, status="delivered", timeout=20)

    statuses = value(run_client(node, proxied, [{"call": "status.get", "args": [[message_id]]}])[0])
    assert [(s["id"], s["status"]) for s in statuses] == [(message_id, "DELIVERED")]
    assert statuses[0]["status_time"].startswith(stored_message(proxied, message_id)["delivered"][:10])
    assert stored_message(proxied, message_id)["status"] == "delivered"


def test_scheduled_sms_is_cancelled_with_the_clients_delete(node, proxied):
    before = balance(proxied)
    send_at = int(time.time() + 3600) * 1000  # the client wants a Date; it sends Date.valueOf() (ms)
    sms = value(run_client(node, proxied, [{"call": "sms.dispatch", "args": [{"to": [DE_1], "text": "Later", "delay": send_at}], "dates": ["delay"]}])[0])
    message_id = sms["messages"][0]["id"]
    assert stored_message(proxied, message_id)["status"] == "scheduled"
    assert balance(proxied) == pytest.approx(before - 0.075)

    first, again = run_client(node, proxied, [{"call": "sms.delete", "args": [{"ids": [message_id]}]}] * 2)
    assert value(first) == {"success": True, "deleted": [message_id]}
    assert value(again) == {"success": False, "deleted": []}
    assert stored_message(proxied, message_id) is None
    assert balance(proxied) == pytest.approx(before)


def test_balance(node, proxied):
    result = value(run_client(node, proxied, [{"call": "balance.get"}])[0])
    assert result == {"amount": balance(proxied), "currency": "EUR"}
    assert value(run_client(node, proxied, [{"call": "balance.get"}], api_key=SIGNED_KEY)[0]) == {"amount": 50, "currency": "EUR"}


def test_wrong_api_key_makes_the_client_throw(node, proxied):
    before = len(proxied.messages())
    results = run_client(node, proxied, [{"call": "balance.get"}, {"call": "sms.dispatch", "args": [{"to": [DE_1], "text": "x"}]}], api_key="wrong")
    assert [r.get("error") for r in results] == ["900: InvalidApiKey"] * 2
    assert len(proxied.messages()) == before


def test_invalid_recipient_makes_the_client_throw(node, proxied):
    before = len(proxied.messages())
    result = run_client(node, proxied, [{"call": "sms.dispatch", "args": [{"to": ["not a number"], "text": "x"}]}])[0]
    assert result["error"] == "202: InvalidRecipientNumber"
    assert len(proxied.messages()) == before


# --- voice ---------------------------------------------------------------------------------------


def test_voice_call(node, proxied):
    before = balance(proxied)
    call = value(run_client(node, proxied, [{"call": "voice.dispatch", "args": [{"to": DE_1, "text": "Hallo, hier spricht der Emulator", "from": "+4915799912345"}]}])[0])
    assert (call["success"], call["debug"]) == ("100", False)
    [entry] = call["messages"]
    assert isinstance(entry["id"], int) and entry["success"] is True
    assert (entry["recipient"], entry["sender"], entry["text"]) == ("4917612345678", "4915799912345", "Hallo, hier spricht der Emulator")

    calls = [c for c in control(proxied, "/calls", provider="seven")["data"] if c["id"] == str(entry["id"])]
    assert [(c["to"], c["from"], c["account_id"], c["direction"]) for c in calls] == [(DE_1, "+4915799912345", "1000001", "outbound")]
    assert balance(proxied) <= before


# --- hooks ---------------------------------------------------------------------------------------


def test_hooks_create_read_delete(node, proxied):
    target = "https://example.test/seven/inbound"
    created, listed = run_client(node, proxied, [
        {"call": "hooks.subscribe", "args": [{"targetUrl": target, "eventType": "sms_mo", "requestMethod": "JSON"}]},
        {"call": "hooks.read"},
    ])
    hook_id = value(created)["id"]
    assert value(created) == {"success": True, "id": hook_id}
    mine = [h for h in value(listed)["hooks"] if h["id"] == str(hook_id)]
    assert [(h["target_url"], h["event_type"], h["request_method"], h["enabled"]) for h in mine] == [(target, "sms_mo", "JSON", True)]
    assert mine[0]["created"].endswith("Z")  # the client turned `created` into a Date
    stored = [h for h in api(proxied, "GET", "/hooks").json()["hooks"] if h["id"] == str(hook_id)]
    assert [(h["target_url"], h["event_type"]) for h in stored] == [(target, "sms_mo")]

    deleted, listed_after = run_client(node, proxied, [{"call": "hooks.unsubscribe", "args": [hook_id]}, {"call": "hooks.read"}])
    assert value(deleted) == {"success": True}
    assert str(hook_id) not in [h["id"] for h in value(listed_after)["hooks"]]
    assert str(hook_id) not in [h["id"] for h in api(proxied, "GET", "/hooks").json()["hooks"]]


# --- lookups -------------------------------------------------------------------------------------


def test_lookups(node, proxied):
    before = balance(proxied)
    one, two, hlr, mnp, cnam, rcs = run_client(node, proxied, [
        {"call": "lookup.format", "args": [{"numbers": [DE_1]}]},
        {"call": "lookup.format", "args": [{"numbers": [DE_1, DE_2]}]},
        {"call": "lookup.hlr", "args": [{"numbers": [DE_1]}]},
        {"call": "lookup.mnp", "args": [{"numbers": [DE_1]}]},
        {"call": "lookup.cnam", "args": [{"numbers": [DE_1]}]},
        {"call": "lookup.rcs", "args": [{"numbers": [DE_1]}]},
    ])
    assert value(one)["success"] is True
    assert (value(one)["international"], value(one)["country_iso"], value(one)["network_type"]) == (DE_1, "DE", "mobile")
    assert [entry["international"] for entry in value(two)] == [DE_1, DE_2]
    assert value(hlr)["international_format_number"] == "4917612345678"
    assert value(hlr)["status"] is True and value(hlr)["valid_number"] == "valid"
    assert {"network_code", "name", "country", "network_type"} <= set(value(hlr)["current_carrier"])
    assert value(mnp)["success"] is True and value(mnp)["code"] == 100
    assert value(mnp)["mnp"]["number"] == DE_1 and isinstance(value(mnp)["mnp"]["isPorted"], bool)
    [cnam_entry] = value(cnam)  # the client always answers a list
    assert (cnam_entry["success"], cnam_entry["code"], cnam_entry["number"]) == ("true", "100", DE_1)
    assert cnam_entry["name"]
    assert value(rcs)["international"] == DE_1 and isinstance(value(rcs)["rcs_capabilities"], list)
    # Format is free; hlr 0.015, mnp 0.005, cnam 0.004, rcs 0.004 (the default lookup prices).
    assert balance(proxied) == pytest.approx(before - 0.028)


# --- contacts ------------------------------------------------------------------------------------


def test_contacts_create_read_update_delete(node, proxied):
    created, listed, *_ = run_client(node, proxied, [
        {"call": "contacts.create", "args": [{"properties": {"firstname": "Erika", "lastname": "Mustermann", "mobile_number": DE_1, "email": "erika@example.com", "notes": None}}]},
        {"call": "contacts.list", "args": [{"search": "Mustermann"}]},
    ])
    contact = value(created)
    contact_id = contact["id"]
    assert contact["properties"]["fullname"] == "Erika Mustermann"
    assert (contact["properties"]["mobile_number"], contact["properties"]["email"], contact["groups"]) == (DE_1, "erika@example.com", [])
    assert contact["avatar"] in ("", None) and contact["validation"]["state"] == "valid"
    assert [c["id"] for c in value(listed)["data"]] == [contact_id]
    assert api(proxied, "GET", f"/contacts/{contact_id}").json()["properties"]["lastname"] == "Mustermann"

    got, updated, got_after = run_client(node, proxied, [
        {"call": "contacts.get", "args": [contact_id]},
        {"call": "contacts.update", "args": [{"id": contact_id, "properties": {"firstname": "Erika", "lastname": "Musterfrau", "mobile_number": DE_2, "fullname": "ignored"}}]},
        {"call": "contacts.get", "args": [contact_id]},
    ])
    assert value(got) == contact
    assert value(updated)["properties"]["lastname"] == "Musterfrau" and value(updated)["properties"]["mobile_number"] == DE_2
    assert value(got_after)["properties"]["fullname"] == "Erika Musterfrau"
    assert value(got_after)["properties"]["email"] == "erika@example.com"  # left out of the update: kept
    assert api(proxied, "GET", f"/contacts/{contact_id}").json()["properties"]["lastname"] == "Musterfrau"

    deleted, missing = run_client(node, proxied, [{"call": "contacts.delete", "args": [contact_id]}, {"call": "contacts.get", "args": [contact_id]}])
    assert value(deleted)["success"] is True
    assert value(missing)["success"] is False
    assert api(proxied, "GET", f"/contacts/{contact_id}").status_code == 404


def test_contact_in_a_group(node, proxied):
    group = value(run_client(node, proxied, [{"call": "groups.create", "args": [{"name": "JS friends"}]}])[0])
    created = value(run_client(node, proxied, [{"call": "contacts.create", "args": [{"groups": [group["id"]], "properties": {"firstname": "Max", "mobile_number": DE_2}}]}])[0])
    assert created["groups"] == [group["id"]]
    members = api(proxied, "GET", "/contacts", params={"group_id": group["id"]}).json()["data"]
    assert [c["id"] for c in members] == [created["id"]]


# --- signed requests -----------------------------------------------------------------------------


def test_signed_requests_pass(node, proxied):
    results = run_client(node, proxied, [
        {"call": "balance.get"},
        {"call": "sms.dispatch", "args": [{"to": [DE_1, DE_2], "text": "Signed by the JS client", "foreign_id": "signed-1"}]},
        {"call": "lookup.format", "args": [{"numbers": [DE_1]}]},
        {"call": "hooks.subscribe", "args": [{"targetUrl": "https://example.test/signed", "eventType": "dlr", "requestMethod": "POST"}]},
        {"call": "hooks.read"},
        {"call": "contacts.create", "args": [{"properties": {"firstname": "Signe", "mobile_number": DE_1}}]},
    ], api_key=SIGNED_KEY, signing_secret=SIGNING_SECRET)
    balance_result, sms, lookup, hook, hooks, contact = (value(r) for r in results)
    assert balance_result == {"amount": pytest.approx(balance(proxied, SIGNED_KEY) + 0.15), "currency": "EUR"}
    assert sms["success"] == "100" and len(sms["messages"]) == 2
    assert [stored_message(proxied, m["id"])["account_id"] for m in sms["messages"]] == [SIGNED_ACCOUNT] * 2
    assert lookup["international"] == DE_1
    assert str(hook["id"]) in [h["id"] for h in hooks["hooks"]]
    follow_up = run_client(node, proxied, [
        {"call": "status.get", "args": [[sms["messages"][0]["id"]]]},
        {"call": "hooks.unsubscribe", "args": [hook["id"]]},
        {"call": "contacts.update", "args": [{"id": contact["id"], "properties": {"firstname": "Signe", "lastname": "Signed"}}]},
        {"call": "contacts.delete", "args": [contact["id"]]},
    ], api_key=SIGNED_KEY, signing_secret=SIGNING_SECRET)
    status, unsubscribed, updated, deleted = (value(r) for r in follow_up)
    assert status[0]["id"] == sms["messages"][0]["id"]
    assert unsubscribed == {"success": True} and deleted["success"] is True
    assert updated["properties"]["fullname"] == "Signe Signed"
    assert api(proxied, "GET", "/hooks", SIGNED_KEY).json()["hooks"] == []


def test_a_wrong_signature_is_refused_with_901(node, proxied):
    before_messages, before_balance = len(proxied.messages()), balance(proxied, SIGNED_KEY)
    results = run_client(node, proxied, [
        {"call": "sms.dispatch", "args": [{"to": [DE_1], "text": "Forged"}]},
        {"call": "balance.get"},
        {"call": "hooks.subscribe", "args": [{"targetUrl": "https://example.test/forged", "eventType": "dlr"}]},
    ], api_key=SIGNED_KEY, signing_secret="not-the-secret")
    assert [r.get("error") for r in results] == ["901: InvalidMessageId"] * 3  # the client's name for 901
    assert len(proxied.messages()) == before_messages
    assert balance(proxied, SIGNED_KEY) == before_balance
    assert "https://example.test/forged" not in [h["target_url"] for h in api(proxied, "GET", "/hooks", SIGNED_KEY).json()["hooks"]]


# --- the client's webhook verifier ---------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with serve_webhook_receiver() as found:
        yield found


def verification(receiver: WebhookReceiver, hit: Hit, body: str | None = None) -> dict:
    return {"method": hit.method, "url": receiver.url + hit.path, "headers": hit.headers,
            "body": hit.body.decode() if body is None else body}


def test_the_clients_webhook_verifier_accepts_the_emulators_signed_hooks(node, proxied, receiver):
    methods = {"JSON": "/hook/json", "POST": "/hook/form", "GET": "/hook/query"}
    hook_ids = [value(r)["id"] for r in run_client(node, proxied, [
        {"call": "hooks.subscribe", "args": [{"targetUrl": receiver.url + path, "eventType": "dlr", "requestMethod": method}]}
        for method, path in methods.items()
    ], api_key=SIGNED_KEY, signing_secret=SIGNING_SECRET)]
    try:
        sms = value(run_client(node, proxied, [{"call": "sms.dispatch", "args": [{"to": [DE_1], "text": "Report back, signed"}]}], api_key=SIGNED_KEY)[0])
        message_id = sms["messages"][0]["id"]
        # Each hook gets a TRANSMITTED and a DELIVERED report of this message (and may still get
        # reports of the account's messages sent by earlier tests).
        hits = {
            method: receiver.wait_for(2, path, timeout=20.0, where=lambda hit, path=path: hit.path.split("?")[0] == path and message_id in hit.path + hit.body.decode())
            for method, path in methods.items()
        }
    finally:
        run_client(node, proxied, [{"call": "hooks.unsubscribe", "args": [hook_id]} for hook_id in hook_ids], api_key=SIGNED_KEY)

    json_hit, form_hit, query_hit = hits["JSON"][-1], hits["POST"][-1], hits["GET"][-1]
    assert json.loads(json_hit.body)["data"]["msg_id"] == message_id
    assert f"msg_id%5D={message_id}" in form_hit.body.decode() and f"msg_id%5D={message_id}" in query_hit.path
    assert query_hit.method == "GET" and query_hit.body == b""
    checks = [{"call": "webhook.verify", "options": {"signingSecret": SIGNING_SECRET}, "args": [verification(receiver, hit)]} for hit in (json_hit, form_hit, query_hit)]
    tampered_json = json_hit.body.decode().replace("DELIVERED", "NOTDELIVERED").replace("TRANSMITTED", "NOTDELIVERED")
    checks += [
        {"call": "webhook.verify", "options": {"signingSecret": SIGNING_SECRET}, "args": [verification(receiver, json_hit, tampered_json)]},
        {"call": "webhook.verify", "options": {"signingSecret": SIGNING_SECRET}, "args": [verification(receiver, form_hit, form_hit.body.decode() + "&x=1")]},
        {"call": "webhook.verify", "options": {"signingSecret": "another-secret"}, "args": [verification(receiver, json_hit)]},
    ]
    results = [value(r) for r in run_client(node, proxied, checks)]
    assert [r["valid"] for r in results] == [True, True, True, False, False, False]
    assert [r.get("error") for r in results[3:]] == ["Signature mismatch"] * 3
    assert results[0]["nonce"] == json_hit.headers["X-Nonce"] and results[0]["timestamp"] == int(json_hit.headers["X-Timestamp"])


# --- TLS -----------------------------------------------------------------------------------------


def test_without_the_emulators_ca_the_client_refuses_the_connection(node, proxied):
    env = {key: item for key, item in proxied.client_env().items() if key != "NODE_EXTRA_CA_CERTS"}
    before = len(proxied.messages())
    [result] = run_client(node, proxied, [{"call": "sms.dispatch", "args": [{"to": [DE_1], "text": "untrusted"}]}], env=env)
    assert result["error"] == "fetch failed"
    assert "certificate" in (result.get("cause") or "")
    assert len(proxied.messages()) == before

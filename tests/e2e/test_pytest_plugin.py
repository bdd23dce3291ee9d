"""The pytest plugin, as a user's test suite sees it: run in a separate pytest process."""

EXAMPLE = '''
import httpx
import pytest


def test_sms_conversation(telco_emulator):
    sms = httpx.post(
        telco_emulator.elks_url + "/SMS",
        auth=telco_emulator.elks_auth,
        data={"from": "+46766861001", "to": "+46701234567", "message": "A table tonight?"},
    ).json()
    telco_emulator.advance(1)
    delivered = telco_emulator.wait_for_message(id=sms["id"], status="delivered")
    assert delivered["data"]["to"] == "+46701234567"

    telco_emulator.inject_sms(to="+46766861001", from_="+46701234567", text="Yes, for two")
    reply = telco_emulator.wait_for_message(kind="message.received", from_="+46701234567")
    (inbound,) = telco_emulator.messages(direction="inbound")
    assert inbound["text"] == "Yes, for two" and inbound["attributes"]["reply_to"] == sms["id"]
    assert reply["data"]["id"] == inbound["id"]


def test_each_test_starts_from_the_fixtures(telco_emulator):
    assert telco_emulator.messages() == []
    balance = httpx.get(telco_emulator.seven_url + "/balance", headers=telco_emulator.seven_headers).json()
    assert balance["amount"] == 100.0


def test_failures_and_faults(telco_emulator):
    telco_emulator.add_outcome("+4917600000001", status="failed")
    telco_emulator.add_fault(provider="seven", path="/sms", status=429, count=1)
    send = lambda: httpx.post(
        telco_emulator.seven_url + "/sms", headers=telco_emulator.seven_headers,
        json={"to": "+4917600000001", "text": "x"},
    )
    assert send().status_code == 429
    message_id = send().json()["messages"][0]["id"]
    telco_emulator.advance(5)
    telco_emulator.wait_for_message(id=message_id, status="failed", timeout=2)


def test_sandboxes_keep_parallel_work_apart(telco_emulator):
    first, second = telco_emulator.sandbox("a"), telco_emulator.sandbox("b")
    for handle, text in ((first, "one"), (second, "two")):
        httpx.post(handle.elks_url + "/SMS", auth=handle.elks_auth, data={"from": "ElkCo", "to": "+46700000123", "message": text}).raise_for_status()
    assert [m["text"] for m in first.messages()] == ["one"]
    assert [m["text"] for m in second.messages()] == ["two"]
    event = first.wait_for("message.created", timeout=1)
    assert event["sandbox"] == first.sandbox_id
    with pytest.raises(AssertionError):
        second.wait_for("message.created", timeout=0.2, to="+46700000999")
    first.reset()
    assert first.messages() == [] and [m["text"] for m in second.messages()] == ["two"]
    second.delete_sandbox()


def test_waiting_for_nothing_fails_clearly(telco_emulator):
    import pytest

    with pytest.raises(AssertionError, match="no event matching"):
        telco_emulator.wait_for_message(to="+46700000999", timeout=0.1)
'''


def test_plugin_fixture_in_a_users_suite(pytester):
    pytester.makepyfile(test_user_suite=EXAMPLE)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_plugin_against_a_running_emulator(pytester, emulator_process):
    pytester.makepyfile(test_user_suite=EXAMPLE.split("def test_failures_and_faults")[0])
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", f"--telco-emulator-url={emulator_process.url}")
    # The running emulator uses the real clock: advancing is refused, so only the tests that
    # do not move time pass.
    result.assert_outcomes(passed=1, failed=1)
    assert "virtual" in result.stdout.str()

"""The pytest plugin, as a user's test suite sees it: run in a separate pytest process."""

import os
from pathlib import Path

import pytest

import emulator


@pytest.fixture(autouse=True)
def _same_emulator_package_in_the_subprocess(monkeypatch):
    """The pytest subprocess runs in a temporary directory: make it import the `emulator`
    package under test, not whichever one is installed."""
    root = str(Path(emulator.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))

EXAMPLE = '''
import json

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


def test_ivr_call_on_46elks(telco_emulator):
    menu = {"ivr": "https://sounds.example/menu.mp3", "digits": 1, "1": {"connect": "+46700000490"}, "2": {"play": "https://sounds.example/bye.mp3"}}
    call = httpx.post(
        telco_emulator.elks_url + "/Calls",
        auth=telco_emulator.elks_auth,
        data={"from": "+46766861001", "to": "+46700000489", "voice_start": json.dumps(menu)},
    ).json()
    telco_emulator.advance(120)  # +46700000489 answers and presses 1; +46700000490 hangs up after 5 s
    ended = telco_emulator.wait_for("call.ended", id=call["id"])
    assert ended["data"]["status"] == "ended"
    (record,) = telco_emulator.calls()
    assert record["actions"] == [
        {"ivr": "https://sounds.example/menu.mp3", "result": "1"},
        {"connect": "+46700000490", "result": "success"},
    ]
    assert [leg["to"] for leg in record["legs"]] == ["+46700000490"]


def test_voice_call_with_key_presses_on_seven(telco_emulator):
    hook = {"target_url": "http://127.0.0.1:9/voice", "event_type": "voice_dtmf", "request_method": "JSON"}
    httpx.post(telco_emulator.seven_url + "/hooks", json=hook, headers=telco_emulator.seven_headers).raise_for_status()
    answer = httpx.post(
        telco_emulator.seven_url + "/voice",
        json={"to": "+4915700000489", "text": "Press 1 to confirm", "from": "+4915799912345"},
        headers=telco_emulator.seven_headers,
    ).json()
    telco_emulator.advance(60)
    telco_emulator.wait_for("call.ended", id=str(answer["messages"][0]["id"]))
    (attempt,) = [w for w in telco_emulator.webhooks(url="http://127.0.0.1:9/voice")]
    assert json.loads(attempt["body"])["data"]["dtmf_digit"] == "1"


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
    result.assert_outcomes(passed=7)


def test_plugin_against_a_running_emulator(pytester, emulator_process):
    pytester.makepyfile(test_user_suite=EXAMPLE.split("def test_failures_and_faults")[0])
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", f"--telco-emulator-url={emulator_process.url}")
    # The running emulator uses the real clock: advancing is refused, so only the test that
    # does not move time passes.
    result.assert_outcomes(passed=1, failed=3)
    assert "virtual" in result.stdout.str()


SHARED_SESSION = '''
import sys

import httpx

SEEN = []


def test_first(telco_emulator):
    SEEN.append((telco_emulator.connection, telco_emulator.connection._opened[:]))
    httpx.post(telco_emulator.elks_url + "/SMS", auth=telco_emulator.elks_auth,
               data={"from": "ElkCo", "to": "+46700000123", "message": "one"}).raise_for_status()
    assert len(telco_emulator.messages()) == 1


def test_second_is_reset_over_the_same_connection(telco_emulator):
    assert telco_emulator.messages() == []
    (connection, opened), = SEEN
    assert telco_emulator.connection is connection and telco_emulator.connection._opened == opened
    assert len(opened) == 1  # one keep-alive connection for the whole session (one thread)


def test_the_emulator_is_not_in_the_test_process(telco_emulator):
    # In-process, the server's thread would compete with the test for the interpreter lock.
    assert "uvicorn" not in sys.modules and "emulator.app" not in sys.modules
    assert httpx.get(telco_emulator.control_url + "/health").status_code == 200


def test_sandbox_of_the_session_first(telco_sandbox):
    SEEN.append(telco_sandbox.sandbox_id)
    httpx.post(telco_sandbox.elks_url + "/SMS", auth=telco_sandbox.elks_auth,
               data={"from": "ElkCo", "to": "+46700000123", "message": "in a sandbox"}).raise_for_status()
    assert [m["text"] for m in telco_sandbox.messages()] == ["in a sandbox"]


def test_sandbox_of_the_session_is_reset_before_each_test(telco_sandbox):
    assert telco_sandbox.sandbox_id == SEEN[-1]
    assert telco_sandbox.messages() == []
'''


def test_plugin_keeps_one_child_emulator_and_one_connection_per_session(pytester):
    pytester.makepyfile(test_shared=SHARED_SESSION)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=5)


def test_plugin_in_thread_mode_serves_the_same_suite(pytester):
    pytester.makepyfile(test_user_suite=EXAMPLE)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--telco-emulator-mode=thread")
    result.assert_outcomes(passed=7)


MIXED = '''
import httpx


def test_a_sandbox(telco_sandbox):
    httpx.post(telco_sandbox.elks_url + "/SMS", auth=telco_sandbox.elks_auth,
               data={"from": "ElkCo", "to": "+46700000123", "message": "one"}).raise_for_status()


def test_the_whole_emulator(telco_emulator):  # its reset removes every sandbox
    assert telco_emulator.messages() == []


def test_a_sandbox_again(telco_sandbox):
    assert telco_sandbox.messages() == []
    httpx.post(telco_sandbox.elks_url + "/SMS", auth=telco_sandbox.elks_auth,
               data={"from": "ElkCo", "to": "+46700000123", "message": "two"}).raise_for_status()
    assert [m["text"] for m in telco_sandbox.messages()] == ["two"]
'''


def test_tests_of_sandboxes_and_of_the_whole_emulator_mix_in_one_session(pytester):
    pytester.makepyfile(test_mixed=MIXED)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=3)

"""seven.io `POST /api/validate_for_voice`: the call starts with a code, the number is validated
when the code is keyed in, the callback gets a GET through the outbox, and asking again answers
"already saved"; invalid numbers and callbacks are refused."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from support import SEVEN_ACCOUNT, SEVEN_JSON, SEVEN_OTHER_KEY


async def validate(client, headers=SEVEN_JSON, **fields):
    return await client.post("/api/validate_for_voice", data=fields, headers=headers)


def caller_ids(emulator):
    return list(emulator.engine.store.collection("seven.caller_ids"))


async def test_call_then_validated_then_already_saved(emulator, client):
    started = await validate(client, number="0176 12345678", callback="http://hooks.test/validated?ref=1")
    assert started.status_code == 200
    body = started.json()
    assert body["success"] is True and body["error"] is None
    assert len(body["code"]) == 6 and body["code"].isdigit()
    again = await validate(client, number="+4917612345678")
    assert again.json() == body  # the call is still running: same code
    assert emulator.receiver.requests == []

    await emulator.advance(15)
    (callback,) = emulator.receiver.to("http://hooks.test/validated")
    assert callback.method == "GET"
    query = dict(parse_qsl(urlsplit(callback.url).query, keep_blank_values=True))
    assert query["ref"] == "1" and query["error"] == "" and query["success"] == "true"
    assert query["sender"] == "4917612345678" and query["formatted_output"] == "+49 176 12345678"
    assert query["id"].isdigit() and query["voice"] == "true"

    saved = await validate(client, number="4917612345678")
    assert saved.status_code == 200
    assert saved.json() == {
        "id": int(query["id"]),
        "sender": "4917612345678",
        "formatted_output": "+49 176 12345678",
        "success": True,
        "error": "The sender ID is already saved.",
        "voice": True,
    }
    (record,) = caller_ids(emulator)
    assert record.account_id == SEVEN_ACCOUNT and record.validated is not None


async def test_validation_is_per_account(emulator, client):
    await validate(client, number="+4917612345678")
    await emulator.advance(15)
    other = await validate(client, headers={"X-Api-Key": SEVEN_OTHER_KEY}, number="+4917612345678")
    assert "code" in other.json() and other.json()["success"] is True


async def test_codes_are_deterministic(client):
    first = (await validate(client, number="+4915123456789")).json()["code"]
    from support import make_engine
    from emulator.seven.voice_validation import _code

    engine = make_engine()
    assert _code(engine, engine.store.accounts[SEVEN_ACCOUNT], "+4915123456789") == first


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"number": "000"}, "Number is invalid"),
        ({"number": "+4917999999"}, "Number is invalid"),  # possible length, but no such range
        ({"number": ""}, "Reception number invalid"),
        ({}, "Reception number invalid"),
        ({"number": "+4917612345678", "callback": "ftp://example.com"}, "Callback URL invalid"),
    ],
)
async def test_invalid_input_changes_nothing(emulator, client, fields, error):
    response = await validate(client, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body == {"id": None, "sender": fields.get("number", ""), "formatted_output": None, "success": False, "error": error, "voice": False}
    assert caller_ids(emulator) == [] and emulator.engine.clock.pending() == 0


async def test_empty_callback_is_no_callback(emulator, client):
    response = await validate(client, number="+4917612345678", callback="")
    assert response.status_code == 200
    await emulator.advance(15)
    assert emulator.receiver.requests == [] and len(emulator.engine.store.deliveries) == 0

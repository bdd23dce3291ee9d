"""Multipart form bodies on both providers: fields are read as UTF-8, as 46elks' and seven.io's
clients send them (whatever charset the Content-Type names); a field that is not UTF-8 is
refused like a form body that is not, in each provider's own shape, and nothing is stored."""

from __future__ import annotations

import pytest

from support import ELKS_ACCOUNT, ELKS_AUTH, SEVEN_ACCOUNT, SEVEN_JSON

TEXT = "Hälsningar 😀"


def multipart(fields: dict[str, bytes], boundary: bytes = b"B0undary") -> bytes:
    parts = [
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


PROVIDERS = {
    "elks": ("/a1/SMS", {}, {"from": b"ElkCo", "to": b"+46700000123"}, "message", "message"),
    "seven": ("/api/sms", SEVEN_JSON, {"to": b"+4917612345678"}, "text", "text"),
}


def sent_text(provider: str, answer: dict) -> str:
    return answer["message"] if provider == "elks" else answer["messages"][0]["text"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("content_type", [
    "multipart/form-data; boundary=B0undary",
    "multipart/form-data; boundary=B0undary; charset=utf-8",
    "multipart/form-data; boundary=B0undary; charset=iso-8859-1",  # clients that name a charset still send UTF-8
    'multipart/form-data; boundary="B0undary"; charset=unknown-charset',
])
async def test_non_ascii_text_arrives_intact(emulator, client, provider, content_type):
    path, headers, fields, text_field, _ = PROVIDERS[provider]
    body = multipart(fields | {text_field: TEXT.encode()})
    response = await client.post(path, content=body, headers={**headers, "Content-Type": content_type}, auth=ELKS_AUTH if provider == "elks" else None)
    assert response.status_code == 200, response.text
    assert sent_text(provider, response.json()) == TEXT
    (stored,) = list(emulator.engine.store.messages)
    assert stored.text == TEXT


async def test_field_names_are_utf8_too(emulator, client):
    body = multipart({"from": b"ElkCo", "to": b"+46700000123", "message": TEXT.encode(), "dontlog": b"message", "ignored_fält": b"\xc3\xa5"})
    response = await client.post("/a1/SMS", content=body, headers={"Content-Type": "multipart/form-data; boundary=B0undary"}, auth=ELKS_AUTH)
    assert response.status_code == 200 and "message" not in response.json()  # dontlog=message was read
    (stored,) = list(emulator.engine.store.messages)
    assert stored.text == TEXT


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("broken", [b"H\xe4lsningar", b"x\xed\xa0\x80"], ids=["latin-1", "utf-8-of-a-surrogate"])
async def test_a_field_that_is_not_utf8_is_refused_and_nothing_is_stored(emulator, client, provider, broken):
    path, headers, fields, text_field, _ = PROVIDERS[provider]
    account = ELKS_ACCOUNT if provider == "elks" else SEVEN_ACCOUNT
    before = emulator.balance(account)
    body = multipart(fields | {text_field: broken})
    response = await client.post(path, content=body, headers={**headers, "Content-Type": "multipart/form-data; boundary=B0undary"}, auth=ELKS_AUTH if provider == "elks" else None)
    # As a form-encoded body with the same bytes: 46elks 403 with its text, seven.io 400 and 700.
    urlencoded = await client.post(path, content=b"&".join(k.encode() + b"=" + v for k, v in (fields | {text_field: broken}).items()), headers={**headers, "Content-Type": "application/x-www-form-urlencoded"}, auth=ELKS_AUTH if provider == "elks" else None)
    if provider == "elks":
        assert response.status_code == urlencoded.status_code == 403
        assert response.text.startswith("Malformed request body") and urlencoded.text.startswith("Malformed request body")
    else:
        assert response.status_code == urlencoded.status_code == 400
        assert response.json() == urlencoded.json() == 700
    assert emulator.balance(account) == before
    assert len(emulator.engine.store.messages) == 0

"""`emulator/control_client.py`: reading a control-API list across short pages."""

from emulator.control_client import collect


def pages(*contents):
    """A fake list: each call answers the next page; the cursor names the page it asked for."""
    asked = []

    def fetch(params):
        asked.append(dict(params))
        index = int(params["cursor"] or 0)
        return {"data": contents[index], "next": str(index + 1) if index + 1 < len(contents) else None}

    return fetch, asked


def test_short_and_empty_pages_are_followed_to_the_end():
    fetch, asked = pages([{"id": 1}], [], [{"id": 2}, {"id": 3}])
    assert [item["id"] for item in collect(fetch, {"provider": "elks"})] == [1, 2, 3]
    assert [params["cursor"] for params in asked] == ["", "1", "2"]
    assert all(params["provider"] == "elks" for params in asked)


def test_collecting_stops_at_the_limit():
    fetch, asked = pages([{"id": 1}, {"id": 2}], [{"id": 3}, {"id": 4}], [{"id": 5}])
    assert [item["id"] for item in collect(fetch, {}, limit=3)] == [1, 2, 3]
    assert len(asked) == 2 and asked[0]["limit"] == "3" and asked[1]["limit"] == "1"


def test_the_control_token_goes_to_the_control_api_only(monkeypatch):
    import httpx

    from emulator.control_client import TOKEN_ENV, control_token_auth

    seen = {}

    def answer(request):
        seen[request.url.path] = request.headers.get("x-telco-emulator-token")
        return httpx.Response(200, json={})

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert control_token_auth() is None
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    with httpx.Client(base_url="http://localhost", transport=httpx.MockTransport(answer), auth=control_token_auth()) as client:
        client.get("/_emulator/messages")
        client.post("/api/sms", headers={"X-Api-Key": "key"})
    assert seen == {"/_emulator/messages": "from-env", "/api/sms": None}
    assert control_token_auth("given").token == "given"

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

"""Client-side help for the control API, shared by the pytest plugin and the scenario runner."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["collect"]


def collect(fetch: Callable[[dict[str, str]], dict[str, Any]], params: dict[str, str], limit: int = 100) -> list[dict[str, Any]]:
    """Up to `limit` records of a control-API list, newest first. `fetch(params)` answers one
    page; `next` is followed, since a filtered list can answer short (even empty) pages before
    the end (the server looks at a bounded number of records per request)."""
    items: list[dict[str, Any]] = []
    cursor = params.get("cursor", "")
    while len(items) < limit:
        page = fetch({**params, "limit": str(min(1000, limit - len(items))), "cursor": cursor})
        items += page["data"]
        if page["next"] is None:
            break
        cursor = page["next"]
    return items[:limit]

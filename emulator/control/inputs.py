"""Reading the control API's query and body parameters: pages, filters, text fields."""

from __future__ import annotations

from typing import Any, Callable

from ..core.errors import InvalidParameter, MissingParameter
from ..core.store import Collection, Page
from ..http.params import engine_of
from ..providers import NAMES

__all__ = ["MAX_LIMIT", "SCAN_BUDGET", "engine_of", "limit", "cursor", "list_page", "page_json", "filters", "same_number", "text_field", "provider_field"]

MAX_LIMIT = 1000
SCAN_BUDGET = 10_000  # records a list request looks at, at most

Test = Callable[[Any, str], bool]


def limit(params: dict[str, Any]) -> int:
    raw = params.get("limit", 100)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidParameter("limit", raw, f"expected a whole number from 1 to {MAX_LIMIT}") from None
    if isinstance(raw, bool) or not 1 <= value <= MAX_LIMIT:
        raise InvalidParameter("limit", raw, f"expected a whole number from 1 to {MAX_LIMIT}")
    return value


def cursor(params: dict[str, Any]) -> int | None:
    """The `next` value of a previous page (a creation stamp), or None for the first page."""
    raw = params.get("cursor")
    if raw in (None, ""):
        return None
    text = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:  # int() refuses thousands of digits itself
        raise InvalidParameter("cursor", raw, "expected the `next` value of a previous page")
    return int(raw)


def list_page(collection: Collection, params: dict[str, Any], where: Callable[[Any], bool],
              indexed: dict[str, Callable[[str], str]] | None = None, owners: list[str] | None = None,
              kind: str | None = None) -> Page:
    """One page of a filtered control-API list: from the `cursor`, at most `limit` records.

    Filters that narrow the records read: `account` (that owner's index), `owners` (the owners
    that filters such as `provider` or `sandbox` allow; their indexes merged), `kind` (with
    them: only that kind, e.g. a direction) and those in `indexed` (name -> how its value is
    written in the collection's index of that name). With any of them the page reads the
    shortest of those indexes: it costs about what it finds, and a page is short only at the
    end. Otherwise (no filter, or only filters without an index) it looks at no more than
    `SCAN_BUDGET` records, so a filter that matches little answers in bounded time: a short or
    empty page with `next` set."""
    account = params.get("account")
    owner = account if isinstance(account, str) and account else None
    matching = {name: normal(value) for name, normal in (indexed or {}).items()
                if isinstance(value := params.get(name), str) and value != "" and collection.indexed(name)}
    if owner is not None:  # the account's own index, when the other filters allow that owner at all
        owners = [owner] if owners is None or owner in owners else []
    assert kind is None or owners is not None, "a kind is read through the indexes of owners"
    narrowed = owners is not None or bool(matching)
    return collection.page(before=cursor(params), limit=limit(params), where=where,
                           scan=None if narrowed else SCAN_BUDGET, matching=matching, owners=owners, kind=kind)


def page_json(page: Page, render: Callable[[Any], dict]) -> dict[str, Any]:
    return {"data": [render(item) for item in page.items], "next": str(page.resume) if page.has_more else None}


def filters(params: dict[str, Any], tests: dict[str, Test], choices: dict[str, tuple[str, ...]]) -> Callable[[Any], bool]:
    """One predicate from the filters present in `params`. A filter with `choices` must be one of
    them (empty included); an empty free-text filter is ignored."""
    active = []
    for name, test in tests.items():
        value = params.get(name)
        if value is None or (value == "" and name not in choices):
            continue
        if not isinstance(value, str) or (name in choices and value not in choices[name]):
            raise InvalidParameter(name, value, f"expected one of: {', '.join(choices.get(name, ('text',)))}")
        active.append((test, value))
    if len(active) == 1:
        (test, value), = active
        return lambda item: test(item, value)
    return lambda item: all(test(item, value) for test, value in active)


def same_number(wanted: str, actual: str) -> bool:
    return wanted.lstrip("+") == actual.lstrip("+")


def text_field(params: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise MissingParameter(name)
        return None
    if not isinstance(value, str):
        raise InvalidParameter(name, value, "expected a string")
    return value


def provider_field(params: Any) -> str | None:
    """The optional `provider` parameter: the name of a registered provider."""
    if "provider" not in params:
        return None
    provider = params["provider"]
    if provider not in NAMES:
        raise InvalidParameter("provider", provider, f"expected {' or '.join(NAMES)}")
    return provider

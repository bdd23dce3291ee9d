"""`GET /_emulator/requests`: the request journal (`core/request_journal.py`), newest first.

Every request a provider mount answered: method, path, the account its credentials named,
its parameters (secrets masked), status, answer, duration, and for a refusal the reason in
words. Filters: `provider`, `account`, `status` (`403`, or a class such as `4xx`), `path` (a
prefix of the full path, `/a1/SMS`), `refused` (`true`: only refusals), `sandbox`; `cursor`
paging (`next` of the previous page) and `limit`. `GET /_emulator/requests/{id}` is one entry.
Refusals are also events (`request.refused`), for `/_emulator/wait` and the event stream.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core import request_journal as rj
from ..core.errors import InvalidParameter, NotFound
from ..core.request_journal import RequestJournal, journal_of
from ..core.store import SANDBOX
from ..http.params import read_params
from .inputs import cursor, engine_of, limit, provider_field
from .render import iso

__all__ = ["ROUTES", "entry_json", "journal_page"]

Entry = tuple
Test = Callable[[Entry], bool]


def entry_json(entry: Entry, *, masked: bool = True) -> dict[str, Any]:
    """One journal entry as the control API shows it (rendered now, from the raw record)."""
    params, note = rj.request_params(entry) if masked else _plain_params(entry)
    status, headers = entry[rj.STATUS], rj.headers_of(entry)
    return {
        "id": entry[rj.SEQ],
        "at": iso(entry[rj.AT]),
        "provider": entry[rj.PROVIDER],
        "account_id": entry[rj.ACCOUNT],
        "method": entry[rj.METHOD],
        "path": rj.path_of(entry),
        "status": status,
        "refused": status >= 400,
        "reason": entry[rj.REASON],
        "duration_ms": round(entry[rj.DURATION] / 1e6, 3),
        "params": params,
        "body_note": note,
        "headers": rj.mask_headers(headers) if masked else _plain_headers(headers),
        "answer": rj.answer_body(entry),
        "answer_size": entry[rj.ANSWER_SIZE],
    }


def _plain_params(entry: Entry) -> tuple[dict[str, Any], str | None]:
    params, note = rj.request_params(entry, masked=False)
    return params, note


def _plain_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown


def journal_page(journal: RequestJournal, params: dict[str, Any], tests: Iterable[Test],
                 render: Callable[[Entry], dict[str, Any]]) -> dict[str, Any]:
    """One page, newest first: entries below `cursor` passing every test, at most `limit`."""
    wanted = limit(params)
    before = cursor(params)
    active = list(tests)
    items: list[Entry] = []
    more = False
    for entry in journal.newest_first(before):
        if all(test(entry) for test in active):
            if len(items) == wanted:
                more = True
                break
            items.append(entry)
    return {"data": [render(entry) for entry in items], "next": str(items[-1][rj.SEQ]) if more else None}


def _status_test(raw: Any) -> Test:
    text = str(raw).lower() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        low = int(text[0]) * 100
        return lambda entry: low <= entry[rj.STATUS] < low + 100
    if len(text) == 3 and text.isascii() and text.isdigit() and text[0] in "12345":
        status = int(text)
        return lambda entry: entry[rj.STATUS] == status
    raise InvalidParameter("status", raw, "expected an HTTP status such as 403, or a class such as 4xx")


def request_tests(request: Request, params: dict[str, Any]) -> list[Test]:
    tests: list[Test] = []
    provider = provider_field(params)  # a filter with choices must be one of them, empty included
    if provider is not None:
        tests.append(lambda entry: entry[rj.PROVIDER] == provider)
    account = params.get("account")
    if isinstance(account, str) and account:
        tests.append(lambda entry: entry[rj.ACCOUNT] == account)
    if params.get("status") is not None:
        tests.append(_status_test(params["status"]))
    path = params.get("path")
    if isinstance(path, str) and path:
        tests.append(lambda entry: rj.path_of(entry).startswith(path))
    refused = params.get("refused")
    if refused is not None:
        if refused not in ("true", "false"):
            raise InvalidParameter("refused", refused, "expected true or false")
        only = refused == "true"
        tests.append(lambda entry: (entry[rj.STATUS] >= 400) == only)
    sandbox = params.get("sandbox")
    if isinstance(sandbox, str) and sandbox:
        accounts = engine_of(request).store.accounts

        def in_sandbox(entry: Entry) -> bool:
            found = accounts.get(entry[rj.ACCOUNT]) if entry[rj.ACCOUNT] else None
            return found is not None and found.attributes.get(SANDBOX) == sandbox

        tests.append(in_sandbox)
    return tests


async def list_requests(request: Request) -> Response:
    params = await read_params(request)
    journal = journal_of(engine_of(request))
    return JSONResponse(journal_page(journal, params, request_tests(request, params), entry_json))


async def get_request(request: Request) -> Response:
    raw = request.path_params["entry_id"]
    entry = journal_of(engine_of(request)).get(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else None
    if entry is None:
        raise NotFound("journal entry", raw)
    return JSONResponse(entry_json(entry))


ROUTES = [
    Route("/requests", list_requests, methods=["GET"]),
    Route("/requests/{entry_id}", get_request, methods=["GET"]),
]

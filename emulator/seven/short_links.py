"""seven.io's short links in SMS texts: `files[n][...]` attachments and `performance_tracking=1`.

- **Files**: `files[n][contents]` (base64), `files[n][name]`, optional `files[n][validity]` (days,
  1-7, default 3) and `files[n][password]`, in form fields (`files[0][name]=...`) or as a JSON array
  of objects. The text refers to each as `[[name]]`; every reference becomes the file's short
  link. The file itself is not kept: the link names it, it cannot be downloaded from the emulator.
- **Performance tracking**: every `http(s)://` URL of the text becomes a short tracking link of
  its own per message. A click or view, simulated through the control API
  (`POST /_emulator/seven/tracking`), fires the account's `tracking` hooks with seven's fields
  `{final_url, sms_id, sms_label, total_clicks, total_views, tracking_url, type}`.

Links are `https://ul.gl/<code>` (the host seen in seven's answers); codes are derived from the
emulator's seed and the message, so a request that is refused uses up nothing. Each message keeps
its links in its attributes (`short_links`: code -> final URL, `link_counts`: code ->
[clicks, views]), so they live and die with the message, snapshots included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from ..core.engine import Engine
from ..core.errors import InvalidParameter, MissingParameter, NotFound
from ..core.models import Message
from ..core.store import Store

__all__ = ["LINK_HOST", "Attachment", "attachments", "with_file_links", "tracked_text", "note_links", "find_link", "record_hit"]

LINK_HOST = "https://ul.gl/"
MAX_FILES = 10
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_FILE_KEY = re.compile(r"files\[(\d{1,3})\]\[(contents|name|validity|password)\]")


@dataclass(slots=True)
class Attachment:
    name: str
    size: int  # bytes, decoded
    validity: int  # days
    password: bool


def _file_fields(params: dict[str, Any]) -> list[dict[str, Any]]:
    raw = params.get("files")
    if isinstance(raw, list):
        if not all(isinstance(item, dict) for item in raw):
            raise InvalidParameter("files", raw, "expected a list of {contents, name} objects")
        return raw
    if raw is not None and raw != "":
        raise InvalidParameter("files", raw, "expected files[n][contents] and files[n][name]")
    found: dict[int, dict[str, Any]] = {}
    for key, value in params.items():
        match = _FILE_KEY.fullmatch(key) if key.startswith("files[") else None
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value[-1] if isinstance(value, list) else value
    return [found[index] for index in sorted(found)]


def attachments(params: dict[str, Any]) -> list[Attachment]:
    """The request's files, checked (base64 contents, a name, validity 1-7 days)."""
    files = _file_fields(params)
    if len(files) > MAX_FILES:
        raise InvalidParameter("files", len(files), f"at most {MAX_FILES} files")
    result = []
    for index, item in enumerate(files):
        field = f"files[{index}]"
        name, contents = item.get("name"), item.get("contents")
        if not isinstance(name, str) or not name.strip():
            raise MissingParameter(f"{field}[name]")
        if not isinstance(contents, str) or not contents.strip():
            raise MissingParameter(f"{field}[contents]")
        try:
            size = len(base64.b64decode(contents.strip(), validate=True))
        except (binascii.Error, ValueError):
            raise InvalidParameter(f"{field}[contents]", "...", "expected base64") from None
        validity_raw = item.get("validity")
        validity = 3
        if validity_raw not in (None, ""):
            if not str(validity_raw).isdigit() or not 1 <= int(str(validity_raw)) <= 7:
                raise InvalidParameter(f"{field}[validity]", validity_raw, "expected 1 to 7 days")
            validity = int(str(validity_raw))
        result.append(Attachment(name.strip(), size, validity, bool(item.get("password"))))
    return result


def _code(engine: Engine, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(part) for part in (engine.seed, *parts)).encode()).hexdigest()
    return digest[:10]


def with_file_links(engine: Engine, account_id: str, text: str, files: list[Attachment]) -> tuple[str, list[dict[str, Any]]]:
    """`text` with every `[[name]]` of an attached file replaced by the file's short link, and
    the files as the message keeps them."""
    kept = []
    now = engine.clock.now()
    for index, item in enumerate(files):
        url = LINK_HOST + _code(engine, "file", account_id, now, index, item.name, item.size)
        text = text.replace(f"[[{item.name}]]", url)
        kept.append({"name": item.name, "url": url, "size": item.size, "validity": item.validity, "password": item.password})
    return text, kept


def tracked_text(engine: Engine, account_id: str, recipient: str, text: str) -> tuple[str, dict[str, str]]:
    """`text` with each URL replaced by a tracking link for this recipient; the links' codes and
    final URLs."""
    links: dict[str, str] = {}
    now = engine.clock.now()

    def shorten(match: re.Match[str]) -> str:
        code = _code(engine, "track", account_id, recipient, now, len(links), match.group(0))
        links[code] = match.group(0)
        return LINK_HOST + code

    return _URL.sub(shorten, text), links


class _LinkIndex:
    def __init__(self) -> None:
        self.message_of: dict[str, str] = {}


_indexes: WeakKeyDictionary[Store, _LinkIndex] = WeakKeyDictionary()


def note_links(engine: Engine, messages: list[Message]) -> None:
    index = _index(engine)
    for message in messages:
        for code in message.attributes.get("short_links") or {}:
            index.message_of[code] = message.id


def _index(engine: Engine) -> _LinkIndex:
    index = _indexes.get(engine.store)
    if index is None:  # a new world (reset, restore): read the links of its messages once
        index = _indexes[engine.store] = _LinkIndex()
        for message in engine.store.messages:
            for code in message.attributes.get("short_links") or {}:
                index.message_of[code] = message.id
    return index


def find_link(engine: Engine, url_or_code: str) -> tuple[Message, str]:
    """The message and code of a tracking link (the whole link or its code)."""
    code = url_or_code.strip().removeprefix(LINK_HOST).strip("/")
    message_id = _index(engine).message_of.get(code)
    message = engine.store.messages.get(message_id) if message_id else None
    if message is None or code not in (message.attributes.get("short_links") or {}):
        raise NotFound("tracking link", url_or_code)
    return message, code


def record_hit(engine: Engine, message: Message, code: str, kind: str) -> dict[str, Any]:
    """Count a click or view of the link and fire the account's `tracking` hooks; the hook data."""
    from .hooks import dispatch

    counts = message.attributes.setdefault("link_counts", {})
    clicks, views = counts.get(code, [0, 0])
    if kind == "click":
        clicks += 1
    else:
        views += 1
    counts[code] = [clicks, views]
    data = {
        "final_url": message.attributes["short_links"][code],
        "sms_id": message.id,
        "sms_label": message.attributes.get("label"),
        "total_clicks": clicks,
        "total_views": views,
        "tracking_url": LINK_HOST + code,
        "type": kind,
    }
    dispatch(engine, message.account_id, "tracking", data, (message.recipient, message.recipient.lstrip("+")))
    return data

"""The inbox's static files, read from the package (`emulator/ui/static/`) once and kept in
memory with their media type and an ETag. Only files that exist in that folder are served."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Asset", "asset", "asset_names"]

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    media_type: str
    etag: str


@lru_cache(maxsize=1)
def _assets() -> dict[str, Asset]:
    folder = resources.files(__package__) / "static"
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if not entry.is_file() or suffix not in _MEDIA_TYPES:
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        found[entry.name] = Asset(entry.name, body, _MEDIA_TYPES[suffix], etag)
    return found


def asset(name: str) -> Asset | None:
    return _assets().get(name)


def asset_names() -> list[str]:
    return sorted(_assets())

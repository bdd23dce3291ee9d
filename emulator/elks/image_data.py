"""MMS image payloads: `data:` URIs decoded and checked, http(s) URLs kept as references, and
conversion to JPEG for `GET /a1/images/{id}.jpg`.

An image given inline must really be a JPEG, PNG or GIF: its magic bytes decide the type and
Pillow must be able to read it. An image given as a URL is never fetched (no request handler
calls out, and the emulator keeps no background fetcher): it is recorded with its URL and
unknown bytes.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit


from ..core.errors import InvalidParameter

__all__ = ["ImagePayload", "read_image", "to_jpeg", "MAX_IMAGE_BYTES", "MAX_PIXELS"]

MAX_IMAGE_BYTES = 5_000_000
MAX_PIXELS = 40_000_000

_MAGIC = (
    (b"\xff\xd8\xff", "jpg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "png", "PNG"),
    (b"GIF87a", "gif", "GIF"),
    (b"GIF89a", "gif", "GIF"),
)
_EXTENSIONS = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".gif": "gif"}


@dataclass(frozen=True, slots=True)
class ImagePayload:
    """An image of an MMS: its bytes and type, or only the URL it was given as."""

    filetype: str | None  # jpg, png, gif; None when unknown
    data: bytes | None = None
    source_url: str | None = None


def _sniff(data: bytes) -> tuple[str, str] | None:
    for magic, filetype, pillow_format in _MAGIC:
        if data.startswith(magic):
            return filetype, pillow_format
    return None


def _open(data: bytes) -> Any:
    from PIL import Image  # imported at the first image: it costs start-up time and memory

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ValueError("too many pixels")
        return image


def _check_image(field: str, data: bytes) -> str:
    found = _sniff(data)
    if found is None:
        raise InvalidParameter(field, "<data>", "the data is not a JPEG, PNG or GIF image")
    filetype, pillow_format = found
    from PIL import Image, UnidentifiedImageError

    try:
        image = _open(data)
        if image.format != pillow_format:
            raise ValueError("format mismatch")
        image.load()
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidParameter(field, "<data>", f"the data is not a readable {filetype.upper()} image") from None
    return filetype


def _decode_data_uri(field: str, value: str) -> bytes:
    header, sep, payload = value[len("data:"):].partition(",")
    if not sep:
        raise InvalidParameter(field, value[:40], "a data: URI needs a comma before its data")
    if header.lower().endswith(";base64"):
        # A client that forgets to form-encode the data turns each '+' into a space.
        compact = payload.strip().replace(" ", "+").replace("\n", "").replace("\r", "")
        compact = compact.replace("-", "+").replace("_", "/")
        compact += "=" * (-len(compact) % 4)
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameter(field, value[:40], "the base64 data cannot be decoded") from None
    return unquote_to_bytes(payload)


def read_image(field: str, value: str) -> ImagePayload:
    """An `image` parameter: a `data:` URI (decoded and checked) or an http(s) URL (kept)."""
    value = value.strip()
    if value[:5].lower() == "data:":
        data = _decode_data_uri(field, value)
        if not data:
            raise InvalidParameter(field, value[:40], "the image is empty")
        if len(data) > MAX_IMAGE_BYTES:
            raise InvalidParameter(field, "<data>", f"the image is larger than {MAX_IMAGE_BYTES} bytes")
        return ImagePayload(_check_image(field, data), data)
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname and " " not in value:
        suffix = parts.path[parts.path.rfind("."):].lower() if "." in parts.path else ""
        return ImagePayload(_EXTENSIONS.get(suffix), None, value)
    raise InvalidParameter(field, value[:40], "expected an http(s) URL or a data: URI of a JPEG, PNG or GIF image")


def to_jpeg(data: bytes, filetype: str) -> bytes:
    """The image as JPEG bytes: a JPEG as it is, a PNG or GIF (its first frame) converted, with
    transparency laid on white."""
    if filetype == "jpg":
        return data
    from PIL import Image

    image = _open(data)
    image.seek(0)
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=90)
    return out.getvalue()

"""46elks MMS images: the records (`<mms id>-i<k>`, SHA-1 digest, type, size) kept in the store's
`elks.images` collection, and `GET /a1/images`, `/a1/images/{id}`, `/a1/images/{id}.jpg`.

The `.jpg` download always answers JPEG bytes (`image/jpeg`), converting PNG and GIF images as
46elks does. An image sent as a URL was never fetched, so it has no bytes to download: 404.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import NotFound
from ..core.models import Account
from .context import begin
from .image_data import ImagePayload, to_jpeg
from .render import json_response, list_json, timestamp
from .validate import paging

__all__ = ["ElksImage", "COLLECTION", "store_images", "remove_images", "image_json", "image_url", "ROUTES"]

COLLECTION = "elks.images"


@dataclass(slots=True)
class ElksImage:
    id: str
    mms_id: str
    account_id: str
    created: int
    filetype: str | None
    data: bytes | None = None  # None: given as a URL and never fetched
    source_url: str | None = None
    jpeg: bytes | None = None  # the converted download, made on first request

    @property
    def digest(self) -> str | None:
        return hashlib.sha1(self.data).hexdigest() if self.data is not None else None


def image_json(image: ElksImage) -> dict[str, Any]:
    data: dict[str, Any] = {"id": image.id, "mmsid": image.mms_id, "created": timestamp(image.created)}
    if image.filetype is not None:
        data["filetype"] = image.filetype
    if image.data is not None:
        data["bytes"] = len(image.data)
        data["digest"] = image.digest
    return data


def image_url(base_url: str, image_id: str) -> str:
    """Where the image is downloaded from, as 46elks puts it in the incoming-MMS webhook."""
    return f"{base_url.rstrip('/')}/a1/images/{image_id}.jpg"


def store_images(engine: Engine, account_id: str, mms_id: str, payloads: list[ImagePayload]) -> list[str]:
    """Record the images of an MMS; returns their ids in order."""
    images = engine.store.collection(COLLECTION)
    ids = []
    for k, payload in enumerate(payloads):
        created = engine.clock.stamp()
        image = ElksImage(f"{mms_id}-i{k}", mms_id, account_id, created, payload.filetype, payload.data, payload.source_url)
        images.add(image.id, account_id, created, image)
        ids.append(image.id)
    return ids


def remove_images(engine: Engine, image_ids: list[str]) -> None:
    images = engine.store.collection(COLLECTION)
    for image_id in image_ids:
        images.remove(image_id)


def _own_image(engine: Engine, account: Account, image_id: str) -> ElksImage:
    image = engine.store.collection(COLLECTION).get(image_id)
    if image is None or image.account_id != account.id:
        raise NotFound("Image", image_id)
    return image


async def list_images(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    page = ctx.engine.store.collection(COLLECTION).page(ctx.account.id, before=start, after=end, limit=limit)
    return json_response(list_json(page.items, page.has_more, image_json))


async def get_image(request: Request) -> Response:
    ctx = await begin(request)
    return json_response(image_json(_own_image(ctx.engine, ctx.account, request.path_params["id"])))


async def download_image(request: Request) -> Response:
    ctx = await begin(request)
    image = _own_image(ctx.engine, ctx.account, request.path_params["id"])
    if image.data is None or image.filetype is None:
        raise NotFound("Image file", image.id)
    if image.jpeg is None:
        image.jpeg = to_jpeg(image.data, image.filetype)
    return Response(image.jpeg, media_type="image/jpeg")


ROUTES = [
    Route("/images", list_images, methods=["GET"]),
    Route("/images/{id}.jpg", download_image, methods=["GET"]),
    Route("/images/{id}", get_image, methods=["GET"]),
]

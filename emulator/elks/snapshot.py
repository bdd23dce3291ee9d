"""The snapshot section of the records 46elks keeps beside the core's: the images of MMS
messages (see `core.snapshot`). An image's bytes are written in base64; the JPEG made for its
download is not kept (it is made again on the next download)."""

from __future__ import annotations

from typing import Any

from ..core.snapshot import Section, Staging, bytes_text, parse_bytes, parse_time, register_section, sorted_records, time_text
from .images import COLLECTION, ElksImage

__all__ = ["SECTIONS"]


def image_to_resource(image: ElksImage) -> dict[str, Any]:
    return {
        "id": image.id,
        "mms_id": image.mms_id,
        "account_id": image.account_id,
        "created": time_text(image.created),
        "filetype": image.filetype,
        "data": None if image.data is None else bytes_text(image.data),
        "source_url": image.source_url,
    }


def image_from_resource(raw: dict[str, Any], path: str) -> ElksImage:
    return ElksImage(
        id=raw["id"],
        mms_id=raw["mms_id"],
        account_id=raw["account_id"],
        created=parse_time(raw["created"], f"{path}.created"),
        filetype=raw["filetype"],
        data=None if raw["data"] is None else parse_bytes(raw["data"], f"{path}.data"),
        source_url=raw["source_url"],
    )


def _take_images(engine: Any) -> list[dict[str, Any]]:
    return [image_to_resource(image) for image in sorted_records(engine.store.collection(COLLECTION), lambda i: i.id)]


def _stage_images(raws: list[dict[str, Any]], staging: Staging) -> None:
    images = staging.store.collection(COLLECTION)
    for i, raw in enumerate(raws):
        path = f"$.mms_images[{i}]"
        image = image_from_resource(raw, path)
        staging.account(image.account_id, f"{path}.account_id", "elks")
        staging.add(images, image.id, image, f"{path}.id")


SECTIONS = [register_section(Section("mms_images", _take_images, _stage_images, collection=COLLECTION))]

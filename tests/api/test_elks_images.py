"""46elks images: metadata of MMS images, JPEG downloads (PNG and GIF converted), visibility, pages."""

import base64
import hashlib
import io

import pytest
from PIL import Image

from support import ELKS_AUTH, ELKS_OTHER_AUTH


def image_bytes(fmt: str, size=(8, 6), mode="RGB") -> bytes:
    out = io.BytesIO()
    colour = (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)
    Image.new(mode, size, colour).save(out, format=fmt)
    return out.getvalue()


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64," + base64.b64encode(data).decode()


async def send(client, **images):
    data = {"from": "+46766861001", "to": "+46700000123", "message": "pics", **images}
    response = await client.post("/a1/MMS", data=data, auth=ELKS_AUTH)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("fmt", "filetype", "mode"), [("PNG", "png", "RGBA"), ("GIF", "gif", "P"), ("JPEG", "jpg", "RGB")])
async def test_metadata_and_jpeg_download(client, fmt, filetype, mode):
    original = image_bytes(fmt, mode=mode)
    mms = await send(client, image=data_uri(original))
    image_id = mms["images"][0]
    meta = (await client.get(f"/a1/images/{image_id}", auth=ELKS_AUTH)).json()
    assert meta == {
        "id": image_id,
        "mmsid": mms["id"],
        "created": "2026-01-01T00:00:00.000001",
        "filetype": filetype,
        "bytes": len(original),
        "digest": hashlib.sha1(original).hexdigest(),
    }
    download = await client.get(f"/a1/images/{image_id}.jpg", auth=ELKS_AUTH)
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert download.content[:3] == b"\xff\xd8\xff"
    decoded = Image.open(io.BytesIO(download.content))
    assert decoded.format == "JPEG" and decoded.size == (8, 6)
    if filetype == "jpg":
        assert download.content == original
    again = await client.get(f"/a1/Images/{image_id}.jpg", auth=ELKS_AUTH)
    assert again.content == download.content


async def test_data_uri_without_form_encoding_of_plus_signs_is_read(client):
    original = image_bytes("PNG", size=(40, 40))
    encoded = base64.b64encode(original).decode()
    assert "+" in encoded  # the point of the test: a client that sends '+' unencoded, read as ' '
    mms = await send(client, image="data:image/png;base64," + encoded.replace("+", " "))
    meta = (await client.get(f"/a1/images/{mms['images'][0]}", auth=ELKS_AUTH)).json()
    assert meta["digest"] == hashlib.sha1(original).hexdigest()


async def test_same_image_twice_has_one_digest(client):
    uri = data_uri(image_bytes("PNG"))
    first = (await send(client, image=uri))["images"][0]
    second = (await send(client, image=uri))["images"][0]
    digests = {(await client.get(f"/a1/images/{i}", auth=ELKS_AUTH)).json()["digest"] for i in (first, second)}
    assert len(digests) == 1 and first != second


async def test_an_image_given_as_url_has_no_bytes_to_download(client):
    mms = await send(client, image="https://pics.example.com/photo.jpeg")
    image_id = mms["images"][0]
    meta = (await client.get(f"/a1/images/{image_id}", auth=ELKS_AUTH)).json()
    assert meta["filetype"] == "jpg" and "bytes" not in meta and "digest" not in meta
    download = await client.get(f"/a1/images/{image_id}.jpg", auth=ELKS_AUTH)
    assert download.status_code == 404 and download.text == "Unable to download image."
    assert download.headers["content-type"].startswith("text/plain")


async def test_images_are_private_to_their_account(client):
    image_id = (await send(client, image=data_uri(image_bytes("PNG"))))["images"][0]
    assert (await client.get("/a1/images", auth=ELKS_OTHER_AUTH)).json() == {"data": []}
    for path in (f"/a1/images/{image_id}", f"/a1/images/{image_id}.jpg"):
        response = await client.get(path, auth=ELKS_OTHER_AUTH)
        assert response.status_code == 404 and response.text == "Image not found."
    assert (await client.get("/a1/images/mnope-i0.jpg", auth=ELKS_AUTH)).status_code == 404


async def test_image_list_pages_newest_first(client):
    png, gif = data_uri(image_bytes("PNG")), data_uri(image_bytes("GIF", mode="P"), "image/gif")
    mms = await send(client, image=png, image2=gif, image3=png)
    assert mms["images"] == [f"{mms['id']}-i{k}" for k in range(3)]
    page = (await client.get("/a1/images", params={"limit": 2}, auth=ELKS_AUTH)).json()
    assert [i["id"] for i in page["data"]] == mms["images"][::-1][:2]
    rest = (await client.get("/a1/images", params={"start": page["next"]}, auth=ELKS_AUTH)).json()
    assert [i["id"] for i in rest["data"]] == [mms["images"][0]] and "next" not in rest
    bad = await client.get("/a1/images", params={"limit": "0"}, auth=ELKS_AUTH)
    assert bad.status_code == 403 and bad.text.startswith("Invalid limit")

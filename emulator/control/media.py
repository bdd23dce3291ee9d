"""Media downloads for the web inbox, without provider credentials:
`GET /_emulator/recordings/{id}.wav` (a call recording as WAV audio, made as 46elks'
`/a1/recordings/{id}.wav` makes it) and `GET /_emulator/images/{id}` (an MMS image as it was
sent, in its own format).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import NotFound
from ..elks.images import COLLECTION as IMAGES
from ..elks.recordings import wav_bytes

__all__ = ["ROUTES"]

_IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


async def recording_wav(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    recording_id = request.path_params["id"]
    recording = engine.store.collection("recordings").get(recording_id)
    if recording is None:
        raise NotFound("recording", recording_id)
    return Response(
        wav_bytes(recording.duration),
        media_type="audio/wav",
        headers={"Content-Disposition": f'inline; filename="{recording.id}.wav"', "Cache-Control": "no-cache"},
    )


async def image(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    image_id = request.path_params["id"]
    found = engine.store.collection(IMAGES).get(image_id)
    if found is None or found.data is None or found.filetype not in _IMAGE_TYPES:
        raise NotFound("image", image_id)
    return Response(found.data, media_type=_IMAGE_TYPES[found.filetype], headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/recordings/{id}.wav", recording_wav, methods=["GET"]),
    Route("/images/{id}", image, methods=["GET"]),
]

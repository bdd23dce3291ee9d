"""Media downloads for the web inbox, without provider credentials:
`GET /_emulator/recordings/{id}.wav` (a call recording as WAV audio, made as 46elks'
`/a1/recordings/{id}.wav` makes it) and `GET /_emulator/images/{id}` (an MMS image as it was
sent, in its own format). Each provider with media (`Provider.media`) is asked in turn.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import NotFound
from ..providers import PROVIDERS

__all__ = ["ROUTES"]

_MEDIA = [provider.media for provider in PROVIDERS if provider.media is not None]


async def recording_wav(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    recording_id = request.path_params["id"]
    for media in _MEDIA:
        found = media.recording_wav(engine, recording_id)
        if found is not None:
            wav, filename = found
            return Response(
                wav, media_type="audio/wav",
                headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-cache"},
            )
    raise NotFound("recording", recording_id)


async def image(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    image_id = request.path_params["id"]
    for media in _MEDIA:
        found = media.image(engine, image_id)
        if found is not None:
            data, media_type = found
            return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})
    raise NotFound("image", image_id)


ROUTES = [
    Route("/recordings/{id}.wav", recording_wav, methods=["GET"]),
    Route("/images/{id}", image, methods=["GET"]),
]

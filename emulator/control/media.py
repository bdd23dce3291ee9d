"""Media downloads for the web inbox, without provider credentials:
`GET /_emulator/recordings/{id}.wav` (a call recording as WAV audio, made as 46elks'
`/a1/recordings/{id}.wav` makes it) and `GET /_emulator/images/{id}` (an MMS image as it was
sent, in its own format). Each provider with media (`Provider.media`) is asked in turn.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import NotFound
from ..core.provider import ControlMedia
from ..providers import PROVIDERS

__all__ = ["ROUTES"]

_MEDIA = [provider.media for provider in PROVIDERS if provider.media is not None]


def _find(request: Request, kind: str, ask: Callable[[ControlMedia], Callable[[Engine, str], tuple[bytes, str] | None]]) -> tuple[bytes, str]:
    """The first answer a provider has for the `kind` with the path's id."""
    engine: Engine = request.app.state.engine
    wanted = request.path_params["id"]
    for media in _MEDIA:
        found = ask(media)(engine, wanted)
        if found is not None:
            return found
    raise NotFound(kind, wanted)


async def recording_wav(request: Request) -> Response:
    wav, filename = _find(request, "recording", attrgetter("recording_wav"))
    return Response(
        wav, media_type="audio/wav",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-cache"},
    )


async def image(request: Request) -> Response:
    data, media_type = _find(request, "image", attrgetter("image"))
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/recordings/{id}.wav", recording_wav, methods=["GET"]),
    Route("/images/{id}", image, methods=["GET"]),
]

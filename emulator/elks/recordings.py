"""46elks recordings: made by a call's `record` and `recordcall` actions, listed at
`GET /a1/recordings`, described at `/a1/recordings/{id}` and served as real WAV audio at
`/a1/recordings/{id}.wav` (8 kHz, mono, 16-bit: a quiet 400 Hz tone as long as the recording).

Ids are `<callid>-r<k>`, k counting from 0 per call. As at 46elks, a recording can be fetched for
`KEPT_FOR` (72 hours) after it was made; later it is gone from the list and its URLs answer 404. A recording's URL receives, through the
retried webhook outbox, `callid`, `id`, `created`, `duration`, `wav`, `from`, `to`, `direction`.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import NotFound
from ..core.models import INBOUND, Call, Recording
from .context import begin
from .render import json_response, timestamp
from .validate import paging

__all__ = ["save_recording", "recording_json", "wav_bytes", "ROUTES", "SAMPLE_RATE", "KEPT_FOR"]

SAMPLE_RATE = 8000
_TONE_HZ = 400  # 20 samples a period at 8 kHz: one period repeats exactly
_PERIOD = b"".join(
    struct.pack("<h", round(3000 * math.sin(2 * math.pi * _TONE_HZ * i / SAMPLE_RATE)))
    for i in range(SAMPLE_RATE // _TONE_HZ)
)
_HEADER_BYTES = 44
KEPT_FOR = 72 * 3600 * 1_000_000  # microseconds a recording stays fetchable
_DEFAULT_BASE = "http://127.0.0.1:8046"


def wav_bytes(seconds: int) -> bytes:
    """A WAV file of `seconds` of tone: 8 kHz, mono, 16-bit PCM."""
    frames = SAMPLE_RATE * max(0, seconds)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(_PERIOD * (frames // (SAMPLE_RATE // _TONE_HZ)))
    return buffer.getvalue()


def _size(recording: Recording) -> int:
    return _HEADER_BYTES + 2 * SAMPLE_RATE * recording.duration


def recording_json(recording: Recording) -> dict[str, Any]:
    return {
        "id": recording.id,
        "duration": recording.duration,
        "created": timestamp(recording.created),
        "callid": recording.call_id,
        "bytes": _size(recording),
    }


def save_recording(engine: Engine, call: Call, seconds: int, url: str | None) -> Recording:
    """Keep a recording of `seconds` made on `call`, and POST it to `url` if one is given."""
    made = call.attributes.setdefault("recordings", [])
    created = engine.clock.stamp()
    recording = Recording(
        id=f"{call.id}-r{len(made)}",
        provider="elks",
        account_id=call.account_id,
        call_id=call.id,
        created=created,
        duration=max(0, seconds),
    )
    made.append(recording.id)
    engine.store.collection("recordings").add(recording.id, call.account_id, created, recording)
    engine.events.emit("call.recording", "elks", call.account_id, id=recording.id, call=call.id, duration=recording.duration)
    if url:
        base = call.attributes.get("api_base") or _DEFAULT_BASE
        fields = {
            "callid": call.id,
            "id": recording.id,
            "created": timestamp(created),
            "duration": recording.duration,
            "wav": f"{base}/a1/recordings/{recording.id}.wav",
            "from": call.sender,
            "to": call.recipient,
            "direction": "incoming" if call.direction == INBOUND else "outgoing",
        }
        engine.outbox.enqueue(
            provider="elks",
            account_id=call.account_id,
            event="call.recording",
            url=url,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(fields).encode(),
            subject_id=call.id,
        )
    return recording


def _expired(engine: Engine, recording: Recording) -> bool:
    return engine.clock.now() - recording.created > KEPT_FOR


def _own_recording(engine: Engine, account_id: str, recording_id: str) -> Recording:
    recording = engine.store.collection("recordings").get(recording_id)
    if recording is None or recording.account_id != account_id or recording.provider != "elks" or _expired(engine, recording):
        raise NotFound("Recording", recording_id)
    return recording


async def list_recordings(request: Request) -> Response:
    ctx = await begin(request)
    start, end, limit = paging(ctx.params)
    oldest = ctx.engine.clock.now() - KEPT_FOR - 1  # older recordings are gone
    page = ctx.engine.store.collection("recordings").page(
        ctx.account.id, before=start, after=oldest if end is None else max(end, oldest), limit=limit,
        where=lambda r: r.provider == "elks",
    )
    body: dict[str, Any] = {"data": [recording_json(r) for r in page.items]}
    if page.has_more:
        body["next"] = timestamp(page.items[-1].created)
    return json_response(body)


async def get_recording(request: Request) -> Response:
    ctx = await begin(request)
    return json_response(recording_json(_own_recording(ctx.engine, ctx.account.id, request.path_params["id"])))


async def get_recording_wav(request: Request) -> Response:
    ctx = await begin(request)
    recording = _own_recording(ctx.engine, ctx.account.id, request.path_params["id"])
    return Response(wav_bytes(recording.duration), media_type="audio/wav")


ROUTES = [
    Route("/recordings", list_recordings, methods=["GET"]),
    Route("/recordings/{id}.wav", get_recording_wav, methods=["GET"]),
    Route("/recordings/{id}", get_recording, methods=["GET"]),
]

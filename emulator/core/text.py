"""SMS text encoding detection and segment counting, as the networks count them.

GSM 03.38 7-bit: 160 septets in a single SMS, 153 per part when concatenated; characters of the
extension table take two septets and are never split across parts. Anything outside the GSM
alphabet makes the whole message UCS-2: 70 UTF-16 code units single, 67 per part (characters
outside the BMP, such as most emoji, take two code units and are never split). Binary (8-bit)
messages carry 140 octets single, 134 per part.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GSM_BASIC", "GSM_EXTENSION", "Segmentation", "segment", "segment_ucs2", "segment_binary"]

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
BINARY_SINGLE, BINARY_PART = 140, 134  # octets; a part of a concatenated message gives 6 to its header


@dataclass(slots=True)  # not frozen: one is made per request, and frozen fields cost a setattr each
class Segmentation:
    encoding: str  # "gsm" or "ucs2"
    units: int  # septets (gsm) or UTF-16 code units (ucs2)
    parts: int
    characters: int


def _pack(unit_sizes: list[int], single: int, per_part: int) -> int:
    total = sum(unit_sizes)
    if total <= single:
        return 1
    parts, used = 1, 0
    for size in unit_sizes:
        if used + size > per_part:
            parts += 1
            used = 0
        used += size
    return parts


def segment(text: str) -> Segmentation:
    """Count the parts `text` is sent in, and which encoding it needs."""
    if GSM_BASIC.issuperset(text):  # the common case: one septet per character
        length = len(text)
        parts = 1 if length <= GSM_SINGLE else -(-length // GSM_PART)
        return Segmentation(encoding="gsm", units=length, parts=parts, characters=length)
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        sizes = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        parts = _pack(sizes, GSM_SINGLE, GSM_PART)
        encoding = "gsm"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        parts = _pack(sizes, UCS2_SINGLE, UCS2_PART)
        encoding = "ucs2"
    return Segmentation(encoding=encoding, units=sum(sizes), parts=parts, characters=len(text))


def segment_ucs2(text: str) -> Segmentation:
    """`text` sent as UCS-2 whatever its characters (a client that forces Unicode)."""
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return Segmentation(encoding="ucs2", units=sum(sizes), parts=_pack(sizes, UCS2_SINGLE, UCS2_PART), characters=len(text))


def segment_binary(octets: int) -> Segmentation:
    """`octets` bytes of 8-bit data (user data header included) sent as binary SMS. Reported
    with the encoding name `gsm`: the providers name no other for it."""
    parts = 1 if octets <= BINARY_SINGLE else -(-octets // BINARY_PART)
    return Segmentation(encoding="gsm", units=octets, parts=parts, characters=octets)

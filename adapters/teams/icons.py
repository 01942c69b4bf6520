"""The Teams app icons, drawn in pure Python (zlib + struct): no image library needed.

Teams wants a 192×192 full-colour icon and a 32×32 outline icon that is only
white and transparent. Both show a speech bubble, Relais' chat.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

ACCENT = (0x3B, 0x5B, 0xDB)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # supersampling per axis, for smooth edges

Shape = Callable[[float, float], bool]


def png(width: int, height: int, rgba: bytes) -> bytes:
    """A PNG file (8-bit RGBA, no filtering) from raw pixels, row by row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _rounded(x0: float, y0: float, x1: float, y1: float, r: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return inside


def _triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Shape:
    def side(p: tuple[float, float], q: tuple[float, float], x: float, y: float) -> float:
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    def inside(x: float, y: float) -> bool:
        d1, d2, d3 = side(a, b, x, y), side(b, c, x, y), side(c, a, x, y)
        negative = d1 < 0 or d2 < 0 or d3 < 0
        positive = d1 > 0 or d2 > 0 or d3 > 0
        return not (negative and positive)

    return inside


def _circle(cx: float, cy: float, r: float) -> Shape:
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


_BODY = _rounded(0.18, 0.20, 0.82, 0.66, 0.12)
_TAIL = _triangle((0.30, 0.62), (0.26, 0.84), (0.48, 0.62))
_DOTS = [_circle(x, 0.43, 0.055) for x in (0.35, 0.50, 0.65)]


def _bubble(x: float, y: float) -> bool:
    return _BODY(x, y) or _TAIL(x, y)


def _dot(x: float, y: float) -> bool:
    return any(dot(x, y) for dot in _DOTS)


def _draw(size: int, colour: Callable[[float, float], tuple[int, int, int, int]]) -> bytes:
    pixels = bytearray()
    n = SAMPLES
    for py in range(size):
        for px in range(size):
            corners = {
                colour((px + dx) / size, (py + dy) / size)
                for dx, dy in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 0.5))
            }
            if len(corners) == 1:  # away from every edge: one colour, no need to sample
                cr, cg, cb, ca = corners.pop()
                pixels += bytes((cr, cg, cb, ca)) if ca else b"\x00\x00\x00\x00"
                continue
            r = g = b = a = 0
            for sy in range(n):
                for sx in range(n):
                    cr, cg, cb, ca = colour(
                        (px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size
                    )
                    r, g, b, a = r + cr * ca, g + cg * ca, b + cb * ca, a + ca
            if a:
                pixels += bytes((r // a, g // a, b // a, a // (n * n)))
            else:
                pixels += b"\x00\x00\x00\x00"
    return bytes(pixels)


def color_icon(size: int = 192) -> bytes:
    """White bubble with accent dots, on the accent colour (full bleed)."""

    def colour(x: float, y: float) -> tuple[int, int, int, int]:
        if _bubble(x, y) and not _dot(x, y):
            return (*WHITE, 255)
        return (*ACCENT, 255)

    return png(size, size, _draw(size, colour))


def outline_icon(size: int = 32) -> bytes:
    """White bubble, dots cut out, on transparency: only white and transparent pixels."""

    def colour(x: float, y: float) -> tuple[int, int, int, int]:
        if _bubble(x, y) and not _dot(x, y):
            return (*WHITE, 255)
        return (*WHITE, 0)

    return png(size, size, _draw(size, colour))


def accent_hex() -> str:
    return "#{:02X}{:02X}{:02X}".format(*ACCENT)

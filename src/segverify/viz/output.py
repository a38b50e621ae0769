"""Write figures so that the same input gives the same bytes: no dates, no tool versions, no random ids."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..outputs.files import write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg", "pdf")

# Keys matplotlib would otherwise fill with the date and its own version.
_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


class FormatError(ValueError):
    """The output file name asks for a format we cannot write."""


def format_of(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise FormatError(f"{os.fspath(path)}: cannot tell the format; name the file .png, .svg or .pdf")
    return suffix


def figure_bytes(fig: Figure, fmt: str, dpi: float = 110) -> bytes:
    """Render ``fig`` as png, svg or pdf bytes, deterministically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}")
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    if fmt == "png":  # the pixels from Agg, encoded here: see png_bytes
        pixels = _Pixels()
        fig.savefig(pixels, format="rgba", dpi=dpi, facecolor="white")
        width, height = int(fig.get_figwidth() * dpi), int(fig.get_figheight() * dpi)  # as Agg sizes its canvas
        return png_bytes(pixels.data(), width, height)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_METADATA[fmt], facecolor="white")
    return buffer.getvalue()


def png_bytes(rgba: bytes | memoryview, width: int, height: int) -> bytes:
    """An opaque picture (RGBA rows, alpha all 255 on a white figure) as an RGB PNG with no filter and
    no metadata. Pillow, which matplotlib uses, chooses a filter per row by trying them all: that
    was two thirds of the encoding time of a map, for a larger file than no filter at zlib level 3
    gives on pictures of flat colour."""
    import numpy as np

    pixels = np.frombuffer(rgba, dtype=np.uint8)
    if pixels.size != width * height * 4:
        raise ValueError(f"{pixels.size} bytes are not a {width} × {height} RGBA picture")
    rows = np.empty((height, width * 3 + 1), dtype=np.uint8)  # each row: filter type 0, then R G B ...
    rows[:, 0] = 0
    target, source = rows[:, 1:].reshape(height, width, 3), pixels.reshape(height, width, 4)
    for channel in range(3):  # a channel at a time: numpy copies these 4× faster than 3-byte pixels
        target[:, :, channel] = source[:, :, channel]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.data, 3))
            + chunk(b"IEND", b""))


class _Pixels(io.BytesIO):
    """Where ``savefig(format="rgba")`` writes Agg's pixels: the renderer's buffer is kept, not
    copied (a map page is 11 MB of RGBA)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes | memoryview] = []

    def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]  # Agg hands a memoryview
        view = memoryview(data)
        self._parts.append(view)
        return view.nbytes

    def data(self) -> bytes | memoryview:
        return self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: float = 110) -> None:
    write_bytes(path, figure_bytes(fig, format_of(path), dpi))

"""Write figures so that the same input gives the same bytes: no dates, no tool versions, no random ids."""

from __future__ import annotations

import io
import os
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
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_METADATA[fmt], facecolor="white")
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: float = 110) -> None:
    write_bytes(path, figure_bytes(fig, format_of(path), dpi))

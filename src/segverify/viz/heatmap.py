"""The zone × zone matrix as a heatmap: rows send, columns receive; colour says how it crosses.

Colours: none (pale grey) · allowed (blue) · sanitized only (yellow) · exception (orange) ·
violation (red). Each cell with traffic lists its services and, where findings sit, their rule
ids, as far as the cell size allows. Zones are grouped by segment, with the segment as a coloured
strip along both axes.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Callable

from ..i18n import text
from ..matrix import Crossing, Matrix
from ..outputs.files import write_bytes
from . import fonts
from .map import BAND_STYLE
from .output import figure_bytes, format_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CROSSING_COLOURS: dict[Crossing, str] = {
    Crossing.NONE: "#f5f5f5",
    Crossing.ALLOWED: "#cfe2f3",
    Crossing.SANITIZED: "#fde79a",
    Crossing.EXCEPTION: "#f6b26b",
    Crossing.VIOLATION: "#d62020",
}


def matrix_figure(matrix: Matrix, title: str = "", warn: Callable[[str], None] | None = None,
                  lang: str = "en") -> Figure:
    from matplotlib import rc_context
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    fonts.check(warn)
    zones = list(matrix.zones)
    n = max(len(zones), 1)
    cell = 1.05 if n <= 20 else 0.62 if n <= 40 else 0.34  # inches
    detail = cell >= 0.6
    label_w = 2.1  # inches for the zone names on the left and on top
    with rc_context(fonts.rc_params()):
        width = label_w + n * cell + 0.4
        height = label_w + n * cell + 1.3
        fig = Figure(figsize=(max(width, 7.0), height))
        ax = fig.add_axes((label_w / max(width, 7.0), 1.0 / height, n * cell / max(width, 7.0), n * cell / height))
        ax.set_xlim(0, n)
        ax.set_ylim(n, 0)
        # Empty cells are one background with white grid lines; the others one collection. A patch
        # per cell costs matplotlib (and the SVG) seconds per thousand cells, and most are empty.
        ax.add_patch(Rectangle((0, 0), n, n, facecolor=CROSSING_COLOURS[Crossing.NONE], edgecolor="none", zorder=0.5))
        ax.hlines(range(n + 1), 0, n, colors="white", linewidth=1.0, zorder=0.6)
        ax.vlines(range(n + 1), 0, n, colors="white", linewidth=1.0, zorder=0.6)
        crossed = [(i, j, matrix.cells[(a, b)].crossing) for i, a in enumerate(zones) for j, b in enumerate(zones)
                   if matrix.cells[(a, b)].crossing is not Crossing.NONE]
        ax.add_collection(PolyCollection(
            [((j, i), (j + 1, i), (j + 1, i + 1), (j, i + 1)) for i, j, _ in crossed],
            facecolors=[CROSSING_COLOURS[c] for _, _, c in crossed], edgecolors="white", linewidths=1.0, zorder=0.7),
            autolim=False)
        if not detail:
            # Small cells show only the crossing's symbol: one marker collection per symbol, not a
            # text per cell (laying out thousands of texts is most of the picture's time).
            for crossing in Crossing:
                spots = [(j + 0.5, i + 0.5) for i, j, c in crossed if c is crossing]
                if spots:
                    ax.scatter([x for x, _ in spots], [y for _, y in spots], marker=f"$\\mathrm{{{crossing.symbol}}}$",
                               s=(7 if len(crossing.symbol) > 1 else 4.5) ** 2, linewidths=0, zorder=3,
                               c="white" if crossing is Crossing.VIOLATION else "#222222")
        for i, a in enumerate(zones):
            for j, b in enumerate(zones):
                c = matrix.cells[(a, b)]
                if c.crossing is Crossing.NONE or not detail:
                    continue
                dark = c.crossing is Crossing.VIOLATION
                colour = "white" if dark else "#222222"
                lines = list(c.services[:3]) + (["…"] if len(c.services) > 3 else [])
                if c.rules:
                    lines.append(" ".join(c.rules))
                ax.text(j + 0.5, i + 0.5, "\n".join(lines), ha="center", va="center",
                        fontsize=5.5 if cell < 1 else 6, color=colour, linespacing=1.15,
                        fontweight="bold" if c.rules else "normal", wrap=False)
        # Segment strips and separators between segment groups.
        segments = [matrix.segments[z] for z in zones]
        start = 0
        for k in range(1, n + 1):
            if k == n or segments[k] != segments[start]:
                colour = BAND_STYLE.get(segments[start], ("", "#888888"))[1]
                ax.add_patch(Rectangle((-0.22, start), 0.16, k - start, facecolor=colour, clip_on=False))
                ax.add_patch(Rectangle((start, -0.22), k - start, 0.16, facecolor=colour, clip_on=False))
                if k < n:
                    ax.axhline(k, color="#555555", linewidth=1.2)
                    ax.axvline(k, color="#555555", linewidth=1.2)
                start = k
        ax.set_xticks([j + 0.5 for j in range(n)])
        ax.set_yticks([i + 0.5 for i in range(n)])
        size = 8 if n <= 20 else 6.5 if n <= 40 else 5
        ax.set_xticklabels(zones, rotation=60, ha="left", fontsize=size, rotation_mode="anchor")
        ax.set_yticklabels(zones, fontsize=size)
        for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
            for label, z in zip(ticks, zones):
                label.set_color(BAND_STYLE.get(matrix.segments[z], ("", "#333333"))[1])
        ax.xaxis.tick_top()
        ax.tick_params(length=0, pad=20)  # clear of the segment strips
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel(text(lang, "picture.matrix_from"), fontsize=9)
        ax.xaxis.set_label_position("top")
        ax.set_xlabel(text(lang, "picture.matrix_to"), fontsize=9, labelpad=6)
        fig.text(0.01, 1 - 0.15 / height, title or text(lang, "picture.matrix_title"), fontsize=11,
                 fontweight="bold", va="top", ha="left")
        fig.legend(handles=[Patch(facecolor=CROSSING_COLOURS[c], edgecolor="#999999", label=text(lang, f"picture.crossing.{c.value}"))
                            for c in Crossing], loc="lower center", ncol=5 if width > 10 else 3, fontsize=7.5,
                   frameon=False, bbox_to_anchor=(0.5, 0.0))
    return fig


def plot_matrix(matrix: Matrix, path: str | os.PathLike[str], title: str = "",
                warn: Callable[[str], None] | None = None, lang: str = "en") -> None:
    """Write the heatmap to ``path`` (.png, .svg or .pdf)."""
    fmt = format_of(path)
    write_bytes(path, render(matrix_figure(matrix, title, warn, lang), fmt))


def render(fig: Figure, fmt: str) -> bytes:
    from matplotlib import rc_context

    with rc_context(fonts.rc_params()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        return figure_bytes(fig, fmt, dpi=min(110, 3990 / max(fig.get_size_inches())))  # ≤ 4,000 px a side

"""Printed pictures of a large network: an overview with one box per municipality and segment,
one map per municipality, and the matrix aggregated to segment × segment and municipality ×
segment. No picture is larger than :data:`MAX_PX` pixels a side.

A municipality is the file its devices are declared in (see :mod:`.interactive`). A network is
"at scale" when it has several such files and more devices than one legible map holds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Callable, Sequence

from ..findings import Report, Severity
from ..i18n import text
from ..matrix import Crossing, Matrix
from ..model import Segment, Topology
from ..network import Network
from . import fonts
from .heatmap import CROSSING_COLOURS
from .interactive import municipality_of
from .layout import BACKBONE, BAND_ORDER, band_of, lan_groups, natural_key
from .map import BAND_STYLE, BAND_TITLES, VIOLATION, map_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_PX = 4000
SCALE_DEVICES = 150  # above this, with several municipality files, one map would not be legible
COLUMNS = (*BAND_ORDER[:2], BACKBONE, *BAND_ORDER[2:])


def municipalities(topology: Topology, names: list[str] | None = None) -> dict[str, list[str]]:
    """Devices per municipality; the topology's own file (the prefecture's shared devices) first."""
    groups: dict[str, list[str]] = {}
    for name in sorted(names if names is not None else topology.nodes, key=natural_key):
        groups.setdefault(municipality_of(topology, name), []).append(name)
    main = FilePath(topology.span.file).stem
    return {g: groups[g] for g in sorted(groups, key=lambda g: (g != main, natural_key(g)))}


def at_scale(topology: Topology) -> bool:
    return len(topology.nodes) > SCALE_DEVICES and len(municipalities(topology)) > 1


def dpi_for(fig: Figure, dpi: float = 110) -> float:
    """The resolution that keeps the picture within MAX_PX a side."""
    width, height = fig.get_size_inches()
    return min(dpi, (MAX_PX - 10) / max(width, height))


# -- the overview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    municipality: str
    band: str


def overview_figure(topology: Topology, network: Network, report: Report, lang: str = "en",
                    warn: Callable[[str], None] | None = None) -> Figure:
    """One row per municipality, one box per segment it has devices in; only the links between
    different segments are drawn (counted), and the witness paths of findings in red."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    from .labels import LabelBox, Labels

    fonts.check(warn)
    graph = network.graph
    groups = municipalities(topology, list(graph.nodes))
    box_of = {n: Box(m, band_of(topology, n)) for m, members in groups.items() for n in members}
    counts = Counter(box_of.values())
    columns = [c for c in COLUMNS if any(b.band == c for b in counts)]
    rows = list(groups)
    col_x = {c: i * 2.1 for i, c in enumerate(columns)}
    row_y = {m: i * 0.62 for i, m in enumerate(rows)}
    centre = {b: (col_x[b.band] + 0.8, row_y[b.municipality]) for b in counts}

    cross: Counter[tuple[Box, Box]] = Counter()
    for _lan, members in lan_groups(topology, graph):
        boxes = sorted({box_of[m] for m in members if m in box_of}, key=lambda b: (b.municipality, b.band))
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                if a.band != b.band:
                    cross[(a, b)] += 1
    red: Counter[tuple[Box, Box]] = Counter()
    marked: dict[Box, list[str]] = {}
    from .map import finding_numbers

    refs = finding_numbers(report)
    for f in report.active:
        if f.severity is not Severity.ERROR:
            continue
        seq = [box_of[h.node] for h in f.path.hops if h.node in box_of] if f.path is not None else []
        steps = [(a, b) for a, b in zip(seq, seq[1:]) if a != b]
        for a, b in steps:
            first, second = sorted((a, b), key=lambda x: (x.municipality, x.band))
            red[(first, second)] += 1
        where = seq[-1] if seq else next((box_of[v] for k, v in f.subject if k in ("node", "sanitizer", "proxy")
                                          and v in box_of), None)
        if where is not None:
            marked.setdefault(where, []).append(f"{f.rule} #{refs[id(f)]}")

    width = len(columns) * 2.1 + 1.6
    height = len(rows) * 0.62 + 1.9
    with rc_context(fonts.rc_params()):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_xlim(-1.4, width - 1.4)
        ax.set_ylim(height - 0.9, -1.0)
        ja = lang == "ja"
        families, data = fonts.font_families(), ax.transData
        for c in columns:  # the texts as glyph-cached labels (see labels.py): a Text costs ~1 ms
            title = BAND_TITLES[c][1 if ja else 0].replace("\n", " ")
            ax.add_artist(Labels([(col_x[c] + 0.8, -0.55)], [title], 8, BAND_STYLE[c][1], families, data,
                                 va="center", weight="bold"))
        ax.add_artist(Labels([(-1.3, row_y[m]) for m in rows], rows, 8, "#37474f", families, data, ha="left",
                             va="center", weight="bold"))
        from matplotlib.collections import LineCollection

        segments, widths = [], []
        for (a, b), n in sorted(cross.items(), key=lambda kv: (kv[0][0].municipality, kv[0][0].band,
                                                                kv[0][1].municipality, kv[0][1].band)):
            segments.append((centre[a], centre[b]))
            widths.append(0.6 + math.log2(n))
        ax.add_collection(LineCollection(segments, colors="#9aa3ad", linewidths=widths, zorder=1))
        red_segments = [(centre[a], centre[b]) for (a, b) in sorted(red, key=lambda k: (k[0].municipality, k[0].band,
                                                                                         k[1].municipality, k[1].band))]
        if red_segments:
            ax.add_collection(LineCollection(red_segments, colors=VIOLATION, linewidths=2.4, zorder=2))
        places, texts = [], []
        for b, n in sorted(counts.items(), key=lambda kv: (kv[0].municipality, kv[0].band)):
            x, y = centre[b]
            fill, colour = BAND_STYLE[b.band]
            ring = VIOLATION if b in marked else colour
            ax.add_patch(FancyBboxPatch((x - 0.7, y - 0.21), 1.4, 0.42, boxstyle="round,pad=0.02,rounding_size=0.08",
                                        facecolor=fill, edgecolor=ring, linewidth=2.2 if b in marked else 1.0,
                                        zorder=3))
            places.append((x, y))
            texts.append(text(lang, "map.devices", n=n))
            if b in marked:
                label = ", ".join(marked[b][:3]) + (" …" if len(marked[b]) > 3 else "")
                ax.add_artist(Labels([(x + 0.72, y - 0.2)], [label], 6, "white", families, data, ha="left",
                                     va="bottom", weight="bold", zorder=5, box=LabelBox(VIOLATION, VIOLATION, pad=0.2)))
        ax.add_artist(Labels(places, texts, 7, "#222222", families, data, va="center", zorder=4))
        verdict = text(lang, "map.compliant" if report.compliant else "map.not_compliant")
        counts_text = text(lang, "map.counts", errors=report.errors, warnings=report.warnings)
        ax.add_artist(Labels([(-1.3, height - 1.25)], [f"{topology.name} — {verdict} ({counts_text})"], 9,
                             "#b71c1c" if not report.compliant else "#2e7d32", families, data, ha="left",
                             va="center", weight="bold"))
        ax.add_artist(Labels([(-1.3, height - 1.0)], [text(lang, "atlas.legend")], 7, "#444444", families, data,
                             ha="left", va="center"))
    return fig


def write_atlas(topology: Topology, network: Network, report: Report, output: str, lang: str = "en",
                warn: Callable[[str], None] | None = None) -> list[str]:
    """The overview at ``output`` and one map per municipality beside it (``NAME-m01.png`` ...)."""
    from .map import render
    from ..outputs.files import write_bytes
    from ..progress import current

    path = FilePath(output)
    fmt = path.suffix.lower().lstrip(".")
    groups = municipalities(topology, list(network.graph.nodes))
    progress = current()

    def overview() -> bytes:
        return render(overview_figure(topology, network, report, lang, warn), fmt)

    def town(done: int, name: str, members: list[str]) -> Callable[[], bytes]:
        def draw() -> bytes:
            progress.tick("municipality maps", done, len(groups))
            return render(map_figure(topology, network, report, warn=warn, nodes=members, subtitle=name,
                                     lang=lang), fmt)
        return draw

    pages = drawn_on_two_cores([overview] + [town(done, name, members) for done, (name, members)
                                             in enumerate(groups.items(), 1)], warn)
    targets = [path] + [path.with_name(f"{path.stem}-{name}{path.suffix}") for name in groups]
    for target, data in zip(targets, pages):
        write_bytes(target, data)
    return [output] + [str(target) for target in targets[1:]]


def drawn_on_two_cores(pictures: Sequence[Callable[[], bytes]],
                       warn: Callable[[str], None] | None = None) -> list[bytes]:
    """Independent pictures drawn by this process and a forked child at once, each taking the next
    one not yet drawn (:func:`segverify.forked.shared`); the same bytes wherever each is drawn. A
    missing CJK font is said here first: a child's message would go where nobody reads it."""
    from ..cycles import tidy
    from ..forked import shared, wanted

    fonts.check(warn)

    def tidied(picture: Callable[[], bytes]) -> Callable[[], bytes]:
        def draw() -> bytes:
            data = picture()
            tidy()
            return data
        return draw

    return shared([tidied(p) for p in pictures], fork=wanted(len(pictures) > 2))


# -- the matrix, aggregated ------------------------------------------------------------------------

ORDER = list(Crossing)


def _worst(crossings: list[Crossing]) -> Crossing:
    return max(crossings, key=ORDER.index) if crossings else Crossing.NONE


def aggregate(matrix: Matrix, topology: Topology) -> tuple[list[str], list[str], dict[tuple[str, str], Crossing],
                                                           dict[tuple[str, str], Crossing]]:
    """Segment × segment and municipality × segment: the worst crossing over the zone pairs in each
    cell (a zone's municipality is the file it is declared in; the diagonal of a zone with itself
    is left out)."""
    segments = [s.value for s in Segment if any(matrix.segments[z] == s.value for z in matrix.zones)]
    town = {z: FilePath(topology.zones[z].span.file).stem for z in matrix.zones}
    main = FilePath(topology.span.file).stem
    towns = sorted(set(town.values()), key=lambda t: (t != main, natural_key(t)))
    seg_cells: dict[tuple[str, str], list[Crossing]] = {}
    town_cells: dict[tuple[str, str], list[Crossing]] = {}
    for (a, b), cell in matrix.cells.items():
        if a == b:
            continue
        seg_cells.setdefault((matrix.segments[a], matrix.segments[b]), []).append(cell.crossing)
        town_cells.setdefault((town[a], matrix.segments[b]), []).append(cell.crossing)
    return (segments, towns, {k: _worst(v) for k, v in seg_cells.items()},
            {k: _worst(v) for k, v in town_cells.items()})


def aggregate_figure(matrix: Matrix, topology: Topology, lang: str = "en",
                     warn: Callable[[str], None] | None = None) -> Figure:
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch, Rectangle

    from .labels import Labels

    fonts.check(warn)
    segments, towns, by_segment, by_town = aggregate(matrix, topology)
    labels = [text(lang, f"segment.name.{s}") for s in segments]
    n, t = len(segments), len(towns)
    cell = 0.55
    height = max(n, t) * cell + 3.2
    width = 2 * n * cell + 6.0
    with rc_context(fonts.rc_params()):
        fig = Figure(figsize=(width, height))
        for k, (rows, cells, row_labels, title) in enumerate((
                (segments, by_segment, labels, text(lang, "atlas.segment_matrix")),
                (towns, by_town, towns, text(lang, "atlas.town_matrix")))):
            left = (1.9 + k * (n * cell + 2.6)) / width
            top = height - 2.2  # both panels hang from the same line, under their titles
            ax = fig.add_axes((left, (top - len(rows) * cell) / height, n * cell / width, len(rows) * cell / height))
            fig.text(left - 1.8 / width, 1 - 0.25 / height, title, fontsize=9, fontweight="bold", ha="left", va="top")
            ax.set_xlim(0, n)
            ax.set_ylim(len(rows), 0)
            squares, colours = [], []
            symbols: dict[str, tuple[list[tuple[float, float]], list[str]]] = {}  # text colour: places, symbols
            for i, r in enumerate(rows):
                for j, s in enumerate(segments):
                    crossing = cells.get((r, s), Crossing.NONE)
                    squares.append(Rectangle((j, i), 1, 1))
                    colours.append(CROSSING_COLOURS[crossing])
                    if crossing is not Crossing.NONE:
                        ink = symbols.setdefault("white" if crossing is Crossing.VIOLATION else "#222222", ([], []))
                        ink[0].append((j + 0.5, i + 0.5))
                        ink[1].append(crossing.symbol)
            ax.add_collection(PatchCollection(squares, facecolors=colours, edgecolors="white"))  # one artist
            for colour, (places, texts) in sorted(symbols.items()):
                ax.add_artist(Labels(places, texts, 7, colour, fonts.font_families(), ax.transData, va="center"))
            ax.set_xticks([j + 0.5 for j in range(n)])
            ax.set_xticklabels(labels, rotation=50, ha="left", fontsize=7, rotation_mode="anchor")
            ax.set_yticks([i + 0.5 for i in range(len(rows))])
            ax.set_yticklabels(row_labels, fontsize=7)
            ax.xaxis.tick_top()
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
        fig.legend(handles=[Patch(facecolor=CROSSING_COLOURS[c], edgecolor="#999999",
                                  label=text(lang, f"crossing.{c.value}")) for c in Crossing],
                   loc="lower center", ncol=5, fontsize=7.5, frameon=False)
    return fig

"""The segment map: devices placed by segment, links, and the findings' witness paths in red.

``draw_map`` writes png, svg or pdf (by the file name). Witness paths of findings that count are
red with their rule id and finding number (the number the report uses); paths of findings covered
by exceptions are orange and dashed; node findings (SEG006, SEG007, SEG009, HYG001, ...) ring the
node. ``highlight`` picks one flow (``SRC:DST[:PROTO[/PORT]]``, drawn in blue with its trace) or
one rule / finding fingerprint (only those findings stay bold).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import QueryError
from ..findings import Finding, Report, Severity
from ..i18n import text
from ..model import NodeKind, Topology
from ..network import Network
from ..trace import Path
from . import fonts
from .layout import BACKBONE, Layout, compute_layout, dual_homed, hub_of, lan_groups
from .output import figure_bytes, format_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

    from ..reach import Reachability
    from matplotlib.figure import Figure

# Band colours: region fill, node colour. Red and orange stay free for findings.
BAND_STYLE: dict[str, tuple[str, str]] = {
    "mynumber": ("#efe8f7", "#7a55b0"),
    "lgwan": ("#e3eefa", "#2f6db0"),
    "boundary": ("#fdf3d3", "#b08300"),
    "internet": ("#e5f4e3", "#3b8a3b"),
    "security-cloud": ("#ececec", "#666666"),
    "external-internet": ("#f4f4f4", "#8a8a8a"),
    BACKBONE: ("#dde8f3", "#4a79a8"),
}
BAND_TITLES: dict[str, tuple[str, str]] = {
    "mynumber": ("My Number", "マイナンバー利用事務系"),
    "lgwan": ("LGWAN", "LGWAN接続系"),
    "boundary": ("Sanitizers", "無害化\n(LGWAN–Internet)"),
    "internet": ("Internet", "インターネット接続系"),
    "security-cloud": ("Security cloud", "自治体情報\nセキュリティクラウド"),
    "external-internet": ("Outside", "インターネット"),
    BACKBONE: ("LGWAN backbone", "総合行政ネットワーク"),
}
KIND_MARKERS: dict[NodeKind, tuple[str, float]] = {  # marker, size (points²)
    NodeKind.TERMINAL: ("o", 70),
    NodeKind.SERVER: ("s", 90),
    NodeKind.HOST: ("p", 80),
    NodeKind.PROXY: ("h", 110),
    NodeKind.SANITIZER: ("*", 260),
    NodeKind.ROUTER: ("^", 130),
    NodeKind.L3SWITCH: ("8", 120),
    NodeKind.FIREWALL: ("D", 120),
    NodeKind.GATEWAY: ("P", 150),
    NodeKind.EXTERNAL: ("H", 220),
}
VIOLATION = "#d62020"
EXCEPTION = "#e08a00"
WARNING = "#e08a00"
HIGHLIGHT = "#1565c0"
DUAL = "#6a1b9a"  # the dashed ring of a device in two segments
LINK = "#9aa3ad"
MAX_PX = 4000  # no picture larger than this a side: image viewers and printers refuse bigger ones
INCH_X = 1.25  # inches per layout slot
INCH_Y = 0.78


@dataclass(frozen=True)
class Overlay:
    """A path to draw over the map."""

    nodes: tuple[str, ...]
    label: str
    style: str  # "violation" | "exception" | "highlight"
    faded: bool = False
    stopped: str = ""  # outcome text when the path does not end delivered


@dataclass(frozen=True)
class NodeMark:
    node: str
    label: str
    style: str  # "violation" | "warning" | "exception"
    faded: bool = False


def finding_numbers(report: Report) -> dict[int, str]:
    """The reference each finding has in the report and on the map: 1, 2, ... then E1, E2 for suppressed."""
    refs = {id(f): str(i) for i, f in enumerate(report.active, 1)}
    refs.update({id(f): f"E{i}" for i, f in enumerate(report.suppressed, 1)})
    return refs


def _subject_node(f: Finding) -> str | None:
    subject = dict(f.subject)
    for key in ("node", "sanitizer", "proxy"):
        if key in subject:
            return subject[key]
    return None


def _dedupe(nodes: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for n in nodes:
        if not out or out[-1] != n:
            out.append(n)
    return tuple(out)


def _matches(f: Finding, selector: str | None) -> bool:
    if selector is None:
        return True
    return f.rule == selector.upper() or (len(selector) >= 6 and f.fingerprint.startswith(selector.lower()))


def overlays(report: Report, positions: dict[str, tuple[float, float]], selector: str | None = None
             ) -> tuple[list[Overlay], list[NodeMark]]:
    """Group findings by the path they draw; one label per path listing the findings on it."""
    refs = finding_numbers(report)
    by_path: dict[tuple[tuple[str, ...], str], list[Finding]] = {}
    marks: dict[tuple[str, str], list[Finding]] = {}
    for f in report.active + report.suppressed:
        style = "exception" if f.suppressed else ("violation" if f.severity is Severity.ERROR else "warning")
        nodes = _dedupe(f.path.nodes) if f.path is not None else ()
        nodes = tuple(n for n in nodes if n in positions)
        if len(nodes) >= 2:
            by_path.setdefault((nodes, style), []).append(f)  # a warning's path (a relay's attack surface) is not red
        else:
            target = _subject_node(f) or (nodes[0] if nodes else None)
            if target in positions:
                marks.setdefault((target, style), []).append(f)
    result = []
    for (nodes, style), found in sorted(by_path.items(), key=lambda kv: (kv[0][1] == "violation", kv[0])):
        label = ", ".join(f"{f.rule} #{refs[id(f)]}" for f in found)
        if style == "exception":
            ids = sorted({e for f in found for e in f.suppressed_by})
            label += f" ({', '.join(ids)})"
        faded = selector is not None and not any(_matches(f, selector) for f in found)
        result.append(Overlay(nodes, label, style, faded))
    node_marks = [NodeMark(node, ", ".join(f"{f.rule} #{refs[id(f)]}" for f in found), style,
                           selector is not None and not any(_matches(f, selector) for f in found))
                  for (node, style), found in sorted(marks.items())]
    return result, node_marks


def resolve_highlight(topology: Topology, network: Network, spec: str, reach: Reachability | None = None) -> Path:
    """``SRC:DST[:PROTO[/PORT]]`` → the path of one packet: a flow that gets through if there is one,
    else where a sample packet stops."""
    from ..headers import Packet
    from ..model import PORTED_PROTOCOLS, protocol_number
    from ..query import concrete_destination, concrete_source, query, resolve_place
    from ..reach import Reachability
    from ..trace import trace

    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise QueryError(f"--highlight {spec!r}: give SRC:DST[:PROTO[/PORT]], a rule id or a finding fingerprint")
    src, dst = parts[0], parts[1]
    proto, port = None, None
    if len(parts) == 3:
        proto, _, port_text = parts[2].partition("/")
        if port_text:
            if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5 or int(port_text) > 65535:
                raise QueryError(f"--highlight {spec!r}: {port_text!r} is not a port")
            port = int(port_text)
    def end(text: str) -> str:  # the ends of a highlight are nodes or addresses, as in trace
        return f"node:{text}" if text in topology.nodes and topology.nodes[text].pool is None else text

    answers = query(network, reach if reach is not None else Reachability(network),
                    resolve_place(topology, network, end(src)),
                    resolve_place(topology, network, end(dst)), proto, port)
    for answer in answers:
        if answer.path is not None:
            return answer.path
    # Nothing gets through: show where a sample packet of that kind stops.
    number = 6 if proto is None else protocol_number(proto)
    if number is None:
        raise QueryError(f"--highlight {spec!r}: unknown protocol {proto!r}")
    node, address = concrete_source(topology, network, src)
    ported = number in PORTED_PROTOCOLS
    packet = Packet(address, concrete_destination(topology, dst), number, 49152 if ported else 0,
                    (port if port is not None else 443) if ported else 0)
    paths = trace(network, node, packet)
    return paths[0]


def map_figure(topology: Topology, network: Network, report: Report, highlight: str | Path | None = None,
               warn: Callable[[str], None] | None = None, reach: Reachability | None = None,
               nodes: list[str] | None = None, subtitle: str = "", lang: str = "en") -> Figure:
    """Build the map as a matplotlib Figure (not saved). Needs matplotlib. ``reach``: the run's
    propagation, reused for a SRC:DST highlight. ``nodes``: only these devices (one municipality).
    ``lang``: ``en`` writes English with the Japanese names beside it, ``ja`` Japanese only."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    fonts.check(warn)
    # ``nodes``: draw only these devices (one municipality of a large network), links among them.
    layout = compute_layout(topology, network.graph if nodes is None else network.graph.subgraph(nodes))
    selector: str | None = None
    flow: Path | None = None
    if isinstance(highlight, Path):
        flow = highlight
    elif isinstance(highlight, str):
        if ":" in highlight:
            flow = resolve_highlight(topology, network, highlight, reach)
        else:
            selector = highlight
            if not any(_matches(f, selector) for f in report.findings):
                raise QueryError(f"--highlight {highlight!r}: no finding has this rule id or fingerprint")
    with rc_context(fonts.rc_params()):
        n = len(layout.positions)
        scale = 1.0 if n <= 80 else 0.85 if n <= 180 else 0.72
        width = max(8.0, (layout.width + 1.0) * INCH_X)
        height = max(5.0, (layout.height + 2.4) * INCH_Y + 1.2)
        fig = Figure(figsize=(width, height))
        legend_h = 1.0 / height
        ax = fig.add_axes((0.01, legend_h + 0.02, 0.98, 1 - legend_h - 0.02 - 0.9 / height))
        ax.set_axis_off()
        x0 = min(b.x0 for b in layout.bands) - 0.3 if layout.bands else -1
        x1 = max(b.x1 for b in layout.bands) + 0.3 if layout.bands else 1
        ax.set_xlim(x0, x1)
        ax.set_ylim(layout.top + layout.height + 0.3, layout.top - 1.0)  # y grows downward
        _draw_bands(ax, layout, scale, lang)
        _draw_links(ax, topology, network, layout)
        _draw_nodes(ax, topology, layout, scale)
        paths, marks = overlays(report, layout.positions, selector)
        faded_all = flow is not None
        placed = name_boxes(layout, scale)  # path labels never cover a device or its name
        for mark in marks:
            _draw_mark(ax, layout, mark if not faded_all else NodeMark(mark.node, mark.label, mark.style, True),
                       scale, placed)
        for i, overlay in enumerate(paths):
            _draw_path(ax, layout, overlay if not faded_all else Overlay(overlay.nodes, overlay.label, overlay.style,
                                                                         True), i, len(paths), scale, placed)
        if flow is not None:
            flow_nodes = _dedupe(tuple(n for n in flow.nodes if n in layout.positions))
            outcome = flow.outcome.value if lang == "en" else text(lang, f"outcome.{flow.outcome.value}")
            stopped = "" if flow.delivered else text(lang, "picture.stopped", outcome=outcome, node=flow.final_node)
            _draw_path(ax, layout, Overlay(flow_nodes, str(flow.packet), "highlight", False, stopped), 0, 1, scale,
                       placed)
        _title(fig, topology, report, height, subtitle, lang)
        _legend(fig, topology, layout, any(p.style == "violation" for p in paths) or any(
            m.style == "violation" for m in marks), any(p.style == "exception" for p in paths), flow is not None,
            lang)
    return fig


def draw_map(topology: Topology, network: Network, report: Report, path: str | os.PathLike[str],
             highlight: str | Path | None = None, warn: Callable[[str], None] | None = None,
             reach: Reachability | None = None, lang: str = "en") -> None:
    """Write the map to ``path``: .png, .svg or .pdf."""
    from ..outputs.files import write_bytes

    fmt = format_of(path)
    fig = map_figure(topology, network, report, highlight, warn, reach, lang=lang)
    write_bytes(path, render(fig, fmt))


def render(fig: Figure, fmt: str) -> bytes:
    from matplotlib import rc_context

    with rc_context(fonts.rc_params()), warnings.catch_warnings():
        # fonts.check already said it once if Japanese glyphs are missing; no warning per glyph.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        return figure_bytes(fig, fmt, dpi=min(110, (MAX_PX - 10) / max(fig.get_size_inches())))


# -- drawing pieces ----------------------------------------------------------------------------------


def band_title(key: str, lang: str) -> str:
    """A segment column's title: English over Japanese, or Japanese alone."""
    en, ja = BAND_TITLES.get(key, (key, ""))
    if lang == "en":
        return f"{en}\n{ja}" if ja else en
    return ja or en


def _draw_bands(ax: Axes, layout: Layout, scale: float, lang: str = "en") -> None:
    from .labels import Labels  # matplotlib: imported only to draw

    from matplotlib.patches import FancyBboxPatch

    families = fonts.font_families()

    for band in layout.bands:
        fill, colour = BAND_STYLE.get(band.key, ("#f4f4f4", "#888888"))
        ax.add_patch(FancyBboxPatch((band.x0, band.y0), band.x1 - band.x0, band.y1 - band.y0,
                                    boxstyle="round,pad=0.02,rounding_size=0.2", facecolor=fill,
                                    edgecolor=colour, linewidth=1.0, zorder=0))
        title = band_title(band.key, lang)
        if band.key == BACKBONE:
            ax.add_artist(Labels([(band.x0 + 0.1, band.y0 + 0.08)], [title], 7.5 * scale, colour, families,
                                 ax.transData, ha="left", va="top", weight="bold", zorder=1))
        else:
            ax.add_artist(Labels([((band.x0 + band.x1) / 2, band.y0 - 0.08)], [title],
                                 9 * scale if band.x1 - band.x0 > 1.5 else 7.5 * scale, colour, families,
                                 ax.transData, ha="center", va="bottom", weight="bold", zorder=1, linespacing=1.1))


def _draw_links(ax: Axes, topology: Topology, network: Network, layout: Layout) -> None:
    pos = layout.positions
    segments: list[Sequence[Point]] = []
    for _lan, members in lan_groups(topology, pos):  # pos: the drawn devices, all in network.graph
        if len(members) == 2:
            segments.append(_leg(pos, members[0], members[1]))
            continue
        hub = hub_of(topology, members)
        if hub is not None and len(members) > 8:
            segments.extend(_bus(pos, hub, [m for m in members if m != hub]))
        elif hub is not None:
            segments.extend(_leg(pos, hub, m) for m in members if m != hub)
        else:  # a shared segment without one switch: a star from its centre
            cx = sum(pos[m][0] for m in members) / len(members)
            cy = sum(pos[m][1] for m in members) / len(members)
            ax.plot([cx], [cy], marker="s", markersize=3, color=LINK, zorder=1)
            segments.extend(((cx, cy), pos[m]) for m in members)
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(segments, colors=LINK, linewidths=0.8 if len(segments) < 150 else 0.45,
                                     zorder=1))


Point = tuple[float, float]


def _leg(pos: dict[str, Point], a: str, b: str) -> list[Point]:
    """The line from a to b; bent into a curve when the straight line would run through another
    node (a link from a firewall to the outside Internet must not seem to pass the security cloud)."""
    (x0, y0), (x1, y1) = pos[a], pos[b]
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return [pos[a], pos[b]]
    blocked = False
    for name, (px, py) in pos.items():
        if name in (a, b):
            continue
        t = ((px - x0) * dx + (py - y0) * dy) / length2
        if 0.02 < t < 0.98 and (x0 + t * dx - px) ** 2 + (y0 + t * dy - py) ** 2 < 0.18 ** 2:
            blocked = True
            break
    if not blocked:
        return [pos[a], pos[b]]
    length = length2 ** 0.5
    nx_, ny_ = -dy / length, dx / length  # a unit normal; bend upward (or rightward when vertical)
    if ny_ > 0 or (ny_ == 0 and nx_ < 0):
        nx_, ny_ = -nx_, -ny_
    bend = 0.35 + 0.04 * length
    cx, cy = (x0 + x1) / 2 + nx_ * bend * 2, (y0 + y1) / 2 + ny_ * bend * 2  # quadratic Bézier control
    points = []
    for i in range(17):
        t = i / 16
        points.append(((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t * t * x1,
                       (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t * t * y1))
    return points


def _bus(pos: dict[str, Point], hub: str, members: list[str]) -> list[tuple[Point, Point]]:
    """A big LAN as a trunk from its switch and one bus line above each row of members: a fan of a
    hundred lines from one switch would hide the labels."""
    rows: dict[float, list[float]] = {}
    for m in members:
        rows.setdefault(pos[m][1], []).append(pos[m][0])
    hx, hy = pos[hub]
    segments: list[tuple[Point, Point]] = []
    lowest = hy
    for y, xs in sorted(rows.items()):
        bus_y = y - 0.32
        segments.append(((min(xs + [hx]), bus_y), (max(xs + [hx]), bus_y)))
        segments.extend(((x, bus_y), (x, y)) for x in xs)
        lowest = max(lowest, bus_y)
    segments.append(((hx, hy), (hx, lowest)))
    return segments


def _draw_nodes(ax: Axes, topology: Topology, layout: Layout, scale: float) -> None:
    from .labels import Labels  # matplotlib: imported only to draw

    by_style: dict[tuple[str, str], list[str]] = {}
    for name, band in layout.band_of.items():
        if name not in layout.positions:
            continue
        marker, _ = KIND_MARKERS[topology.nodes[name].kind]
        by_style.setdefault((marker, band), []).append(name)
    for (marker, band), names in sorted(by_style.items()):
        names.sort()
        size = KIND_MARKERS[topology.nodes[names[0]].kind][1] * scale
        colour = BAND_STYLE.get(band, ("", "#777777"))[1]
        _markers(ax, [layout.positions[n] for n in names], marker, size, colour, "white", 0.8, 3)
    dual = sorted(n for n in layout.positions if dual_homed(topology, n))
    if dual:  # drawn by what they are, in their innermost segment; the ring says "two segments"
        ax.scatter([layout.positions[n][0] for n in dual], [layout.positions[n][1] for n in dual],
                   s=300 * scale, facecolors="none", edgecolors=DUAL, linewidths=1.6, linestyle=(0, (2, 1.5)),
                   zorder=3)
    names = sorted(layout.positions)  # one artist for all the names: see labels.py for why
    ax.add_artist(Labels([(layout.positions[n][0], layout.positions[n][1] + 0.2) for n in names], names,
                         7 * scale, "#222222", fonts.font_families(), ax.transData, ha="center", va="top"))


def _markers(ax: Axes, points: Sequence[Point], marker: str, area: float, face: str, edge: str, edge_width: float,
             zorder: float, alpha: float | None = None) -> None:
    """Markers of one style, as ``scatter(s=area)`` draws them, as one line of markers: a scatter
    collection costs about 2 ms to build (colour and size arrays, masks), a line a tenth of it."""
    from matplotlib.lines import Line2D

    ax.add_line(Line2D([p[0] for p in points], [p[1] for p in points], linestyle="none", marker=marker,
                       markersize=area ** 0.5, markerfacecolor=face, markeredgecolor=edge,
                       markeredgewidth=edge_width, color=edge, alpha=alpha, zorder=zorder))


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in data units (y grows downward)
CHAR_W = 0.047  # a 7-point character, in layout slots (INCH_X wide)
LINE_H = 0.2


def name_boxes(layout: Layout, scale: float) -> list[Box]:
    """Every device's marker and name as boxes labels must keep off."""
    boxes: list[Box] = []
    for name, (x, y) in layout.positions.items():
        half = (len(name) * CHAR_W * scale + 0.06) / 2
        boxes.append((x - 0.16, y - 0.16, x + 0.16, y + 0.16))
        boxes.append((x - half, y + 0.18, x + half, y + 0.2 + LINE_H * scale))
    return boxes


def label_box(text: str, x: float, y: float, scale: float, ha: str) -> Box:
    """The box of a label drawn with va=bottom at (x, y), with its rounded padding."""
    lines = text.split("\n")
    width = max(len(line) for line in lines) * CHAR_W * scale + 0.12
    height = len(lines) * LINE_H * scale + 0.08
    x0 = x - width / 2 if ha == "center" else x
    return (x0, y - height, x0 + width, y)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _free_spot(placed: list[Box], text: str, x: float, y: float, step: float, scale: float,
               ha: str = "center") -> tuple[float, float]:
    """Move a label (down for a positive step, up for a negative one) until it covers no device,
    no device name and no label placed before; then keep its box."""
    box = label_box(text, x, y, scale, ha)
    for _ in range(400):
        if not any(_overlaps(box, other) for other in placed):
            break
        y += step
        box = label_box(text, x, y, scale, ha)
    placed.append(box)
    return x, y


def _draw_path(ax: Axes, layout: Layout, overlay: Overlay, index: int, count: int, scale: float,
               placed: list[Box]) -> None:
    from .labels import LabelBox, Labels  # matplotlib: imported only to draw

    colour = {"violation": VIOLATION, "warning": WARNING, "exception": EXCEPTION, "highlight": HIGHLIGHT}[overlay.style]
    alpha = 0.25 if overlay.faded else 0.9
    # Parallel paths would hide each other: shift each one a little, perpendicular to its segments.
    shift = (index - (count - 1) / 2) * 0.07 if count > 1 else 0.0
    pts = [layout.positions[n] for n in overlay.nodes]
    if len(pts) >= 2:  # follow the links as drawn: curved where they avoid other nodes
        curve: list[Point] = [pts[0]]
        for a, b in zip(overlay.nodes, overlay.nodes[1:]):
            curve.extend(_leg(layout.positions, a, b)[1:])
        pts = curve
    if len(pts) < 2:  # a flow that never left its source: ring the node, say why
        if pts:
            _draw_mark(ax, layout, NodeMark(overlay.nodes[0], overlay.label + (
                f" ✕ {overlay.stopped}" if overlay.stopped else ""), overlay.style if overlay.style in ("exception", "warning")
                else "violation", overlay.faded), scale, placed)
        return
    xs = [p[0] + shift for p in pts]
    ys = [p[1] + shift * 0.6 for p in pts]
    style = "--" if overlay.style == "exception" else "-"
    width = 3.0 if overlay.style == "highlight" else 2.2
    ax.plot(xs[:-1], ys[:-1], linestyle=style, color=colour, linewidth=width, alpha=alpha, zorder=5,
            solid_capstyle="round")
    ax.annotate("", xy=(xs[-1], ys[-1]), xytext=(xs[-2], ys[-2]), zorder=5,
                arrowprops={"arrowstyle": "-|>", "color": colour, "lw": width, "alpha": alpha,
                            "linestyle": style, "shrinkB": 7, "mutation_scale": 14})
    _markers(ax, [(xs[0], ys[0])], "o", 160 * scale, "none", colour, 2, 5, alpha)
    # The label sits on the longest leg, shifted by index so labels on shared legs do not stack.
    legs = [(abs(xs[i + 1] - xs[i]) + abs(ys[i + 1] - ys[i]), i) for i in range(len(xs) - 1)]
    _, leg = max(legs)
    t = 0.5 if count == 1 else 0.3 + 0.4 * ((index % 3) / 2)
    lx, ly = xs[leg] + (xs[leg + 1] - xs[leg]) * t, ys[leg] + (ys[leg + 1] - ys[leg]) * t
    text = overlay.label + (f"\n✕ {overlay.stopped}" if overlay.stopped else "")
    lx, ly = _free_spot(placed, text, lx, ly - 0.12, 0.09, scale)
    ax.add_artist(Labels([(lx, ly)], [text], 7 * scale, "white" if not overlay.faded else colour, fonts.font_families(),
                         ax.transData, ha="center", va="bottom", zorder=7, weight="bold",
                         alpha=1.0 if not overlay.faded else 0.6,
                         box=LabelBox(colour if not overlay.faded else "white", colour,
                                      0.95 if not overlay.faded else 0.5)))
    if overlay.stopped:
        _markers(ax, [(xs[-1], ys[-1])], "x", 260 * scale, colour, colour, 3, 6)


def _draw_mark(ax: Axes, layout: Layout, mark: NodeMark, scale: float, placed: list[Box]) -> None:
    from .labels import LabelBox, Labels  # matplotlib: imported only to draw

    colour = {"violation": VIOLATION, "warning": WARNING, "exception": EXCEPTION}[mark.style]
    alpha = 0.3 if mark.faded else 0.95
    x, y = layout.positions[mark.node]
    if mark.style == "warning":  # a dashed ring: only a collection dashes a marker's edge
        ax.scatter([x], [y], s=420 * scale, facecolors="none", edgecolors=colour, linewidths=2.5, alpha=alpha,
                   zorder=6, linestyle="--")
    else:
        _markers(ax, [(x, y)], "o", 420 * scale, "none", colour, 2.5, 6, alpha)
    lx, ly = _free_spot(placed, mark.label, x + 0.22, y - 0.22, -0.09, scale, ha="left")
    ax.add_artist(Labels([(lx, ly)], [mark.label], 7 * scale, "white", fonts.font_families(), ax.transData, ha="left",
                         va="bottom", zorder=7, weight="bold", alpha=1.0 if not mark.faded else 0.5,
                         box=LabelBox(colour, colour, alpha)))


def _title(fig: Figure, topology: Topology, report: Report, height: float, subtitle: str = "",
           lang: str = "en") -> None:
    from .labels import Labels  # matplotlib: imported only to draw

    if report.compliant:
        verdict = (text(lang, "picture.compliant_warn", n=report.warnings) if report.warnings
                   else text(lang, "picture.compliant"))
        colour = "#2e7d32"
    else:
        verdict = text(lang, "picture.not_compliant", errors=report.errors, warnings=report.warnings)
        colour = "#b71c1c"  # darker than the paths' red, so red on the map always means a drawn violation
    name = f"{topology.name} — {subtitle}" if subtitle else topology.name
    from .. import __version__

    families, where = fonts.font_families(), fig.transFigure
    fig.add_artist(Labels([(0.01, 1 - 0.25 / height)], [name], 13, "black", families, where, ha="left",
                          weight="bold"))
    fig.add_artist(Labels([(0.01, 1 - 0.62 / height)], [text(lang, "picture.meta", profile=report.profile,
                                                             date=report.today, version=__version__)],
                          9, "#444444", families, where, ha="left"))
    fig.add_artist(Labels([(0.99, 1 - 0.25 / height)], [verdict], 12, colour, families, where, ha="right",
                          weight="bold"))


def _legend(fig: Figure, topology: Topology, layout: Layout, violations: bool, exceptions: bool, flow: bool,
            lang: str = "en") -> None:
    from matplotlib.lines import Line2D

    kinds = sorted({topology.nodes[n].kind for n in layout.positions}, key=lambda k: list(NodeKind).index(k))
    handles = [Line2D([], [], linestyle="none", marker=KIND_MARKERS[k][0], markersize=7, color="#555555",
                      label=k.value if lang == "en" else text(lang, f"kind.{k.value}")) for k in kinds]
    handles.append(Line2D([], [], color=LINK, linewidth=1, label=text(lang, "picture.link")))
    if any(dual_homed(topology, n) for n in layout.positions):
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="none",
                              markeredgecolor=DUAL, label=text(lang, "picture.dual")))
    if violations:
        handles.append(Line2D([], [], color=VIOLATION, linewidth=2.2, label=text(lang, "picture.violation")))
    if exceptions:
        handles.append(Line2D([], [], color=EXCEPTION, linewidth=2.2, linestyle="--",
                              label=text(lang, "picture.exception")))
    if flow:
        handles.append(Line2D([], [], color=HIGHLIGHT, linewidth=3, label=text(lang, "picture.highlight")))
    legend_row(fig, handles, fontsize=7.5, columns=8)


def legend_row(fig: Figure, handles: list[Line2D], fontsize: float, columns: int) -> None:
    """The handles' samples and labels centred along the foot of the figure, in up to ``columns``
    columns filled top down, as ``fig.legend(loc="lower center", frameon=False)`` lays them out (its
    default spacings), with the labels as one :class:`Labels`: a legend's own texts are laid out
    several times over, about 40 ms a map."""
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.transforms import Affine2D

    from .labels import Labels, glyphs_for

    em = fontsize  # matplotlib's legend spacings are in font sizes
    cache = glyphs_for(tuple(fonts.font_families()))
    groups = [list(g) for g in np.array_split(np.arange(len(handles)), min(columns, len(handles))) if len(g)]
    widths = [2.8 * em + max(cache.width(handles[i].get_label()) * fontsize for i in g) for g in groups]
    total = sum(widths) + 2.0 * em * (len(groups) - 1)
    rows = max(len(g) for g in groups)
    row_h, gap = (cache.line_top - cache.line_bottom) * em, 0.5 * em  # a line of text, then labelspacing
    points = Affine2D().scale(1 / 72) + fig.dpi_scale_trans  # figure coordinates in points
    left = fig.get_figwidth() * 72 / 2 - total / 2
    bottom = 0.9 * em  # the legend's border pad and its distance from the figure's edge
    places, texts = [], []
    for group, width in zip(groups, widths):
        for r, i in enumerate(group):
            y = bottom + (rows - r - 0.5) * row_h + (rows - 1 - r) * gap
            handle = handles[i]
            if handle.get_linestyle() in ("None", "none", " ", ""):
                sample = Line2D([left + 1.0 * em], [y], transform=points)
            else:
                sample = Line2D([left, left + 2.0 * em], [y, y], transform=points)
            sample.update_from(handle)
            sample.set_transform(points)
            fig.add_artist(sample)
            places.append((left + 2.8 * em, y))
            texts.append(handle.get_label())
        left += width + 2.0 * em
    fig.add_artist(Labels(places, texts, fontsize, "black", fonts.font_families(), points, ha="left", va="center"))

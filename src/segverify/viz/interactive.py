"""The interactive map: one self-contained HTML file (``draw -o map.html``, also inside the report).

Plain SVG and a small script of our own (viz/map_script.py), no library, no network load. Python
does the layout (the same layered layout as the printed map, one block per municipality) and
hands the browser the data as JSON inside a ``<script type="application/json">`` element, escaped
so that no topology string can close the element or start markup. The script builds every element
with ``textContent`` and attributes, never HTML from strings.

A municipality is the file a device is declared in (a generated prefecture has one file per
municipality, included from the prefecture's file); a one-file topology is one block.
"""

from __future__ import annotations

import hashlib
import base64
import html
import json
import functools
import math
from pathlib import Path as FilePath
from typing import Any

from ..findings import Finding, Report, Severity
from ..i18n import localize
from ..i18n import text as message_text
from ..model import NodeKind, Topology
from ..network import Network
from ..trace import Hop
from ..words import display_width
from .layout import BAND_ORDER, BACKBONE, compute_layout, dual_homed, hub_of, lan_groups, natural_key
from .map import BAND_STYLE, BAND_TITLES, finding_numbers
from .map_script import CSS, SCRIPT

SLOT_X = 74.0  # px per layout slot
SLOT_Y = 64.0  # room for three rows of names under a row of devices
BLOCK_GAP = 2.0  # slots between municipality blocks
LABEL_PX = 6.3  # px of one narrow character of a 10 px name label (a wide, Japanese one takes two)
LABEL_ROWS = 3  # name rows under a row of devices: 19, 34 and 49 px below it (the next row is 64 px down)
LABEL_ROW_PX = 15.0  # a 10 px name is 14.2 px tall with its ascent and descent

# Node shapes as SVG path data around (0, 0), about 12 px across.
SHAPES: dict[str, str] = {
    NodeKind.TERMINAL.value: "M-5,0a5,5 0 1,0 10,0a5,5 0 1,0 -10,0z",
    NodeKind.SERVER.value: "M-5,-5h10v10h-10z",
    NodeKind.HOST.value: "M0,-6L6,-1.5L3.5,5.5H-3.5L-6,-1.5z",
    NodeKind.PROXY.value: "M-6,0L-3,-5.2H3L6,0L3,5.2H-3z",
    NodeKind.SANITIZER.value: "M0,-8L2.2,-2.6L8,-2.5L3.4,1.2L5,7L0,3.6L-5,7L-3.4,1.2L-8,-2.5L-2.2,-2.6z",
    NodeKind.ROUTER.value: "M0,-7L7,6H-7z",
    NodeKind.L3SWITCH.value: "M-3,-7H3L7,-3V3L3,7H-3L-7,3V-3z",
    NodeKind.FIREWALL.value: "M0,-8L8,0L0,8L-8,0z",
    NodeKind.GATEWAY.value: "M-2.5,-7H2.5V-2.5H7V2.5H2.5V7H-2.5V2.5H-7V-2.5H-2.5z",
    NodeKind.EXTERNAL.value: "M-8,0L-4,-7H4L8,0L4,7H-4z",
}


def municipality_of(topology: Topology, name: str) -> str:
    """The file the device is declared in, without directory and suffix."""
    return _stem(topology.nodes[name].span.file)


@functools.lru_cache(maxsize=4096)  # a prefecture asks for a few dozen files thousands of times
def _stem(file: str) -> str:
    return FilePath(file).stem


def _zone_of(topology: Topology, name: str) -> str:
    zones = sorted(i.zone for i in topology.nodes[name].interfaces)
    return zones[0] if zones else "-"


def block_positions(topology: Topology, network: Network) -> tuple[dict[str, tuple[float, float]], dict[str, str],
                                                                    list[str]]:
    """Positions (px) of every device: one layered block per municipality, blocks in a grid, the
    shared file (the prefecture's own devices) first."""
    graph = network.graph
    groups: dict[str, list[str]] = {}
    for name in sorted(graph.nodes, key=natural_key):
        groups.setdefault(municipality_of(topology, name), []).append(name)
    main = FilePath(topology.span.file).stem
    order = sorted(groups, key=lambda g: (g != main, natural_key(g)))
    layouts = {g: compute_layout(topology, graph.subgraph(groups[g])) for g in order}
    width = max(layout.width for layout in layouts.values()) if layouts else 1.0
    columns = max(1, math.ceil(math.sqrt(len(order))))
    positions: dict[str, tuple[float, float]] = {}
    band: dict[str, str] = {}
    y = 0.0
    for row_start in range(0, len(order), columns):
        row = order[row_start:row_start + columns]
        height = max(layouts[g].height for g in row)
        for col, g in enumerate(row):
            layout = layouts[g]
            x0 = min(b.x0 for b in layout.bands) if layout.bands else 0.0
            ox = col * (width + BLOCK_GAP) - x0
            oy = y - layout.top
            for name, (px, py) in layout.positions.items():
                positions[name] = ((px + ox) * SLOT_X, (py + oy) * SLOT_Y)
                band[name] = layout.band_of[name]
        y += height + BLOCK_GAP
    return positions, band, order


def label_rows(positions: dict[str, tuple[float, float]]) -> dict[str, int]:
    """Under which of the name rows below it each device's name goes, so that the names of
    neighbours in a crowded row never overlap: left to right, the first name row whose last name
    ends clear of this one (the emptiest one if none does)."""
    rows: dict[float, list[str]] = {}
    for name, (_, y) in positions.items():
        rows.setdefault(round(y, 1), []).append(name)
    chosen: dict[str, int] = {}
    for names in rows.values():
        ends = [-math.inf] * LABEL_ROWS
        for name in sorted(names, key=lambda n: (positions[n][0], n)):
            x, half = positions[name][0], display_width(name) * LABEL_PX / 2
            free = [r for r in range(LABEL_ROWS) if ends[r] + 4 <= x - half]
            row = free[0] if free else min(range(LABEL_ROWS), key=lambda r: ends[r])
            ends[row] = x + half
            chosen[name] = row
    return chosen


def _edges(topology: Topology, network: Network, index: dict[str, int]) -> list[list[int]]:
    edges: set[tuple[int, int]] = set()
    for _lan, members in lan_groups(topology, network.graph):
        present = [m for m in members if m in index]
        if len(present) < 2:
            continue
        hub = hub_of(topology, present) or present[0]
        for m in present:
            if m != hub:
                a, b = sorted((index[hub], index[m]))
                edges.add((a, b))
    return [list(e) for e in sorted(edges)]


def _hop(h: Hop) -> dict[str, Any]:
    decisions = [{"acl": d.acl, "action": d.action.value,
                  "line": d.rule_index, "at": str(d.span), "text": d.text} for d in h.decisions()]
    result: dict[str, Any] = {"node": h.node, "in": h.in_iface or "", "out": h.out_iface or "", "acl": decisions}
    if h.route is not None:
        via = str(h.route.next_hop) if h.route.next_hop else ""
        result["route"] = {"prefix": str(h.route.prefix), "via": via, "at": str(h.route_span) if h.route_span else ""}
    if h.nat:
        result["nat"] = list(h.nat)
    return result


def _subject_nodes(f: Finding, index: dict[str, int]) -> list[int]:
    subject = dict(f.subject)
    return [index[subject[k]] for k in ("node", "sanitizer", "proxy") if subject.get(k) in index]


def map_data(topology: Topology, network: Network, report: Report, text: dict[str, str],
             lang: str) -> dict[str, Any]:
    positions, band, order = block_positions(topology, network)
    names = sorted(positions, key=natural_key)
    index = {n: i for i, n in enumerate(names)}
    refs = finding_numbers(report)
    on_node: dict[str, list[str]] = {}
    findings = []
    # Errors first, then warnings, then what exceptions cover; each keeps the report's number.
    ordered = sorted(report.active, key=lambda f: f.severity is not Severity.ERROR) + report.suppressed
    for f in ordered:
        ref = refs[id(f)]
        path = [index[h.node] for h in f.path.hops if h.node in index] if f.path is not None else []
        dedup = [p for k, p in enumerate(path) if k == 0 or path[k - 1] != p]
        marked = dedup or _subject_nodes(f, index)
        for i in set(marked):
            on_node.setdefault(names[i], []).append(ref)
        findings.append({
            "ref": ref, "rule": f.rule, "severity": "suppressed" if f.suppressed else f.severity.value,
            "title": localize(f.title, lang), "message": localize(f.message, lang), "at": str(f.location),
            "path": dedup, "nodes": marked,
            "witness": str(f.witness) if f.witness is not None else "",
            "hops": [_hop(h) for h in f.path.hops] if f.path is not None else [],
            "outcome": message_text(lang, f"outcome.{f.path.outcome.value}") if f.path is not None else "",
        })
    nodes = []
    rows = label_rows({n: positions[n] for n in names})
    for n in names:
        node = topology.nodes[n]
        x, y = positions[n]
        nodes.append({
            "n": n, "k": node.kind.value, "b": band[n], "x": round(x, 1), "y": round(y, 1),
            "ly": round(y + 19 + LABEL_ROW_PX * rows[n], 1),  # where its name goes
            "m": municipality_of(topology, n), "z": _zone_of(topology, n),
            "segs": sorted(s.value for s in topology.segments_of(n)),
            "dual": dual_homed(topology, n),
            "ifs": [[i.name, str(i.address) if i.address else "", i.zone, i.acl_in or "", i.acl_out or ""]
                    for i in node.interfaces],
            "acls": [[a.name, len(a.rules), a.default.value] for a in node.acls.values()],
            "f": on_node.get(n, []),
        })
    ja = lang == "ja"
    bands = {key: {"fill": BAND_STYLE[key][0], "colour": BAND_STYLE[key][1],
                   "title": BAND_TITLES[key][1 if ja else 0].replace("\n", " ")}
             for key in (*BAND_ORDER, BACKBONE)}
    return {"nodes": nodes, "edges": _edges(topology, network, index), "findings": findings, "bands": bands,
            "shapes": SHAPES, "municipalities": order, "text": text, "title": topology.name,
            "verdict": {"compliant": report.compliant, "errors": report.errors, "warnings": report.warnings}}


def json_for_script(data: object) -> str:
    """JSON that is safe inside a <script> element: no ``</script>``, no ``<!--``, no U+2028/9."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def script_hash() -> str:
    """The Content-Security-Policy source that allows exactly our script and nothing else."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii") + "'"


def map_fragment(topology: Topology, network: Network, report: Report, lang: str, height: str = "100%") -> str:
    """The map's markup, data and script, to place in a page whose CSP allows :func:`script_hash`."""
    from ..i18n import catalogue

    text = {k[4:]: v for k, v in catalogue(lang).items() if k.startswith("map.")}
    data = map_data(topology, network, report, text, lang)
    return (f'<div id="segmap" class="segmap" style="height:{html.escape(height, quote=True)}" '
            f'data-nodes="{len(data["nodes"])}"></div>\n'
            f'<style>{CSS}</style>\n'
            f'<script type="application/json" id="segmap-data">{json_for_script(data)}</script>\n'
            f"<script>{SCRIPT}</script>")


PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src {script}; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>html, body {{ margin: 0; height: 100%; }}</style>
</head>
<body>
{body}
</body>
</html>
"""


def render_map_html(topology: Topology, network: Network, report: Report, lang: str = "en") -> str:
    """The standalone interactive map page."""
    return PAGE.format(lang=lang, script=script_hash(), title=html.escape(topology.name),
                       body=map_fragment(topology, network, report, lang, height="100vh"))


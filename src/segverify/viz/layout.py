"""Where each device goes on the map: a layered layout by segment, deterministic, no matplotlib.

Segments are vertical bands, left to right in the order of the three-layer model::

    My Number | LGWAN | sanitizers (LGWAN–Internet boundary) | Internet | security cloud | outside Internet

A device goes where its kind says: the boundary band holds sanitizers only. A firewall or router
between two segments sits in the innermost one; so does any other device with legs in two
segments, which the drawings then mark (it is what SEG006 is about).

with the LGWAN backbone as a strip above the LGWAN band. Inside a band, rows are tiers: the top
row holds the devices that connect the band to other bands (firewalls, access routers), the next
rows the devices one, two... hops further in, and endpoints (terminals, servers) fill a grid at the
bottom, grouped by zone. Cross-segment links therefore run along the top, short and horizontal,
and a witness path reads as "up from a terminal, across the boundary, down to the target".

Coordinates are abstract slots: one unit per node column and per row, y growing downward. The
drawing scales them to inches. Same topology, same positions: every ordering ends on names.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Container, Iterable

import networkx as nx

from ..model import NodeKind, Segment, Topology

# Band keys, left to right. "boundary" holds nodes that sit in both LGWAN and Internet (sanitizers).
BAND_ORDER = ("mynumber", "lgwan", "boundary", "internet", "security-cloud", "external-internet")
BACKBONE = "lgwan-backbone"  # drawn as a strip above the LGWAN band
UNZONED = "external-internet"  # a node with no interface lands at the outer edge

# Bands drawn as one narrow column (few nodes, stacked) rather than tiers and a grid.
_STACKED = frozenset({"boundary", "security-cloud", "external-internet"})
_INTERNAL_RANK = {Segment.MYNUMBER: 0, Segment.LGWAN: 1, Segment.INTERNET: 3}
_EXTERNAL_BAND = {Segment.SECURITY_CLOUD: "security-cloud", Segment.EXTERNAL_INTERNET: "external-internet",
                  Segment.LGWAN_BACKBONE: BACKBONE}
_BAND_GAP = 1.0  # empty slots between bands
_BACKBONE_ROW = -2.3  # y of the backbone strip (tier rows start at 0; band titles sit between)


@dataclass(frozen=True)
class Band:
    key: str
    x0: float
    x1: float
    y0: float
    y1: float
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    positions: dict[str, tuple[float, float]]
    band_of: dict[str, str]
    bands: tuple[Band, ...]
    width: float  # extent in slots, for sizing the figure
    height: float
    top: float  # smallest y used (the backbone strip is above row 0)

    def band(self, key: str) -> Band | None:
        return next((b for b in self.bands if b.key == key), None)


@functools.lru_cache(maxsize=1 << 16)  # a map sorts the same names many times over
def natural_key(name: str) -> tuple[object, ...]:
    """pc2 before pc10: digits compare as numbers."""
    return tuple(int(part) if part.isascii() and part.isdigit() else part for part in re.split(r"([0-9]+)", name))


def band_of(topology: Topology, name: str) -> str:
    """The band a device is drawn in: by what it is. Only sanitizers sit on the LGWAN–Internet
    boundary; any other device with legs in both (a rogue dual-homed server) is drawn in its
    innermost segment and marked as dual-homed by the drawings."""
    segments = topology.segments_of(name)
    if (Segment.LGWAN in segments and Segment.INTERNET in segments
            and topology.nodes[name].kind is NodeKind.SANITIZER):
        return "boundary"
    internal = sorted((_INTERNAL_RANK[s] for s in segments if s in _INTERNAL_RANK))
    if internal:
        # A firewall between My Number and LGWAN stays in My Number: the innermost segment owns it.
        return BAND_ORDER[internal[0]]
    for segment in (Segment.SECURITY_CLOUD, Segment.EXTERNAL_INTERNET, Segment.LGWAN_BACKBONE):
        if segment in segments:
            return _EXTERNAL_BAND[segment]
    return UNZONED


def dual_homed(topology: Topology, name: str) -> bool:
    """A device with legs in two segments that is no firewall, gateway, sanitizer or router: the
    drawings mark it wherever it stands."""
    node = topology.nodes[name]
    return (len(topology.segments_of(name)) >= 2 and not node.forwarding
            and node.kind not in (NodeKind.FIREWALL, NodeKind.GATEWAY, NodeKind.SANITIZER, NodeKind.EXTERNAL))


def _forwarding(topology: Topology, name: str) -> bool:
    node = topology.nodes[name]
    return node.forwarding and node.kind is not NodeKind.EXTERNAL


def _zone_key(topology: Topology, name: str) -> str:
    zones = sorted(i.zone for i in topology.nodes[name].interfaces)
    return zones[0] if zones else ""


def compute_layout(topology: Topology, graph: nx.MultiGraph, max_rows: int | None = None) -> Layout:
    """Positions for every node of ``graph`` (the network's device graph: down nodes are absent)."""
    names = sorted(graph.nodes, key=natural_key)
    where = {n: band_of(topology, n) for n in names}
    neighbours = {n: sorted(set(graph.neighbors(n)) - {n}, key=natural_key) for n in names}
    members: dict[str, list[str]] = {}
    for n in names:
        members.setdefault(where[n], []).append(n)

    # Tiers of the grid bands: hop distance from the band's border nodes, endpoints in a grid below.
    band_rows: dict[str, list[list[str]]] = {}
    band_cols: dict[str, int] = {}
    for key in BAND_ORDER:
        nodes = members.get(key, [])
        if not nodes or key in _STACKED:
            continue
        band_rows[key], band_cols[key] = _grid_band(topology, key, nodes, where, neighbours)

    tallest = max([len(rows) for rows in band_rows.values()] + [1])
    stack_rows = max(max_rows or 0, tallest, 6)

    positions: dict[str, tuple[float, float]] = {}
    bands: list[Band] = []
    x = 0.0
    for key in BAND_ORDER:
        nodes = members.get(key, [])
        if not nodes:
            continue
        if key in _STACKED:
            ordered = sorted(nodes, key=lambda n: (_facing(n, key, where, neighbours), natural_key(n)))
            cols = math.ceil(len(ordered) / stack_rows)
            for i, n in enumerate(ordered):
                positions[n] = (x + i // stack_rows, float(i % stack_rows))
            rows_used = min(len(ordered), stack_rows)
        else:
            rows = band_rows[key]
            cols = band_cols[key]
            for r, row in enumerate(rows):
                offset = (cols - len(row)) / 2  # centre short rows under the band
                for i, n in enumerate(row):
                    positions[n] = (x + offset + i, float(r))
            rows_used = len(rows)
        bands.append(Band(key, x - 0.5, x + cols - 0.5, -0.6, max(rows_used, 1) - 0.4, tuple(nodes)))
        x += cols + _BAND_GAP

    backbone = sorted(members.get(BACKBONE, []), key=natural_key)
    top = -0.6
    if backbone:
        lgwan = next((b for b in bands if b.key == "lgwan"), None)
        if lgwan is not None:
            centre = (lgwan.x0 + lgwan.x1) / 2
        elif bands:
            centre = bands[0].x1 + _BAND_GAP / 2
        else:
            centre = 0.0
        start = centre - (len(backbone) - 1) / 2
        for i, n in enumerate(backbone):
            positions[n] = (start + i, _BACKBONE_ROW)
        x0 = min(start - 0.5, lgwan.x0 if lgwan else start - 0.5)
        x1 = max(start + len(backbone) - 0.5, lgwan.x1 if lgwan else start + len(backbone) - 0.5)
        bands.append(Band(BACKBONE, x0, x1, _BACKBONE_ROW - 0.6, _BACKBONE_ROW + 0.6, tuple(backbone)))
        top = _BACKBONE_ROW - 0.6
    # Every band column spans the full height, so the segments read as regions.
    bottom = max([b.y1 for b in bands] + [0.6])
    bands = [b if b.key == BACKBONE else Band(b.key, b.x0, b.x1, b.y0, bottom, b.nodes) for b in bands]
    width = max([b.x1 for b in bands] + [0.5]) - min([b.x0 for b in bands] + [-0.5])
    return Layout(positions, where, tuple(bands), width, bottom - top, top)


def _facing(name: str, key: str, where: dict[str, str], neighbours: dict[str, list[str]]) -> float:
    """Mean band index of the node's neighbours in other bands: who it faces, for left/right order."""
    foreign = [BAND_ORDER.index(where[m]) if where[m] in BAND_ORDER else 1.0 for m in neighbours[name]
               if where[m] != key]
    return sum(foreign) / len(foreign) if foreign else float(BAND_ORDER.index(key)) if key in BAND_ORDER else 0.0


def _grid_band(topology: Topology, key: str, nodes: list[str], where: dict[str, str],
               neighbours: dict[str, list[str]]) -> tuple[list[list[str]], int]:
    inside = set(nodes)
    # Tiers hang from the band's forwarding devices that reach other bands. Endpoints sharing a LAN
    # with a foreign node do not count: they go to the grid, or every server on that LAN would.
    devices = [n for n in nodes if _forwarding(topology, n)] or nodes
    border = [n for n in devices if any(where[m] != key for m in neighbours[n])] or devices
    depth: dict[str, int] = {n: 0 for n in border}
    frontier = list(border)
    while frontier:  # breadth-first over links inside the band
        nxt = []
        for n in frontier:
            for m in neighbours[n]:
                if m in inside and m not in depth:
                    depth[m] = depth[n] + 1
                    nxt.append(m)
        frontier = sorted(nxt, key=natural_key)
    unreached = max(depth.values(), default=-1) + 1
    tiers: dict[int, list[str]] = {}
    leaves: list[str] = []
    for n in nodes:
        d = depth.get(n, unreached)
        if (d == 0 and n in border) or _forwarding(topology, n):
            tiers.setdefault(d, []).append(n)
        else:
            leaves.append(n)

    rows: list[list[str]] = []
    column: dict[str, float] = {}

    def barycentre(n: str) -> float:
        placed = [column[m] for m in neighbours[n] if m in column]
        return sum(placed) / len(placed) if placed else math.inf

    for d in sorted(tiers):
        tier = tiers[d]
        if not rows:
            tier.sort(key=lambda n: (_facing(n, key, where, neighbours), natural_key(n)))
        else:
            tier.sort(key=lambda n: (barycentre(n), natural_key(n)))
        rows.append(tier)
        for i, n in enumerate(tier):
            column[n] = i - (len(tier) - 1) / 2

    cols = max([len(r) for r in rows] + [1])
    if leaves:
        # Small bands wide rather than tall; big ones taller, so five bands side by side stay near 2:1.
        factor = 1.3 if len(leaves) <= 30 else 0.5
        cols = max(cols, min(len(leaves), math.ceil(math.sqrt(len(leaves) * factor))))
        leaves.sort(key=lambda n: (_zone_key(topology, n), barycentre(n), natural_key(n)))
        for start in range(0, len(leaves), cols):
            rows.append(leaves[start:start + cols])
    return rows, cols


def lan_groups(topology: Topology, graph: Container[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Each LAN (or link) as its member nodes that are present in ``graph`` (a device graph, or the
    positions of one map), sorted by name."""
    groups = []
    for lan in sorted(topology.lans, key=lambda l: l.name):
        present = tuple(sorted({n for n, _ in lan.endpoints if n in graph}, key=natural_key))
        if len(present) >= 2:
            groups.append((lan.name, present))
    return groups


def hub_of(topology: Topology, members: Iterable[str]) -> str | None:
    """The one forwarding member of a LAN, if exactly one: the LAN is then drawn as a star from it."""
    forwarding = [n for n in members if _forwarding(topology, n)]
    return forwarding[0] if len(forwarding) == 1 else None

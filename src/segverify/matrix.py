"""The zone × zone matrix: what crosses from each zone to each other, in service terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .findings import Report
from .headers import Bdd, HeaderSpace
from .model import NodeKind, Segment, Topology
from .network import Network
from .reach import Reachability


class Crossing(str, enum.Enum):
    NONE = "none"
    ALLOWED = "allowed"  # flows that no rule objects to (same segment, or a permitted service)
    SANITIZED = "sanitized"  # flows only to or from sanitizers
    EXCEPTION = "exception"  # flows that findings would report, all covered by exceptions
    VIOLATION = "violation"

    @property
    def symbol(self) -> str:
        return {"none": "·", "allowed": "ok", "sanitized": "S", "exception": "E", "violation": "X"}[self.value]


@dataclass(frozen=True)
class Cell:
    source: str
    destination: str
    crossing: Crossing
    services: tuple[str, ...]
    rules: tuple[str, ...]  # rule ids of the findings in this cell


@dataclass(frozen=True)
class Matrix:
    zones: tuple[str, ...]
    segments: dict[str, str]
    cells: dict[tuple[str, str], Cell]

    def to_dict(self) -> dict[str, object]:
        return {
            "zones": [{"name": z, "segment": self.segments[z]} for z in self.zones],
            "cells": [
                {"from": c.source, "to": c.destination, "crossing": c.crossing.value, "services": list(c.services),
                 "rules": list(c.rules)}
                for (a, b), c in sorted(self.cells.items()) if c.crossing is not Crossing.NONE
            ],
        }


def services_text(space: HeaderSpace, headers: Bdd, limit: int = 6) -> tuple[str, ...]:
    """Protocols and destination ports only: what kind of traffic, not who."""
    from .describe import describe_headers

    keep = space.bdd.exist(space.field_vars("src") + space.field_vars("dst") + space.field_vars("sport"),
                           space.without_origin_copies(space.without_origin_id(headers)))
    return tuple(line.replace(" from any to any", "") for line in describe_headers(space, keep, limit))


def zone_matrix(topology: Topology, network: Network, reach: Reachability, report: Report) -> Matrix:
    segment_order = list(Segment)
    zones = tuple(sorted(topology.zones, key=lambda z: (segment_order.index(topology.zones[z].segment), z)))
    members = {z: [n for n in reach.endpoints if any(i.zone == z for i in topology.nodes[n].interfaces)]
               for z in zones}
    by_pair: dict[tuple[str, str], list] = {}
    for finding in report.findings:
        subject = dict(finding.subject)
        if "from_zone" in subject:
            by_pair.setdefault((subject["from_zone"], subject["to_zone"]), []).append(finding)
    sanitizers = {n for n, node in topology.nodes.items() if node.kind is NodeKind.SANITIZER}
    cells = {}
    for a in zones:
        for b in zones:
            received = reach.received(members[a], members[b])
            found = by_pair.get((a, b), [])
            if received == network.space.false:
                crossing = Crossing.NONE
            elif any(not f.suppressed for f in found):
                crossing = Crossing.VIOLATION
            elif found:
                crossing = Crossing.EXCEPTION
            elif a != b and _only_sanitizers(reach, members[a], members[b], sanitizers, network):
                crossing = Crossing.SANITIZED
            else:
                crossing = Crossing.ALLOWED
            services = services_text(network.space, received) if crossing is not Crossing.NONE else ()
            cells[(a, b)] = Cell(a, b, crossing, services, tuple(sorted({f.rule for f in found})))
    return Matrix(zones, {z: topology.zones[z].segment.value for z in zones}, cells)


def _only_sanitizers(reach: Reachability, sources: list[str], destinations: list[str], sanitizers: set[str],
                     network: Network) -> bool:
    """Do all flows from sources to destinations start or end at a sanitizer?"""
    plain_src = [n for n in sources if n not in sanitizers]
    plain_dst = [n for n in destinations if n not in sanitizers]
    return reach.received(plain_src, plain_dst) == network.space.false and bool(
        set(sources) & sanitizers or set(destinations) & sanitizers)

"""The zone × zone matrix: what crosses from each zone to each other, in service terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .findings import Report
from .headers import Bdd, HeaderSpace
from .model import NodeKind, Segment, Topology
from .network import Network
from .progress import current
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
    members: dict[str, list[str]] = {z: [] for z in zones}
    for n in reach.endpoints:  # each endpoint once, in every zone it has an interface in
        for z in dict.fromkeys(i.zone for i in topology.nodes[n].interfaces):
            if z in members:
                members[z].append(n)
    by_pair: dict[tuple[str, str], list] = {}
    for finding in report.findings:
        subject = dict(finding.subject)
        if "from_zone" in subject:
            by_pair.setdefault((subject["from_zone"], subject["to_zone"]), []).append(finding)
    sanitizers = {n for n, node in topology.nodes.items() if node.kind is NodeKind.SANITIZER}
    has_sanitizer = {z: any(n in sanitizers for n in members[z]) for z in zones}
    space = network.space
    false = space.false
    # One union per receiving zone, then a cheap test on the origin ids alone: most of the
    # zones² pairs carry nothing, and only the others need the full conjunction.
    origins = {a: network.sources_in(members[a]) for a in zones}
    plain_origins = {a: network.sources_in(n for n in members[a] if n not in sanitizers) for a in zones}
    cells = {}
    progress = current()
    for column, b in enumerate(zones, 1):
        progress.tick("zone matrix columns", column, len(zones))
        got = _union(reach, members[b], false)
        senders = space.origins_of(got)
        plain_got: Bdd | None = None
        for a in zones:
            found = by_pair.get((a, b), [])
            received = got & origins[a] if senders & origins[a] != false else false
            if received == false:
                crossing = Crossing.NONE
            elif any(not f.suppressed for f in found):
                crossing = Crossing.VIOLATION
            elif found:
                crossing = Crossing.EXCEPTION
            elif a != b and (has_sanitizer[a] or has_sanitizer[b]):
                # Sanitized only: all flows start or end at a sanitizer.
                if plain_got is None:
                    plain_got = _union(reach, [n for n in members[b] if n not in sanitizers], false)
                crossing = Crossing.SANITIZED if plain_got & plain_origins[a] == false else Crossing.ALLOWED
            else:
                crossing = Crossing.ALLOWED
            services = services_text(space, received) if crossing is not Crossing.NONE else ()
            cells[(a, b)] = Cell(a, b, crossing, services, tuple(sorted({f.rule for f in found})) if found else ())
    rows = {(a, b): cells[(a, b)] for a in zones for b in zones}  # row by row, as read
    return Matrix(zones, {z: topology.zones[z].segment.value for z in zones}, rows)


def _union(reach: Reachability, destinations: list[str], false: Bdd) -> Bdd:
    """Everything (live, with origin ids) that ``destinations`` received."""
    result = false
    for dst in destinations:
        got = reach.delivered.get(dst)
        if got is not None:
            result |= got
    return result

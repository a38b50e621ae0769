"""The zone × zone matrix: what crosses from each zone to each other, in service terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable

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
    return _services(space, space.bdd.exist(_not_services(space), headers), limit)


def _not_services(space: HeaderSpace) -> list[str]:
    """The variables the services leave out: who sent (the origin id and the headers as sent), from
    and to which address, from which port."""
    return (space.origin_id_vars() + space.origin_copy_vars() + space.field_vars("src") + space.field_vars("dst")
            + space.field_vars("sport"))


def _services(space: HeaderSpace, kept: Bdd, limit: int = 6) -> tuple[str, ...]:
    """:func:`services_text` of headers already seen through their services alone."""
    from .describe import describe_headers

    return tuple(line.replace(" from any to any", "") for line in describe_headers(space, kept, limit))


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
    # Most of the zones² pairs carry nothing. What a zone received is tested first on the origin
    # ids alone (the senders the rules already asked the propagation for, a small predicate), a
    # group of source zones at a time; only a pair that carries something takes the conjunction
    # of everything the zone received, for its services. Testing on the senders is exact: the
    # senders are what was received with every other header bit quantified away.
    origins = {a: network.sources_in(members[a]) for a in zones}
    plain_origins = {a: network.sources_in(n for n in members[a] if n not in sanitizers) for a in zones}
    groups = [zones[i:i + _GROUP] for i in range(0, len(zones), _GROUP)]
    group_origins = [_any((origins[a] for a in group), false) for group in groups]
    blind = _not_services(space)
    carried: dict[tuple[str, str], Cell] = {}
    progress = current()
    for column, b in enumerate(zones, 1):
        progress.tick("zone matrix columns", column, len(zones))
        senders = _any((reach.senders(n) for n in members[b]), false)
        if senders == false:
            continue
        plain_senders: Bdd | None = None
        for group, group_origin in zip(groups, group_origins):
            if senders & group_origin == false:
                continue
            for a in group:
                if senders & origins[a] == false:
                    continue
                found = by_pair.get((a, b), [])
                if any(not f.suppressed for f in found):
                    crossing = Crossing.VIOLATION
                elif found:
                    crossing = Crossing.EXCEPTION
                elif a != b and (has_sanitizer[a] or has_sanitizer[b]):
                    # Sanitized only: all flows start or end at a sanitizer.
                    if plain_senders is None:
                        plain_senders = _any((reach.senders(n) for n in members[b] if n not in sanitizers), false)
                    crossing = Crossing.SANITIZED if plain_senders & plain_origins[a] == false else Crossing.ALLOWED
                else:
                    crossing = Crossing.ALLOWED
                services = _services(space, _received_services(reach, members[b], origins[a], blind, false))
                carried[(a, b)] = Cell(a, b, crossing, services, tuple(sorted({f.rule for f in found})) if found else ())
    rows = {}  # row by row, as read
    for a in zones:
        for b in zones:
            cell = carried.get((a, b))
            if cell is None:
                quiet = by_pair.get((a, b))  # a pair without flows still names its findings
                cell = Cell(a, b, Crossing.NONE, (), tuple(sorted({f.rule for f in quiet})) if quiet else ())
            rows[(a, b)] = cell
    return Matrix(zones, {z: topology.zones[z].segment.value for z in zones}, rows)


_GROUP = 16  # source zones tested together before one by one


def _any(predicates: Iterable[Bdd], false: Bdd) -> Bdd:
    """The union of small predicates (origin ids)."""
    result = false
    for p in predicates:
        result |= p
    return result


def _received_services(reach: Reachability, destinations: list[str], origins: Bdd, blind: list[str],
                       false: Bdd) -> Bdd:
    """What ``destinations`` received from the sources ``origins`` names, seen through its services
    alone (``blind``: the other variables): each destination's share is quantified as it is taken
    (one CUDD pass, no conjunction built), and the union is of those small sets. The same set as
    :func:`services_text` of the union: the quantifier distributes over the union."""
    space = reach.space
    result = false
    for dst in destinations:
        if reach.senders(dst) & origins != false:
            result |= space.and_exist(reach.delivered[dst], origins, blind)
    return result

"""What every rule needs: the compiled network, the engine's answers, and flow findings with witnesses."""

from __future__ import annotations

import bisect
import datetime as _dt
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Iterable

from ..findings import Finding, fingerprint_of
from ..headers import Bdd, HeaderSet
from ..model import Segment, Topology
from ..network import Network
from ..reach import Reachability
from ..query import find_witness
from ..i18n import m
from .catalogue import CATALOGUE
from .culprit import culprit
from .exceptions import Register
from .flows import FlowCheck

MYNUMBER = frozenset({Segment.MYNUMBER})
LGWAN_SIDE = frozenset({Segment.LGWAN, Segment.LGWAN_BACKBONE})
INTERNET_SIDE = frozenset({Segment.INTERNET, Segment.SECURITY_CLOUD, Segment.EXTERNAL_INTERNET})


@dataclass
class Context:
    topology: Topology
    network: Network
    register: Register
    today: _dt.date
    # A what-if scenario asks only for what its failure opens: given the fingerprints of the
    # findings the network has as built, flow findings with one of them, and suppressed ones, are
    # left out before their witness and description are computed. None (a verification): all.
    only_new: frozenset[str] | None = None
    # Another version of the network compiled into the same header space, already checked (diff):
    # each propagation starts from that version's answer to the same question (Reachability.previous).
    previous: Context | None = None
    # Whether a question ``previous`` was not asked is answered there first (whatif: the network as
    # built, whose answers every scenario starts from); a diff asks only what the old version has.
    ask_previous: bool = False
    _reach: dict[tuple[frozenset[str], frozenset[str] | None], Reachability] = field(default_factory=dict)
    _endpoints_in: dict[frozenset[Segment], list[str]] = field(default_factory=dict)
    _zone_in: dict[frozenset[Segment], dict[str, str]] = field(default_factory=dict)
    _addresses: list[tuple[int, str]] | None = None  # every node address, sorted, with its node

    def reach(self, blocked: Iterable[str] = (), sources: Iterable[str] | None = None) -> Reachability:
        """The engine's answer with ``blocked`` nodes taken out, from ``sources`` (default: all)."""
        key = (frozenset(blocked), None if sources is None else frozenset(sources))
        if key not in self._reach:
            before = None
            if self.previous is not None:
                before = self.previous.reach(*key) if self.ask_previous else self.previous._reach.get(key)
            self._reach[key] = Reachability(self.network, blocked=key[0], sources=key[1], previous=before)
        return self._reach[key]

    def endpoints_in(self, segments: Iterable[Segment], exclude: Iterable[str] = ()) -> list[str]:
        wanted = frozenset(segments)
        inside = self._endpoints_in.get(wanted)
        if inside is None:
            inside = self._endpoints_in[wanted] = [n for n in self.network.endpoints
                                                   if self.topology.segments_of(n) & wanted]
        skip = set(exclude)
        return [n for n in inside if n not in skip]

    def owners_within(self, net: IPv4Network) -> list[str]:
        """The nodes with an address in ``net`` (once per address they have there)."""
        if self._addresses is None:
            self._addresses = sorted((int(a), n.name) for n in self.topology.nodes.values() for a in n.addresses)
        low = bisect.bisect_left(self._addresses, (int(net.network_address), ""))
        high = bisect.bisect_right(self._addresses, (int(net.broadcast_address), "\U0010ffff"))
        return [name for _, name in self._addresses[low:high]]

    def zones_in(self, segments: Iterable[Segment]) -> dict[str, str]:
        """Each node's first zone (in declaration order) among ``segments``, its first zone otherwise:
        one table, read once per source and destination of every check (at 10,000 devices over a
        million times)."""
        wanted = frozenset(segments)
        table = self._zone_in.get(wanted)
        if table is None:
            zones = self.topology.zones
            table = self._zone_in[wanted] = {}
            for name, node in self.topology.nodes.items():
                ifaces = node.interfaces
                table[name] = next((i.zone for i in ifaces if zones[i.zone].segment in wanted),
                                   ifaces[0].zone if ifaces else "-")
        return table

    def flow_findings(self, check: FlowCheck) -> list[Finding]:
        """One finding per (source zone, destination zone) with flows the check forbids.

        What the check declares allowed (headers as sent: services, allow-lists) is subtracted
        first, then the valid exceptions of its rule; pairs the check excludes are dropped per
        destination. :meth:`FlowCheck.violated_by` is the same question for one packet."""
        # Waypoint questions need a propagation of their own: only from the sources they ask about.
        blocked = check.blocked
        sources, destinations = list(check.sources), list(check.destinations)
        reach = self.reach(blocked, (check.propagate_from or sources) if blocked else None)
        net, s = self.network, self.network.space
        by_zone: dict[str, list[str]] = {}
        source_zone = self.zones_in(check.source_segments)
        for src in sources:
            by_zone.setdefault(source_zone[src], []).append(src)
        zone_origins = {z: net.sources_in(members) for z, members in by_zone.items()}
        # One union per destination zone, then one conjunction per source zone; per destination, the
        # pairs ``exclude`` names and the destination's own flows to itself are filtered out.
        received: dict[str, Bdd] = {}
        # Restrict to the asked-for sources before taking unions: a destination's delivered set
        # carries every source's flows, and for one sanitizer or proxy that is almost all noise.
        from_sources = net.sources_in(sources)
        source_set = frozenset(sources)
        destination_zone = self.zones_in(check.destination_segments)
        zone_of = {dst: destination_zone[dst] for dst in destinations}
        for dst in destinations:
            got = reach.delivered.get(dst)
            if got is None or reach.senders(dst) & from_sources == s.false:
                continue
            got = got & from_sources
            if got == s.false:
                continue
            dropped = [m for m in sources if check.exclude(m, dst)] if check.exclude is not None else []
            if dst in source_set:  # a node's flows to itself (NAT can hairpin them back) cross nothing
                dropped.append(dst)
            if dropped:
                got = got & ~net.sources_in(dropped)
            dzone = zone_of[dst]
            received[dzone] = received.get(dzone, s.false) | got
        pairs: dict[tuple[str, str], Bdd] = {}
        for dzone, got in received.items():
            # Which source zones sent anything here is read off the origin ids alone, a small set;
            # the whole conjunction is taken only for those (most zone pairs carry nothing).
            senders = s.origins_of(got)
            for zone in sorted(by_zone):
                if senders & zone_origins[zone] == s.false:
                    continue
                part = got & zone_origins[zone]
                if part != s.false:
                    pairs[(zone, dzone)] = part
        findings = []
        info = CATALOGUE[check.rule]
        for (szone, dzone), live in sorted(pairs.items()):
            undeclared = check.undeclared(s.flows_as_sent(live))
            if undeclared == s.false:
                continue
            remainder, relaxed = self.register.relax(check.rule, undeclared)
            suppressed = remainder == s.false
            subject = check.subject + (("from_zone", szone), ("to_zone", dzone))
            if self.only_new is not None and (suppressed or fingerprint_of(check.rule, subject) in self.only_new):
                continue
            shown = undeclared if suppressed else remainder
            zone_dsts = [d for d in destinations if zone_of[d] == dzone]
            packet, path = find_witness(net, reach, by_zone[szone], zone_dsts, shown)
            fallback = self.topology.nodes[zone_dsts[0]].span if zone_dsts else self.topology.span
            cause = culprit(self.topology, path, szone, check.protected, fallback, waypoint=bool(blocked))
            findings.append(Finding(
                rule=check.rule, severity=check.severity,
                title=m("flow.title", src=szone, dst=dzone,
                        what=check.title if suppressed or not check.uncovered
                        else m("flow.with", what=check.title, more=check.uncovered)),
                message=check.message or info.summary,
                location=cause.location,
                subject=subject,
                headers=tuple(HeaderSet(s, shown).describe()), witness=packet, path=path, related=cause.related,
                suppressed_by=relaxed if suppressed else (), relaxed_by=() if suppressed else relaxed,
                cause=cause.what,
            ))
        return findings

    def all_flow_findings(self, checks: Iterable[FlowCheck]) -> list[Finding]:
        return [f for check in checks for f in self.flow_findings(check)]

"""Where to fix a flow finding: the line (or device) that opens the boundary the rule protects.

A witness path passes many permits; most of them are right (an office switch routing to its
firewall, the security cloud's generic permit toward the Internet). The one to change is where the
packet first crosses from the source's segment into a zone of the side the rule forbids:

* at a device in the middle of the path (its outgoing interface, or the far end of the link it sends
  on, is on the forbidden side): the route leak that moved the lookup into the VRF it leaves by (it
  joins two routing contexts), else its explicit permit there (the policy line, then the outgoing
  ACL, then the incoming one; a line before a default action), else its static route, else the
  device itself (it forwards between the two sides: ``ip_forward``, a stray VLAN);
* at the source itself: the source sends straight into the forbidden side, so it is dual-homed —
  the node's declaration is the place, unless its own ACL permits it;
* nowhere (the packet stays on the source's side): the destination itself has a leg in the
  forbidden side (dual-homed), else the last permit toward the destination (for a sanitizer's own
  side: the line that lets the undeclared service reach it), else the last static route.

Every other permit and route of the path becomes a related location.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Span
from ..i18n import m
from ..model import Segment, Topology
from ..trace import AclDecision, Hop, Path


@dataclass(frozen=True)
class Cause:
    location: Span  # the place to change
    what: str  # the culprit in words: "fw-lg ACL lg-outbound line 3", "node lg-file"
    related: tuple[Span, ...] = ()  # the other permits and routes of the path


def _acl_text(d: AclDecision) -> str:
    if d.rule_index is not None:
        return m("cause.acl_line", node=d.node, acl=d.acl, n=d.rule_index)
    return m("cause.acl_default", node=d.node, acl=d.acl)


def _route_text(hop: Hop) -> str:
    return m("cause.route", node=hop.node, prefix=str(hop.route.prefix)) if hop.route else hop.node


def _node_cause(topology: Topology, name: str) -> Cause:
    return Cause(topology.nodes[name].span, m("cause.node", node=name))


def _at_hop(topology: Topology, hop: Hop, transit: bool, waypoint: bool) -> Cause:
    # The interface-pair policy decides on the crossing itself, so its line comes first.
    permits = [d for d in (hop.policy, hop.acl_out, hop.acl_in) if d is not None and d.action.value == "permit"]
    permits.sort(key=lambda d: d.rule_index is None)  # an explicit line before a default action
    route = (Cause(hop.route_span, _route_text(hop))
             if transit and hop.route_span is not None and hop.route is not None else None)
    if waypoint and route is not None:  # around a waypoint: the route that takes the detour
        return route
    if hop.leak_spans:  # the leak into the VRF of the way out joined the two routing contexts
        return Cause(hop.leak_spans[-1], f"{hop.node} route leak into VRF {hop.vrfs[-1]}")
    if permits:
        return Cause(permits[0].span, _acl_text(permits[0]))
    return route or _node_cause(topology, hop.node)


def _segment(topology: Topology, node_name: str, iface: str | None) -> Segment | None:
    node = topology.nodes.get(node_name)
    if node is None or iface is None:
        return None
    try:
        return topology.zones[node.interface(iface).zone].segment
    except KeyError:
        return None


def _enters(topology: Topology, path: Path, i: int, boundary: frozenset[Segment]) -> bool:
    """Whether hop ``i`` sends the packet into ``boundary``: by its outgoing interface, or over a
    link whose far end (the next hop's incoming interface) lies there (an interconnect between zones)."""
    hop = path.hops[i]
    if _segment(topology, hop.node, hop.out_iface) in boundary:
        return True
    nxt = path.hops[i + 1] if i + 1 < len(path.hops) else None
    return nxt is not None and _segment(topology, nxt.node, nxt.in_iface) in boundary


def culprit(topology: Topology, path: Path | None, source_zone: str, boundary: frozenset[Segment],
            fallback: Span, waypoint: bool = False) -> Cause:
    """The place to change for a finding whose witness is ``path`` from ``source_zone``, protecting
    entry into the segments ``boundary``. For a ``waypoint`` rule (the path went around the security
    cloud or the LGWAN access point) the crossing device's static route comes before its permit: the
    permit is usually right, the detour is not."""
    if path is None:
        return Cause(fallback, "")
    permits = [d for h in path.hops for d in h.decisions() if d.action.value == "permit"]
    routes = [(h, h.route_span) for h in path.hops if h.route_span is not None]
    leaks = [span for h in path.hops for span in h.leak_spans]
    cause = _find(topology, path, source_zone, boundary, permits, routes, fallback, waypoint)
    related = tuple(s for s in dict.fromkeys([d.span for d in permits] + [s for _, s in routes] + leaks)
                    if s != cause.location)
    return Cause(cause.location, cause.what, related)


def _find(topology: Topology, path: Path, source_zone: str, boundary: frozenset[Segment],
          permits: list[AclDecision], routes: list[tuple[Hop, Span]], fallback: Span, waypoint: bool) -> Cause:
    zone = topology.zones.get(source_zone)
    inside = zone is not None and zone.segment in boundary  # the source already sits on that side
    if not inside:
        for i, hop in enumerate(path.hops):
            if hop.node in topology.nodes and _enters(topology, path, i, boundary):
                return _at_hop(topology, hop, transit=i > 0, waypoint=waypoint)
        last = path.final_node
        if last is not None and last in topology.nodes and topology.segments_of(last) & boundary:
            return _node_cause(topology, last)  # delivered on this side to a node with a leg over there
    if permits:
        return Cause(permits[-1].span, _acl_text(permits[-1]))
    if routes:
        hop, span = routes[-1]
        return Cause(span, _route_text(hop))
    last = path.final_node
    if last is not None and last in topology.nodes:
        return _node_cause(topology, last)
    return Cause(fallback, "")

"""Model-completeness warnings (HYG002–HYG008): gaps in the topology that could hide a path.

A verifier proves only what the model says. An interface on no link, a next hop nobody owns, an ACL
bound to nothing: each is usually a line the author forgot, and the verdict would silently hold only
for the modelled part. Like Batfish's initialisation issues these are reported, never dropped; with
``--strict`` they are errors. The checks read the topology as written (not the failure scenario a
``whatif`` plays), so they are the same in every scenario.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Callable

import networkx as nx

from ..errors import Span
from ..findings import Finding, Severity
from ..i18n import Message, m, text
from ..model import Interface, Node, NodeKind, Route, Topology
from .context import Context

# The rules whose findings the verdict counts as gaps (message ids gap.RULE_1, gap.RULE_n).
GAP_RULES = ("HYG002", "HYG003", "HYG004", "HYG005", "HYG006", "HYG007", "HYG008")


def _linked(topology: Topology) -> dict[tuple[str, str], str]:
    """(node, interface) -> the link or LAN it sits on."""
    return {member: lan.name for lan in topology.lans for member in lan.endpoints}


def _owners(topology: Topology) -> dict[IPv4Address, tuple[str, str]]:
    # Every address an interface answers for: a next hop may be a secondary or a VRRP address.
    return {ip: (node.name, i.name) for node in topology.nodes.values() for i in node.interfaces for ip in i.ips}


def _dead(topology: Topology, linked: dict[tuple[str, str], str]) -> set[str]:
    """Nodes none of whose interfaces is on a link (HYG008 reports them once, not per interface)."""
    return {n.name for n in topology.nodes.values()
            if not any((n.name, i.name) in linked for i in n.interfaces)}


def _warning(rule: str, title: Message, message: Message, span: Span, subject: tuple[tuple[str, str], ...]) -> Finding:
    return Finding(rule, Severity.WARNING, title, message, span, subject=subject)


def hyg002(ctx: Context) -> list[Finding]:
    topo = ctx.topology
    linked = _linked(topo)
    dead = _dead(topo, linked)
    return [
        _warning("HYG002", m("HYG002.title", ref=i.ref, address=str(i.address)), m("HYG002.message"), i.span, (("node", node.name), ("interface", i.name)))
        for node in topo.nodes.values() if node.name not in dead
        for i in node.interfaces if i.address is not None and (node.name, i.name) not in linked
    ]


def _next_hops(node: Node) -> list[tuple[Route, Interface, IPv4Network]]:
    """Each route with a next hop, with the node's interface and subnet (primary or secondary)
    the next hop lies on."""
    result = []
    for route in node.routes:
        if route.via is None:
            continue
        hop_vrf = route.next_vrf if route.next_vrf is not None else route.vrf
        hop = next(((iface, a.network) for iface in node.interfaces if iface.vrf == hop_vrf
                    for a in iface.all_addresses if route.via in a.network), None)
        if hop is not None:
            result.append((route, *hop))
    return result


def _route_subject(node: Node, route: Route) -> tuple[tuple[str, str], ...]:
    return (("node", node.name), ("route", str(route.prefix)), ("via", str(route.via)))


def hyg003(ctx: Context) -> list[Finding]:
    topo = ctx.topology
    owners = _owners(topo)
    findings = []
    for node in topo.nodes.values():
        for route, _iface, subnet in _next_hops(node):
            if route.via not in owners:
                findings.append(_warning(
                    "HYG003", m("HYG003.title", node=node.name, via=str(route.via), prefix=str(route.prefix)),
                    m("HYG003.message", network=str(subnet), via=str(route.via)),
                    route.span, _route_subject(node, route)))
    return findings


def hyg004(ctx: Context) -> list[Finding]:
    topo = ctx.topology
    owners = _owners(topo)
    linked = _linked(topo)
    dead = _dead(topo, linked)
    findings = []
    for node in topo.nodes.values():
        if node.name in dead:
            continue  # HYG008 says it once for the whole node
        for route, iface, _subnet in _next_hops(node):
            owner = owners.get(route.via)  # type: ignore[arg-type]
            if owner is None or owner == (node.name, iface.name):
                continue  # HYG003's case; a route via one's own address is the loader's business
            mine, theirs = linked.get((node.name, iface.name)), linked.get(owner)
            if mine is not None and mine == theirs:
                continue
            if mine is None:
                why = m("HYG004.mine", iface=iface.ref)
            elif theirs is None:
                why = m("HYG004.theirs", owner=f"{owner[0]}:{owner[1]}")
            else:
                why = m("HYG004.elsewhere", owner=f"{owner[0]}:{owner[1]}", theirs=theirs, mine=mine)
            findings.append(_warning(
                "HYG004", m("HYG004.title", node=node.name, via=str(route.via), prefix=str(route.prefix)),
                m("HYG004.message", why=why), route.span, _route_subject(node, route)))
    return findings


def hyg005(ctx: Context) -> list[Finding]:
    topo = ctx.topology
    used = {i.zone for n in topo.nodes.values() for i in n.interfaces}
    return [_warning("HYG005", m("HYG005.title", zone=z.name), m("HYG005.message"), z.span, (("zone", z.name),))
            for z in topo.zones.values() if z.name not in used]


def hyg006(ctx: Context) -> list[Finding]:
    findings = []
    for node in ctx.topology.nodes.values():
        bound = {a for i in node.interfaces for a in (i.acl_in, i.acl_out) if a is not None}
        for name, acl in node.acls.items():
            if name not in bound:
                findings.append(_warning(
                    "HYG006", m("HYG006.title", node=node.name, acl=name), m("HYG006.message"),
                    acl.span, (("node", node.name), ("acl", name))))
    return findings


def hyg007(ctx: Context) -> list[Finding]:
    """External nodes cut off from every node of the network itself (through links and LANs)."""
    topo = ctx.topology
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(topo.nodes)
    for lan in topo.lans:
        names = sorted({n for n, _ in lan.endpoints})
        graph.add_edges_from((names[0], other) for other in names[1:])
    dead = _dead(topo, _linked(topo))
    findings = []
    for node in topo.nodes.values():
        if node.kind is not NodeKind.EXTERNAL or node.name in dead:
            continue
        if any(topo.nodes[n].kind is not NodeKind.EXTERNAL for n in nx.node_connected_component(graph, node.name)):
            continue
        findings.append(_warning("HYG007", m("HYG007.title", node=node.name), m("HYG007.message"),
                                 node.span, (("node", node.name),)))
    return findings


def hyg008(ctx: Context) -> list[Finding]:
    topo = ctx.topology
    linked = _linked(topo)
    return [_warning("HYG008", m("HYG008.title", node=name), m("HYG008.message"), topo.nodes[name].span,
                     (("node", name),))
            for name in sorted(_dead(topo, linked))]


COMPLETENESS_CHECKS: dict[str, Callable[[Context], list[Finding]]] = {
    "HYG002": hyg002, "HYG003": hyg003, "HYG004": hyg004, "HYG005": hyg005,
    "HYG006": hyg006, "HYG007": hyg007, "HYG008": hyg008,
}


def gap_summary(findings: list[Finding], lang: str = "en") -> str:
    """``2 interfaces are on no link, 1 next hop is unreachable`` for the completeness findings given."""
    counts: dict[str, int] = {}
    for f in findings:
        if f.rule in GAP_RULES:
            counts[f.rule] = counts.get(f.rule, 0) + 1
    return text(lang, "list.sep").join(text(lang, f"gap.{rule}_1") if n == 1 else text(lang, f"gap.{rule}_n", n=n)
                                       for rule, n in sorted(counts.items()))

"""A brute-force packet oracle: one concrete packet forwarded hop by hop in plain Python.

It is the independent witness against which the header-space engine is tested, so it shares no code
with it: only the validated model and the loader are imported, addresses are compared with the
standard ``ipaddress`` module, and every step of the per-node pipeline is written out literally:

    originate:             dst is the node itself: it never leaves; else straight to routing
    enter by interface i:  destination NAT, the first rule of i in file order: static (i is its
                           outside interface, dst == outside: dst := inside), destination
                           (its match holds the packet: dst := to, dport := port if given) or
                           twice (the same, and the packet leaves this node with the rule's
                           new source, whatever its egress; delivered here, it keeps its source)
                           -> acl_in of i (first match, else the ACL's default)
                           -> dst is the node itself: the local policy (lines without 'to',
                              then its default) decides; delivered, stop
                           -> an external node or a node that does not forward: dropped
    routing:               route lookup in the VRF of the ingress interface (the default one for
                           what a node sends itself): longest prefix; connected beats static of
                           equal length; equal routes are ECMP and all are taken; drop routes drop;
                           a leak route (next_vrf, no via) answers with the lookup in its VRF,
                           except for an address of that VRF's interfaces (it stays on the node)
                           or a VRF already looked in (a cycle: nothing); a route with next_vrf
                           and via leaves by the interface of that VRF whose subnet holds via
                           -> the node's policy: the first line whose 'from' holds the ingress
                              interface and whose 'to' holds the egress one decides, else its
                              default (sent by the node itself: the local lines without 'from')
                           -> acl_out of the egress interface
                           -> source NAT: a twice rule's new source if one matched on entry (and
                              nothing else), else the deciding policy line's snat if it has one, else the
                              rules of the egress interface (first match in order): static
                              (src == inside: src := outside) or source (src := each pool
                              address; a ported packet's sport := each port class of the pool)
                           -> layer 2 also hands a packet to a node answering ARP for a NAT
                              address on that interface's subnet (its public addresses there)
                           -> layer 2: the next hop's owner on the same LAN, or on a connected
                              route the owner of dst plus every external node on the LAN that
                              claims dst; nobody there: dropped.

Pools (a node whose ``pool`` is set: a declared DHCP range ``pool:NAME`` or the implicit ``lan:LAN``
for every other address of a LAN subnet) stand for the addresses of their range on their subnet
that nothing else takes: not the subnet's network or broadcast address (up to /30), no interface
address of a non-pool node, no NAT address, for an implicit pool no address of a declared pool of
its LAN, nothing an external node on its LAN represents. An implicit pool sends through any router
on its subnet (every forwarding member of its LAN with an address there: equal cost).

Spoofing: every node may send from any address of the subnet of each of its attached interfaces,
besides its own addresses (and, for an external node, what it claims).

Routing contexts: a node with VRFs has one table per VRF, each with the connected routes of its own
interfaces; "the node itself", for a packet entering by an interface, is then an address of an
interface of that interface's VRF.

"The node itself" is one of its interface addresses, for a pool an address it stands for, or for an
external node an address it claims:
its represents less every address a non-external node uses (interfaces, NAT), less what a more specific
represents of another external node takes, less every address a pool stands for. An external node
sends from its addresses and what it claims; without routes it sends everything to the single
neighbour of its uplink.

Addresses: an interface answers for its primary, secondary and virtual addresses; each primary and
secondary address gives a connected route. Address clauses: prefixes, or an address with a wildcard
mask (compare only the bits the mask clears), less the ``except`` terms. ICMP packets carry the type
in ``dport`` and the code in ``sport``; a service term with ports but no protocol reads a portless
packet's ports as 0.

Source NAT overload rewrites the source port to any of 1024-65535. Instead of branching on 64512
ports the oracle branches on one representative per class of ports that no ACL or NAT rule in the
topology tells apart, which is exact because rules only ever test ports against those ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Iterable

from segverify.model import (
    PORTED_PROTOCOLS,
    Action,
    Match,
    NatType,
    Node,
    NodeKind,
    Topology,
)

TCP, ICMP = 6, 1
EPHEMERAL_LOW, EPHEMERAL_HIGH = 1024, 65535


@dataclass(frozen=True)
class Pkt:
    """The oracle's own packet; any object with the same six attributes can be handed in."""

    src: IPv4Address
    dst: IPv4Address
    proto: int
    sport: int = 0
    dport: int = 0
    established: bool = False


@dataclass(frozen=True)
class _Route:
    prefix: IPv4Network
    via: IPv4Address | None
    drop: bool
    connected: bool
    egress: str | None  # None: a next hop that no interface of the node reaches
    distance: int = 0  # administrative distance: connected 0, static 1 unless given
    lookup_in: str | None = None  # a leak: look the destination up again in this VRF


def _all_nat(node: Node) -> list[Any]:
    """Interface NAT rules and the source NAT of policy lines."""
    lines = node.policy.lines if node.policy is not None else ()
    return list(node.nat) + [ln.snat for ln in lines if ln.snat is not None]


def _pool(rule: Any) -> list[IPv4Address]:
    last = rule.pool_last if rule.pool_last is not None else rule.translated
    return [IPv4Address(a) for a in range(int(rule.translated), int(last) + 1)]


def _public_addresses(rule: Any) -> list[IPv4Address]:
    """Addresses a NAT rule answers for: a pool, a static outside address, a DNAT rule's dst."""
    if rule.type in (NatType.DESTINATION, NatType.TWICE):
        return []  # its dst may be a large prefix: _Context.inside_nets holds it
    return _pool(rule)


def _iface_ips(iface: Any) -> list[IPv4Address]:
    nets = ([iface.address] if iface.address is not None else []) + list(iface.secondary)
    return [a.ip for a in nets] + list(iface.virtual)


def _iface_subnets(iface: Any) -> list[IPv4Network]:
    nets = ([iface.address] if iface.address is not None else []) + list(iface.secondary)
    return [a.network for a in nets]


def node_ips(node: Node) -> list[IPv4Address]:
    return [ip for iface in node.interfaces for ip in _iface_ips(iface)]


class _Context:
    """Per-topology lookup tables, built once."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.lan_of: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        for lan in topo.lans:
            for ep in lan.endpoints:
                self.lan_of[ep] = lan.endpoints
        self.owner: dict[IPv4Address, list[tuple[str, str]]] = {}
        for node in topo.nodes.values():
            for iface in node.interfaces:
                for ip in _iface_ips(iface):
                    self.owner.setdefault(ip, []).append((node.name, iface.name))
        self.inside = frozenset(
            addr for node in topo.nodes.values() if node.kind is not NodeKind.EXTERNAL
            for addr in (*node_ips(node), *(a for rule in _all_nat(node) for a in _public_addresses(rule)))
        )
        self.inside_nets = [net for node in topo.nodes.values() if node.kind is not NodeKind.EXTERNAL
                            for rule in node.nat if rule.type in (NatType.DESTINATION, NatType.TWICE)
                            for net in rule.match.dst or ()]
        self.pools = sorted(name for name, node in topo.nodes.items() if node.pool is not None)
        self.nat_public = frozenset(a for node in topo.nodes.values() if node.kind is not NodeKind.EXTERNAL
                                    for rule in _all_nat(node) for a in _public_addresses(rule))
        self.routes = {name: {vrf: self._routes(node, vrf) for vrf in _vrfs(node)} for name, node in topo.nodes.items()}
        self.sport_reps = self._sport_representatives()

    def _egress_for(self, node: Node, via: IPv4Address, vrf: str) -> str | None:
        # The interface of VRF ``vrf`` that shares a LAN with the owner of the next hop; failing
        # that, the one whose prefix holds it (the owner may be missing: layer 2 drops the packet).
        mine = [iface for iface in node.interfaces if iface.vrf == vrf]
        for iface in mine:
            for peer in self.lan_of.get((node.name, iface.name), ()):
                if peer != (node.name, iface.name) and peer in self.owner.get(via, []):
                    return iface.name
        for iface in mine:
            if any(via in net for net in _iface_subnets(iface)) and (node.name, iface.name) in self.lan_of:
                return iface.name
        return None

    def _implicit_default(self, node: Node) -> list[tuple[IPv4Network, IPv4Address | None, bool]]:
        # An external node without routes sends everything to the one addressed neighbour of its
        # first interface that has exactly one (its uplink); pools are hosts, never an uplink.
        for iface in node.interfaces:
            if iface.address is None:
                continue
            peers = [ep for ep in self.lan_of.get((node.name, iface.name), ())
                     if ep != (node.name, iface.name) and self.topo.nodes[ep[0]].pool is None]
            addresses = [self.topo.nodes[n].interface(i).address for n, i in peers]
            present = [a.ip for a in addresses if a is not None]
            if iface.address is not None and (node.name, iface.name) in self.lan_of and len(present) == 1:
                return [(IPv4Network("0.0.0.0/0"), present[0], False)]
        return []

    def _pool_gateways(self, node: Node) -> list[tuple[IPv4Network, IPv4Address | None, bool]]:
        # An implicit pool may use any router of its subnet as its gateway.
        assert node.pool is not None
        out = []
        for iface in node.interfaces:
            for peer_node, peer_iface in self.lan_of.get((node.name, iface.name), ()):
                peer = self.topo.nodes[peer_node]
                if peer.forwarding and peer.kind is not NodeKind.EXTERNAL:
                    piface = peer.interface(peer_iface)
                    for address in ([piface.address] if piface.address is not None else []) + list(piface.secondary):
                        if address.network == node.pool.subnet:
                            out.append((IPv4Network("0.0.0.0/0"), address.ip, False))
        return out

    def _routes(self, node: Node, vrf: str) -> list[_Route]:
        """The table of one VRF: its interfaces' connected routes and its own routes."""
        routes: list[_Route] = []
        # An interface on no link or LAN is down: no connected route, and no route can leave by it.
        for iface in node.interfaces:
            if iface.vrf == vrf and (node.name, iface.name) in self.lan_of:
                for net in dict.fromkeys(_iface_subnets(iface)):
                    routes.append(_Route(net, None, False, True, iface.name))
        # (prefix, via, drop, distance, the VRF the next hop is in, the VRF a leak looks up in)
        statics = [(r.prefix, r.via, r.drop, r.distance, r.next_vrf if r.via is not None and r.next_vrf else vrf,
                    r.next_vrf if r.via is None and not r.drop else None)
                   for r in node.routes if r.vrf == vrf]
        if node.pool is not None and node.pool.implicit:
            statics = [(*route, 1, vrf, None) for route in self._pool_gateways(node)]
        if node.kind is NodeKind.EXTERNAL and not statics:
            statics = [(*route, 1, vrf, None) for route in self._implicit_default(node)]
        for iface in node.interfaces:
            if iface.gateway is not None and iface.vrf == vrf:
                statics.append((IPv4Network("0.0.0.0/0"), iface.gateway, False, 1, vrf, None))
        seen: set[tuple[Any, ...]] = set()
        for prefix, via, drop, distance, hop_vrf, lookup_in in statics:
            if (prefix, via, drop, distance, hop_vrf, lookup_in) in seen:  # the loader may have added gateway routes
                continue
            seen.add((prefix, via, drop, distance, hop_vrf, lookup_in))
            if lookup_in is not None:
                routes.append(_Route(prefix, None, False, False, None, distance, lookup_in))
                continue
            egress = None if drop or via is None else self._egress_for(node, via, hop_vrf)
            if not drop and egress is None:
                continue  # its next hop is on no live interface: not a candidate
            routes.append(_Route(prefix, via, drop, False, egress, distance))
        return routes

    def _sport_representatives(self) -> dict[tuple[int, int], tuple[int, ...]]:
        """Per source-port pool: one port per class no rule of the topology tells apart."""
        cuts: set[int] = set()
        matches: list[Match] = []
        pools = {(EPHEMERAL_LOW, EPHEMERAL_HIGH)}
        for node in self.topo.nodes.values():
            for acl in node.acls.values():
                matches.extend(rule.match for rule in acl.rules)
            if node.policy is not None:
                matches.extend(ln.rule.match for ln in (*node.policy.lines, *node.policy.local))
            for rule in _all_nat(node):
                matches.append(rule.match)
                if rule.type is NatType.SOURCE and rule.ports is not None:
                    pools.add((rule.ports.low, rule.ports.high))
        for m in matches:
            for term in m.services or ():
                for r in term.sports or ():
                    cuts.update((r.low, r.high + 1))
        reps = {}
        for low, high in pools:
            points = sorted({low, high + 1} | {c for c in cuts if low <= c <= high + 1})
            reps[(low, high)] = tuple(points[:-1])
        return reps


_CONTEXTS: dict[int, tuple[Topology, _Context]] = {}


def _context(topo: Topology) -> _Context:
    hit = _CONTEXTS.get(id(topo))
    if hit is None or hit[0] is not topo:
        hit = (topo, _Context(topo))
        _CONTEXTS[id(topo)] = hit
    return hit[1]


# -- matching --------------------------------------------------------------------------------------


def _in_any(addr: IPv4Address, nets: Iterable[IPv4Network] | None) -> bool:
    return nets is None or any(addr in net for net in nets)


def _port_in(port: int, ranges: Iterable[Any] | None) -> bool:
    return ranges is None or any(r.low <= port <= r.high for r in ranges)


def _wild_in(addr: IPv4Address, w: Any) -> bool:
    return (int(addr) & (0xFFFFFFFF ^ w.mask)) == w.value


def _address_clause(addr: IPv4Address, nets: Any, wild: Any, excluded: Any) -> bool:
    included = nets is None or any(addr in net for net in nets) or any(_wild_in(addr, w) for w in wild)
    return included and not any(_wild_in(addr, w) for w in excluded)


def _term_matches(t: Any, p: Pkt) -> bool:
    if t.protocol is not None:
        return t.protocol == p.proto and _port_in(p.sport, t.sports) and _port_in(p.dport, t.dports)
    if p.proto in PORTED_PROTOCOLS:
        return _port_in(p.sport, t.sports) and _port_in(p.dport, t.dports)
    return _port_in(0, t.sports) and _port_in(0, t.dports)  # portless (ICMP too): ports read as 0


def matches(m: Match, p: Pkt) -> bool:
    """Does the header ``p`` satisfy the rule clause ``m``?"""
    if not (_address_clause(p.src, m.src, m.src_wild, m.src_except)
            and _address_clause(p.dst, m.dst, m.dst_wild, m.dst_except)):
        return False
    if m.services is not None:
        if not any(_term_matches(t, p) for t in m.services):
            return False
    if m.established is True:
        return p.proto == TCP and p.established
    if m.established is False:
        return not p.established
    return True


def acl_permits(topo: Topology, node: str, acl_name: str | None, p: Pkt) -> bool:
    if acl_name is None:
        return True
    acl = topo.nodes[node].acls[acl_name]
    for rule in acl.rules:
        if matches(rule.match, p):
            return rule.action is Action.PERMIT
    return acl.default is Action.PERMIT


def policy_permits(topo: Topology, node: str, ingress: str | None, egress: str | None, p: Pkt) -> bool:
    """The node's policy for a packet entering by ``ingress`` and leaving by ``egress``; ``None`` on
    one side is the device itself (its local lines)."""
    return policy_decision(topo, node, ingress, egress, p)[0]


def policy_decision(topo: Topology, node: str, ingress: str | None, egress: str | None,
                    p: Pkt) -> tuple[bool, Any]:
    """(permitted, the deciding line or None for the default / no policy)."""
    policy = topo.nodes[node].policy
    if policy is None:
        return True, None
    if ingress is not None and egress is None and policy.local_by_rules:
        # local: rules (PAN-OS): the policy's own lines, the interface with the address as the egress.
        holders = [i.name for i in topo.nodes[node].interfaces if p.dst in _iface_ips(i)]
        if holders:
            return policy_decision(topo, node, ingress, holders[0], p)
        lines, default = tuple(ln for ln in policy.lines if ln.egress is None), policy.default
    elif ingress is None and policy.local_by_rules:
        return True, None  # what the device sends: not filtered
    elif ingress is not None and egress is not None:
        lines, default = policy.lines, policy.default
    else:
        if policy.local_default is None:
            return True, None
        lines, default = policy.local, policy.local_default
        # Toward the device: lines that name no egress; from it: lines that name no ingress.
        lines = tuple(ln for ln in lines if (ln.egress is None if egress is None else ln.ingress is None))
    for line in lines:
        if ingress is not None and line.ingress is not None and ingress not in line.ingress:
            continue
        if egress is not None and line.egress is not None and egress not in line.egress:
            continue
        if matches(line.rule.match, p):
            return line.rule.action is Action.PERMIT, line
    return default is Action.PERMIT, None


# -- external nodes and sources --------------------------------------------------------------------


def claims(topo: Topology, node: str, addr: IPv4Address) -> bool:
    """Does the external node ``node`` stand for ``addr``?

    Its represents, less every address a non-external node uses (its interfaces' and the public
    addresses of its NAT rules), less what a more specific represents of another external node
    takes (the longest represents wins). The same set is what it sends from, what it accepts as
    delivered, and what it takes off a LAN.
    """
    n = topo.nodes[node]
    if n.kind is not NodeKind.EXTERNAL:
        return False
    own = [net.prefixlen for net in n.represents if addr in net]
    if not own:
        return False
    if addr in _inside_addresses(topo) or any(addr in net for net in _context(topo).inside_nets):
        return False
    if any(pool_owns(topo, p, addr) for p in _context(topo).pools):
        return False
    best_other = max(
        (net.prefixlen for o in topo.nodes.values() if o.kind is NodeKind.EXTERNAL and o.name != node
         for net in o.represents if addr in net),
        default=-1,
    )
    return max(own) > best_other


def pool_owns(topo: Topology, node: str, addr: IPv4Address) -> bool:
    """Does the pool node ``node`` stand for ``addr``? (False for a node that is no pool.)"""
    pool = topo.nodes[node].pool
    if pool is None or addr not in pool.subnet or not any(addr in r for r in pool.range):
        return False
    if pool.subnet.prefixlen <= 30 and addr in (pool.subnet.network_address, pool.subnet.broadcast_address):
        return False
    ctx = _context(topo)
    if addr in ctx.nat_public or any(addr in net for net in ctx.inside_nets):
        return False  # the public side of an inside node's NAT
    for other in topo.nodes.values():
        if other.pool is None and addr in node_ips(other):
            return False
        if (pool.implicit and other.pool is not None and not other.pool.implicit and other.pool.lan == pool.lan
                and any(addr in r for r in other.pool.range)):
            return False
    lan = next(lan for lan in topo.lans if lan.name == pool.lan)
    for member, _ in lan.endpoints:
        peer = topo.nodes[member]
        if peer.kind is NodeKind.EXTERNAL and any(addr in r for r in peer.represents):
            return False
    return True


def _inside_addresses(topo: Topology) -> frozenset[IPv4Address]:
    """Addresses non-external nodes use: their interfaces' and the public side of their NAT."""
    return _context(topo).inside


def can_send_from(topo: Topology, node: str, src: IPv4Address) -> bool:
    """May ``node`` start a flow with source address ``src``?

    Every node sends from its own interface addresses and from any address of the subnet of an
    interface that is attached to a link or LAN (spoofing within its subnet); a pool also from the
    addresses it stands for, an external node from what it claims.
    """
    n = topo.nodes[node]
    lan_of = _context(topo).lan_of
    if any((node, iface.name) in lan_of and any(src in net for net in _iface_subnets(iface)) for iface in n.interfaces):
        return True
    return src in node_ips(n) or claims(topo, node, src) or pool_owns(topo, node, src)


def is_own(topo: Topology, node: str, dst: IPv4Address, vrf: str | None = None) -> bool:
    """Is ``dst`` the node itself: one of its addresses, one it stands for as a pool, or one it
    claims as an external node? With ``vrf`` on a node that has VRFs: one of the addresses of
    that VRF's interfaces (another VRF's address is just a destination there)."""
    n = topo.nodes[node]
    if vrf is not None and n.vrfs:
        return any(dst in _iface_ips(iface) for iface in n.interfaces if iface.vrf == vrf)
    return dst in node_ips(n) or claims(topo, node, dst) or pool_owns(topo, node, dst)


def _vrfs(node: Node) -> list[str]:
    return ["default", *node.vrfs]


def _vrf_of(node: Node, ingress: str | None) -> str:
    return "default" if ingress is None else node.interface(ingress).vrf


# -- forwarding ------------------------------------------------------------------------------------


def _normalise(packet: Any) -> Pkt:
    p = Pkt(IPv4Address(packet.src), IPv4Address(packet.dst), int(packet.proto), int(packet.sport),
            int(packet.dport), bool(packet.established))
    if p.proto == ICMP:
        if p.sport > 255 or p.dport > 255:
            raise ValueError(f"ICMP type (dport) and code (sport) are 0-255: {packet}")
    elif p.proto not in PORTED_PROTOCOLS and (p.sport or p.dport):
        raise ValueError(f"a packet of protocol {p.proto} carries no ports: {packet}")
    return p


def delivered(topo: Topology, src_node: str, packet: Any) -> frozenset[str]:
    """The nodes at which ``packet``, sent by ``src_node``, is delivered locally.

    ``packet`` is taken as sent: whether ``src_node`` may use its source address is
    :func:`can_send_from`'s question, not this one's.
    """
    ctx = _context(topo)
    p0 = _normalise(packet)
    received: set[str] = set()
    visited: set[tuple[str, str, Pkt]] = set()
    # Work items: (node, ingress interface or None when the node originates the packet, packet).
    work: list[tuple[str, str | None, Pkt]] = []
    if is_own(topo, src_node, p0.dst):
        received.add(src_node)  # never leaves the node (for an external node: stays out there)
    else:
        work.append((src_node, None, p0))
    while work:
        node, ingress, p = work.pop()
        if ingress is not None:
            key = (node, ingress, p)
            if key in visited:
                continue
            visited.add(key)
            entered = _enter(topo, node, ingress, p, received)
            if entered is None:
                continue
            p, twice_src = entered
        else:
            twice_src = None
        for nxt in _route_and_send(ctx, node, p, ingress, twice_src):
            work.append(nxt)
    return frozenset(received)


def _enter(topo: Topology, node: str, ingress: str, p: Pkt,
           received: set[str]) -> tuple[Pkt, IPv4Address | None] | None:
    """Ingress half of the pipeline; returns the packet to route on (with the source a twice rule
    gives it on the way out, if one matched), or None when it stops here."""
    n = topo.nodes[node]
    twice_src = None
    for rule in n.nat:  # destination NAT of the ingress interface, first match in file order
        if rule.interface != ingress:
            continue
        if rule.type is NatType.STATIC and p.dst == rule.translated:
            assert rule.inside is not None
            p = replace(p, dst=rule.inside)
            break
        if rule.type in (NatType.DESTINATION, NatType.TWICE) and matches(rule.match, p):
            p = replace(p, dst=rule.translated)
            if rule.ports is not None:
                p = replace(p, dport=rule.ports.low)
            if rule.type is NatType.TWICE:
                twice_src = rule.source_to
            break
    if not acl_permits(topo, node, n.interface(ingress).acl_in, p):
        return None
    if is_own(topo, node, p.dst, _vrf_of(n, ingress)):
        if policy_permits(topo, node, ingress, None, p):
            received.add(node)
        return None
    if n.kind is NodeKind.EXTERNAL or not n.forwarding:
        return None  # an external node never forwards
    return p, twice_src


def _lookup(ctx: _Context, node: str, dst: IPv4Address, vrf: str = "default",
            visited: tuple[str, ...] = ()) -> list[_Route]:
    """The routes the destination takes in one VRF; a leak route's answer is the lookup in its
    VRF, where the node's own addresses stay on the node, and a VRF met twice on the way (a leak
    cycle) answers nothing."""
    visited = visited + (vrf,)
    candidates = [r for r in ctx.routes[node][vrf] if dst in r.prefix]
    if not candidates:
        return []
    longest = max(r.prefix.prefixlen for r in candidates)
    best = [r for r in candidates if r.prefix.prefixlen == longest]
    lowest = min(r.distance for r in best)
    out: list[_Route] = []
    for r in best:
        if r.distance != lowest:
            continue
        if r.lookup_in is None:
            out.append(r)
        elif r.lookup_in not in visited and not is_own(ctx.topo, node, dst, r.lookup_in):
            out.extend(_lookup(ctx, node, dst, r.lookup_in, visited))
    return out


def _pool_translations(ctx: _Context, rule: Any, p: Pkt) -> list[Pkt]:
    out = []
    for addr in _pool(rule):
        q = replace(p, src=addr)
        if q.proto in PORTED_PROTOCOLS and rule.ports is not None:
            out.extend(replace(q, sport=port) for port in ctx.sport_reps[(rule.ports.low, rule.ports.high)])
        else:
            out.append(q)
    return out


def _source_nat(ctx: _Context, node: str, egress: str, p: Pkt, line: Any,
                twice_src: IPv4Address | None) -> list[Pkt]:
    if twice_src is not None:  # the pair was translated on entry: its source, and nothing else
        return [replace(p, src=twice_src)]
    if line is not None and line.snat is not None:  # the deciding policy line translates
        return _pool_translations(ctx, line.snat, p)
    for rule in ctx.topo.nodes[node].nat:
        if rule.interface != egress or rule.type in (NatType.DESTINATION, NatType.TWICE):
            continue
        if rule.type is NatType.STATIC:
            if p.src == rule.inside:
                return [replace(p, src=rule.translated)]
            continue
        if matches(rule.match, p):
            return _pool_translations(ctx, rule, p)
    return [p]


def _nat_arp(topo: Topology, ep: tuple[str, str], addr: IPv4Address) -> bool:
    """Does the node answer ARP for ``addr`` on this interface as a NAT address? Public addresses of
    its rules working on that interface (a policy line's pool: any interface), on its subnets."""
    node = topo.nodes[ep[0]]
    iface = node.interface(ep[1])
    if not any(addr in net for net in _iface_subnets(iface)):
        return False
    for rule in _all_nat(node):
        if rule.policy_line is None and rule.interface != iface.name:
            continue
        if rule.type in (NatType.DESTINATION, NatType.TWICE):
            if any(addr in net for net in rule.match.dst or ()):
                return True
        elif addr in _pool(rule):
            return True
    return False


def _route_and_send(ctx: _Context, node: str, p: Pkt, ingress: str | None,
                    twice_src: IPv4Address | None = None) -> list[tuple[str, str, Pkt]]:
    topo = ctx.topo
    out: list[tuple[str, str, Pkt]] = []
    for route in _lookup(ctx, node, p.dst, _vrf_of(topo.nodes[node], ingress)):
        if route.drop or route.egress is None:
            continue
        egress = route.egress
        permitted, line = policy_decision(topo, node, ingress, egress, p)
        if not permitted:
            continue
        if not acl_permits(topo, node, topo.nodes[node].interface(egress).acl_out, p):
            continue
        here = (node, egress)
        peers = [ep for ep in ctx.lan_of.get(here, ()) if ep != here]
        for q in _source_nat(ctx, node, egress, p, line if ingress is not None else None, twice_src):
            receivers: list[tuple[str, str]] = []
            if route.via is not None:
                receivers = [ep for ep in peers if ep in ctx.owner.get(route.via, [])]
            else:
                receivers = [ep for ep in peers if ep in ctx.owner.get(q.dst, []) or _nat_arp(topo, ep, q.dst)]
                for ep in peers:
                    if (claims(topo, ep[0], q.dst) or pool_owns(topo, ep[0], q.dst)) and ep not in receivers:
                        receivers.append(ep)
            out.extend((rn, ri, q) for rn, ri in receivers)
    return out

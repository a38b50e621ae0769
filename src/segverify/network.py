"""The network: a topology compiled into states and per-hop transfer functions over header spaces.

A *state* is where a packet can be: entering a node by an interface, being sent by a node
(``ORIGIN``), or sitting on a LAN. A *transfer* takes a header set from one state to the next:
rewrite (destination NAT), filter (ACLs, route match, layer-2 ownership), rewrite (source NAT).
The same compiled pieces serve the symbolic engine (:mod:`segverify.reach`) and concrete traces
(:mod:`segverify.trace`), so both answer from one model.

The device graph (``Network.graph``, networkx) is there for drawing, failures and path questions.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from typing import Iterable

import networkx as nx

from .cycles import pausing
from .headers import Bdd, HeaderSpace
from .model import (DEFAULT_VRF, Acl, Action, Interface, NatRule, NatType, Node, NodeKind, Role, Route, Rule,
                    Segment, Topology, nat_answers, nat_rules)

ORIGIN = "<origin>"
LAN = "<lan>"

State = tuple[str, str]  # (node, interface) | (node, ORIGIN) | (LAN, lan name)


@dataclass(frozen=True)
class CompiledAcl:
    acl: Acl
    permitted: Bdd  # everything the ACL lets through
    line_matches: tuple[Bdd, ...]  # match of each line as written; first match decides


@dataclass(frozen=True)
class FibEntry:
    """A route-table slice: the headers it takes (longest prefix already applied) and where they go."""

    route: Route | None  # None: connected route
    prefix: IPv4Network
    match: Bdd
    egress: str | None  # None: dropped (null route)
    next_hop: IPv4Address | None
    vrfs: tuple[str, ...] = (DEFAULT_VRF,)  # the lookup's VRFs: the ingress one, then each leak's target
    leaks: tuple[Route, ...] = ()  # the leak routes that moved the lookup (one fewer than ``vrfs``)

    @property
    def vrf(self) -> str:
        """The VRF whose route decided."""
        return self.vrfs[-1]


@dataclass(frozen=True)
class Transfer:
    """From one state to another: ``snat(filter ∧ dnat(H))``."""

    target: State
    filter: Bdd
    egress: str | None = None  # the interface the packet leaves by (None for LAN deliveries)
    snat: tuple[tuple[NatRule, Bdd], ...] = ()  # ordered (rule, match) of source NAT on egress


@dataclass
class CompiledNode:
    node: Node
    own: Bdd  # destination is one of the node's addresses (or, for external nodes, what it represents)
    acls: dict[str, CompiledAcl]
    fibs: dict[str, list[FibEntry]]  # VRF -> its table, leaks resolved into the entries they lead to
    dnat: dict[str, tuple[tuple[NatRule, Bdd], ...]]  # ingress interface -> static NAT (rule, dst == outside)
    snat: dict[str, tuple[tuple[NatRule, Bdd], ...]]  # egress interface -> ordered source translations
    own_vrf: dict[str, Bdd] = field(default_factory=dict)  # VRF -> the node's addresses in it

    @property
    def fib(self) -> list[FibEntry]:
        """The default VRF's table (the only one of a node without VRFs)."""
        return self.fibs[DEFAULT_VRF]


@dataclass(frozen=True)
class _Taken:
    """Destinations that are somebody else's, for every pool (see Network._taken_by_others)."""

    addresses: list[int]  # interface addresses of the nodes that are not pools, sorted
    nat_public: Bdd  # the public side of every inside node's NAT
    declared_pools: dict[str, Bdd]  # LAN -> the ranges of its declared pools


@dataclass
class Network:
    """A compiled topology. ``down`` lists failed nodes and LANs; ``fail_open`` firewalls that pass all."""

    topology: Topology
    down: frozenset[str] = frozenset()
    fail_open: frozenset[str] = frozenset()
    shared_space: HeaderSpace | None = None  # compile into this manager, to compare with another network
    # The same topology compiled as built, in ``shared_space``: what no failure changes (the address
    # sets of pools and external nodes) is taken from it instead of being computed again.
    as_built: Network | None = None
    space: HeaderSpace = field(init=False)
    endpoints: list[str] = field(init=False)
    origin_ids: dict[str, int] = field(init=False)
    nodes: dict[str, CompiledNode] = field(init=False)
    transfers: dict[State, list[Transfer]] = field(init=False)
    lan_of: dict[tuple[str, str], str] = field(init=False)
    pool_space: dict[str, Bdd] = field(init=False)  # pool node -> the addresses it stands for
    external_space: dict[str, Bdd] = field(init=False)  # external node -> what it represents

    @pausing
    def __post_init__(self) -> None:
        topo = self.topology
        self.endpoints = sorted(n.name for n in topo.nodes.values() if is_endpoint(n))
        # Origin ids in zone order so a zone's sources form few contiguous ranges.
        ordered = sorted(self.endpoints, key=lambda n: (sorted(i.zone for i in topo.nodes[n].interfaces), n))
        self.origin_ids = {name: i for i, name in enumerate(ordered)}
        self._sources_cache: dict[frozenset[str], Bdd] = {}
        if self.shared_space is not None:
            self.space = self.shared_space
            if self.space.origin_bits < origin_bits_for(topo) or (needs_origin_copies(topo) and not self.space.track_origin):
                raise ValueError("the shared header space is too small for this topology")
        else:
            self.space = space_for(topo)
        self.lan_of = {}
        self.lan_members: dict[str, list[tuple[str, str]]] = {}
        for lan in topo.lans:
            # A point-to-point link goes down with either end (carrier loss); a switched LAN stays up.
            # A pool on a link is no second device: the link stays point to point.
            devices = [n for n, _ in lan.endpoints if topo.nodes[n].pool is None]
            if lan.name in self.down or (len(devices) == 2 and any(n in self.down for n in devices)):
                continue
            members = [(n, i) for n, i in lan.endpoints if n not in self.down]
            self.lan_members[lan.name] = members
            for member in members:
                self.lan_of[member] = lan.name
        self.owner: dict[IPv4Address, tuple[str, str]] = {
            ip: (node.name, iface.name)
            for node in topo.nodes.values() for iface in node.interfaces for ip in iface.ips
        }
        base = self.as_built
        if base is not None and (base.topology is not topo or base.space is not self.space or base.down or base.fail_open):
            raise ValueError("as_built must be the same topology compiled without failures in the shared space")
        self._taken: _Taken | None = None
        self.pool_space = base.pool_space if base is not None else {
            n.name: self._pool_space(n) for n in topo.nodes.values() if n.pool is not None}
        self.external_space = base.external_space if base is not None else {
            n.name: self._external_space(n) for n in topo.nodes.values() if n.kind is NodeKind.EXTERNAL}
        self._policy_cache: dict[tuple[str, str | None, str | None], CompiledAcl | None] = {}
        self._holders: dict[str, tuple[tuple[str | None, Bdd], ...]] = {}
        self._accepted: dict[tuple[str, str], Bdd] = {}
        self._origin_cache: dict[str, Bdd] = {}
        # Nodes and LANs no failure touches are taken from ``as_built`` as compiled there.
        self._kept_lans = self._untouched_lans(base) if base is not None else frozenset()
        self._kept_nodes = self._untouched_nodes(base) if base is not None else frozenset()
        if base is not None:
            self._sources_cache = base._sources_cache  # origin ids do not depend on failures
        self.nodes = {name: base.nodes[name] if base is not None and name in self._kept_nodes
                      else self._compile_node(node) for name, node in topo.nodes.items() if name not in self.down}
        self.transfers = {}
        for name, compiled in self.nodes.items():
            if base is not None and name in self._kept_nodes:
                for state in self._states_of(compiled.node):
                    self.transfers[state] = base.transfers[state]
            else:
                self._add_transfers(compiled)
        self._add_lan_transfers()
        self._graph: nx.MultiGraph | None = None

    def _untouched_lans(self, base: Network) -> frozenset[str]:
        """The LANs that are up here with the members they have as built."""
        return frozenset(lan for lan, members in self.lan_members.items() if base.lan_members.get(lan) == members)

    def _untouched_nodes(self, base: Network) -> frozenset[str]:
        """The live nodes whose compilation no failure changes: not failing open, every interface on
        the LAN it is on as built (or on none, as built), each of those LANs with all its members.
        A node's routes, next hops, transfers and what it may send depend on nothing else."""
        kept = set()
        for name, node in self.topology.nodes.items():
            if name in self.down or name in self.fail_open:
                continue
            if all(self.lan_of.get((name, i.name)) == base.lan_of.get((name, i.name))
                   and ((name, i.name) not in self.lan_of or self.lan_of[(name, i.name)] in self._kept_lans)
                   for i in node.interfaces):
                kept.add(name)
        return frozenset(kept)

    def _states_of(self, node: Node) -> list[State]:
        """The states a node's transfers leave from: each interface on a LAN, and its origin if it sends."""
        states: list[State] = [(node.name, i.name) for i in node.interfaces if (node.name, i.name) in self.lan_of]
        if node.name in self.origin_ids:
            states.append((node.name, ORIGIN))
        return states

    @property
    def graph(self) -> nx.MultiGraph:
        """The device graph (drawings, failures, path questions), built when first asked for: the
        engine and the rules do not need it."""
        if self._graph is None:
            self._graph = self._device_graph()
        return self._graph

    # -- compiling ---------------------------------------------------------------------------------

    def compile_acl(self, acl: Acl) -> CompiledAcl:
        """First match wins: folding from the last line up, each line overrides what is below it
        (one if-then-else per line, measured 2.7x faster than carrying "not matched above")."""
        s = self.space
        # Keyed by meaning, not by place: two versions of a network compiled into one space (diff)
        # share every ACL that did not change, even when lines moved in the file.
        key = (acl.default, tuple((rule.action, rule.match) for rule in acl.rules))
        cached = s.acl_cache.get(key)
        if cached is None:
            matches = tuple(s.match(rule.match) for rule in acl.rules)
            permitted = s.true if acl.default is Action.PERMIT else s.false
            for rule, m in zip(reversed(acl.rules), reversed(matches)):
                permitted = s.bdd.ite(m, s.true if rule.action is Action.PERMIT else s.false, permitted)
            cached = s.acl_cache[key] = (permitted, matches)
        return CompiledAcl(acl, *cached)

    def _compile_node(self, node: Node) -> CompiledNode:
        s = self.space
        own = s.false
        for addr in node.addresses:
            own |= s.address("dst", addr)
        if node.kind is NodeKind.EXTERNAL:
            own |= self.external_space[node.name]
        if node.pool is not None:
            own |= self.pool_space[node.name]
        acls = {name: self.compile_acl(acl) for name, acl in node.acls.items()}
        dnat: dict[str, list[tuple[NatRule, Bdd]]] = {}
        snat: dict[str, list[tuple[NatRule, Bdd]]] = {}
        for rule in node.nat:
            if rule.type is NatType.STATIC:
                assert rule.inside is not None
                dnat.setdefault(rule.interface, []).append((rule, s.address("dst", rule.translated)))
                snat.setdefault(rule.interface, []).append((rule, s.address("src", rule.inside)))
            elif rule.type in (NatType.DESTINATION, NatType.TWICE):
                dnat.setdefault(rule.interface, []).append((rule, s.match(rule.match)))
            else:
                snat.setdefault(rule.interface, []).append((rule, s.match(rule.match)))
        own_vrf = {vrf: own for vrf in node.vrf_names}
        if node.vrfs:  # a VRF holds the addresses of its own interfaces only
            for vrf in node.vrf_names:
                own_vrf[vrf] = s.false
                for iface in node.interfaces_in(vrf):
                    for addr in iface.ips:
                        own_vrf[vrf] |= s.address("dst", addr)
        return CompiledNode(node, own, acls, self._fibs(node, own_vrf),
                            {k: tuple(v) for k, v in dnat.items()}, {k: tuple(v) for k, v in snat.items()}, own_vrf)

    def _live_interfaces(self, node: Node, vrf: str | None = None) -> list[Interface]:
        return [i for i in node.interfaces if i.address is not None and (node.name, i.name) in self.lan_of
                and (vrf is None or i.vrf == vrf)]

    def _fibs(self, node: Node, own_vrf: dict[str, Bdd]) -> dict[str, list[FibEntry]]:
        """Each VRF's table with its leak routes resolved: the slice a leak route takes is looked
        up again in the leak's target VRF (less the node's addresses there, which the node keeps);
        a leak that comes back to a VRF already on its way (a cycle) drops what it took."""
        tables = {vrf: self._fib(node, vrf) for vrf in node.vrf_names}
        return {vrf: self._resolve_leaks(tables, own_vrf, vrf, (vrf,)) for vrf in node.vrf_names}

    def _resolve_leaks(self, tables: dict[str, list[FibEntry]], own_vrf: dict[str, Bdd], vrf: str,
                       chain: tuple[str, ...]) -> list[FibEntry]:
        # A method, not a closure calling itself: such a closure is a reference cycle that keeps the
        # tables' BDDs alive until the garbage collector runs, at exit possibly after the BDD manager
        # is gone (CUDD then reports nodes still referenced at shutdown).
        out: list[FibEntry] = []
        for entry in tables[vrf]:
            route = entry.route
            if route is None or not route.leak:
                out.append(FibEntry(entry.route, entry.prefix, entry.match, entry.egress, entry.next_hop, chain))
                continue
            target = route.next_vrf
            assert target is not None
            if target in chain:
                continue  # a leak cycle: nothing comes out of it
            for inner in self._resolve_leaks(tables, own_vrf, target, chain + (target,)):
                m = entry.match & inner.match & ~own_vrf[target]
                if m != self.space.false:
                    out.append(FibEntry(inner.route, inner.prefix, m, inner.egress, inner.next_hop, inner.vrfs,
                                        (route,) + inner.leaks))
        return out

    def fib_for(self, node: str, in_iface: str | None) -> list[FibEntry]:
        """The table a packet entering ``node`` by ``in_iface`` is routed by: its VRF's (the
        default one for what the node sends itself)."""
        compiled = self.nodes[node]
        vrf = DEFAULT_VRF if in_iface is None else compiled.node.interface(in_iface).vrf
        return compiled.fibs[vrf]

    def own_for(self, node: str, in_iface: str | None) -> Bdd:
        """The node's addresses as seen from the VRF of ``in_iface``: what it keeps for itself."""
        compiled = self.nodes[node]
        if not compiled.node.vrfs:
            return compiled.own
        vrf = DEFAULT_VRF if in_iface is None else compiled.node.interface(in_iface).vrf
        return compiled.own_vrf[vrf]

    def _fib(self, node: Node, vrf: str = DEFAULT_VRF) -> list[FibEntry]:
        """One VRF's longest-prefix-match as disjoint slices. For one prefix the lowest administrative
        distance wins (connected 0, static 1 unless set); ties are equal-cost. Routes whose next hop
        is on no live interface are not candidates, so a floating route takes over when the link
        fails. Connected routes are those of the VRF's interfaces; a route with ``next_vrf`` and a
        next hop reaches it through the other VRF's interfaces; a leak route (no next hop) is an
        entry without egress that :meth:`_fibs` resolves."""
        s = self.space
        live = self._live_interfaces(node, vrf)
        candidates: list[tuple[int, int, IPv4Network, Route | None, str | None, IPv4Address | None]] = []
        for iface in live:
            for connected in dict.fromkeys(a.network for a in iface.all_addresses):
                candidates.append((connected.prefixlen, 0, connected, None, iface.name, None))
        routes = list(node.routes_in(vrf))
        if node.kind is NodeKind.EXTERNAL and not routes:
            routes = self._implicit_external_routes(node)
        for route in routes:
            if route.drop or route.leak:
                candidates.append((route.prefix.prefixlen, route.distance, route.prefix, route, None, None))
                continue
            hop_vrf = route.next_vrf if route.next_vrf is not None else vrf
            for iface in (live if hop_vrf == vrf else self._live_interfaces(node, hop_vrf)):
                assert route.via is not None
                if iface.on_subnet(route.via):
                    candidates.append((route.prefix.prefixlen, route.distance, route.prefix, route, iface.name,
                                       route.via))
                    break
        best: dict[IPv4Network, int] = {}
        for length, pref, prefix, *_ in candidates:
            best[prefix] = min(best.get(prefix, pref), pref)
        chosen = [c for c in candidates if c[1] == best[c[2]]]
        chosen.sort(key=lambda c: (-c[0], str(c[2]), c[1], c[4] or "", str(c[5] or "")))
        result: list[FibEntry] = []
        taken = s.false
        current: IPv4Network | None = None
        current_slice = s.false
        for _length, _pref, prefix, chosen_route, egress, nh in chosen:
            if prefix != current:  # equal-cost entries of one prefix share its slice
                taken |= current_slice
                current = prefix
                current_slice = s.prefix("dst", prefix) & ~taken
            result.append(FibEntry(chosen_route, prefix, current_slice, egress, nh))
        return result

    def _implicit_external_routes(self, node: Node) -> list[Route]:
        """An external node with no routes sends everything to its only neighbour on its link. A
        pool on that LAN is no neighbour to route by: hosts do not forward (counting the LAN's
        implicit pool left an Internet on a LAN with one router sending nothing at all)."""
        routes = []
        for iface in self._live_interfaces(node):
            addressed = uplinks(self.topology, (node.name, iface.name), self.lan_members[self.lan_of[(node.name, iface.name)]])
            if len(addressed) == 1:
                routes.append(Route(IPv4Network("0.0.0.0/0"), addressed[0], False, iface.span))
        return routes[:1]

    def acl_permits(self, node: str, acl_name: str | None) -> Bdd:
        if acl_name is None or node in self.fail_open:
            return self.space.true
        return self.nodes[node].acls[acl_name].permitted

    def policy_acl(self, node: str, ingress: str | None, egress: str | None) -> CompiledAcl | None:
        """The node's policy lines for one hop, compiled: forwarded traffic (both interfaces known),
        traffic to the device (``egress`` None) or from it (``ingress`` None). None: no policy there."""
        if node in self.fail_open:
            return None
        policy = self.topology.nodes[node].policy
        if policy is None:
            return None
        key = (node, ingress, egress)
        if key not in self._policy_cache:
            if ingress is not None and egress is not None:
                acl: Acl | None = policy.acl_for(ingress, egress)
            else:
                acl = policy.local_acl(ingress, egress)
            self._policy_cache[key] = None if acl is None else self.compile_acl(acl)
        return self._policy_cache[key]

    def policy_permits(self, node: str, ingress: str | None, egress: str | None) -> Bdd:
        compiled = self.policy_acl(node, ingress, egress)
        return self.space.true if compiled is None else compiled.permitted

    def policy_snat(self, node: str, ingress: str | None, egress: str) -> tuple[tuple[NatRule, Bdd], ...]:
        """Source NAT of policy lines, as (rule, what that line decides): it comes before the
        egress interface's own NAT rules, which translate what no such line took."""
        compiled = self.policy_acl(node, ingress, egress) if ingress is not None else None
        policy = self.topology.nodes[node].policy
        if compiled is None or policy is None or not any(line.snat for line in policy.lines):
            return ()
        by_rule = {id(line.rule): line.snat for line in policy.lines}
        s = self.space
        out: list[tuple[NatRule, Bdd]] = []
        above = s.false
        for rule, m in zip(compiled.acl.rules, compiled.line_matches):
            snat = by_rule.get(id(rule))
            if snat is not None:
                out.append((snat, m & ~above))
            above |= m
        return tuple(out)

    def accepted_locally(self, node: str, ingress: str) -> Bdd:
        """What the node keeps for itself of what arrives by ``ingress``: its addresses (as seen
        from that interface's VRF) that its filters let in. Asked at every visit of the state, so
        kept: one conjunction with the arriving headers instead of two."""
        key = (node, ingress)
        found = self._accepted.get(key)
        if found is None:
            found = self._accepted[key] = self.own_for(node, ingress) & self.delivery_filter(node, ingress)
        return found

    def delivery_filter(self, node: str, ingress: str) -> Bdd:
        """What a node accepts for itself by ``ingress``: its acl_in, then its local policy."""
        n = self.topology.nodes[node]
        accepted = self.acl_permits(node, n.interface(ingress).acl_in)
        if n.policy is None or not n.policy.local_by_rules or node in self.fail_open:
            return accepted & self.policy_permits(node, ingress, None)
        permits = self.space.false
        for holder, addresses in self.local_holders(node):
            permits |= addresses & self.policy_permits(node, ingress, holder)
        return accepted & permits

    def local_holders(self, node: str) -> tuple[tuple[str | None, Bdd], ...]:
        """The destinations of traffic to the device split by the interface holding the address
        (``local: rules``: that interface stands as the egress), and ``None`` with the rest."""
        cached = self._holders.get(node)
        if cached is not None:
            return cached
        s = self.space
        n = self.topology.nodes[node]
        parts: list[tuple[str | None, Bdd]] = []
        held = s.false
        for iface in n.interfaces:
            addresses = s.false
            for ip in iface.ips:
                addresses |= s.address("dst", ip)
            if addresses != s.false:
                parts.append((iface.name, addresses))
                held |= addresses
        parts.append((None, ~held))
        self._holders[node] = tuple(parts)
        return self._holders[node]

    def local_side(self, node: str, packet: Bdd) -> str | None:
        """The egress a packet to the device itself meets in its policy: under ``local: rules`` the
        interface holding its destination, else (or for an address no interface holds) None."""
        policy = self.topology.nodes[node].policy
        if policy is None or not policy.local_by_rules:
            return None
        return next(holder for holder, addresses in self.local_holders(node) if addresses & packet != self.space.false)

    def _add_transfers(self, compiled: CompiledNode) -> None:
        node = compiled.node
        s = self.space
        ingress: list[str | None] = [i.name for i in node.interfaces if (node.name, i.name) in self.lan_of]
        if node.name in self.origin_ids:
            ingress.append(None)
        for in_iface in ingress:
            state: State = (node.name, in_iface if in_iface is not None else ORIGIN)
            out: list[Transfer] = []
            if in_iface is not None and not node.forwarding:
                self.transfers[state] = out
                continue
            base = s.true if in_iface is None else self.acl_permits(node.name, node.interface(in_iface).acl_in)
            base &= ~self.own_for(node.name, in_iface)
            by_target: dict[tuple[State, str], Bdd] = {}
            for entry in self.fib_for(node.name, in_iface):
                if entry.egress is None:
                    continue
                # Route, then the policy for the (ingress, egress) pair, then the egress ACL.
                f = (base & entry.match & self.policy_permits(node.name, in_iface, entry.egress)
                     & self.acl_permits(node.name, node.interface(entry.egress).acl_out))
                if f == s.false:
                    continue
                lan = self.lan_of[(node.name, entry.egress)]
                if entry.next_hop is None:
                    f &= ~self._nat_arp(node, entry.egress)  # its own ARP answer never comes back to it
                    if f == s.false:
                        continue
                    target: State = (LAN, lan)
                else:
                    owner = self.owner.get(entry.next_hop)
                    if owner is None or owner not in self.lan_members[lan] or owner[0] not in self.nodes:
                        continue  # the next hop does not answer ARP: dropped
                    target = owner
                key = (target, entry.egress)
                by_target[key] = by_target.get(key, s.false) | f
            for (target, egress), f in sorted(by_target.items()):
                snat = self.policy_snat(node.name, in_iface, egress) + compiled.snat.get(egress, ())
                out.append(Transfer(target, f, egress, snat))
            self.transfers[state] = out

    def _add_lan_transfers(self) -> None:
        s = self.space
        for lan, members in self.lan_members.items():
            if self.as_built is not None and lan in self._kept_lans:
                self.transfers[(LAN, lan)] = self.as_built.transfers[(LAN, lan)]
                continue
            out = []
            for node, iface in members:
                if node not in self.nodes:
                    continue
                n = self.topology.nodes[node]
                f = s.false
                for ip in n.interface(iface).ips:
                    f |= s.address("dst", ip)
                f |= self._nat_arp(n, iface)
                if n.kind is NodeKind.EXTERNAL:
                    f |= self.external_space[node]
                if n.pool is not None:
                    f |= self.pool_space[node]
                if f != s.false:
                    out.append(Transfer((node, iface), f))
            self.transfers[(LAN, lan)] = out

    def _nat_arp(self, node: Node, iface: str) -> Bdd:
        """The NAT addresses a node answers ARP for on ``iface`` (see :func:`nat_answers`)."""
        return self.space.networks("dst", tuple(net for _rule, net in nat_answers(node, iface)))

    def _device_graph(self) -> nx.MultiGraph:
        g = nx.MultiGraph()
        for name, node in self.topology.nodes.items():
            if name in self.down:
                continue
            g.add_node(name, kind=node.kind.value, segments=sorted(s.value for s in self.topology.segments_of(name)))
        for lan, members in self.lan_members.items():
            nodes = sorted({n for n, _ in members})
            for i, a in enumerate(nodes):
                for b in nodes[i + 1:]:
                    g.add_edge(a, b, key=lan, lan=lan)
        return g

    # -- header-space helpers the engine and traces share ----------------------------------------------

    def apply_dnat(self, node: str, in_iface: str | None, headers: Bdd) -> Bdd:
        """Destination NAT of the ingress interface, every packet as it is after the step."""
        plain, twice = self.split_dnat(node, in_iface, headers)
        for _rule, part in twice:
            plain |= part
        return plain

    def split_dnat(self, node: str, in_iface: str | None,
                   headers: Bdd) -> tuple[Bdd, tuple[tuple[NatRule, Bdd], ...]]:
        """Destination NAT of the ingress interface: rules in order, the first that matches wins.

        Returns what is routed on as usual, and apart from it, per twice rule, the packets it
        translated: they get that rule's source as they leave (:meth:`translate_twice_source`),
        which a packet sent to the same real address directly does not, so the two sets are kept
        apart until then."""
        if in_iface is None:
            return headers, ()
        rules = self.nodes[node].dnat.get(in_iface, ())
        if not rules:
            return headers, ()
        s = self.space
        rest = headers
        result = s.false
        twice: list[tuple[NatRule, Bdd]] = []
        for rule, match in rules:
            hit = rest & match
            if hit != s.false:
                if rule.type is NatType.TWICE:
                    twice.append((rule, self.translate_destination(rule, hit)))
                else:
                    result |= self.translate_destination(rule, hit)
            rest &= ~match
        return result | rest, tuple(twice)

    def translate_twice_source(self, rule: NatRule, hit: Bdd) -> Bdd:
        """The second half of a twice rule, as its packets leave the node: the source becomes the
        rule's (ports kept); no other source NAT applies to them."""
        assert rule.type is NatType.TWICE and rule.source_to is not None
        s = self.space
        return s.set_field(hit, "src", s.address("src", rule.source_to))

    @staticmethod
    def translation_of(rule: NatRule) -> tuple[object, ...]:
        """What the translations of ``rule`` read (its kind and addresses, not its place in a file):
        two rules with equal values translate every packet alike."""
        return (rule.type, rule.translated, rule.inside, rule.pool_last, rule.ports, rule.source_to)

    def translate_destination(self, rule: NatRule, hit: Bdd) -> Bdd:
        """What one destination-NAT step makes of the headers it matched."""
        s = self.space
        to = rule.inside if rule.type is NatType.STATIC else rule.translated
        assert to is not None
        moved = s.set_field(hit, "dst", s.address("dst", to))
        if rule.type in (NatType.DESTINATION, NatType.TWICE) and rule.ports is not None:
            moved = s.set_field(moved, "dport", s.port_range("dport", rule.ports.low, rule.ports.high))
        return moved

    def translate_source(self, rule: NatRule, hit: Bdd) -> Bdd:
        """What one source-NAT step makes of the headers it matched: a static rule's outside
        address; a pool's addresses, and for ported protocols any port of its port pool."""
        s = self.space
        if rule.type is NatType.STATIC:
            return s.set_field(hit, "src", s.address("src", rule.translated))
        first, last = rule.pool
        pool = s.false
        for net in summarize_address_range(first, last):
            pool |= s.prefix("src", net)
        moved = s.set_field(hit, "src", pool)
        if rule.ports is None:
            return moved
        ported = moved & s._ported
        return (moved & ~s._ported) | s.set_field(ported, "sport", s.port_range("sport", rule.ports.low, rule.ports.high))

    def apply_snat(self, rules: tuple[tuple[NatRule, Bdd], ...], headers: Bdd) -> Bdd:
        if not rules:
            return headers
        s = self.space
        rest = headers
        result = s.false
        for rule, match in rules:
            if rest == s.false:
                break
            hit = rest & match
            if hit == s.false:
                continue
            rest &= ~match
            result |= self.translate_source(rule, hit)
        return result | rest

    def origin_headers(self, name: str) -> Bdd:
        """Every new flow the endpoint ``name`` can send, tagged with its origin id."""
        cached = self._origin_cache.get(name)
        if cached is None:
            if self.as_built is not None and name in self._kept_nodes:
                cached = self.as_built.origin_headers(name)
            else:
                s = self.space
                cached = s.sent(s.origin(self.origin_ids[name]) & self.sendable(name) & s.new_flow)
            self._origin_cache[name] = cached
        return cached

    def sendable(self, name: str) -> Bdd:
        """The source addresses node ``name`` may send from (a predicate on ``src``).

        Its own addresses, and any address of a subnet it is attached to: without reverse-path
        filtering a host can put any address of its own subnet in the source field (spoofing is
        modelled, not assumed away). An external node also sends from what it stands for; a pool's
        subnet is its interface's, so a pool sends from every address of it."""
        s = self.space
        src = self.own_sources(name)
        for iface in self.topology.nodes[name].interfaces:
            if (name, iface.name) in self.lan_of:
                for address in iface.all_addresses:
                    src |= s.prefix("src", address.network)
        return src

    def own_sources(self, name: str) -> Bdd:
        """The source addresses that are node ``name``'s own (what it answers for), as a predicate
        on ``src``: readable witnesses are picked from these first."""
        s = self.space
        node = self.topology.nodes[name]
        src = s.false
        for addr in node.addresses:
            src |= s.address("src", addr)
        if node.kind is NodeKind.EXTERNAL:
            src |= s.bdd.let(self._dst_to_src, self.external_space[name])
        if node.pool is not None:
            src |= s.bdd.let(self._dst_to_src, self.pool_space[name])
        return src

    def _pool_space(self, node: Node) -> Bdd:
        """Destinations a pool stands for (the same set :mod:`segverify.pools` picks its address from):
        its range on its subnet less the network and broadcast addresses, every interface address of
        the other nodes, the public side of every inside node's NAT, the declared pools of its LAN (for an implicit pool) and what
        the LAN's external nodes represent."""
        s = self.space
        pool = node.pool
        assert pool is not None
        taken = self._taken_by_others()
        result = s.networks("dst", pool.range) & s.prefix("dst", pool.subnet)
        if pool.subnet.prefixlen <= 30:
            result &= ~s.address("dst", pool.subnet.network_address) & ~s.address("dst", pool.subnet.broadcast_address)
        low, high = int(pool.subnet.network_address), int(pool.subnet.broadcast_address)
        for value in taken.addresses[bisect_left(taken.addresses, low):bisect_right(taken.addresses, high)]:
            result &= ~s.value_prefix("dst", value, 32)
        result &= ~taken.nat_public
        if pool.implicit:
            result &= ~taken.declared_pools.get(pool.lan, s.false)
        lan = next(lan for lan in self.topology.lans if lan.name == pool.lan)
        for member, _ in lan.endpoints:
            peer = self.topology.nodes[member]
            if peer.kind is NodeKind.EXTERNAL:
                result &= ~s.networks("dst", peer.represents)
        return result

    def _taken_by_others(self) -> _Taken:
        """What no pool stands for, gathered once for all pools (once per pool, over every node, was
        quadratic: 6 s at 10,000 devices): the interface addresses of the nodes that are not pools,
        sorted; the public side of every inside node's NAT; each LAN's declared pools."""
        if self._taken is None:
            s = self.space
            nodes = self.topology.nodes.values()
            nat_public = s.false
            declared: dict[str, Bdd] = {}
            for other in nodes:
                if other.kind is not NodeKind.EXTERNAL:
                    for rule in nat_rules(other):
                        nat_public |= s.networks("dst", rule.public)
                if other.pool is not None and not other.pool.implicit:
                    declared[other.pool.lan] = declared.get(other.pool.lan, s.false) | s.networks("dst", other.pool.range)
            addresses = sorted(int(addr) for other in nodes if other.pool is None for addr in other.addresses)
            self._taken = _Taken(addresses, nat_public, declared)
        return self._taken

    def _external_space(self, node: Node) -> Bdd:
        """Destinations an external node stands for: its ``represents`` less every address used inside
        (interfaces and NAT) and less the more specific ``represents`` of other external nodes."""
        s = self.space
        result = s.networks("dst", node.represents)
        for addr, (owner, _) in self.owner.items():
            if self.topology.nodes[owner].kind is not NodeKind.EXTERNAL:
                result &= ~s.address("dst", addr)
        for other in self.topology.nodes.values():  # translated addresses belong to the inside too
            if other.kind is not NodeKind.EXTERNAL:
                for rule in nat_rules(other):
                    result &= ~s.networks("dst", rule.public)
        for other in self.topology.nodes.values():
            if other.kind is NodeKind.EXTERNAL and other.name != node.name:
                for net in other.represents:
                    if any(net != mine and net.subnet_of(mine) for mine in node.represents):
                        result &= ~s.prefix("dst", net)
        for pool in self.pool_space.values():  # an address of a LAN subnet is a host there, not outside
            result &= ~pool
        return result

    @property
    def _dst_to_src(self) -> dict[str, str]:
        s = self.space
        return dict(zip(s.field_vars("dst"), s.field_vars("src")))

    def sources_in(self, names: Iterable[str]) -> Bdd:
        """The origin ids of these sources, as one predicate (rules ask for the same sets often)."""
        key = frozenset(names)
        cached = self._sources_cache.get(key)
        if cached is None:
            ids = self.origin_ids
            cached = self._sources_cache[key] = self.space.origins(ids[name] for name in key if name in ids)
        return cached


def origin_bits_for(topology: Topology) -> int:
    count = sum(1 for n in topology.nodes.values() if is_endpoint(n))
    return max(1, math.ceil(math.log2(count + 1)))


def needs_origin_copies(topology: Topology) -> bool:
    return any(nat_rules(n) for n in topology.nodes.values())


def uplinks(topology: Topology, endpoint: tuple[str, str], members: Iterable[tuple[str, str]]) -> list[IPv4Address]:
    """The addresses an external node's interface ``endpoint`` could send by, on the LAN of
    ``members``: every other member's address, pools left out (hosts do not forward). One of them is
    the uplink of an external node without routes; the engine and the emulator both ask this."""
    nodes = topology.nodes
    addresses = (nodes[n].interface(i).address for n, i in members if (n, i) != endpoint and nodes[n].pool is None)
    return [a.ip for a in addresses if a is not None]


def space_for(*topologies: Topology) -> HeaderSpace:
    """A header space large enough for all the given topologies (so their sets can be compared)."""
    return HeaderSpace(origin_bits=max(origin_bits_for(t) for t in topologies),
                       track_origin=any(needs_origin_copies(t) for t in topologies))


def is_endpoint(node: Node) -> bool:
    """Endpoints start and end flows: everything that does not forward, plus external nodes."""
    return node.kind is NodeKind.EXTERNAL or not node.forwarding


def security_cloud_nodes(topology: Topology) -> set[str]:
    return {n.name for n in topology.nodes.values()
            if Role.SECURITY_CLOUD in n.roles or Segment.SECURITY_CLOUD in topology.segments_of(n.name)}


def lookup_rule(compiled: CompiledAcl, packet: Bdd, space: HeaderSpace) -> Rule | None:
    """The first rule matching a concrete ``packet`` (None: the default action decided)."""
    for rule, m in zip(compiled.acl.rules, compiled.line_matches):
        if (m & packet) != space.false:
            return rule
    return None

"""Follow one concrete packet through the compiled network, hop by hop.

Traces use the same compiled ACLs, route slices and NAT as the symbolic engine, but carry one
packet and record every decision: which ACL line (file:line) matched, which route was taken, what
NAT did. Equal-cost routes branch, so a trace is a tree; each leaf is a :class:`Path` with an outcome.
Findings use traces for their witnesses; ``segverify trace`` shows them to people.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network

from .errors import Span
from .headers import Bdd, Packet
from .model import DEFAULT_VRF, Action, NatRule, NatType
from .network import LAN, CompiledAcl, FibEntry, Network, lookup_rule

MAX_HOPS = 64


class Outcome(str, enum.Enum):
    DELIVERED = "delivered"
    DENIED_IN = "denied in"
    DENIED_OUT = "denied out"
    DENIED_POLICY = "denied by policy"
    NO_ROUTE = "no route"
    NULL_ROUTE = "null route"
    NO_NEIGHBOUR = "no neighbour"  # next hop or destination not on the LAN (no ARP answer)
    NOT_FORWARDING = "not forwarding"
    LOOP = "loop"
    NODE_DOWN = "node down"


@dataclass(frozen=True)
class AclDecision:
    node: str
    acl: str
    action: Action
    rule_index: int | None  # None: the ACL's default action
    span: Span
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"acl": self.acl, "action": self.action.value, "line": self.rule_index,
                "location": str(self.span), "rule": self.text}

    def __str__(self) -> str:
        which = f"line {self.rule_index}" if self.rule_index is not None else "default"
        return f"{self.action.value} by {self.acl} {which} ({self.span})"


@dataclass(frozen=True)
class RouteChoice:
    """The route a hop took, as plain data (no BDDs, so results pickle across processes)."""

    prefix: IPv4Network
    next_hop: IPv4Address | None  # None: delivered on a connected LAN
    distance: int = 0


@dataclass(frozen=True)
class Hop:
    node: str
    in_iface: str | None
    out_iface: str | None
    packet: Packet  # as it arrives (after destination NAT)
    acl_in: AclDecision | None = None
    route: RouteChoice | None = None
    route_span: Span | None = None
    acl_out: AclDecision | None = None
    nat: tuple[str, ...] = ()
    policy: AclDecision | None = None  # the policy line (or local line) that decided, if the node has one
    vrfs: tuple[str, ...] = ()  # on a node with VRFs: the VRF of the lookup, then each leak's target
    leak_spans: tuple[Span, ...] = ()  # the leak routes that moved the lookup into the next VRF

    def decisions(self) -> list[AclDecision]:
        return [d for d in (self.acl_in, self.policy, self.acl_out) if d is not None]

    def to_dict(self) -> dict[str, object]:
        result: dict[str, object] = {"node": self.node, "in": self.in_iface, "out": self.out_iface,
                                     "packet": self.packet.to_dict()}
        if self.acl_in:
            result["acl_in"] = self.acl_in.to_dict()
        if self.vrfs:
            result["vrf"] = self.vrfs[-1]
            result["vrf_path"] = [{"vrf": vrf, **({"leak": str(span)} if span is not None else {})}
                                  for vrf, span in zip(self.vrfs, (None, *self.leak_spans))]
        if self.route:
            result["route"] = {"prefix": str(self.route.prefix),
                               "next_hop": str(self.route.next_hop) if self.route.next_hop else None,
                               "location": str(self.route_span) if self.route_span else "connected"}
        if self.policy:
            result["policy"] = self.policy.to_dict()
        if self.acl_out:
            result["acl_out"] = self.acl_out.to_dict()
        if self.nat:
            result["nat"] = list(self.nat)
        return result

    def describe(self) -> str:
        parts = [f"{self.node}" + (f" in {self.in_iface}" if self.in_iface else " (sends)")]
        if self.acl_in:
            parts.append(f"acl_in {self.acl_in}")
        if self.vrfs:
            leaks = "".join(f" -> {vrf} (leak {span})" for vrf, span in zip(self.vrfs[1:], self.leak_spans))
            parts.append(f"vrf {self.vrfs[0]}{leaks}")
        if self.route:
            via = f" via {self.route.next_hop}" if self.route.next_hop else " connected"
            where = f" ({self.route_span})" if self.route_span else ""
            parts.append(f"route {self.route.prefix}{via}{where}")
        if self.policy:
            parts.append(str(self.policy))
        if self.acl_out:
            parts.append(f"acl_out {self.acl_out}")
        if self.nat:
            parts.append("nat " + "; ".join(self.nat))
        if self.out_iface:
            parts.append(f"out {self.out_iface}")
        return ", ".join(parts)


@dataclass
class Path:
    source: str
    packet: Packet
    hops: list[Hop] = field(default_factory=list)
    outcome: Outcome = Outcome.DELIVERED
    final_node: str | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED

    @property
    def nodes(self) -> list[str]:
        return [h.node for h in self.hops]

    def permits(self) -> list[AclDecision]:
        return [d for h in self.hops for d in h.decisions() if d.action is Action.PERMIT]

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "packet": self.packet.to_dict(), "outcome": self.outcome.value,
                "final_node": self.final_node, "hops": [h.to_dict() for h in self.hops]}


def _decide(net: Network, node: str, acl_name: str | None, packet: Packet) -> AclDecision | None:
    if acl_name is None or node in net.fail_open:
        return None
    return _decision(net, node, acl_name, net.nodes[node].acls[acl_name], packet)


def _policy(net: Network, node: str, ingress: str | None, egress: str | None, packet: Packet) -> AclDecision | None:
    compiled = net.policy_acl(node, ingress, egress)
    return None if compiled is None else _decision(net, node, compiled.acl.name, compiled, packet)


def _decision(net: Network, node: str, acl_name: str, compiled: CompiledAcl, packet: Packet) -> AclDecision:
    cube = net.space.packet(packet)
    rule = lookup_rule(compiled, cube, net.space)
    if rule is None:
        acl = compiled.acl
        return AclDecision(node, acl_name, acl.default, None, acl.default_span, f"default {acl.default.value}")
    return AclDecision(node, acl_name, rule.action, rule.index, rule.span, rule.text)


def _dnat(net: Network, node: str, iface: str, packet: Packet) -> tuple[Packet, tuple[str, ...], NatRule | None]:
    """The engine's destination NAT step on one packet (first matching rule of the interface), and
    the twice rule whose source translation the packet takes as it leaves, if one matched."""
    cube = net.space.packet(packet)
    for rule, match in net.nodes[node].dnat.get(iface, ()):
        if (match & cube) == net.space.false:
            continue
        after = _concrete(net, net.translate_destination(rule, cube), packet)
        kind = rule.type.value
        port = f":{after.dport}" if after.dport != packet.dport else ""
        return after, (f"{kind} dst {packet.dst} -> {after.dst}{port} ({rule.span})",), \
            rule if rule.type is NatType.TWICE else None
    return packet, (), None


POOL_BRANCHES = 16  # a trace follows each address of a source pool up to this many


def _snat(net: Network, node: str, in_iface: str | None, egress: str, packet: Packet,
          twice: NatRule | None = None) -> list[tuple[Packet, tuple[str, ...]]]:
    """The engine's source NAT step on one packet: the twice rule's that translated its
    destination on entry, else a policy line's, else the egress interface's. A pool branches, one
    packet per address (a device may pick any); the port is one of the pool's."""
    s = net.space
    cube = s.packet(packet)
    if twice is not None:
        after = _concrete(net, net.translate_twice_source(twice, cube), packet)
        return [(after, (f"twice src {packet.src} -> {after.src} ({twice.span})",))]
    rule = source_nat_rule(net, node, in_iface, egress, packet)
    if rule is not None:
        translated = net.translate_source(rule, cube)
        first, last = rule.pool if rule.type is NatType.SOURCE else (rule.translated, rule.translated)
        out: list[tuple[Packet, tuple[str, ...]]] = []
        for value in range(int(first), min(int(last), int(first) + POOL_BRANCHES - 1) + 1):
            after = _concrete(net, translated & s.address("src", IPv4Address(value)), packet)
            kind = "static" if rule.type is NatType.STATIC else "source"
            where = f"policy line {rule.policy_line}, " if rule.policy_line is not None else ""
            port = f":{after.sport}" if after.sport != packet.sport else ""
            out.append((after, (f"{kind} src {packet.src} -> {after.src}{port} ({where}{rule.span})",)))
        return out
    return [(packet, ())]


def source_nat_rule(net: Network, node: str, in_iface: str | None, egress: str, packet: Packet) -> NatRule | None:
    """The source NAT rule that translates ``packet`` leaving ``node`` by ``egress``: a policy
    line's, else the first of the egress interface's rules that matches; None: not translated."""
    cube = net.space.packet(packet)
    for rule, match in net.policy_snat(node, in_iface, egress) + net.nodes[node].snat.get(egress, ()):
        if (match & cube) != net.space.false:
            return rule
    return None


def _concrete(net: Network, headers: Bdd, like: Packet) -> Packet:
    """One packet of a translated set: each field as it was where the set allows it, else its lowest
    value (the first pool address, the first port of a port pool)."""
    s = net.space
    values = {}
    for name in ("src", "dst", "sport", "dport"):
        current = getattr(like, name)
        same = headers & (s.address(name, current) if name in ("src", "dst") else s.port_range(name, current, current))
        if same != s.false:
            headers, values[name] = same, current
        else:
            low, headers = s.min_value(headers, name)
            values[name] = IPv4Address(low) if name in ("src", "dst") else low
    return replace(like, **values)


def _owns(net: Network, node: str, in_iface: str | None, packet: Packet) -> bool:
    return (net.own_for(node, in_iface) & net.space.packet(packet)) != net.space.false


def _lan_receivers(net: Network, lan: str, packet: Packet, sender: tuple[str, str]) -> list[tuple[str, str]]:
    """Who on the LAN takes the packet: the owner of its destination and every external node there
    that stands for it, as the engine's LAN transfers have it (they test the destination only)."""
    cube = net.space.packet(packet)
    return [t.target for t in net.transfers.get((LAN, lan), ())
            if t.target != sender and (t.filter & cube) != net.space.false]


def trace(net: Network, source: str, packet: Packet, blocked: frozenset[str] = frozenset(),
          entering: str | None = None) -> list[Path]:
    """Every path ``packet`` can take when ``source`` sends it (one per equal-cost branch).

    ``blocked`` nodes are treated as down, as the engine's waypoint questions treat them. With
    ``entering`` (an interface of ``source``) the packet arrives there instead of being sent by
    ``source``: a capture taken at one point."""
    if source not in net.nodes or source in blocked:
        return [Path(source, packet, [], Outcome.NODE_DOWN, source)]
    paths: list[Path] = []
    _walk(net, Path(source, packet), source, entering, packet, set(), paths, blocked)
    return paths


def _walk(net: Network, path: Path, node: str, in_iface: str | None, packet: Packet,
          seen: set[tuple[str, str | None, Packet]], out: list[Path], blocked: frozenset[str]) -> None:
    def finish(outcome: Outcome, hop: Hop) -> None:
        out.append(Path(path.source, path.packet, path.hops + [hop], outcome, node))

    if node in blocked:
        out.append(Path(path.source, path.packet, path.hops, Outcome.NODE_DOWN, node))
        return
    if len(path.hops) >= MAX_HOPS or (node, in_iface, packet) in seen:
        out.append(Path(path.source, path.packet, path.hops, Outcome.LOOP, node))
        return
    seen = seen | {(node, in_iface, packet)}
    compiled = net.nodes[node]
    nat: tuple[str, ...] = ()
    twice: NatRule | None = None
    acl_in = None
    if in_iface is not None:
        packet, nat, twice = _dnat(net, node, in_iface, packet)
        acl_in = _decide(net, node, compiled.node.interface(in_iface).acl_in, packet)
        hop = Hop(node, in_iface, None, packet, acl_in, nat=nat)
        if acl_in is not None and acl_in.action is Action.DENY:
            return finish(Outcome.DENIED_IN, hop)
        if _owns(net, node, in_iface, packet):
            local = _policy(net, node, in_iface, net.local_side(node, net.space.packet(packet)), packet)
            hop = replace(hop, policy=local)
            if local is not None and local.action is Action.DENY:
                return finish(Outcome.DENIED_POLICY, hop)
            return finish(Outcome.DELIVERED, hop)
        if not compiled.node.forwarding:
            return finish(Outcome.NOT_FORWARDING, hop)
    elif _owns(net, node, None, packet):  # sent to itself: it never leaves (as the engine has it)
        return finish(Outcome.DELIVERED, Hop(node, None, None, packet))
    cube = net.space.packet(packet)
    entries = [e for e in net.fib_for(node, in_iface) if (e.match & cube) != net.space.false]
    with_vrfs = bool(compiled.node.vrfs)
    if not entries:
        vrf = (compiled.node.interface(in_iface).vrf if in_iface is not None else DEFAULT_VRF,) if with_vrfs else ()
        return finish(Outcome.NO_ROUTE, Hop(node, in_iface, None, packet, acl_in, nat=nat, vrfs=vrf))
    for entry in entries:
        route_span = entry.route.span if entry.route is not None else None
        choice = RouteChoice(entry.prefix, entry.next_hop, entry.route.distance if entry.route else 0)
        hop = Hop(node, in_iface, entry.egress, packet, acl_in, choice, route_span, nat=nat,
                  vrfs=entry.vrfs if with_vrfs else (), leak_spans=tuple(r.span for r in entry.leaks))
        if entry.egress is None:
            finish(Outcome.NULL_ROUTE, hop)
            continue
        policy = _policy(net, node, in_iface, entry.egress, packet)
        hop = replace(hop, policy=policy)
        if policy is not None and policy.action is Action.DENY:
            finish(Outcome.DENIED_POLICY, hop)
            continue
        acl_out = _decide(net, node, compiled.node.interface(entry.egress).acl_out, packet)
        hop = replace(hop, acl_out=acl_out)
        if acl_out is not None and acl_out.action is Action.DENY:
            finish(Outcome.DENIED_OUT, hop)
            continue
        for sent, snat in _snat(net, node, in_iface, entry.egress, packet, twice):
            _leave(net, path, replace(hop, nat=nat + snat), node, entry, sent, seen, out, blocked)


def _leave(net: Network, path: Path, hop: Hop, node: str, entry: FibEntry, sent: Packet,
           seen: set[tuple[str, str | None, Packet]], out: list[Path], blocked: frozenset[str]) -> None:
    """Layer 2 after the last step of a hop: to the next hop's owner, or on a connected LAN to
    everyone who takes the destination."""
    def finish(outcome: Outcome) -> None:
        out.append(Path(path.source, path.packet, path.hops + [hop], outcome, node))

    assert entry.egress is not None
    lan = net.lan_of[(node, entry.egress)]
    if entry.next_hop is not None:
        receiver = net.owner.get(entry.next_hop)
        if receiver is None or receiver not in net.lan_members[lan] or receiver[0] not in net.nodes:
            return finish(Outcome.NO_NEIGHBOUR)
        receivers = [receiver]
    else:
        receivers = _lan_receivers(net, lan, sent, (node, entry.egress))
        if not receivers:
            return finish(Outcome.NO_NEIGHBOUR)
    for receiver in receivers:
        _walk(net, Path(path.source, path.packet, path.hops + [hop]), receiver[0], receiver[1], sent, seen, out,
              blocked)


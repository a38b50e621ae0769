"""Questions people ask of a network: what gets from X to Y (X, Y a zone, segment, node or address)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable
from ipaddress import IPv4Address, IPv4Network, ip_network

from .errors import QueryError
from .headers import Bdd, HeaderSet, Packet
from .model import PORTED_PROTOCOLS, PROTOCOLS, NodeKind, Segment, Topology, protocol_number
from .network import Network
from .reach import Reachability
from .trace import Path, trace


@dataclass(frozen=True)
class Place:
    """What --from/--to named: the endpoint nodes it covers and, for an address, the address set."""

    text: str
    nodes: tuple[str, ...]
    network: IPv4Network | None = None


def resolve_place(topology: Topology, net: Network, text: str) -> Place:
    if text in topology.nodes:
        if text not in net.origin_ids:
            raise QueryError(f"{text} is a {topology.nodes[text].kind.value}: it forwards traffic but does not start "
                             "or end flows; name an endpoint, a zone or an address")
        return Place(text, (text,))
    if text in topology.zones:
        members = tuple(n for n in net.endpoints if any(i.zone == text for i in topology.nodes[n].interfaces))
        return Place(text, members)
    segments = {s.value: s for s in Segment}
    if text in segments:
        members = tuple(n for n in net.endpoints if segments[text] in topology.segments_of(n))
        return Place(text, members)
    try:
        prefix = ip_network(text, strict=False)
    except ValueError:
        raise QueryError(f"{text!r} is not a node, zone, segment or address of {topology.name}") from None
    if not isinstance(prefix, IPv4Network):
        raise QueryError("IPv6 is not supported yet")
    members = tuple(n for n in net.endpoints
                    if any(a in prefix for a in topology.nodes[n].addresses)
                    or any(prefix.overlaps(r) for r in topology.nodes[n].represents))
    return Place(text, members, prefix)


@dataclass(frozen=True)
class FlowAnswer:
    source: str
    destination: str
    headers: HeaderSet
    witness: Packet
    path: Path | None


def service_filter(net: Network, proto: str | None, dport: int | None) -> Bdd:
    s = net.space
    result = s.true
    if proto is not None:
        number = protocol_number(proto)
        if number is None:
            raise QueryError(f"unknown protocol {proto!r} (one of {', '.join(PROTOCOLS)} or a number 0-255)")
        result &= s.protocol(number)
    if dport is not None:
        if proto is not None and protocol_number(proto) not in PORTED_PROTOCOLS:
            raise QueryError(f"{proto} has no ports")
        result &= s.port_range("dport", dport, dport) & s.protocols(PORTED_PROTOCOLS)
    return result


def query(net: Network, reach: Reachability, src: Place, dst: Place, proto: str | None = None,
          dport: int | None = None) -> list[FlowAnswer]:
    """Every (source, destination) endpoint pair with flows, as sent, with a witness and its path."""
    s = net.space
    wanted = service_filter(net, proto, dport)
    if src.network is not None:
        wanted &= s.prefix("src", src.network)
    if dst.network is not None:
        wanted &= s.prefix("dst", dst.network)
    answers = []
    for a in src.nodes:
        for b in dst.nodes:
            if a == b:
                continue
            flows = reach.flows(a, b)
            flows = HeaderSet(s, flows.bdd & wanted)
            if flows.is_empty():
                continue
            packet = flows.pick()
            assert packet is not None
            paths = trace(net, a, packet)
            path = next((p for p in paths if p.delivered and p.final_node == b), paths[0] if paths else None)
            answers.append(FlowAnswer(a, b, flows, packet, path))
    return answers


def find_witness(net: Network, reach: Reachability, sources: Iterable[str], destinations: Iterable[str],
                 shown: Bdd) -> tuple[Packet | None, Path | None]:
    """A readable packet of ``shown`` (headers as sent) that one of ``sources`` sends to one of
    ``destinations``, and the path it takes; the first source in name order that has one."""
    s = net.space
    wanted = sorted(set(destinations))
    for src in sorted(sources):
        mine = s.flows_as_sent(reach.received([src], wanted)) & shown
        if mine == s.false:
            continue
        packet = HeaderSet(s, mine).pick()
        assert packet is not None
        paths = trace(net, src, packet, reach.blocked)
        best = next((p for p in paths if p.delivered and p.final_node in wanted), None)
        best = best or next((p for p in paths if p.delivered), None) or (paths[0] if paths else None)
        return packet, best
    return None, None


def concrete_source(topology: Topology, net: Network, text: str) -> tuple[str, IPv4Address]:
    """A node name or an address, as the sender of a traced packet: (node, source address)."""
    if text in topology.nodes:
        node = topology.nodes[text]
        if not node.addresses:
            raise QueryError(f"{text} has no address to send from")
        return text, node.addresses[0]
    try:
        addr = IPv4Address(text)
    except ValueError:
        raise QueryError(f"{text!r} is neither a node nor an IPv4 address") from None
    if addr in net.owner:
        return net.owner[addr][0], addr
    for node in sorted(topology.nodes.values(), key=lambda n: -max((r.prefixlen for r in n.represents), default=-1)):
        if node.kind is NodeKind.EXTERNAL and any(addr in r for r in node.represents):
            return node.name, addr
    raise QueryError(f"no node owns or represents {addr}")


def concrete_destination(topology: Topology, text: str) -> IPv4Address:
    if text in topology.nodes:
        node = topology.nodes[text]
        if not node.addresses:
            raise QueryError(f"{text} has no address")
        return node.addresses[0]
    try:
        return IPv4Address(text)
    except ValueError:
        raise QueryError(f"{text!r} is neither a node nor an IPv4 address") from None

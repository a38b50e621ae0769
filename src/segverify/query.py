"""Questions people ask of a network: what gets from X to Y (places: see :mod:`segverify.places`)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable
from ipaddress import IPv4Address

from .errors import QueryError
from .headers import Bdd, HeaderSet, Packet
from .model import PORTED_PROTOCOLS, PROTOCOLS, Topology, protocol_number
from .network import Network
from .places import Place, address_owner, resolve_place
from .pools import DECLARED_PREFIX
from .reach import Reachability
from .trace import Path, trace

__all__ = ["FlowAnswer", "Place", "concrete_destination", "concrete_source", "find_witness", "port_ranges", "query",
           "resolve_place", "service_filter"]


@dataclass(frozen=True)
class FlowAnswer:
    source: str
    destination: str
    headers: HeaderSet
    witness: Packet
    path: Path | None


def port_ranges(ports: int | str) -> list[tuple[int, int]]:
    """``443``, ``"400-500"`` or ``"80,443,8000-8099"`` as (low, high) pairs."""
    if isinstance(ports, int):
        items = [(ports, ports)]
    else:
        items = []
        for item in ports.split(","):
            low, sep, high = item.strip().partition("-")
            if not low.isdigit() or (sep and not high.isdigit()):
                raise QueryError(f"port {ports!r}: give a port, low-high, or a comma-separated list of them")
            items.append((int(low), int(high) if sep else int(low)))
    for first, last in items:
        if not 0 <= first <= last <= 65535:
            raise QueryError(f"port range {first}-{last} is not within 0-65535, low before high")
    return items


def service_filter(net: Network, proto: str | None, dport: int | str | None) -> Bdd:
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
        ports = s.false
        for low, high in port_ranges(dport):
            ports |= s.port_range("dport", low, high)
        result &= ports & s.protocols(PORTED_PROTOCOLS)
    return result


def query(net: Network, reach: Reachability, src: Place, dst: Place, proto: str | None = None,
          dport: int | str | None = None) -> list[FlowAnswer]:
    """Every (source, destination) pair with flows, as sent, with a witness and its path. A place
    limited to addresses (an address term) limits the source or destination addresses."""
    s = net.space
    wanted = service_filter(net, proto, dport)
    answers = []
    for a in src.nodes:
        if a not in net.origin_ids:
            continue  # a device that only forwards starts no flows
        from_a = wanted & s.networks("src", src.limit(a)) if src.limit(a) is not None else wanted
        for b in dst.nodes:
            if a == b:
                continue
            limit = dst.limit(b)
            flows = reach.flows(a, b)
            flows = HeaderSet(s, flows.bdd & (from_a & s.networks("dst", limit) if limit is not None else from_a))
            if flows.is_empty():
                continue
            honest = flows.bdd & net.own_sources(a)
            packet = HeaderSet(s, honest).pick() if honest != s.false else flows.pick()
            assert packet is not None
            paths = trace(net, a, packet)
            path = next((p for p in paths if p.delivered and p.final_node == b), paths[0] if paths else None)
            answers.append(FlowAnswer(a, b, flows, packet, path))
    return answers


def find_witness(net: Network, reach: Reachability, sources: Iterable[str], destinations: Iterable[str],
                 shown: Bdd) -> tuple[Packet | None, Path | None]:
    """A readable packet of ``shown`` (headers as sent) that one of ``sources`` sends to one of
    ``destinations``, and the path it takes. A packet from the sender's own address comes first
    (a listed node before a pool, then name order), to a listed node before a pool; one with
    another address of the sender's subnet (spoofed) only when no sender gets through with its own."""
    s = net.space
    wanted = sorted(set(destinations))
    listed = [d for d in wanted if net.topology.nodes[d].pool is None]
    order = sorted(sources, key=lambda n: (net.topology.nodes[n].pool is not None, n))
    sent: dict[tuple[str, bool], Bdd] = {}
    for honest in (True, False):
        for to_listed in ((True, False) if listed and len(listed) < len(wanted) else (False,)):
            for src in order:
                key = (src, to_listed)
                if key not in sent:
                    sent[key] = s.flows_as_sent(reach.received([src], listed if to_listed else wanted)) & shown
                mine = sent[key] & net.own_sources(src) if honest else sent[key]
                if mine == s.false:
                    continue
                packet = HeaderSet(s, mine).pick()
                assert packet is not None
                paths = trace(net, src, packet, reach.blocked)
                best = next((p for p in paths if p.delivered and p.final_node in wanted), None)
                best = best or next((p for p in paths if p.delivered), None) or (paths[0] if paths else None)
                return packet, best
    return None, None


def _node_term(topology: Topology, text: str) -> str | None:
    """The node a trace end names (``NAME``, ``node:NAME``, ``pool:NAME``, ``lan:LAN``), or None."""
    kind, sep, name = text.partition(":")
    if sep and kind == "node" and name in topology.nodes and topology.nodes[name].pool is None:
        return name
    if sep and kind in ("pool", "lan") and text in topology.nodes:
        return text
    if text in topology.nodes:
        return text
    if DECLARED_PREFIX + text in topology.nodes:
        return DECLARED_PREFIX + text
    return None


def concrete_source(topology: Topology, net: Network, text: str) -> tuple[str, IPv4Address]:
    """A node (or pool) or an address, as the sender of a traced packet: (node, source address).
    An address no interface owns is sent by the pool of its LAN subnet, or by the external node
    that stands for it."""
    name = _node_term(topology, text)
    if name is not None:
        node = topology.nodes[name]
        if not node.addresses:
            raise QueryError(f"{text} has no address to send from")
        return name, node.addresses[0]
    try:
        addr = IPv4Address(text)
    except ValueError:
        raise _unknown_end(topology, text) from None
    owner = address_owner(net, addr)
    if owner is None:
        raise QueryError(f"no node or pool owns {addr} in {topology.name}")
    return owner, addr


def concrete_destination(topology: Topology, text: str) -> IPv4Address:
    name = _node_term(topology, text)
    if name is not None:
        node = topology.nodes[name]
        if not node.addresses:
            raise QueryError(f"{text} has no address")
        return node.addresses[0]
    try:
        return IPv4Address(text)
    except ValueError:
        raise _unknown_end(topology, text) from None


def _unknown_end(topology: Topology, text: str) -> QueryError:
    close = difflib.get_close_matches(text, [n for n in topology.nodes], n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return QueryError(f"{text!r} is neither a node, a pool nor an IPv4 address of {topology.name}{hint}")

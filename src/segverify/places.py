"""Places a question names: ``--from``/``--to`` of query, the testing helpers, trace's ends.

A place term is qualified by its kind or is an address:

    segment:internet   every endpoint with a leg in that segment
    zone:inet-dmz      every endpoint with a leg in that zone
    node:internet      that node (an endpoint; as a destination any device, for its own addresses)
    pool:office-pcs    a declared pool;  lan:office-lan  the unlisted addresses of that LAN
    10.20.1.250        whoever owns it (an interface, a pool, an external node), and only that address
    10.20.1.0/24       every endpoint that owns an address of it, and only those addresses

A comma-separated list is the union. An unqualified name is taken as the one kind it names; when it
names several kinds (``internet`` is a segment and, in every bundled network, a node) it is an error
that lists the qualified candidates, so that no question is silently answered for another place.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_network

from .errors import QueryError
from .model import Segment, Topology
from .network import Network
from .pools import DECLARED_PREFIX, IMPLICIT_PREFIX

KINDS = ("segment", "zone", "node", "pool", "lan")


@dataclass(frozen=True)
class Place:
    """What a place term names: the nodes it covers and, per node, the addresses it is limited to
    (None: all of that node's)."""

    text: str
    nodes: tuple[str, ...]
    limits: dict[str, tuple[IPv4Network, ...] | None] = field(default_factory=dict)

    def limit(self, node: str) -> tuple[IPv4Network, ...] | None:
        return self.limits.get(node)


def candidates(topology: Topology, name: str) -> list[str]:
    """The qualified terms an unqualified ``name`` could mean."""
    found = []
    if name in {s.value for s in Segment}:
        found.append(f"segment:{name}")
    if name in topology.zones:
        found.append(f"zone:{name}")
    if name in topology.nodes:
        found.append(f"node:{name}")
    if DECLARED_PREFIX + name in topology.nodes:
        found.append(f"pool:{name}")
    return found


def known_terms(topology: Topology) -> list[str]:
    """Every name a place term can use, qualified and (for nodes, zones, segments) bare."""
    terms = [s.value for s in Segment] + [f"segment:{s.value}" for s in Segment]
    terms += list(topology.zones) + [f"zone:{z}" for z in topology.zones]
    for name, node in topology.nodes.items():
        if node.pool is None:
            terms += [name, f"node:{name}"]
        elif node.pool.implicit:
            terms.append(name)
        else:
            terms += [name, name[len(DECLARED_PREFIX):]]
    return terms


def _unknown(topology: Topology, text: str, what: str = "a node, pool, zone, segment or address") -> QueryError:
    close = difflib.get_close_matches(text, known_terms(topology), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return QueryError(f"{text!r} is not {what} of {topology.name}{hint}")


def resolve_place(topology: Topology, net: Network, text: str, *, sending: bool = False) -> Place:
    """The place a term (or a comma-separated list of terms) names. ``sending``: the place sends,
    so a device that only forwards is refused (it starts no flows in the model)."""
    parts = [p.strip() for p in text.split(",")]
    if not all(parts):
        raise QueryError(f"{text!r}: an empty item in the list")
    nodes: list[str] = []
    limits: dict[str, tuple[IPv4Network, ...] | None] = {}
    for part in parts:
        one = _resolve_one(topology, net, part, sending)
        for node in one.nodes:
            if node not in limits:
                nodes.append(node)
                limits[node] = one.limit(node)
            elif limits[node] is not None:
                extra = one.limit(node)
                limits[node] = None if extra is None else tuple(sorted(set(limits[node] or ()) | set(extra)))
    return Place(text, tuple(nodes), limits)


def _resolve_one(topology: Topology, net: Network, text: str, sending: bool) -> Place:
    kind, sep, name = text.partition(":")
    if sep and kind in KINDS:
        return _qualified(topology, net, text, kind, name, sending)
    if text[:1].isdigit() and _parses(text):
        return _address(topology, net, text, sending)
    found = candidates(topology, text)
    if len(found) > 1:
        raise QueryError(f"{text!r} is ambiguous: it names {', '.join(found)}; write one of those")
    if not found:
        raise _unknown(topology, text)
    kind, _, name = found[0].partition(":")
    return _qualified(topology, net, text, kind, name, sending)


def _qualified(topology: Topology, net: Network, text: str, kind: str, name: str, sending: bool) -> Place:
    if kind == "segment":
        segments = {s.value: s for s in Segment}
        if name not in segments:
            close = difflib.get_close_matches(name, list(segments), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join('segment:' + c for c in close)}?" if close else ""
            raise QueryError(f"{text!r}: there is no segment {name!r} (one of {', '.join(segments)}){hint}")
        members = tuple(n for n in net.endpoints if segments[name] in topology.segments_of(n))
        return Place(text, members)
    if kind == "zone":
        if name not in topology.zones:
            raise _unknown(topology, name, "a zone")
        members = tuple(n for n in net.endpoints if any(i.zone == name for i in topology.nodes[n].interfaces))
        return Place(text, members)
    node = name if kind == "node" else (DECLARED_PREFIX + name if kind == "pool" else IMPLICIT_PREFIX + name)
    if node not in topology.nodes or (kind == "node" and topology.nodes[node].pool is not None):
        what = {"node": "a node", "pool": "a declared pool", "lan": "a LAN with unlisted addresses"}[kind]
        raise _unknown(topology, text, what)
    if sending and node not in net.origin_ids:
        raise QueryError(f"{name} is a {topology.nodes[node].kind.value}: it forwards traffic but starts no flows in "
                         "the model; as a destination it stands for its own addresses (management access)")
    return Place(text, (node,))


def _parses(text: str) -> bool:
    try:
        ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _address(topology: Topology, net: Network, text: str, sending: bool) -> Place:
    prefix = ip_network(text, strict=False)
    if not isinstance(prefix, IPv4Network):
        raise QueryError("IPv6 is not supported yet")
    s = net.space
    wanted = s.prefix("dst", prefix)
    owners = tuple(n for n in sorted(net.nodes) if (net.nodes[n].own & wanted) != s.false)
    members = tuple(n for n in owners if n in net.origin_ids or not sending)
    if not members:
        if owners:
            devices = ", ".join(f"{n} ({topology.nodes[n].kind.value})" for n in owners)
            raise QueryError(f"{text} belongs to {devices}, which forwards traffic but starts no flows in the model")
        raise QueryError(f"no node or pool owns {text} in {topology.name}")
    return Place(text, members, {n: (prefix,) for n in members})


def address_owner(net: Network, addr: IPv4Address) -> str | None:
    """The node a packet from or to ``addr`` belongs to: the interface's owner, else the pool or
    external node that stands for it (they never overlap), else None."""
    owner = net.owner.get(addr)
    if owner is not None:
        return owner[0]
    s = net.space
    cube = s.address("dst", addr)
    for name in sorted(net.pool_space):
        if (net.pool_space[name] & cube) != s.false:
            return name
    for name in sorted(net.external_space):
        if (net.external_space[name] & cube) != s.false:
            return name
    return None

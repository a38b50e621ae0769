"""Pools: the hosts of a LAN subnet that the file does not list one by one.

Every address of every connected subnet can send, whether or not an interface in the file owns it.
Two kinds of pool stand for those addresses, each as a node of its own with one interface on the LAN:

* declared pools (``pools:`` in the format, node name ``pool:NAME``): a DHCP range of terminals
  with the endpoint controls they are managed with, so the terminal rules check them;
* implicit pools (node name ``lan:LAN``): one per LAN subnet (and zone) for "any other address on
  this subnet", with no endpoint attributes, made whenever such an address exists.

A pool stands for its range less the network and broadcast addresses, every interface address,
every NAT address, the LAN's declared pools (for an implicit one) and what the LAN's external nodes
represent. It sends to any router of its LAN unless a gateway is declared: an unmanaged host may
pick any of them. The engine computes the same set symbolically (:meth:`Network.pool_space`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Iterable, Iterator

from .model import Interface, Lan, Node, NodeKind, Pool, Route, Topology
from .network import nat_rules

IMPLICIT_PREFIX = "lan:"
DECLARED_PREFIX = "pool:"
POOL_INTERFACE = "eth0"


@dataclass(frozen=True)
class Subnet:
    """One subnet of one LAN, with the zones of the interfaces on it."""

    lan: Lan
    network: IPv4Network
    zones: tuple[str, ...]  # sorted; the inside interfaces' zones when there are any


def lan_subnets(nodes: dict[str, Node], lans: Iterable[Lan]) -> list[Subnet]:
    result = []
    for lan in lans:
        zones: dict[IPv4Network, tuple[set[str], set[str]]] = {}
        for node, iface_name in lan.endpoints:
            iface = nodes[node].interface(iface_name)
            for address in iface.all_addresses:
                inside, outside = zones.setdefault(address.network, (set(), set()))
                (outside if nodes[node].kind is NodeKind.EXTERNAL else inside).add(iface.zone)
        for net in sorted(zones):
            inside, outside = zones[net]
            result.append(Subnet(lan, net, tuple(sorted(inside or outside))))
    return result


def _minus(nets: Iterable[IPv4Network], taken: Iterable[IPv4Network]) -> list[IPv4Network]:
    """The addresses of ``nets`` outside every network of ``taken``, as prefixes."""
    rest = list(nets)
    for cut in taken:
        nxt: list[IPv4Network] = []
        for net in rest:
            if net.subnet_of(cut):
                continue
            if cut.subnet_of(net):
                nxt.extend(net.address_exclude(cut))
            else:
                nxt.append(net)
        rest = nxt
    return sorted(rest)


class Exclusions:
    """What no pool stands for: interface and NAT addresses, anywhere in the topology."""

    def __init__(self, nodes: dict[str, Node]) -> None:
        self.addresses: set[IPv4Address] = set()
        self.nat: list[IPv4Network] = []  # the public side of inside nodes' NAT
        for node in nodes.values():
            self.addresses.update(node.addresses)
            if node.kind is not NodeKind.EXTERNAL:
                self.nat += [net for rule in nat_rules(node) for net in rule.public]
        self.nodes = nodes

    def taken_on(self, subnet: Subnet, declared: Iterable[Pool]) -> list[IPv4Network]:
        """Ranges of ``subnet`` that others hold: its LAN's external nodes and ``declared`` pools."""
        taken: list[IPv4Network] = []
        for node, _ in subnet.lan.endpoints:
            n = self.nodes[node]
            if n.kind is NodeKind.EXTERNAL:
                taken.extend(n.represents)
        for pool in declared:
            taken.extend(pool.range)
        return taken + self.nat

    def free(self, subnet: IPv4Network, ranges: Iterable[IPv4Network],
             taken: Iterable[IPv4Network]) -> Iterator[IPv4Address]:
        """The addresses a pool of ``ranges`` on ``subnet`` stands for, lowest first."""
        net_ends = {subnet.network_address, subnet.broadcast_address} if subnet.prefixlen <= 30 else set()
        inside = [r for r in ranges if r.subnet_of(subnet)]
        for block in _minus(inside, taken):
            for addr in block:
                if addr not in self.addresses and addr not in net_ends:
                    yield addr


def first_free(exclusions: Exclusions, subnet: IPv4Network, ranges: Iterable[IPv4Network],
               taken: Iterable[IPv4Network]) -> IPv4Address | None:
    return next(exclusions.free(subnet, ranges, taken), None)


def routers_on(nodes: dict[str, Node], subnet: Subnet) -> list[IPv4Address]:
    """Addresses on the subnet of the LAN's forwarding members: the gateways a host may choose."""
    out = []
    for node, iface_name in subnet.lan.endpoints:
        n = nodes[node]
        if n.forwarding and n.kind is not NodeKind.EXTERNAL:
            out += [a.ip for a in n.interface(iface_name).all_addresses if a.network == subnet.network]
    return sorted(out)


def pool_node(pool: Pool, zone: str, kind: NodeKind, representative: IPv4Address, gateways: list[IPv4Address],
              *, description: str = "", mfa: bool | None = None, removable_media_blocked: bool | None = None,
              epp: bool | None = None, edr: bool | None = None) -> Node:
    """The node that stands for ``pool``: one interface at its lowest address, default routes via
    each of ``gateways`` (equal cost: any of them may be the one a host uses)."""
    iface = Interface(pool.name, POOL_INTERFACE, zone, IPv4Interface(f"{representative}/{pool.subnet.prefixlen}"),
                      None, None, None, pool.span, description)
    routes = tuple(Route(IPv4Network("0.0.0.0/0"), gw, False, pool.span) for gw in gateways)
    return Node(name=pool.name, kind=kind, roles=frozenset(), interfaces=(iface,), routes=routes, acls={}, nat=(),
                forwarding=False, span=pool.span, description=description, mfa=mfa,
                removable_media_blocked=removable_media_blocked, epp=epp, edr=edr, pool=pool)


def implicit_pools(nodes: dict[str, Node], lans: tuple[Lan, ...], declared: list[Node]) -> list[Node]:
    """One node per LAN subnet and zone that has an address nobody else stands for."""
    exclusions = Exclusions(nodes)
    by_lan: dict[str, list[Subnet]] = {}
    for subnet in lan_subnets(nodes, lans):
        by_lan.setdefault(subnet.lan.name, []).append(subnet)
    result = []
    for lan_name, subnets in by_lan.items():
        several_subnets = len(subnets) > 1
        for subnet in subnets:
            pools_here = [n.pool for n in declared if n.pool is not None and n.pool.lan == lan_name
                          and n.pool.subnet == subnet.network]
            taken = exclusions.taken_on(subnet, pools_here)
            representative = first_free(exclusions, subnet.network, (subnet.network,), taken)
            if representative is None:
                continue
            for zone in subnet.zones:
                name = IMPLICIT_PREFIX + (lan_name if subnet.lan.named else _link_name(subnet.lan))
                if several_subnets:
                    name += f"/{subnet.network}"
                if len(subnet.zones) > 1:
                    name += f"@{zone}"
                pool = Pool(name, lan_name, subnet.network, (subnet.network,), True, subnet.lan.span)
                result.append(pool_node(pool, zone, NodeKind.HOST, representative, routers_on(nodes, subnet),
                                        description=f"any other address of {subnet.network} on {lan_name}"))
    return result


def attach(lans: tuple[Lan, ...], pools: Iterable[Node]) -> tuple[Lan, ...]:
    """The LANs with each pool's interface added to its own LAN."""
    extra: dict[str, list[tuple[str, str]]] = {}
    for node in pools:
        assert node.pool is not None
        extra.setdefault(node.pool.lan, []).append((node.name, POOL_INTERFACE))
    return tuple(Lan(lan.name, lan.endpoints + tuple(extra.get(lan.name, ())), lan.span, lan.description, lan.named)
                 for lan in lans)


def _link_name(lan: Lan) -> str:
    """An unnamed link's pool is named by its ends, which do not change when the file is reordered."""
    return ",".join(sorted(f"{node}:{iface}" for node, iface in lan.endpoints))



def stands_for(topology: Topology, node: Node) -> list[IPv4Network]:
    """The addresses the pool node ``node`` stands for, as prefixes (for the kernel's local routes;
    the engine builds the same set as a header predicate)."""
    pool = node.pool
    assert pool is not None
    taken: list[IPv4Network] = []
    if pool.subnet.prefixlen <= 30:
        taken += [IPv4Network(pool.subnet.network_address), IPv4Network(pool.subnet.broadcast_address)]
    for other in topology.nodes.values():
        if other.pool is None:
            taken += [IPv4Network(a) for a in other.addresses if a in pool.subnet]
        if other.kind is not NodeKind.EXTERNAL:
            taken += [net for rule in nat_rules(other) for net in rule.public if net.overlaps(pool.subnet)]
        if pool.implicit and other.pool is not None and not other.pool.implicit and other.pool.lan == pool.lan:
            taken += list(other.pool.range)
    lan = next(lan for lan in topology.lans if lan.name == pool.lan)
    for member, _ in lan.endpoints:
        peer = topology.nodes[member]
        if peer.kind is NodeKind.EXTERNAL:
            taken += list(peer.represents)
    return _minus([r for r in pool.range if r.subnet_of(pool.subnet)], taken)

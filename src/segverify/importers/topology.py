"""Which interfaces share a layer-2 segment: explicit cabling first, else matching subnets.

Cabling (``batfish/layer1_topology.json``, the overlay's links and LANs) is followed through
switchports: access ports, trunks and their allowed VLANs, subinterface tags, port-channels, SVIs.
Interfaces that no cabling reaches are connected when their subnets match (Batfish's rule); when a
subnet is reused (two interfaces with one address) the import refuses and asks for cabling.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Hashable

from ..errors import InputError, Span
from .device import Device


@dataclass(frozen=True)
class Cable:
    a: tuple[str, str]  # (device, port)
    b: tuple[str, str]
    span: Span


@dataclass
class Segment:
    """A layer-2 segment: its L3 members (device, interface) and where it was derived from."""

    name: str
    members: list[tuple[str, str]]
    span: Span
    how: str  # cabling | subnet | stub


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, x: Hashable) -> Hashable:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb, key=repr)] = min(ra, rb, key=repr)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_./" else "_" for c in text)


def derive(devices: dict[str, Device], cables: list[Cable], cabled_l3: set[tuple[str, str]]) -> list[Segment]:
    """Layer-2 segments of the snapshot. ``cabled_l3``: L3 interfaces the overlay cabled itself."""
    uf = _UnionFind()
    vlans_used: set[int] = set()
    for dev in devices.values():
        for port in dev.ports.values():
            if port.mode == "access":
                vlans_used.add(port.access_vlan)
            if port.mode == "trunk":
                vlans_used.add(port.native_vlan)
        for iface in dev.interfaces.values():
            if iface.svi_vlan is not None:
                vlans_used.add(iface.svi_vlan)
            if iface.vlan_tag is not None:
                vlans_used.add(iface.vlan_tag)
    tags: list[int | None] = [None, *sorted(vlans_used)]
    for dev in devices.values():
        for name, iface in dev.interfaces.items():
            key = ("l3", dev.name, name)
            uf.find(key)
            if iface.svi_vlan is not None:
                uf.union(key, ("vlan", dev.name, iface.svi_vlan))
            elif iface.physical is not None:
                uf.union(key, ("port", dev.name, iface.physical, iface.vlan_tag))
            elif name in dev.ports or dev.vendor == "linux":
                uf.union(key, ("port", dev.name, name, None))
        for port in dev.ports.values():
            if port.mode == "access":
                uf.union(("port", dev.name, port.name, None), ("vlan", dev.name, port.access_vlan))
            elif port.mode == "trunk":
                uf.union(("port", dev.name, port.name, None), ("vlan", dev.name, port.native_vlan))
                for v in vlans_used & port.trunk_vlans:
                    uf.union(("port", dev.name, port.name, v), ("vlan", dev.name, v))
    cabled_ports: set[tuple[str, str]] = set()

    def port_key(end: tuple[str, str], span: Span) -> tuple[str, str]:
        dev_name, port_name = end
        dev = devices.get(dev_name)
        if dev is None:
            raise InputError(f"cabling names device {dev_name!r}, which no configuration defines", span)
        if port_name in dev.omitted:
            return end
        port = dev.ports.get(port_name)
        if port is None and port_name not in dev.interfaces:
            known = ", ".join(sorted(set(dev.ports) | set(dev.interfaces))[:12])
            raise InputError(f"cabling names {dev_name}:{port_name}, which its configuration does not have "
                             f"(it has: {known})", span)
        if port is not None and port.mode.startswith("member:"):
            return (dev_name, port.mode.split(":", 1)[1])
        return end

    for cable in cables:
        a, b = port_key(cable.a, cable.span), port_key(cable.b, cable.span)
        cabled_ports.update((a, b))
        for tag in tags:
            uf.union(("port", *a, tag), ("port", *b, tag))
    roots_cabled = {uf.find(("port", *p, tag)) for p in cabled_ports for tag in tags}
    segments: dict[Hashable, list[tuple[str, str]]] = {}
    uncabled: list[tuple[str, str]] = []
    for dev in sorted(devices.values(), key=lambda d: d.name):
        for name in sorted(dev.interfaces):
            if (dev.name, name) in cabled_l3:
                continue
            root = uf.find(("l3", dev.name, name))
            if root in roots_cabled:
                segments.setdefault(root, []).append((dev.name, name))
            elif not dev.interfaces[name].loopback:
                uncabled.append((dev.name, name))
    result: list[Segment] = []
    for members in segments.values():
        dev_name, iface_name = members[0]
        result.append(Segment(f"l2-{_safe(dev_name)}-{_safe(iface_name)}", members,
                              devices[dev_name].interfaces[iface_name].span, "cabling"))
    result.extend(_by_subnet(devices, uncabled))
    return sorted(_split_self_links(result), key=lambda s: s.name)


def _split_self_links(segments: list[Segment]) -> list[Segment]:
    """A segment of one device's own interfaces only (two ports of a router in one subnet) links the
    device to itself: no neighbour is reached through it, so each interface is a stub of its own."""
    result: list[Segment] = []
    for seg in segments:
        if len(seg.members) > 1 and len({dev for dev, _ in seg.members}) == 1:
            result.extend(Segment(f"{seg.name}-{_safe(iface)}", [(dev, iface)], seg.span, "stub")
                          for dev, iface in seg.members)
        else:
            result.append(seg)
    return result


def _subnets(devices: dict[str, Device], member: tuple[str, str]) -> list[tuple[IPv4Network, IPv4Address, Span]]:
    iface = devices[member[0]].interfaces[member[1]]
    found = []
    if iface.address is not None and iface.address_span is not None:
        found.append((iface.address.network, iface.address.ip, iface.address_span))
    found.extend((a.network, a.ip, s) for a, s in iface.secondary)
    return found


def _by_subnet(devices: dict[str, Device], members: list[tuple[str, str]]) -> list[Segment]:
    uf = _UnionFind()
    by_net: dict[IPv4Network, list[tuple[tuple[str, str], IPv4Address, Span]]] = {}
    for m in members:
        uf.find(m)
        for net, ip, span in _subnets(devices, m):
            if net.prefixlen == 32:
                continue
            by_net.setdefault(net, []).append((m, ip, span))
    for net, owners in sorted(by_net.items()):
        seen: dict[IPv4Address, tuple[tuple[str, str], Span]] = {}
        for m, ip, span in owners:
            if ip in seen and seen[ip][0] != m:
                other = seen[ip][0]
                raise InputError(
                    f"subnet {net} is used on several segments ({other[0]}:{other[1]} and {m[0]}:{m[1]} both have "
                    f"{ip}): give the cabling (batfish/layer1_topology.json or links in the overlay) instead of "
                    "letting segverify guess", span, related=seen[ip][1])
            seen[ip] = (m, span)
        for m, _ip, _span in owners[1:]:
            uf.union(owners[0][0], m)
    groups: dict[Hashable, list[tuple[str, str]]] = {}
    for m in members:
        groups.setdefault(uf.find(m), []).append(m)
    result = []
    for group in groups.values():
        dev_name, iface_name = group[0]
        iface = devices[dev_name].interfaces[iface_name]
        if iface.address is None and not iface.secondary and len(group) == 1:
            continue  # an interface with no address and no cabling carries nothing we model
        nets = _subnets(devices, group[0])
        label = str(nets[0][0]).replace("/", "_") if nets else f"{dev_name}-{iface_name}"
        how = "subnet" if len(group) > 1 else "stub"
        name = f"net-{label}" if how == "subnet" else f"stub-{_safe(dev_name)}-{_safe(iface_name)}"
        result.append(Segment(name, sorted(group), iface.address_span or iface.span, how))
    return result

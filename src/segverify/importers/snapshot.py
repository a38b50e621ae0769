"""A snapshot directory (Batfish's layout) plus an overlay, turned into one topology Document.

Layout::

    configs/*              one device configuration per file, vendor recognised from content
    hosts/NAME.json        Batfish host files (with their iptablesFile)
    hosts/NAME/            a Linux host's own dumps: addr.json, route.json, iptables.txt, nft.json, ip_forward
    iptables/*             the files hosts/*.json point at
    fib/*                  forwarding tables: show ip route, Stanford tables, a Batfish routes answer
    batfish/layer1_topology.json   cabling
    segverify.yaml         the overlay (or --overlay FILE)

The result is the topology format's plain data with a span for every value: spans of derived
objects point into the vendor files, spans of what the overlay added into the overlay. The model's
builder then checks it like any topology, so its errors cite vendor lines too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from ..errors import InputError, Span
from ..model import ImportScope, NotVerifiedLine, SourceFile
from ..reader import Document, Path_
from .cisco_ios import looks_like_ios, parse_ios
from .fortios import parse_fortios
from .fortios_config import looks_like_fortios
from .panos import looks_like_panos, parse_panos
from .device import AclData, Device, L3Interface, RouteData
from .fib import Fib, read_fib
from .layout import is_snapshot
from .files import read_text
from .linux_host import batfish_host, dumped_host, load_json, span_at
from .notes import NoteKind, Notes
from .overlay import OVERLAY_INTERFACE_KEYS, OVERLAY_NODE_KEYS, Overlay, read_overlay
from .topology import Cable, Segment, derive

OVERLAY_NAME = "segverify.yaml"


@dataclass
class Imported:
    doc: Document
    notes: Notes
    devices: dict[str, Device]
    segments: list[Segment]
    vendor_lines: int = 0


def _where(span: Span) -> tuple[str, int, int]:
    return (span.file, span.line, span.column)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def read_devices(root: Path, notes: Notes) -> tuple[dict[str, Device], list[SourceFile], int]:
    devices: dict[str, Device] = {}
    files: list[SourceFile] = []
    lines = 0

    def add(device: Device) -> None:
        if device.name in devices:
            raise InputError(f"device {device.name!r} is defined twice", device.span, related=devices[device.name].span)
        devices[device.name] = device

    configs = root / "configs"
    if configs.is_dir():
        for path in _files(configs):
            display = str(path)
            text = read_text(path, display)
            files.append(SourceFile(display, hashlib.sha256(text.encode()).hexdigest()))
            lines += text.count("\n") + 1
            if looks_like_fortios(text):
                for device in parse_fortios(text, display, notes):
                    add(device)
            elif looks_like_panos(text):
                for device in parse_panos(text, display, notes):
                    add(device)
            elif looks_like_ios(text):
                stem = path.name.split(".")[0]
                for suffix in ("_config", "-config", "_running", "-confg"):
                    stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
                add(parse_ios(text, display, notes, stem))
            else:
                raise InputError("vendor not recognised (segverify reads Cisco IOS / IOS-XE, FortiOS and PAN-OS "
                                 "configurations; a Linux host belongs in hosts/)", Span(display, 1, 1))
    hosts = root / "hosts"
    if hosts.is_dir():
        for path in sorted(hosts.iterdir()):
            display = str(path)
            if path.is_dir():
                add(dumped_host(path, display, notes))
            elif path.suffix == ".json":
                add(batfish_host(path, display, root, notes))
            elif not path.name.startswith("."):
                notes.unverified(Span(display, 1, 1), "file in hosts/ that is neither NAME.json nor a host directory")
    return devices, files, lines


def read_clab(path: Path) -> list[Cable]:
    """containerlab's ``topology: links: [{endpoints: [r1:eth1, r2:eth1]}]``."""
    from ..reader import read_yaml

    display = str(path)
    part, _text, _raw = read_yaml(path, display)
    data = part.data if part is not None else None
    links = data.get("topology", {}).get("links", []) if isinstance(data, dict) and \
        isinstance(data.get("topology"), dict) else None
    if not isinstance(links, list):
        raise InputError("a containerlab file has topology: links: [...]", Span(display, 1, 1))
    cables = []
    for i, link in enumerate(links):
        span = part.span(("topology", "links", i)) if part is not None else Span(display, 1, 1)
        ends = link.get("endpoints") if isinstance(link, dict) else None
        if not isinstance(ends, list) or len(ends) != 2 or not all(isinstance(e, str) and ":" in e for e in ends):
            raise InputError("a containerlab link has endpoints: [node:interface, node:interface]", span)
        a, b = (tuple(e.split(":", 1)) for e in ends)
        cables.append(Cable((a[0], a[1]), (b[0], b[1]), span))
    return cables


def read_cabling(root: Path) -> list[Cable]:
    cables: list[Cable] = []
    for clab in sorted(root.glob("*.clab.yml")) + sorted(root.glob("*.clab.yaml")):
        cables.extend(read_clab(clab))
    path = root / "batfish" / "layer1_topology.json"
    if not path.is_file():
        return cables
    display = str(path)
    data, spans = load_json(path, display)
    edges = data.get("edges") if isinstance(data, dict) else None
    if not isinstance(edges, list):
        raise InputError("layer1_topology.json holds {\"edges\": [...]}", Span(display, 1, 1))
    for i, edge in enumerate(edges):
        span = span_at(spans, ("edges", i), display)
        try:
            a = (str(edge["node1"]["hostname"]), str(edge["node1"]["interfaceName"]))
            b = (str(edge["node2"]["hostname"]), str(edge["node2"]["interfaceName"]))
        except (KeyError, TypeError):
            raise InputError("an edge needs node1/node2 with hostname and interfaceName", span) from None
        if (b, a) in {(c.a, c.b) for c in cables}:
            continue  # Batfish lists each cable in both directions
        cables.append(Cable(a, b, span))
    return cables


def read_fibs(root: Path, extra: list[Path], devices: dict[str, Device], notes: Notes) -> Fib:
    paths = _files(root / "fib") if (root / "fib").is_dir() else []
    paths += extra
    fib: Fib = {}
    for path in paths:
        display = str(path)
        stem = path.name.split(".")[0]
        for suffix in ("_route", "-route", "_fib"):
            stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
        for device, routes in read_fib(path, display, stem, notes).items():
            if device not in devices:
                raise InputError(f"forwarding table for {device!r}, which no configuration defines",
                                 routes[0].span if routes else Span(display, 1, 1))
            if device in fib:
                raise InputError(f"two forwarding tables for {device}", Span(display, 1, 1))
            fib[device] = routes
    return fib


class Emitter:
    """Writes devices, segments and the overlay into one Document with spans."""

    def __init__(self, devices: dict[str, Device], overlay: Overlay | None, notes: Notes) -> None:
        self.devices = devices
        self.overlay = overlay
        self.notes = notes
        self.doc = Document(data={})
        self.node_of: dict[tuple[str, str], str] = {}  # (device, interface) -> model node
        self.pending: list[tuple[Path_, Device, RouteData]] = []  # interface routes, resolved after the LANs
        self.lan_of: dict[tuple[str, str], Segment] = {}
        self.virtual_winner: dict[tuple[str, str, IPv4Address], bool] = {}

    def put(self, path: Path_, value: Any, span: Span, key_span: Span | None = None) -> None:
        target: Any = self.doc.data
        for key in path[:-1]:
            target = target[key]
        if isinstance(target, list):
            target.append(value)
        else:
            target[path[-1]] = value
        self.doc.spans[path] = _where(span)
        self.doc.key_spans[path] = _where(key_span or span)

    def node_name(self, device: Device, iface: L3Interface | None = None, vrf: str | None = None) -> str:
        vrf = iface.vrf if iface is not None else vrf
        return device.name if vrf is None or self.routing_contexts(device) else f"{device.name}@{vrf}"

    @staticmethod
    def routing_contexts(device: Device) -> bool:
        """A routing device's VRFs are routing contexts of its one node (``vrfs``); a device that does
        not route keeps one node per VRF, since only a forwarding node may hold VRFs."""
        return device.forwarding and any(i.vrf is not None for i in device.interfaces.values())

    # -- devices ------------------------------------------------------------------------------------

    def emit(self, segments: list[Segment]) -> None:
        data = self.doc.data
        data["nodes"] = {}
        self.virtual_owners()
        owners: dict[IPv4Address, tuple[str, str, Span]] = {}
        for device in sorted(self.devices.values(), key=lambda d: d.name):
            self.device(device, owners)
        self.lans(segments)
        self.resolve_interface_routes()

    def virtual_owners(self) -> None:
        """An HSRP/VRRP address is modelled on the active router: highest priority, then highest address."""
        claims: dict[IPv4Address, list[tuple[int, IPv4Address, str, str, Span]]] = {}
        for device in self.devices.values():
            for iface in device.interfaces.values():
                for address, priority, span in iface.virtual:
                    mine = iface.address.ip if iface.address is not None else IPv4Address(0)
                    claims.setdefault(address, []).append((priority, mine, device.name, iface.name, span))
        for address, group in claims.items():
            group.sort(key=lambda c: (c[0], c[1]), reverse=True)
            for i, (_prio, _mine, dev, name, span) in enumerate(group):
                self.virtual_winner[(dev, name, address)] = i == 0
                if len(group) > 1 and i == 0:
                    others = ", ".join(f"{d}:{n}" for _p, _m, d, n, _s in group[1:])
                    self.notes.unverified(span, f"virtual address {address} modelled on the active router "
                                          f"{dev}:{name} only (standby: {others}); failover is not modelled")

    def device(self, device: Device, owners: dict[IPv4Address, tuple[str, str, Span]]) -> None:
        nodes = self.doc.data["nodes"]
        vrfs = sorted({i.vrf for i in device.interfaces.values() if i.vrf is not None})
        contexts = self.routing_contexts(device)
        for vrf in [None] if contexts else [None, *vrfs]:
            name = self.node_name(device, vrf=vrf)
            members = {n: i for n, i in device.interfaces.items() if contexts or i.vrf == vrf}
            if vrf is not None and not members:
                continue
            self.put(("nodes", name), {}, device.span)
            self.put(("nodes", name, "kind"), device.kind, device.span)
            default_forward = device.kind in ("router", "l3switch", "firewall", "gateway")
            # Said explicitly when the snapshot says it (ip_forward, no ip routing): the overlay may
            # change the kind, and a kind's default must not override what the device does.
            if device.forwarding != default_forward or device.forwarding_span is not None:
                self.put(("nodes", name, "ip_forward"), device.forwarding, device.forwarding_span or device.span)
            if vrf is not None:
                self.put(("nodes", name, "description"), f"{device.name}, VRF {vrf}", device.vrfs.get(vrf, device.span))
            self.put(("nodes", name, "interfaces"), {}, device.span)
            used_acls: set[str] = set()
            for iname in sorted(members, key=_natural):
                self.interface(device, name, members[iname], owners, used_acls)
            # Every ACL of the device goes into its global node, used or not: HYG001 then judges all
            # of them (as Batfish's filterLineReachability does); a VRF node gets the ones it uses.
            self.acls(device, name, used_acls | (set(device.acls) if vrf is None else set()))
            if vrf is None and device.policies is not None:
                self.policies(device, name)
            if contexts:
                self.routing_tables(device, name, vrfs)
            else:
                self.routes(device, name, vrf)
            self.nat(device, name, set(members))

    def interface(self, device: Device, node: str, iface: L3Interface, owners: dict[IPv4Address, tuple[str, str, Span]],
                  used_acls: set[str]) -> None:
        path: Path_ = ("nodes", node, "interfaces", iface.name)
        self.put(path, {}, iface.span)
        self.node_of[(device.name, iface.name)] = node
        if iface.address is not None and iface.address_span is not None:
            if self._claim(owners, iface.address.ip, device, iface.name, iface.address_span):
                self.put(path + ("address",), str(iface.address), iface.address_span)
        secondary = [(a, s) for a, s in iface.secondary if self._claim(owners, a.ip, device, iface.name, s)]
        if secondary:
            self.put(path + ("secondary",), [str(a) for a, _ in secondary], secondary[0][1])
            for i, (_a, span) in enumerate(secondary):
                self.doc.spans[path + ("secondary", i)] = _where(span)
        subnets = [x.network for x in ([iface.address] if iface.address else []) + [a for a, _ in iface.secondary]]
        virtual = []
        for address, _prio, span in iface.virtual:
            if not any(address in net for net in subnets):
                self.notes.warn(span, f"virtual address {address} is on none of {iface.name}'s subnets: the "
                                "router cannot answer for it, so it is not modelled")
                continue
            if self.virtual_winner.get((device.name, iface.name, address)) and \
                    self._claim(owners, address, device, iface.name, span):
                virtual.append((address, span))
        if virtual:
            self.put(path + ("virtual",), [str(a) for a, _ in virtual], virtual[0][1])
            for i, (_virtual, span) in enumerate(virtual):
                self.doc.spans[path + ("virtual", i)] = _where(span)
        if iface.gateway is not None:
            self.put(path + ("gateway",), str(iface.gateway), iface.gateway_span or iface.span)
        for key, ref in (("acl_in", iface.acl_in), ("acl_out", iface.acl_out)):
            if ref is None:
                continue
            acl_name, ref_span = ref
            if acl_name not in device.acls:
                self.notes.warn(ref_span, f"ACL {acl_name} is not defined: IOS lets every packet through")
                continue
            used_acls.add(acl_name)
            self.put(path + (key,), acl_name, ref_span)
        if iface.description:
            self.put(path + ("description",), iface.description, iface.span)
        if iface.vrf is not None and self.routing_contexts(device):
            self.put(path + ("vrf",), iface.vrf, iface.vrf_span or iface.span)

    def _claim(self, owners: dict[IPv4Address, tuple[str, str, Span]], address: IPv4Address, device: Device,
               iface: str, span: Span) -> bool:
        """Take ``address`` for device:iface unless another interface has it (then a warning)."""
        other = owners.get(address)
        if other is None:
            owners[address] = (device.name, iface, span)
            return True
        self.notes.warn(span, f"address {address} is also configured on {other[0]}:{other[1]} ({other[2]}): "
                        f"{device.name}:{iface} is modelled without it, so packets to {address} are delivered "
                        f"to {other[0]} only")
        self.notes.unverified(span, f"duplicate address {address}: its second owner is not modelled")
        return False

    def acls(self, device: Device, node: str, used: set[str]) -> None:
        if not used:
            return
        self.put(("nodes", node, "acls"), {}, device.span)
        for name in sorted(used, key=_natural):
            acl: AclData = device.acls[name]
            path: Path_ = ("nodes", node, "acls", name)
            self.put(path, {}, acl.span)
            self.put(path + ("default",), acl.default, acl.default_span or acl.span)
            self.put(path + ("stateful",), acl.stateful, acl.span)
            self.put(path + ("rules",), [], acl.span)
            for i, (rule, span) in enumerate(zip(acl.rules, acl.rule_spans)):
                self.put(path + ("rules", i), dict(rule), span)
                for key in rule:
                    self.doc.spans[path + ("rules", i, key)] = _where(span)

    def policies(self, device: Device, node: str) -> None:
        policy = device.policies
        assert policy is not None
        path: Path_ = ("nodes", node, "policies")
        self.put(path, {}, policy.span)
        self.put(path + ("default",), policy.default, policy.span)
        self.put(path + ("stateful",), policy.stateful, policy.span)
        self.put(path + ("rules",), [], policy.span)
        for i, (rule, span) in enumerate(zip(policy.rules, policy.rule_spans)):
            self.put(path + ("rules", i), dict(rule), span)
        if policy.local_by_rules:
            self.put(path + ("local",), "rules", policy.span)
            return
        self.put(path + ("local",), {}, policy.span)
        self.put(path + ("local", "default"), policy.local_default, policy.span)
        self.put(path + ("local", "rules"), [], policy.span)
        for i, (rule, span) in enumerate(zip(policy.local_rules, policy.local_spans)):
            self.put(path + ("local", "rules", i), dict(rule), span)

    def routing_tables(self, device: Device, node: str, with_interfaces: list[str]) -> None:
        """The device's VRFs (declared, bound to an interface or holding a route) and their routes."""
        vrfs = sorted(set(with_interfaces) | {r.vrf for r in device.routes if r.vrf is not None}
                      | set(device.vrfs), key=_natural)
        self.put(("nodes", node, "vrfs"), {}, device.span)
        for vrf in vrfs:
            self.put(("nodes", node, "vrfs", vrf), {}, device.vrfs.get(vrf, device.span))
        self.routes(device, node, None)
        for vrf in vrfs:
            self.routes(device, node, vrf, ("nodes", node, "vrfs", vrf, "routes"))

    def routes(self, device: Device, node: str, vrf: str | None, path: Path_ | None = None) -> None:
        mine = [r for r in device.routes if r.vrf == vrf]
        if not mine:
            return
        path = path if path is not None else ("nodes", node, "routes")
        self.put(path, [], device.span)
        gateways = {str(i.gateway) for i in device.interfaces.values() if i.gateway is not None}
        for route in mine:
            items = self._at(path)
            if route.data.get("to") == "0.0.0.0/0" and route.data.get("via") in gateways and \
                    route.data.get("distance", 1) == 1 and vrf is None:
                continue  # the interface's gateway is this route already
            if route.interface is not None:
                self.pending.append((path, device, route))
                continue
            self.put(path + (len(items),), dict(route.data), route.span)

    def _at(self, path: Path_) -> Any:
        target: Any = self.doc.data
        for key in path:
            target = target[key]
        return target

    def nat(self, device: Device, node: str, members: set[str]) -> None:
        rules = [n for n in device.nat if n.data.get("out", n.data.get("in")) in members]
        if not rules:
            return
        self.put(("nodes", node, "nat"), [], device.span)
        for i, rule in enumerate(rules):
            self.put(("nodes", node, "nat", i), dict(rule.data), rule.span)

    # -- segments -----------------------------------------------------------------------------------

    def lans(self, segments: list[Segment]) -> None:
        if not segments:
            return
        self.put(("lans",), {}, segments[0].span)
        used: set[str] = set()
        for seg in segments:
            endpoints = []
            for dev, iface in seg.members:
                endpoints.append(f"{self.node_of.get((dev, iface), dev)}:{iface}")
                self.lan_of[(dev, iface)] = seg
            name = seg.name
            n = 2
            while name in used:
                name, n = f"{seg.name}-{n}", n + 1
            used.add(name)
            self.put(("lans", name), {"endpoints": endpoints}, seg.span)
            self.put(("lans", name, "description"), f"derived from {seg.how}", seg.span)

    def resolve_interface_routes(self) -> None:
        """``ip route P M IFACE`` (no next hop): the one other addressed interface on IFACE's segment."""
        for path, device, route in self.pending:
            seg = self.lan_of.get((device.name, route.interface or ""))
            peers = []
            if seg is not None:
                for dev, iface in seg.members:
                    if (dev, iface) != (device.name, route.interface):
                        address = self.devices[dev].interfaces[iface].address
                        if address is not None:
                            peers.append(address.ip)
            if len(peers) != 1:
                self.notes.unverified(route.span, f"route out of {route.interface} without a next hop: the model "
                                      "needs one neighbour there to send to (proxy ARP is not modelled)")
                continue
            items = self._at(path)
            self.put(path + (len(items),), {**route.data, "via": str(peers[0])}, route.span)


def _natural(name: str) -> tuple[Any, ...]:
    import re
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def resolve_recursive(device: Device, routes: list[RouteData], notes: Notes) -> list[RouteData]:
    """Next hops that are not on a connected subnet are resolved through the table itself (BGP)."""
    subnets = [a.network for i in device.interfaces.values() for a in
               ([i.address] if i.address is not None else []) + [s for s, _ in i.secondary]]
    by_prefix: list[tuple[IPv4Network, RouteData]] = sorted(
        ((IPv4Network(r.data["to"]), r) for r in routes), key=lambda x: -x[0].prefixlen)

    def resolve(via: IPv4Address, depth: int) -> list[str]:
        if any(via in net for net in subnets):
            return [str(via)]
        if depth > 8:
            return []
        for prefix, route in by_prefix:
            if via in prefix and route.vrf is None:
                hops = [r for p, r in by_prefix if p == prefix]
                found: list[str] = []
                for hop in hops:
                    if "via" in hop.data:
                        found.extend(resolve(IPv4Address(hop.data["via"]), depth + 1))
                return found
        return []

    result: list[RouteData] = []
    seen: set[tuple[Any, ...]] = set()
    for route in _resolved(routes, subnets, resolve, notes):
        key = (route.vrf, tuple(sorted(route.data.items())))
        if key not in seen:
            seen.add(key)
            result.append(route)
    return result


def _resolved(routes: list[RouteData], subnets: list[IPv4Network], resolve: Any, notes: Notes) -> list[RouteData]:
    result = []
    for route in routes:
        if "via" not in route.data:
            result.append(route)
            continue
        via = IPv4Address(route.data["via"])
        if any(via in net for net in subnets):
            result.append(route)
            continue
        hops = sorted(set(resolve(via, 0)), key=IPv4Address)
        if not hops:
            notes.unverified(route.span, f"next hop {via} resolves to no connected neighbour: route left out")
            continue
        for hop in hops:
            result.append(RouteData({**route.data, "via": hop}, route.span, route.vrf))
    return result


def load_snapshot(root: Path, overlay_path: Path | None = None, fib_paths: tuple[Path, ...] = ()) -> Imported:
    notes = Notes()
    devices, files, lines = read_devices(root, notes)
    if not devices:
        raise InputError(f"{root}: the snapshot holds no device (configs/ and hosts/ are empty)")
    fib = read_fibs(root, list(fib_paths), devices, notes)
    for name, device in devices.items():
        if name in fib:
            device.routes = fib[name]
        elif device.dynamic_routing is not None:
            command, span = device.dynamic_routing
            raise InputError(f"{name} routes dynamically ({command}) and the snapshot has no forwarding table "
                             f"for it: add fib/{name}.txt ('show ip route') or a Batfish routes answer in fib/", span)
        device.routes = resolve_recursive(device, device.routes, notes)
    if overlay_path is None and (root / OVERLAY_NAME).is_file():
        overlay_path = root / OVERLAY_NAME
    overlay = read_overlay(overlay_path) if overlay_path is not None else None
    cables = read_cabling(root)
    cabled_l3 = overlay_cabled(overlay, devices) if overlay else set()
    segments = derive({**devices, **overlay_devices(overlay, devices)}, cables, cabled_l3)
    emitter = Emitter(devices, overlay, notes)
    emitter.emit(segments)
    doc = emitter.doc
    doc.files = files
    merge_overlay(doc, overlay, devices, emitter, root)
    return Imported(doc, notes, devices, segments, lines)


def overlay_devices(overlay: Overlay | None, devices: dict[str, Device]) -> dict[str, Device]:
    """The overlay's own nodes (external networks, appliances) as devices, so their addresses take
    part in matching subnets; the overlay's links and LANs attach them otherwise."""
    found: dict[str, Device] = {}
    if overlay is None:
        return found
    cabled = overlay_cabled(overlay, set(overlay.doc.data.get("nodes") or {}))
    for name, spec in (overlay.doc.data.get("nodes") or {}).items():
        if name in devices or not isinstance(spec, dict) or "kind" not in spec:
            continue
        device = Device(name, "overlay", overlay.display, overlay.key_span("nodes", name))
        for iname, ispec in (spec.get("interfaces") or {}).items():
            if (name, iname) in cabled or not isinstance(ispec, dict) or "address" not in ispec:
                continue
            try:
                address = IPv4Interface(str(ispec["address"]))
            except ValueError:
                continue  # the builder reports it, with the overlay's line
            where = overlay.span("nodes", name, "interfaces", iname, "address")
            device.interfaces[iname] = L3Interface(iname, where, address=address, address_span=where)
        if device.interfaces:
            found[name] = device
    return found


def overlay_cabled(overlay: Overlay, devices: Any) -> set[tuple[str, str]]:
    """Interfaces of the named devices that the overlay's own links and LANs attach."""
    found = set()
    data = overlay.doc.data
    entries: list[Any] = list(data.get("links") or [])
    entries += list((data.get("lans") or {}).values())
    for entry in entries:
        endpoints = entry if isinstance(entry, list) else (entry.get("endpoints", []) if isinstance(entry, dict) else [])
        for text in endpoints:
            node, _, iface = str(text).partition(":")
            if node in devices:
                found.add((node, iface))
    return found


def _copy_spans(doc: Document, src: Document, src_path: Path_, dst_path: Path_) -> None:
    n = len(src_path)
    for table, target in ((src.spans, doc.spans), (src.key_spans, doc.key_spans)):
        for p, where in table.items():
            if p[:n] == src_path:
                target[dst_path + p[n:]] = where


def merge_overlay(doc: Document, overlay: Overlay | None, devices: dict[str, Device], emitter: Emitter,
                  root: Path) -> None:
    data = doc.data
    first_device = min(devices.values(), key=lambda d: d.name)
    if overlay is None:
        unzoned = _first_unzoned(data, devices, emitter)
        if unzoned is not None:
            raise InputError(f"{unzoned[0]} has no zone: the configurations cannot say which segment it is in; "
                             f"give it one in {root / OVERLAY_NAME} (or --overlay FILE): zones with subnets, "
                             "or a default_zone", unzoned[1])
        return
    odata = overlay.doc.data
    odoc = overlay.doc
    doc.files.append(SourceFile(overlay.display, hashlib.sha256(read_text(Path(overlay.display), overlay.display)
                                                                 .encode()).hexdigest()))
    for key in ("segverify", "name", "description", "profile", "zones", "networks", "services", "exceptions",
                "links"):
        if key in odata:
            data[key] = odata[key]
            _copy_spans(doc, odoc, (key,), (key,))
    if "lans" in odata:
        data.setdefault("lans", {})
        for name, lan in odata["lans"].items():
            if name in data["lans"]:
                raise InputError(f"LAN name {name!r} is also derived from the configurations; choose another",
                                 odoc.key_span(("lans", name)))
            data["lans"][name] = lan
            _copy_spans(doc, odoc, ("lans", name), ("lans", name))
    if "name" not in data:
        data["name"] = root.resolve().name
        doc.spans[("name",)] = _where(first_device.span)
    for name, spec in (odata.get("nodes") or {}).items():
        where = odoc.key_span(("nodes", name))
        if name in devices or name in data["nodes"]:
            _merge_node(doc, odoc, name, spec, devices, emitter)
        elif isinstance(spec, dict) and "kind" in spec:
            data["nodes"][name] = spec
            _copy_spans(doc, odoc, ("nodes", name), ("nodes", name))
        else:
            known = ", ".join(sorted(devices)[:20])
            raise InputError(f"the overlay names device {name!r}, which no configuration defines (devices: {known}); "
                             "a node of the overlay's own needs 'kind'", where)
    _assign_zones(doc, overlay, devices, emitter)


def _merge_node(doc: Document, odoc: Document, name: str, spec: Any, devices: dict[str, Device],
                emitter: Emitter) -> None:
    where = odoc.key_span(("nodes", name))
    if not isinstance(spec, dict):
        raise InputError(f"node {name!r} of the overlay must be a mapping", where)
    device = devices.get(name) or devices[name.split("@")[0]]
    for key, value in spec.items():
        kspan = odoc.key_span(("nodes", name, key))
        if key not in OVERLAY_NODE_KEYS:
            raise InputError(f"{key!r} of {name} comes from its configuration; the overlay may set: "
                             f"{', '.join(sorted(OVERLAY_NODE_KEYS))}", kspan)
        if key == "interfaces":
            if not isinstance(value, dict):
                raise InputError("'interfaces' must be a mapping", kspan)
            for iname, ispec in value.items():
                ispan = odoc.key_span(("nodes", name, "interfaces", iname))
                node = emitter.node_of.get((device.name, iname))
                if node is None:
                    if iname in device.omitted:
                        raise InputError(f"{device.name}:{iname} is shut down in its configuration ({device.omitted[iname]}), "
                                         "so it is not in the model", ispan)
                    known = ", ".join(sorted(emitter_ifaces(emitter, device.name))[:20])
                    raise InputError(f"{device.name} has no interface {iname!r} in its configuration "
                                     f"(it has: {known})", ispan)
                if not isinstance(ispec, dict):
                    raise InputError(f"interface {iname!r} of the overlay must be a mapping", ispan)
                target = doc.data["nodes"][node]["interfaces"][iname]
                for ikey, ivalue in ispec.items():
                    if ikey not in OVERLAY_INTERFACE_KEYS:
                        raise InputError(f"{ikey!r} of {device.name}:{iname} comes from its configuration; the "
                                         f"overlay may set: {', '.join(sorted(OVERLAY_INTERFACE_KEYS))}",
                                         odoc.key_span(("nodes", name, "interfaces", iname, ikey)))
                    target[ikey] = ivalue
                    _copy_spans(doc, odoc, ("nodes", name, "interfaces", iname, ikey),
                                ("nodes", node, "interfaces", iname, ikey))
            continue
        node_data = doc.data["nodes"][name if name in doc.data["nodes"] else device.name]
        node_name = name if name in doc.data["nodes"] else device.name
        if key in ("routes", "nat") and key in node_data:
            offset = len(node_data[key])
            node_data[key].extend(value if isinstance(value, list) else [])
            for i in range(len(value) if isinstance(value, list) else 0):
                _copy_spans(doc, odoc, ("nodes", name, key, i), ("nodes", node_name, key, offset + i))
            continue
        if key == "acls" and "acls" in node_data and isinstance(value, dict):
            for acl, aspec in value.items():
                if acl in node_data["acls"]:
                    raise InputError(f"ACL {acl} is defined by the configuration already",
                                     odoc.key_span(("nodes", name, "acls", acl)))
                node_data["acls"][acl] = aspec
                _copy_spans(doc, odoc, ("nodes", name, "acls", acl), ("nodes", node_name, "acls", acl))
            continue
        node_data[key] = value
        _copy_spans(doc, odoc, ("nodes", name, key), ("nodes", node_name, key))


def emitter_ifaces(emitter: Emitter, device: str) -> list[str]:
    return [i for d, i in emitter.node_of if d == device]


def _first_unzoned(data: dict[str, Any], devices: dict[str, Device], emitter: Emitter) -> tuple[str, Span] | None:
    for (dev, iname), node in sorted(emitter.node_of.items()):
        if "zone" not in data["nodes"][node]["interfaces"][iname]:
            iface = devices[dev].interfaces.get(iname)
            return f"{dev}:{iname}", iface.span if iface else devices[dev].span
    return None


def _assign_zones(doc: Document, overlay: Overlay, devices: dict[str, Device], emitter: Emitter) -> None:
    for (dev, iname), node in sorted(emitter.node_of.items()):
        spec = doc.data["nodes"][node]["interfaces"][iname]
        path = ("nodes", node, "interfaces", iname, "zone")
        if "zone" in spec:
            continue
        choice = None
        if "address" in spec:
            choice = overlay.zone_for(IPv4Address(spec["address"].split("/")[0]))
        if choice is None and "secondary" in spec:
            choice = overlay.zone_for(IPv4Address(spec["secondary"][0].split("/")[0]))
        if choice is None:
            choice = overlay.default_zone
        if choice is None:
            iface = devices[dev].interfaces.get(iname)
            raise InputError(f"{dev}:{iname} ({spec.get('address', 'no address')}) has no zone: list its subnet "
                             f"under a zone's 'subnets', name it under nodes in {overlay.display}, or set "
                             "default_zone", iface.span if iface else devices[dev].span)
        spec["zone"] = choice[0]
        doc.spans[path] = _where(choice[1])
        doc.key_spans[path] = _where(choice[1])


def load_snapshot_topology(root: Path, overlay_path: Path | None = None) -> tuple[Any, Notes]:
    """The built Topology of a snapshot and the notes of its import."""
    from ..build import build
    from ..reader import validate_document

    imported = load_snapshot(root, overlay_path)
    validate_document(imported.doc)
    return replace(build(imported.doc), import_scope=import_scope(imported.notes)), imported.notes


def import_scope(notes: Notes) -> ImportScope:
    """The notes the report's scope lists: every line not verified, and the count of the
    over-approximated ones (``import --report-unsupported`` lists those)."""
    items = notes.sorted()
    return ImportScope(tuple(NotVerifiedLine(n.span, n.message, n.text) for n in items if n.kind is NoteKind.NOT_VERIFIED),
                       sum(1 for n in items if n.kind is NoteKind.OVER_APPROXIMATED))

"""Turn a validated :class:`~segverify.load.Document` into a :class:`~segverify.model.Topology`.

The schema has already checked shapes and key names; here the meaning is checked: names resolve,
addresses parse and are not shared, next hops are reachable, references point at things that exist.
Every error names the file, line and column of the value at fault.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import re
from pathlib import Path as FsPath
from ipaddress import (AddressValueError, IPv4Address, IPv4Interface, IPv4Network, NetmaskValueError,
                       ip_address, ip_network, summarize_address_range)
from typing import Any

from .errors import InputError, Span
from .reader import Document, ParsedFiles, Path_, SourceFile
from .pools import (DECLARED_PREFIX, Exclusions, attach, first_free, implicit_pools,
                    lan_subnets, pool_node, routers_on)
from .model import (DEFAULT_VRF, PORTED_PROTOCOLS, PROTOCOLS, Acl, Action, DeclaredFlow, ExceptionDecl, Interface, Lan,
                    Match, NatRule, NatType, Node, NodeKind, Policy, PolicyLine, Pool, PortRange, Profile, Role,
                    Route, Rule, Sanitizer, SanitizerType, Segment, ServiceTerm, Topology, Vrf, Wildcard, Zone,
                    nat_answers)

RULE_IDS = frozenset(f"SEG{n:03d}" for n in range(1, 12))
_TERM = re.compile(r"^(?P<proto>[a-z]+|\d{1,3})(?:/(?P<low>\d{1,5})(?:-(?P<high>\d{1,5}))?"
                   r"(?:/(?P<clow>\d{1,3})(?:-(?P<chigh>\d{1,3}))?)?)?\Z", re.ASCII)
_QUAD = r"\d{1,3}(?:\.\d{1,3}){3}"
_RANGE = re.compile(rf"^(?P<low>{_QUAD})\s*-\s*(?P<high>{_QUAD})\Z", re.ASCII)
_WILDCARD = re.compile(rf"^(?P<addr>{_QUAD})\s+(?P<mask>{_QUAD})\Z", re.ASCII)
ICMP = 1


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Builder:
    def __init__(self, doc: Document, parsed: ParsedFiles | None = None) -> None:
        self.doc = doc
        self.data = doc.data
        self.parsed = parsed
        # Matches made from rule lines, by the line's data (see build()); None: none kept.
        self._matches: dict[tuple[int, str, str], tuple[dict[str, Any], Match]] | None = None
        self.node_addresses: dict[str, tuple[IPv4Network, ...]] = {}
        self.networks: dict[str, tuple[IPv4Network, ...] | None] = {}
        self.zone_subnets: dict[str, tuple[IPv4Network, ...]] = {}  # zone -> its interfaces' subnets
        self.zone_segments: dict[str, str] = {}
        self._resolving: list[str] = []
        self._literal_networks: dict[str, tuple[IPv4Network]] = {}  # parsed without error, by text
        self._literal_services: dict[str, ServiceTerm] = {}
        self.extra_files: list[SourceFile] = []  # read on the way: FIB dumps

    def span(self, *path: Any) -> Span:
        return self.doc.span(tuple(path))

    def fail(self, message: str, *path: Any) -> InputError:
        return InputError(message, self.span(*path))

    # -- addresses --------------------------------------------------------------------------------

    def parse_network(self, text: str, path: Path_) -> IPv4Network:
        try:
            net = ip_network(text, strict=True)
        except ValueError as exc:
            if "has host bits set" in str(exc):
                loose = ip_network(text, strict=False)
                raise InputError(f"{text} has host bits set; did you mean {loose}?", self.doc.span(path)) from None
            raise InputError(f"{text!r} is not an address, a prefix or a known name", self.doc.span(path)) from None
        if not isinstance(net, IPv4Network):
            raise InputError(f"{text}: IPv6 is not supported yet", self.doc.span(path))
        return net

    def addresses(self, value: Any, path: Path_) -> tuple[IPv4Network, ...] | None:
        """Resolve address terms; None means any."""
        result: list[IPv4Network] = []
        for i, term in enumerate(_as_list(value)):
            term_path = path + (i,) if isinstance(value, list) else path
            resolved = self.address_term(str(term), term_path)
            if resolved is None:
                return None
            result.extend(resolved)
        return tuple(sorted(set(result)))

    def address_term(self, term: str, path: Path_) -> tuple[IPv4Network, ...] | None:
        if term == "any":
            return None
        kind, sep, name = term.partition(":")
        if sep and kind in ("zone", "segment"):
            return self.zone_term(kind, name, path)
        networks = self.data.get("networks", {})
        if term in networks and term in self.node_addresses:
            raise InputError(f"{term!r} is both a network and a node name; rename one", self.doc.span(path))
        if term in networks:
            return self.network_object(term)
        if term in self.node_addresses:
            if not self.node_addresses[term]:
                raise InputError(f"node {term!r} has no address to match", self.doc.span(path))
            return self.node_addresses[term]
        if _RANGE.match(term):
            return self.address_range(term, path)
        if _WILDCARD.match(term):
            raise InputError(f"{term!r}: a wildcard mask is allowed in the src/dst of rules and policies only",
                             self.doc.span(path))
        if term and (term[0].isdigit() or ":" in term):
            literal = self._literal_networks.get(term)
            if literal is None:  # ipaddress is slow, and a network writes the same prefixes thousands of times
                literal = self._literal_networks[term] = (self.parse_network(term, path),)
            return literal
        raise InputError(f"unknown network or node {term!r}", self.doc.span(path))

    def zone_term(self, kind: str, name: str, path: Path_) -> tuple[IPv4Network, ...]:
        """``zone:NAME`` / ``segment:NAME``: every subnet an interface of that zone (of a zone of that
        segment) is on, so a rule follows the zone when a subnet is added to it."""
        if kind == "zone":
            if name not in self.zone_subnets:
                close = difflib.get_close_matches(name, list(self.zone_subnets), n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join('zone:' + c for c in close)}?" if close else ""
                raise InputError(f"unknown zone {name!r}{hint}", self.doc.span(path))
            zones = [name]
        else:
            segments = [seg.value for seg in Segment]
            if name not in segments:
                raise InputError(f"unknown segment {name!r} (one of {', '.join(segments)})", self.doc.span(path))
            zones = [z for z, seg in self.zone_segments.items() if seg == name]
        nets = tuple(sorted({net for z in zones for net in self.zone_subnets[z]}))
        if not nets:
            raise InputError(f"{kind} {name!r} has no addressed interface, so no address to match", self.doc.span(path))
        return nets

    def address_range(self, term: str, path: Path_) -> tuple[IPv4Network, ...]:
        m = _RANGE.match(term)
        assert m is not None
        low, high = self.host_address(m["low"], path), self.host_address(m["high"], path)
        if int(low) > int(high):
            raise InputError(f"address range {term!r} runs backwards", self.doc.span(path))
        return tuple(summarize_address_range(low, high))

    def wildcard(self, term: str, path: Path_) -> Wildcard | IPv4Network:
        """``address wildcard-mask`` (Cisco): contiguous masks become prefixes."""
        m = _WILDCARD.match(term)
        assert m is not None
        value, mask = int(self.host_address(m["addr"], path)), int(self.host_address(m["mask"], path))
        value &= ~mask & 0xFFFFFFFF
        if (mask + 1) & mask == 0:  # 0...01...1: a prefix
            return IPv4Network((value, 32 - mask.bit_length()))
        return Wildcard(value, mask)

    def match_addresses(self, value: Any, path: Path_) -> tuple[tuple[IPv4Network, ...] | None, tuple[Wildcard, ...],
                                                                tuple[Wildcard, ...]]:
        """A rule's address clause: (prefixes or None for any, wildcard terms, exclusions)."""
        excluded: tuple[Wildcard, ...] = ()
        if isinstance(value, dict):
            if "except" in value:
                nets, wild, inner = self.match_addresses(value["except"], path + ("except",))
                if nets is None or inner:
                    raise InputError("'except' needs the addresses to leave out, not 'any' or another 'except'",
                                     self.doc.span(path + ("except",)))
                excluded = tuple(sorted(set(wild) | {Wildcard(int(n.network_address), int(n.hostmask))
                                                     for n in nets}))
            if "addresses" not in value:
                return None, (), excluded
            path, value = path + ("addresses",), value["addresses"]
        nets_out: list[IPv4Network] = []
        wild_out: list[Wildcard] = []
        for i, term in enumerate(_as_list(value)):
            term_path = path + (i,) if isinstance(value, list) else path
            text = str(term)
            if _WILDCARD.match(text):
                w = self.wildcard(text, term_path)
                (nets_out if isinstance(w, IPv4Network) else wild_out).append(w)  # type: ignore[arg-type]
                continue
            resolved = self.address_term(text, term_path)
            if resolved is None:
                return None, (), excluded
            nets_out.extend(resolved)
        return tuple(sorted(set(nets_out))), tuple(sorted(set(wild_out))), excluded

    def network_object(self, name: str) -> tuple[IPv4Network, ...] | None:
        if name in self.networks:
            return self.networks[name]
        if name in self._resolving:
            cycle = " -> ".join(self._resolving[self._resolving.index(name):] + [name])
            raise InputError(f"network names refer to each other in a cycle: {cycle}", self.span("networks", name))
        self._resolving.append(name)
        resolved = self.addresses(self.data["networks"][name], ("networks", name))
        self._resolving.pop()
        self.networks[name] = resolved
        return resolved

    # -- services ---------------------------------------------------------------------------------

    def port_ranges(self, value: Any, path: Path_) -> tuple[PortRange, ...]:
        ranges = []
        for i, item in enumerate(_as_list(value)):
            item_path = path + (i,) if isinstance(value, list) else path
            text = str(item)
            low_text, _, high_text = text.partition("-")
            low, high = int(low_text), int(high_text or low_text)
            if not (0 <= low <= high <= 65535):
                raise InputError(f"port range {text!r} is not within 0-65535 low-high", self.doc.span(item_path))
            ranges.append(PortRange(low, high))
        return tuple(ranges)

    def service_terms(self, value: Any, path: Path_, stack: tuple[str, ...] = ()) -> tuple[ServiceTerm, ...]:
        services = self.data.get("services", {})
        terms: list[ServiceTerm] = []
        for i, item in enumerate(_as_list(value)):
            item_path = path + (i,) if isinstance(value, list) else path
            text = str(item)
            if text == "any":
                return (ServiceTerm(),)
            if text in services:
                if text in stack:
                    raise InputError(f"service names refer to each other in a cycle: {' -> '.join(stack + (text,))}",
                                     self.doc.span(item_path))
                terms.extend(self.service_terms(services[text], ("services", text), stack + (text,)))
                continue
            literal = self._literal_services.get(text)
            if literal is not None:
                terms.append(literal)
                continue
            m = _TERM.match(text)
            bare_name = m is not None and m["low"] is None and not str(m["proto"]).isdigit() \
                and m["proto"] not in PROTOCOLS and m["proto"] != "any"
            if not m or bare_name:
                known = sorted(services) + sorted(PROTOCOLS)
                close = difflib.get_close_matches(text.split("/")[0], known, n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join(close)}?" if close else ""
                defined = f"services: defines {', '.join(sorted(services))}" if services else "no services: are defined"
                raise InputError(f"unknown service {text!r}: not a name under services: and not a term like "
                                 f"tcp/443 ({defined}){hint}", self.doc.span(item_path))
            terms.append(self.literal_service(text, m, item_path))
        return tuple(terms)

    def literal_service(self, text: str, m: re.Match[str], path: Path_) -> ServiceTerm:
        """A term like tcp/443 or icmp/3/4, remembered by its text once it has been read without error."""
        proto = self.protocol(m["proto"], path)
        if m["low"] is None:
            term = ServiceTerm(protocol=proto)
        elif proto == ICMP:
            term = self.icmp_term(m, path)
        else:
            if m["clow"] is not None:
                raise InputError(f"{text!r}: only icmp/TYPE/CODE has a third part", self.doc.span(path))
            if proto not in PORTED_PROTOCOLS:
                raise InputError(f"{m['proto']} has no ports", self.doc.span(path))
            term = ServiceTerm(protocol=proto, dports=self.port_ranges(f"{m['low']}-{m['high'] or m['low']}", path))
        self._literal_services[text] = term
        return term

    def icmp_term(self, m: re.Match[str], path: Path_) -> ServiceTerm:
        """``icmp/TYPE`` or ``icmp/TYPE/CODE`` (each a number or low-high, 0-255): the type rides in
        the destination-port field and the code in the source-port field."""
        def part(low: str | None, high: str | None, what: str) -> tuple[PortRange, ...] | None:
            if low is None:
                return None
            lo, hi = int(low), int(high or low)
            if not lo <= hi <= 255:
                raise InputError(f"ICMP {what} {low}{'-' + high if high else ''} is not within 0-255 low-high",
                                 self.doc.span(path))
            return (PortRange(lo, hi),)
        return ServiceTerm(protocol=ICMP, dports=part(m["low"], m["high"], "type"),
                           sports=part(m["clow"], m["chigh"], "code"))

    def protocol(self, value: Any, path: Path_) -> int | None:
        if value == "any":
            return None
        if isinstance(value, int) or (str(value).isascii() and str(value).isdigit()):
            number = int(value)
            if number > 255:
                raise InputError(f"protocol number {number} is over 255", self.doc.span(path))
            return number
        if value not in PROTOCOLS:
            close = difflib.get_close_matches(str(value), list(PROTOCOLS), n=1)
            raise InputError(f"unknown protocol {value!r} (one of {', '.join(PROTOCOLS)} or a number)"
                             + (f"; did you mean {close[0]}?" if close else ""),
                             self.doc.span(path))
        return PROTOCOLS[value]

    def match(self, raw: dict[str, Any], path: Path_, src_key: str = "src", dst_key: str = "dst") -> Match:
        memo = self._matches
        if memo is None:
            return self._match(raw, path, src_key, dst_key)
        key = (id(raw), src_key, dst_key)
        known = memo.get(key)
        if known is None or known[0] is not raw:
            known = memo[key] = (raw, self._match(raw, path, src_key, dst_key))
        return known[1]

    def _match(self, raw: dict[str, Any], path: Path_, src_key: str = "src", dst_key: str = "dst") -> Match:
        services: tuple[ServiceTerm, ...] | None = None
        if "service" in raw:
            for key in ("proto", "sport", "dport"):
                if key in raw:
                    raise InputError(f"give either 'service' or '{key}', not both", self.doc.key_span(path + (key,)))
            services = self.service_terms(raw["service"], path + ("service",))
        elif any(k in raw for k in ("proto", "sport", "dport")):
            proto = self.protocol(raw.get("proto", "any"), path + ("proto",))
            if ("sport" in raw or "dport" in raw) and proto not in PORTED_PROTOCOLS:
                raise InputError("ports need proto tcp, udp or sctp", self.doc.key_span(path + ("proto",)))
            services = (ServiceTerm(
                protocol=proto,
                sports=self.port_ranges(raw["sport"], path + ("sport",)) if "sport" in raw else None,
                dports=self.port_ranges(raw["dport"], path + ("dport",)) if "dport" in raw else None,
            ),)
        established = raw.get("established")
        if established and services is not None and any(t.protocol not in (None, 6) for t in services):
            raise InputError("'established' applies to TCP only", self.doc.key_span(path + ("established",)))
        src, src_wild, src_except = (self.match_addresses(raw[src_key], path + (src_key,)) if src_key in raw
                                     else (None, (), ()))
        dst, dst_wild, dst_except = (self.match_addresses(raw[dst_key], path + (dst_key,)) if dst_key in raw
                                     else (None, (), ()))
        return Match(src=src, dst=dst, services=services, established=True if established else None,
                     src_wild=src_wild, dst_wild=dst_wild, src_except=src_except, dst_except=dst_except)

    # -- the topology -----------------------------------------------------------------------------

    def _earlier_matches(self) -> dict[tuple[int, str, str], tuple[dict[str, Any], Match]] | None:
        """The matches built from the lines of files parsed before in this run (``parsed``, the
        other version of a diff), when they would come out the same here: a match depends on its
        line's data, which such a file shares with the other version (the same objects), and on
        what its names resolve to (networks, services, node addresses, zones), compared here."""
        if self.parsed is None:
            return None
        names = (self.data.get("networks"), self.data.get("services"), self.node_addresses, self.zone_subnets,
                 self.zone_segments)
        if self.parsed.names is None:
            self.parsed.names = names
            return self.parsed.matches
        return self.parsed.matches if self.parsed.names == names else None

    def build(self) -> Topology:
        for key in ("segverify", "name", "profile"):
            if key not in self.data:
                first = self.doc.files[0].path if self.doc.files else "<input>"
                raise InputError(f"no file sets the top-level key {key!r}", Span(first, 1, 1))
        for key in ("zones", "nodes"):
            if not self.data.get(key):
                where = self.span(key) if key in self.data else self.doc.key_span(("segverify",))
                raise InputError(f"the topology has no {key}", where)
        zones = {
            name: Zone(name, Segment(raw["segment"]), self.span("zones", name), raw.get("description", ""))
            for name, raw in self.data["zones"].items()
        }
        raw_nodes: dict[str, Any] = self.data["nodes"]
        owners: dict[IPv4Address, tuple[str, Path_]] = {}
        interfaces: dict[str, tuple[Interface, ...]] = {}
        for name, raw in raw_nodes.items():
            interfaces[name] = self.interfaces(name, raw, zones, owners)
            self.node_addresses[name] = tuple(
                IPv4Network(ip) for i in interfaces[name] for ip in i.ips
            )
        for zone in zones.values():
            self.zone_subnets[zone.name] = tuple(sorted({a.network for ifaces in interfaces.values() for i in ifaces
                                                         if i.zone == zone.name for a in i.all_addresses}))
        self.zone_segments = {zone.name: zone.segment.value for zone in zones.values()}
        self._matches = self._earlier_matches()
        nodes = {name: self.node(name, raw, interfaces[name]) for name, raw in raw_nodes.items()}
        lans = self.lans(nodes)
        self.check_next_hops(nodes, lans)
        self.check_nat_answers(nodes, lans)
        self.check_represented_once(nodes)
        declared = self.pools(nodes, lans)
        pool_nodes = declared + implicit_pools(nodes, lans, declared)
        nodes.update((n.name, n) for n in pool_nodes)
        lans = attach(lans, pool_nodes)
        exceptions = tuple(self.exception(i, raw) for i, raw in enumerate(self.data.get("exceptions", [])))
        seen: dict[str, int] = {}
        for i, exc in enumerate(exceptions):
            if exc.id in seen:
                raise InputError(f"exception id {exc.id!r} is used twice", exc.span, related=exceptions[seen[exc.id]].span)
            seen[exc.id] = i
        for name in self.data.get("networks", {}):
            self.network_object(name)  # every named network must resolve, used or not
        for name in self.data.get("services", {}):
            self.service_terms(name, ("services", name))
        return Topology(
            name=str(self.data["name"]),
            profile=Profile(self.data["profile"]),
            zones=zones,
            nodes=nodes,
            lans=lans,
            exceptions=exceptions,
            files=tuple(self.doc.files) + tuple(self.extra_files),
            span=self.span("name"),
            description=self.data.get("description", ""),
            networks={k: v if v is not None else (IPv4Network("0.0.0.0/0"),) for k, v in self.networks.items()},
        )

    def interfaces(self, node: str, raw: dict[str, Any], zones: dict[str, Zone],
                   owners: dict[IPv4Address, tuple[str, Path_]]) -> tuple[Interface, ...]:
        result = []
        acls = raw.get("acls", {})
        for name, spec in raw["interfaces"].items():
            path: Path_ = ("nodes", node, "interfaces", name)
            if spec["zone"] not in zones:
                raise InputError(f"unknown zone {spec['zone']!r}", self.doc.span(path + ("zone",)))
            address = None
            if "address" in spec:
                address = self.interface_address(spec["address"], path + ("address",))
                if address.ip in owners:
                    other, other_path = owners[address.ip]
                    raise InputError(f"address {address.ip} is already used by {other}", self.doc.span(path + ("address",)),
                                     related=self.doc.span(other_path))
                owners[address.ip] = (f"{node}:{name}", path + ("address",))
            secondary: list[IPv4Interface] = []
            virtual: list[IPv4Address] = []
            for key in ("secondary", "virtual"):
                for k, text in enumerate(_as_list(spec.get(key, []))):
                    where = path + (key, k) if isinstance(spec[key], list) else path + (key,)
                    if address is None:
                        raise InputError(f"'{key}' needs a primary 'address' on the interface",
                                         self.doc.key_span(path + (key,)))
                    if key == "secondary":
                        extra = self.interface_address(str(text), where)
                        secondary.append(extra)
                        ip = extra.ip
                    else:
                        ip = self.host_address(text, where)
                        if not any(ip in a.network for a in [address, *secondary]):
                            raise InputError(f"virtual address {ip} is on none of this interface's subnets",
                                             self.doc.span(where))
                        virtual.append(ip)
                    if ip in owners:
                        other, other_path = owners[ip]
                        raise InputError(f"address {ip} is already used by {other}", self.doc.span(where),
                                         related=self.doc.span(other_path))
                    owners[ip] = (f"{node}:{name}", where)
            gateway = None
            if "gateway" in spec:
                gateway = self.host_address(spec["gateway"], path + ("gateway",))
                if address is None or not any(gateway in a.network for a in [address, *secondary]):
                    raise InputError(f"gateway {gateway} is not on this interface's subnet", self.doc.span(path + ("gateway",)))
            for key in ("acl_in", "acl_out"):
                if key in spec and spec[key] not in acls:
                    raise InputError(f"node {node!r} has no ACL named {spec[key]!r}", self.doc.span(path + (key,)))
            vrf = str(spec.get("vrf", DEFAULT_VRF))
            if vrf != DEFAULT_VRF and vrf not in raw.get("vrfs", {}):
                declared = ", ".join(sorted(raw.get("vrfs", {}))) or "none"
                raise InputError(f"node {node!r} declares no VRF {vrf!r} under 'vrfs' (declared: {declared})",
                                 self.doc.span(path + ("vrf",)))
            result.append(Interface(node, name, spec["zone"], address, gateway, spec.get("acl_in"),
                                    spec.get("acl_out"), self.doc.key_span(path), spec.get("description", ""),
                                    tuple(secondary), tuple(virtual), vrf))
        return tuple(result)

    def interface_address(self, text: str, path: Path_) -> IPv4Interface:
        if "/" not in text:
            raise InputError(f"interface address {text!r} needs a prefix length, like {text}/24", self.doc.span(path))
        try:
            iface = IPv4Interface(text)
        except (AddressValueError, NetmaskValueError, ValueError):
            raise InputError(f"{text!r} is not an IPv4 address with prefix length", self.doc.span(path)) from None
        net = iface.network
        if net.prefixlen < 31 and iface.ip in (net.network_address, net.broadcast_address):
            raise InputError(f"{iface.ip} is the {'network' if iface.ip == net.network_address else 'broadcast'} "
                             f"address of {net}", self.doc.span(path))
        return iface

    def host_address(self, text: Any, path: Path_) -> IPv4Address:
        try:
            addr = ip_address(str(text))
        except ValueError:
            raise InputError(f"{text!r} is not an IPv4 address", self.doc.span(path)) from None
        if not isinstance(addr, IPv4Address):
            raise InputError(f"{text}: IPv6 is not supported yet", self.doc.span(path))
        return addr

    def node(self, name: str, raw: dict[str, Any], interfaces: tuple[Interface, ...]) -> Node:
        path: Path_ = ("nodes", name)
        kind = NodeKind(raw["kind"])
        roles = frozenset(Role(r) for r in _as_list(raw.get("role", [])))
        for key, allowed in (("sanitizer", kind is NodeKind.SANITIZER), ("represents", kind is NodeKind.EXTERNAL),
                             ("allow", Role.BREAKOUT_PROXY in roles)):
            if key in raw and not allowed:
                needs = {"sanitizer": "kind: sanitizer", "represents": "kind: external",
                         "allow": "role: breakout-proxy"}[key]
                raise InputError(f"'{key}' is only for nodes with {needs}", self.doc.key_span(path + (key,)))
        if kind is NodeKind.SANITIZER and "sanitizer" not in raw:
            raise InputError("a sanitizer node needs a 'sanitizer' section (type, inbound, outbound)", self.span(*path))
        if kind is NodeKind.EXTERNAL and "represents" not in raw:
            raise InputError("an external node needs 'represents' (the addresses it stands for)", self.span(*path))
        if kind is NodeKind.EXTERNAL and raw.get("ip_forward"):
            raise InputError("an external node stands for outside addresses and does not forward; model the router "
                             "that forwards as a node of its own", self.doc.key_span(path + ("ip_forward",)))
        acls = {acl: self.acl(name, acl, spec, path + ("acls", acl)) for acl, spec in raw.get("acls", {}).items()}
        iface_names = {i.name for i in interfaces}
        vrfs = self.vrfs(name, raw, kind)
        routes = tuple(self.route(spec, path + ("routes", i), DEFAULT_VRF, vrfs)
                       for i, spec in enumerate(raw.get("routes", [])))
        for vrf in vrfs:
            vpath = path + ("vrfs", vrf, "routes")
            routes += tuple(self.route(spec, vpath + (i,), vrf, vrfs)
                            for i, spec in enumerate(raw["vrfs"][vrf].get("routes", [])))
        if "routes_from" in raw:
            routes += self.fib_routes(raw["routes_from"], path + ("routes_from",), interfaces)
        for iface in interfaces:
            if iface.gateway is not None:
                routes += (Route(IPv4Network("0.0.0.0/0"), iface.gateway, False, self.doc.span(
                    ("nodes", name, "interfaces", iface.name, "gateway")), vrf=iface.vrf),)
        nat = tuple(rule for i, spec in enumerate(raw.get("nat", []))
                    for rule in (self.twice_nat(name, i, spec, path + ("nat", i), iface_names)
                                 if spec.get("type") == "twice" else (self.nat(name, i, spec, path + ("nat", i), iface_names),)))
        policy = self.policy(name, raw["policies"], path + ("policies",), interfaces) if "policies" in raw else None
        represents: tuple[IPv4Network, ...] = ()
        if "represents" in raw:
            resolved = self.addresses(raw["represents"], path + ("represents",))
            represents = resolved if resolved is not None else (IPv4Network("0.0.0.0/0"),)
        sanitizer = self.sanitizer(raw["sanitizer"], path + ("sanitizer",)) if "sanitizer" in raw else None
        allow = tuple(self.flow(spec, path + ("allow", i), "to") for i, spec in enumerate(raw.get("allow", [])))
        media = raw.get("removable_media")
        return Node(
            name=name, kind=kind, roles=roles, interfaces=interfaces, routes=routes, acls=acls, nat=nat,
            forwarding=bool(raw.get("ip_forward", kind.forwards_by_default)), span=self.doc.key_span(path),
            description=raw.get("description", ""), mfa=raw.get("mfa"),
            removable_media_blocked=None if media is None else media == "blocked",
            epp=raw.get("epp"), edr=raw.get("edr"), represents=represents, sanitizer=sanitizer, allow=allow,
            policy=policy, vrfs=vrfs,
        )

    def vrfs(self, node: str, raw: dict[str, Any], kind: NodeKind) -> dict[str, Vrf]:
        """The node's declared routing contexts (the default one is implicit)."""
        path: Path_ = ("nodes", node, "vrfs")
        declared = raw.get("vrfs", {})
        if not declared:
            return {}
        if kind is NodeKind.EXTERNAL or not bool(raw.get("ip_forward", kind.forwards_by_default)):
            raise InputError("VRFs are routing contexts of a device that forwards; this node does not",
                             self.doc.key_span(path))
        if DEFAULT_VRF in declared:
            raise InputError(f"{DEFAULT_VRF!r} is the node's own table (its top-level 'routes'); give the VRF "
                             "another name", self.doc.key_span(path + (DEFAULT_VRF,)))
        return {name: Vrf(name, self.doc.key_span(path + (name,)), spec.get("description", ""))
                for name, spec in declared.items()}

    def acl(self, node: str, name: str, raw: dict[str, Any], path: Path_) -> Acl:
        rules = []
        for i, spec in enumerate(raw["rules"]):
            rule_path = path + ("rules", i)
            text = ", ".join(f"{k}: {v}" for k, v in spec.items() if k != "description")
            rules.append(Rule(name, i + 1, Action(spec["action"]), self.match(spec, rule_path),
                               self.doc.span(rule_path), spec.get("description", ""), text))
        return Acl(node, name, Action(raw["default"]), bool(raw.get("stateful", True)), tuple(rules),
                   self.doc.key_span(path), self.doc.span(path + ("default",)))

    # -- zone-pair / interface-pair policies --------------------------------------------------------

    def policy(self, node: str, raw: dict[str, Any], path: Path_, interfaces: tuple[Interface, ...]) -> Policy:
        lines = tuple(self.policy_line(node, "policy", i, spec, path + ("rules", i), interfaces, local=False)
                      for i, spec in enumerate(raw["rules"]))
        local: tuple[PolicyLine, ...] = ()
        local_default = None
        local_span = None
        by_rules = raw.get("local") == "rules"
        if "local" in raw and not by_rules:
            lp = path + ("local",)
            local = tuple(self.policy_line(node, "local", i, spec, lp + ("rules", i), interfaces, local=True)
                          for i, spec in enumerate(raw["local"]["rules"]))
            local_default = Action(raw["local"]["default"])
            local_span = self.doc.span(lp + ("default",))
        return Policy(node, Action(raw["default"]), bool(raw.get("stateful", True)), lines, self.doc.key_span(path),
                      self.doc.span(path + ("default",)), local, local_default, local_span, by_rules)

    def policy_line(self, node: str, name: str, index: int, spec: dict[str, Any], path: Path_,
                    interfaces: tuple[Interface, ...], local: bool) -> PolicyLine:
        if local and "from" in spec and "to" in spec:
            raise InputError("a local policy line takes 'from' (traffic to the device) or 'to' (traffic "
                             "from it), not both", self.doc.key_span(path + ("to",)))
        text = ", ".join(f"{k}: {v}" for k, v in spec.items() if k not in ("description", "snat"))
        rule = Rule(name, index + 1, Action(spec["action"]), self.match(spec, path), self.doc.span(path),
                    spec.get("description", ""), text)
        sides = [self.interface_set(node, spec[key], path + (key,), interfaces) if key in spec else None
                 for key in ("from", "to")]
        texts = [", ".join(str(x) for x in _as_list(spec[key])) if key in spec else "any" for key in ("from", "to")]
        snat = None
        if "snat" in spec:
            if local:
                raise InputError("a local policy line translates nothing: 'snat' is for forwarded traffic",
                                 self.doc.key_span(path + ("snat",)))
            if rule.action is not Action.PERMIT:
                raise InputError("'snat' belongs to a permit line", self.doc.key_span(path + ("snat",)))
            snat = self.policy_snat(node, spec["snat"], path + ("snat",), index + 1)
        return PolicyLine(rule, sides[0], sides[1], texts[0], texts[1], snat)

    def interface_set(self, node: str, value: Any, path: Path_,
                      interfaces: tuple[Interface, ...]) -> frozenset[str] | None:
        """Interface and zone names of a policy side: the node's interfaces they stand for."""
        names = {i.name for i in interfaces}
        zones = {i.zone for i in interfaces}
        result: set[str] = set()
        for k, item in enumerate(_as_list(value)):
            where = path + (k,) if isinstance(value, list) else path
            text = str(item)
            kind, _, bare = text.partition(":") if ":" in text else ("", "", text)
            if text == "any":
                return None
            if kind not in ("", "zone", "interface"):
                raise InputError(f"{text!r}: qualify a policy side with 'zone:' or 'interface:'", self.doc.span(where))
            is_iface = bare in names and kind in ("", "interface")
            is_zone = bare in zones and kind in ("", "zone")
            if is_iface and is_zone:
                raise InputError(f"{bare!r} is both an interface and a zone of {node}; write interface:{bare} "
                                 f"or zone:{bare}", self.doc.span(where))
            if is_iface:
                result.add(bare)
            elif is_zone:
                result.update(i.name for i in interfaces if i.zone == bare)
            else:
                known = ", ".join(sorted(names | zones))
                raise InputError(f"{node} has no interface or zone {bare!r} (it has {known})", self.doc.span(where))
        return frozenset(result)

    def route(self, raw: dict[str, Any], path: Path_, vrf: str = DEFAULT_VRF,
              vrfs: dict[str, Vrf] | None = None) -> Route:
        to = "0.0.0.0/0" if raw["to"] == "default" else str(raw["to"])
        prefix = self.parse_network(to, path + ("to",))
        drop = bool(raw.get("drop", False))
        next_vrf = str(raw["next_vrf"]) if "next_vrf" in raw else None
        if next_vrf is not None:
            if next_vrf != DEFAULT_VRF and next_vrf not in (vrfs or {}):
                declared = ", ".join(sorted(vrfs or {})) or "none"
                raise InputError(f"no VRF {next_vrf!r} on this node (declared under 'vrfs': {declared}; the "
                                 f"node's own table is {DEFAULT_VRF!r})", self.doc.span(path + ("next_vrf",)))
            if next_vrf == vrf:
                raise InputError(f"the route is in VRF {vrf!r} already: 'next_vrf' names another VRF",
                                 self.doc.span(path + ("next_vrf",)))
            if drop:
                raise InputError("a null route drops: it leaks nothing into another VRF",
                                 self.doc.key_span(path + ("next_vrf",)))
        elif drop == ("via" in raw):
            raise InputError("a route needs exactly one of 'via' (next hop), 'drop: true' or 'next_vrf' "
                             "(look up in another VRF)", self.doc.span(path))
        via = self.host_address(raw["via"], path + ("via",)) if "via" in raw else None
        if raw.get("source") != "fib" and "protocol" in raw:
            raise InputError("'protocol' records where a FIB route came from: give 'source: fib' too",
                             self.doc.key_span(path + ("protocol",)))
        return Route(prefix, via, drop, self.doc.span(path), int(raw.get("distance", 1)),
                     str(raw.get("source", "static")), str(raw.get("protocol", "")), vrf, next_vrf)

    def fib_routes(self, name: str, path: Path_, interfaces: tuple[Interface, ...]) -> tuple[Route, ...]:
        """Routes from a forwarding-table dump: ``prefix next-hop interface [protocol]`` per line
        (``#`` comments). A next hop of ``0.0.0.0`` or ``connected`` is a connected route (checked
        against the interface, then left to the interface), ``drop``/``blackhole`` a null route."""
        declared = self.doc.span(path)
        target = (FsPath(declared.file).parent / name)
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the FIB dump {name!r}: {exc.strerror}", declared) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"the FIB dump {name!r} is not UTF-8 text", declared) from None
        self.extra_files.append(SourceFile(str(target), hashlib.sha256(data).hexdigest()))
        ifaces = {i.name: i for i in interfaces}
        routes: list[Route] = []
        for number, line in enumerate(text.splitlines(), start=1):
            body = line.split("#", 1)[0]
            fields = body.split()
            if not fields:
                continue
            where = Span(str(target), number, len(line) - len(line.lstrip()) + 1)
            if len(fields) not in (3, 4):
                raise InputError("a FIB line is 'prefix next-hop interface [protocol]'", where)
            prefix_text, hop, iface_name = fields[:3]
            protocol = fields[3] if len(fields) == 4 else "fib"
            try:
                prefix = ip_network("0.0.0.0/0" if prefix_text == "default" else prefix_text, strict=True)
            except ValueError:
                raise InputError(f"{prefix_text!r} is not a prefix (host bits set, or not IPv4)", where) from None
            if not isinstance(prefix, IPv4Network):
                raise InputError(f"{prefix_text}: IPv6 is not supported yet", where)
            if iface_name not in ifaces:
                raise InputError(f"the node has no interface {iface_name!r}", where)
            iface = ifaces[iface_name]
            if hop in ("drop", "blackhole", "null0", "Null0"):
                routes.append(Route(prefix, None, True, where, 1, "fib", protocol))
                continue
            if hop in ("0.0.0.0", "connected", "direct"):
                if prefix not in {a.network for a in iface.all_addresses}:
                    raise InputError(f"connected route {prefix} is not a subnet of {iface_name}", where)
                continue  # the interface's own connected route
            try:
                via = IPv4Address(hop)
            except ValueError:
                raise InputError(f"next hop {hop!r} is not an IPv4 address, 0.0.0.0/connected or drop", where) from None
            if not iface.on_subnet(via):
                raise InputError(f"next hop {via} is not on a subnet of {iface_name}", where)
            routes.append(Route(prefix, via, False, where, 1, "fib", protocol))
        return tuple(routes)

    def nat(self, node: str, index: int, raw: dict[str, Any], path: Path_, iface_names: set[str]) -> NatRule:
        kind = NatType(raw["type"])
        side = "in" if kind is NatType.DESTINATION else "out"
        if side not in raw:
            raise InputError(f"{kind.value} NAT needs '{side}' (the {'ingress' if side == 'in' else 'outside'} "
                             f"interface)", self.doc.span(path))
        if raw[side] not in iface_names:
            raise InputError(f"node {node!r} has no interface {raw[side]!r}", self.doc.span(path + (side,)))
        need = {NatType.SOURCE: ("to",), NatType.STATIC: ("inside", "outside"), NatType.DESTINATION: ("to", "dst")}[kind]
        allowed = {NatType.SOURCE: {"to", "ports", "src", "dst", "service", "proto", "sport", "dport"},
                   NatType.STATIC: {"inside", "outside"},
                   NatType.DESTINATION: {"to", "port", "src", "dst", "service", "proto", "sport", "dport"}}[kind]
        for key in need:
            if key not in raw:
                raise InputError(f"{kind.value} NAT needs '{key}'", self.doc.span(path))
        for key in raw:
            if key not in allowed | {"type", side, "description"}:
                raise InputError(f"'{key}' does not belong to {kind.value} NAT", self.doc.key_span(path + (key,)))
        if kind is NatType.STATIC:
            return NatRule(node, index + 1, kind, raw["out"], Match(),
                           self.host_address(raw["outside"], path + ("outside",)),
                           self.host_address(raw["inside"], path + ("inside",)), self.doc.span(path))
        match = self.match(raw, path)
        if kind is NatType.SOURCE:
            first, last = self.nat_pool(raw["to"], path + ("to",))
            return NatRule(node, index + 1, kind, raw["out"], match, first, None, self.doc.span(path),
                           pool_last=last, ports=self.nat_ports(raw.get("ports"), path + ("ports",)))
        if match.dst is None or match.dst_wild or match.dst_except:
            raise InputError("destination NAT needs 'dst': the addresses it answers for (the VIP)",
                             self.doc.span(path + ("dst",)))
        port = self.translated_port(raw, match, path)
        return NatRule(node, index + 1, kind, raw["in"], match, self.host_address(raw["to"], path + ("to",)), None,
                       self.doc.span(path), ports=port)

    def translated_port(self, raw: dict[str, Any], match: Match, path: Path_) -> PortRange | None:
        """A destination NAT's ``port``: the one its matched service is translated to."""
        if "port" not in raw:
            return None
        if match.services is None or any(t.protocol not in PORTED_PROTOCOLS for t in match.services):
            raise InputError("a translated 'port' needs a service of tcp, udp or sctp to match",
                             self.doc.key_span(path + ("port",)))
        return PortRange(int(raw["port"]), int(raw["port"]))

    def twice_nat(self, node: str, index: int, raw: dict[str, Any], path: Path_,
                  iface_names: set[str]) -> tuple[NatRule, ...]:
        """A twice NAT rule: packets entering by ``in`` from ``src`` (default any) to ``dst`` (and the service) get
        the destination ``to_dst`` (port ``port``) and, as they leave, the source ``to_src``. With
        ``out`` the rule is bidirectional: packets entering by ``out`` from ``to_dst`` to ``to_src``
        get the destination ``src`` and the source ``dst`` (one NatRule per direction)."""
        for key in ("in", "dst", "to_src", "to_dst"):
            if key not in raw:
                raise InputError(f"twice NAT needs '{key}'", self.doc.span(path))
        allowed = {"type", "in", "out", "src", "dst", "to_src", "to_dst", "port", "service", "proto", "sport", "dport",
                   "description"}
        for key in raw:
            if key not in allowed:
                raise InputError(f"'{key}' does not belong to twice NAT", self.doc.key_span(path + (key,)))
        for side in ("in", "out"):
            if side in raw and raw[side] not in iface_names:
                raise InputError(f"node {node!r} has no interface {raw[side]!r}", self.doc.span(path + (side,)))
        match = self.match(raw, path)
        if match.dst is None or match.dst_wild or match.dst_except:
            raise InputError("twice NAT needs 'dst' as addresses or prefixes (no any, wildcard or except): the "
                             "addresses it answers for", self.doc.span(path + ("dst",)))
        to_src = self.host_address(raw["to_src"], path + ("to_src",))
        to_dst = self.host_address(raw["to_dst"], path + ("to_dst",))
        port = self.translated_port(raw, match, path)
        span = self.doc.span(path)
        forward = NatRule(node, index + 1, NatType.TWICE, raw["in"], match, to_dst, None, span, ports=port,
                          source_to=to_src)
        if "out" not in raw:
            return (forward,)
        if match.services is not None or port is not None:
            raise InputError("a bidirectional twice NAT ('out') translates the address pair only: a rule with a "
                             "service or port works one way (leave out 'out')", self.doc.key_span(path + ("out",)))
        real_src, mapped_dst = match.src or (), match.dst
        if (len(real_src) != 1 or len(mapped_dst) != 1 or real_src[0].prefixlen != 32 or mapped_dst[0].prefixlen != 32
                or match.src_wild or match.src_except):
            raise InputError("a bidirectional twice NAT ('out') maps single addresses: 'src' and 'dst' must each be "
                             "one address", self.doc.key_span(path + ("out",)))
        mirror = Match(src=(IPv4Network(to_dst),), dst=(IPv4Network(to_src),))
        back = NatRule(node, index + 1, NatType.TWICE, raw["out"], mirror, real_src[0].network_address, None, span,
                       ports=None, source_to=mapped_dst[0].network_address, reverse=True)
        return (forward, back)

    def nat_pool(self, text: Any, path: Path_) -> tuple[IPv4Address, IPv4Address]:
        """A source-NAT target: an address, a range a-b, or a prefix (all of its addresses)."""
        text = str(text)
        if _RANGE.match(text):
            m = _RANGE.match(text)
            assert m is not None
            first, last = self.host_address(m["low"], path), self.host_address(m["high"], path)
            if int(first) > int(last):
                raise InputError(f"address range {text!r} runs backwards", self.doc.span(path))
            return first, last
        if "/" in text:
            net = self.parse_network(text, path)
            return net.network_address, net.broadcast_address
        addr = self.host_address(text, path)
        return addr, addr

    def nat_ports(self, value: Any, path: Path_) -> PortRange | None:
        if value is None:
            return PortRange(1024, 65535)
        if str(value) == "keep":
            return None
        (ports,) = self.port_ranges(value, path)
        if ports.low == 0:
            raise InputError("a source-port pool starts at 1 or above", self.doc.span(path))
        return ports

    def policy_snat(self, node: str, raw: dict[str, Any], path: Path_, line: int) -> NatRule:
        first, last = self.nat_pool(raw["to"], path + ("to",))
        return NatRule(node, line, NatType.SOURCE, "", Match(), first, None, self.doc.span(path), pool_last=last,
                       ports=self.nat_ports(raw.get("ports"), path + ("ports",)), policy_line=line)

    def flow(self, raw: dict[str, Any], path: Path_, peer_key: str) -> DeclaredFlow:
        peer = self.addresses(raw[peer_key], path + (peer_key,))
        return DeclaredFlow(
            peer=peer if peer is not None else (IPv4Network("0.0.0.0/0"),),
            peer_text=", ".join(str(x) for x in _as_list(raw[peer_key])),
            services=self.service_terms(raw["service"], path + ("service",)),
            services_text=", ".join(str(x) for x in _as_list(raw["service"])),
            span=self.doc.span(path),
        )

    def sanitizer(self, raw: dict[str, Any], path: Path_) -> Sanitizer:
        return Sanitizer(
            type=SanitizerType(raw["type"]),
            inbound=tuple(self.flow(s, path + ("inbound", i), "from") for i, s in enumerate(raw.get("inbound", []))),
            outbound=tuple(self.flow(s, path + ("outbound", i), "to") for i, s in enumerate(raw.get("outbound", []))),
            span=self.doc.key_span(path),
        )

    def lans(self, nodes: dict[str, Node]) -> tuple[Lan, ...]:
        lans: list[Lan] = []
        attached: dict[tuple[str, str], Path_] = {}
        entries: list[tuple[str, list[str], Path_, str, bool]] = []
        for i, raw in enumerate(self.data.get("links", [])):
            path: Path_ = ("links", i)
            if isinstance(raw, list):
                entries.append((f"link-{i + 1}", raw, path, "", False))
            else:
                entries.append((raw.get("name", f"link-{i + 1}"), raw["endpoints"], path + ("endpoints",),
                                raw.get("description", ""), "name" in raw))
        for name, raw in self.data.get("lans", {}).items():
            path = ("lans", name)
            if isinstance(raw, list):
                entries.append((name, raw, path, "", True))
            else:
                entries.append((name, raw["endpoints"], path + ("endpoints",), raw.get("description", ""), True))
        names: dict[str, Path_] = {}
        for name, endpoints, path, description, named in entries:
            if name in names:
                raise InputError(f"link or LAN name {name!r} is used twice", self.doc.span(path),
                                 related=self.doc.span(names[name]))
            names[name] = path
            pairs: list[tuple[str, str]] = []
            for j, text in enumerate(endpoints):
                node, _, iface = str(text).partition(":")
                where = path + (j,)
                if node not in nodes:
                    raise InputError(f"unknown node {node!r}", self.doc.span(where))
                if iface not in {i.name for i in nodes[node].interfaces}:
                    raise InputError(f"node {node!r} has no interface {iface!r}", self.doc.span(where))
                if (node, iface) in attached:
                    raise InputError(f"{node}:{iface} is attached twice", self.doc.span(where),
                                     related=self.doc.span(attached[(node, iface)]))
                attached[(node, iface)] = where
                same = next((p for p in pairs if p[0] == node), None)
                if same is not None and len(endpoints) == 2:  # a node cabled to itself: a loop, never a
                    # path to a neighbour (a switched LAN may hold two legs of one node: a dual-homed host)
                    raise InputError(f"{name} joins {node}:{same[1]} and {node}:{iface}, two interfaces of the "
                                     f"same node", self.doc.span(where))
                pairs.append((node, iface))
            lans.append(Lan(name, tuple(pairs), self.doc.span(path[:2]), description, named))
        return tuple(lans)

    def check_represented_once(self, nodes: dict[str, Node]) -> None:
        """Each prefix is represented by one external node: with two, which of them a packet to it
        reaches is the model's guess, not the network's. Two uplinks to the same outside network
        are one external node with two interfaces."""
        claimed: dict[IPv4Network, str] = {}
        for node in nodes.values():
            if node.kind is not NodeKind.EXTERNAL:
                continue
            for prefix in node.represents:
                other = claimed.setdefault(prefix, node.name)
                if other != node.name:
                    raise InputError(f"{prefix} is represented by both {other} and {node.name}; give each outside "
                                     f"prefix to one external node (one node may have several interfaces)",
                                     self.doc.span(("nodes", node.name, "represents")),
                                     related=self.doc.span(("nodes", other, "represents")))

    def pools(self, nodes: dict[str, Node], lans: tuple[Lan, ...]) -> list[Node]:
        """The declared pools, each a node ``pool:NAME`` on the LAN subnet that holds its range."""
        subnets = lan_subnets(nodes, lans)
        exclusions = Exclusions(nodes)
        result: list[Node] = []
        for name, raw in self.data.get("pools", {}).items():
            path: Path_ = ("pools", name)
            ranges = self.pool_range(raw["range"], path + ("range",)) if "range" in raw else None
            fits = [sub for sub in subnets if ("lan" not in raw or sub.lan.name == raw["lan"])
                    and (ranges is None or all(r.subnet_of(sub.network) for r in ranges))]
            if not fits:
                where = f"LAN {raw['lan']!r}" if "lan" in raw else "any LAN"
                known = "" if "lan" not in raw or any(s.lan.name == raw["lan"] for s in subnets) else \
                    " (no LAN or link of that name has an addressed interface)"
                what = f"range {', '.join(map(str, ranges))}" if ranges is not None else "this pool"
                raise self.fail(f"{what} is not inside a subnet of {where}{known}", *(path + (("range",) if ranges else ())))
            if len(fits) > 1:
                raise self.fail(f"pool {name!r} fits several LAN subnets ({', '.join(f'{s.lan.name} {s.network}' for s in fits)}); "
                                "give 'lan' and a 'range' inside one subnet", *path)
            sub = fits[0]
            zone = raw.get("zone")
            if zone is None:
                if len(sub.zones) != 1:
                    raise self.fail(f"the interfaces on {sub.network} are in several zones ({', '.join(sub.zones)}); "
                                    "give the pool a 'zone'", *path)
                zone = sub.zones[0]
            elif zone not in self.data["zones"]:
                raise self.fail(f"unknown zone {zone!r}", *(path + ("zone",)))
            pool = Pool(DECLARED_PREFIX + name, sub.lan.name, sub.network, ranges or (sub.network,), False,
                        self.doc.key_span(path))
            for other in result:
                assert other.pool is not None
                if any(a.overlaps(b) for a in pool.range for b in other.pool.range):
                    raise InputError(f"pool {name!r} overlaps {other.name}", self.doc.span(path + ("range",)),
                                     related=other.span)
            representative = first_free(exclusions, sub.network, pool.range, exclusions.taken_on(sub, ()))
            if representative is None:
                raise self.fail(f"every address of pool {name!r} is taken by an interface, NAT or an external node",
                                *path)
            if "gateway" in raw:
                gateway = self.host_address(raw["gateway"], path + ("gateway",))
                if gateway not in routers_on(nodes, sub):
                    raise self.fail(f"gateway {gateway} is not the address of a router on {sub.lan.name}",
                                    *(path + ("gateway",)))
                gateways = [gateway]
            else:
                gateways = routers_on(nodes, sub)
            media = raw.get("removable_media")
            result.append(pool_node(pool, zone, NodeKind(raw.get("kind", "terminal")), representative, gateways,
                                    description=raw.get("description", ""), mfa=raw.get("mfa"),
                                    removable_media_blocked=None if media is None else media == "blocked",
                                    epp=raw.get("epp"), edr=raw.get("edr")))
        return result

    def pool_range(self, value: Any, path: Path_) -> tuple[IPv4Network, ...]:
        """Addresses, prefixes, first-last ranges or network names, as prefixes; never ``any``."""
        nets = self.addresses(value, path)
        if nets is None:
            raise InputError("a pool's range is addresses of one LAN subnet, not 'any'", self.doc.span(path))
        return nets

    def check_next_hops(self, nodes: dict[str, Node], lans: tuple[Lan, ...]) -> None:
        """A static next hop (a route's via, an interface's gateway) must be another host on a subnet
        the node is attached to: not the node's own address, nor a subnet's network or broadcast
        address, where no router can answer."""
        for node in nodes.values():
            own = {ip: i.name for i in node.interfaces for ip in i.ips}
            for route in node.routes:
                if route.via is None:
                    continue
                hop_vrf = route.next_vrf if route.next_vrf is not None else route.vrf
                subnets = [a.network for i in node.interfaces if i.vrf == hop_vrf for a in i.all_addresses]
                if not any(route.via in net for net in subnets):
                    where = f" in VRF {hop_vrf!r}" if node.vrfs else ""
                    raise InputError(f"next hop {route.via} of {node.name} is not on any of its subnets{where}",
                                     route.span)
                if route.via in own:
                    raise InputError(f"next hop {route.via} of {node.name} is its own address (interface "
                                     f"{own[route.via]}); name the neighbour that forwards", route.span)
                for net in subnets:
                    if net.prefixlen <= 30 and route.via in (net.network_address, net.broadcast_address):
                        which = "network" if route.via == net.network_address else "broadcast"
                        raise InputError(f"next hop {route.via} of {node.name} is the {which} address of {net}; "
                                         f"name a host address of the neighbour", route.span)

    def check_nat_answers(self, nodes: dict[str, Node], lans: tuple[Lan, ...]) -> None:
        """A NAT address a device answers ARP for on a LAN must not be another member's address there,
        nor one another member answers for: two answers to one ARP request leave the delivery to
        chance (the engine would deliver to both, a kernel to whichever answered last)."""
        for lan in lans:
            # What each member answers for on this LAN: (addresses, member, by NAT, where it says so).
            held: list[tuple[IPv4Network, str, bool, Span]] = [
                (IPv4Network(ip), member, False, nodes[member].interface(iface).span)
                for member, iface in lan.endpoints for ip in nodes[member].interface(iface).ips]
            for member, iface in lan.endpoints:
                for rule, net in nat_answers(nodes[member], iface):
                    for other_net, other, by_nat, span in held:
                        if other != member and net.overlaps(other_net):
                            what = (f"{other_net} that {other} answers for by NAT" if by_nat
                                    else f"the address {other_net.network_address} of {other}")
                            raise InputError(f"{member}'s NAT makes it answer ARP for {net} on LAN {lan.name}, "
                                             f"which holds {what}: two devices would answer for one address",
                                             rule.span, related=span, note=f"{other} answers for it here")
                    held.append((net, member, True, rule.span))

    def exception(self, index: int, raw: dict[str, Any]) -> ExceptionDecl:
        path: Path_ = ("exceptions", index)
        if raw["rule"] not in RULE_IDS:
            raise InputError(f"unknown rule {raw['rule']!r} (SEG001-SEG011)", self.doc.span(path + ("rule",)))
        expires = None
        if "expires" in raw:
            try:
                expires = _dt.date.fromisoformat(str(raw["expires"]))
            except ValueError:
                raise InputError(f"expiry {raw['expires']!r} is not a date like 2027-03-31",
                                 self.doc.span(path + ("expires",))) from None
        scope_keys = ("src", "dst", "service", "proto", "sport", "dport")
        scope_text = ", ".join(f"{k}: {raw[k]}" for k in scope_keys if k in raw) or "everything"
        scope = self.match(raw, path)
        if not scope.plain:
            raise InputError("an exception's scope takes addresses and prefixes, not wildcard masks or 'except'",
                             self.doc.span(path))
        return ExceptionDecl(
            id=str(raw["id"]), rule=raw["rule"], scope=scope, scope_text=scope_text,
            owner=raw.get("owner", ""), justification=raw.get("justification", ""), expires=expires,
            ticket=raw.get("ticket", ""), span=self.doc.span(path),
        )


def build(doc: Document, parsed: ParsedFiles | None = None) -> Topology:
    """The model of a validated document; ``parsed``: files read before in this run, whose rule
    lines' matches are taken over when their names resolve alike (:meth:`Builder._earlier_matches`)."""
    return Builder(doc, parsed).build()

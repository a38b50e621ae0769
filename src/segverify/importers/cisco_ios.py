"""Cisco IOS / IOS-XE running configurations (and IOS-like dialects sharing the syntax).

Every line is understood, ignored because it cannot change which packets get where (listed in
``NEUTRAL``), or reported as a note: over-approximated (the model permits more than the device)
or not verified (outside what segverify models). Structure everything else depends on (interfaces,
addresses, ACL syntax) that cannot be read is an error naming file:line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from ..errors import InputError, Span
from .cisco_zbf import Zbf, build_policy, read_block
from .cisco_acl import AclContext, ObjectGroup, mask_length, parse_entry, parse_ip
from .device import ALL_VLANS, AclData, Device, L3Interface, NatData, Port, RouteData
from .notes import Notes

# Top-level commands that cannot change which packets get where: management, logging, clocks,
# services of the box itself, and routing-protocol policy objects (their effect is in the FIB).
NEUTRAL = {
    "version", "service", "boot-start-marker", "boot-end-marker", "boot", "aaa", "no", "ip cef", "ipv6",
    "multilink", "enable", "username", "clock", "logging", "snmp-server", "snmp", "ntp", "line", "end", "exit",
    "control-plane", "redundancy", "spanning-tree", "vtp", "archive", "memory-size", "mac", "errdisable",
    "power", "diagnostic", "cdp", "lldp", "alias", "privilege", "scheduler", "exception", "crypto", "license",
    "hw-module", "platform", "module", "card", "vlan", "port-channel", "process-max-time", "call-home",
    "system", "mls", "fabric", "tacacs-server", "radius-server", "tacacs", "radius", "key", "login",
    "transceiver", "udld", "macro", "wism", "monitor", "dot1x", "event", "track", "sntp", "file", "stcapp",
    "voice-card", "voice", "dial-peer", "mgcp", "ccm-manager", "telephony-service", "vpdn", "cts", "auto",
    "mpls", "diagnostics", "access-session", "device-tracking", "table-map", "flow", "sampler", "netflow",
    "kron", "coap", "wsma", "qos", "class-map", "policy-map", "upgrade", "username", "security", "controller",
    "chat-script", "resource", "anchor", "counter", "connect", "firewall", "parameter-map", "mac-address-table",
    "service-module", "vstack", "authentication", "errdisable", "srr-queue", "mls", "rmon", "wrr-queue",
}
NEUTRAL_IP = {
    "domain", "domain-name", "domain-lookup", "name-server", "http", "ssh", "tcp", "ftp", "tftp", "scp",
    "forward-protocol", "bgp-community", "community-list", "as-path", "prefix-list", "dhcp", "sla", "host",
    "cef", "classless", "subnet-zero", "flow-export", "flow-cache", "flow-top-talkers", "finger", "bootp",
    "rcmd", "options", "icmp", "igmp", "multicast", "accounting-threshold", "telnet", "radius", "tacacs",
    "wccp", "flow", "gratuitous-arps", "arp", "local", "name", "vrf", "ips", "inspect", "audit", "device",
    "admission", "auth-proxy", "port-map", "sla", "msdp", "rsvp", "mfib", "mroute-cache", "scp", "nbar",
    "access-list", "source-interface", "dns", "ospf", "extcommunity-list", "default-gateway",
}
# Interface sub-commands without effect on which packets get where.
NEUTRAL_INTERFACE = {
    "description", "speed", "duplex", "negotiation", "media-type", "mtu", "bandwidth", "delay", "load-interval",
    "keepalive", "cdp", "carrier-delay", "hold-queue", "logging", "spanning-tree", "storm-control", "no",
    "arp", "ntp", "lldp", "udld", "mls", "wrr-queue", "rcv-queue", "priority-queue", "qos", "service-policy",
    "flowcontrol", "power", "snmp", "mac-address", "dampening", "bfd", "mpls", "auto", "srr-queue",
    "queue-set", "authentication", "dot1x", "mab", "switchport", "channel-protocol", "lacp", "pagp",
    "ipv6", "tx-ring-limit", "random-detect", "fair-queue", "clock", "dsu", "framing", "linecode",
    "crc", "cable-length", "isis", "shape", "small-frame", "vtp", "device-tracking", "access-session",
    "source", "macsec", "trust", "fec", "transmit-interface", "backup", "wlan", "radio", "frame-relay",
    "ppp", "dialer", "pppoe", "ppp", "peer", "serial", "invert", "loopback",
}
NEUTRAL_INTERFACE_IP = {
    "ospf", "redirects", "unreachables", "proxy-arp", "route-cache", "mtu", "tcp", "directed-broadcast",
    "mroute-cache", "igmp", "flow", "accounting", "local-proxy-arp", "cef", "load-sharing", "verify",
    "dhcp", "rip", "eigrp", "hello-interval", "hold-time", "authentication", "summary-address", "split-horizon",
    "bandwidth-percent", "router", "ips", "cgmp", "inspect", "nbar", "sap", "wccp", "mask-reply", "information-reply",
    "irdp", "pim", "multicast", "sdr", "dvmrp", "rsvp", "sticky-arp", "arp", "vrf-sitemap", "address-list",
}

DYNAMIC_ROUTING = {"ospf", "bgp", "eigrp", "rip", "isis", "odr", "ospfv3"}
SHORT_NAMES = {"ethernet": "Ethernet", "fastethernet": "FastEthernet", "gigabitethernet": "GigabitEthernet",
               "tengigabitethernet": "TenGigabitEthernet", "port-channel": "Port-channel", "vlan": "Vlan",
               "loopback": "Loopback", "null": "Null", "tunnel": "Tunnel", "serial": "Serial"}


def looks_like_ios(text: str) -> bool:
    """IOS-like: top-level commands IOS has, and none of another vendor's (``config system`` ...)."""
    if re.search(r"^(config system|set system|set security|configure terminal$)", text[:20000], re.M):
        return False
    return bool(re.search(r"^(hostname \S+|interface \S+|access-list \d+ |ip access-list )", text, re.M))


@dataclass
class Line:
    number: int
    indent: int
    words: list[str]
    text: str


def _lines(text: str) -> list[Line]:
    result = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.rstrip()
        if not stripped.strip() or stripped.strip().startswith("!"):
            continue
        indent = len(stripped) - len(stripped.lstrip())
        result.append(Line(number, indent, stripped.split(), stripped))
    return result


def _blocks(lines: list[Line]) -> list[tuple[Line, list[Line]]]:
    """Top-level lines with the indented lines below them."""
    blocks: list[tuple[Line, list[Line]]] = []
    for line in lines:
        if line.indent == 0 or not blocks:
            blocks.append((line, []))
        else:
            blocks[-1][1].append(line)
    return blocks


def _vlans(text: str, span: Span) -> frozenset[int]:
    if text == "all":
        return ALL_VLANS
    if text == "none":
        return frozenset()
    result: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise InputError(f"cannot read VLAN list {text!r}", span)
        result.update(range(int(low), int(high or low) + 1))
    return frozenset(result)


class IosParser:
    def __init__(self, text: str, display: str, notes: Notes, fallback_name: str | None = None) -> None:
        self.fallback_name = fallback_name
        self.text = text
        self.file = display
        self.notes = notes
        self.blocks = _blocks(self._skip_banners(_lines(text)))
        self.hostname: tuple[str, Span] | None = None
        self.groups: dict[str, ObjectGroup] = {}
        self.nat_lines: list[Line] = []
        self.pools: dict[str, tuple[IPv4Address, IPv4Address, Span]] = {}

    def span(self, line: Line, column: int = 1) -> Span:
        return Span(self.file, line.number, column)

    def _skip_banners(self, lines: list[Line]) -> list[Line]:
        """``banner motd ^C ... ^C`` spans lines: drop its text (it is only shown to people)."""
        result: list[Line] = []
        delimiter: str | None = None
        for line in lines:
            if delimiter is not None:
                if delimiter in line.text:
                    delimiter = None
                continue
            if line.indent == 0 and line.words[0] == "banner" and len(line.words) >= 3:
                rest = line.text.split(None, 2)[2]
                delim = "^C" if rest.startswith("^C") else rest[0]
                if rest[len(delim):].find(delim) < 0:
                    delimiter = delim
                continue
            result.append(line)
        return result

    def unverified(self, line: Line, why: str) -> None:
        self.notes.unverified(self.span(line), why, line.text)

    # -- the device ---------------------------------------------------------------------------------

    def parse(self) -> Device:
        for line, children in self.blocks:
            if line.words[0] == "hostname" and len(line.words) == 2:
                self.hostname = (line.words[1], self.span(line))
            elif line.words[:1] == ["object-group"] and len(line.words) >= 3:
                kind, name = line.words[1], line.words[2]
                if kind not in ("network", "service"):
                    self.unverified(line, f"object-group {kind} is not modelled")
                    continue
                if name in self.groups:
                    raise InputError(f"object-group {name!r} is defined twice", self.span(line),
                                     related=self.groups[name].span)
                self.groups[name] = ObjectGroup(name, kind, self.span(line),
                                                [(c.words, self.span(c)) for c in children])
        if self.hostname is None:
            if not self.fallback_name:
                raise InputError("no 'hostname' line: every device configuration needs one", Span(self.file, 1, 1))
            # As Batfish does: a configuration without hostname is named after its file.
            self.hostname = (self.fallback_name, Span(self.file, 1, 1))
            self.notes.warn(Span(self.file, 1, 1), f"no 'hostname' line: the device is named {self.fallback_name} "
                            "after its file")
        device = Device(self.hostname[0], "cisco-ios", self.file, self.hostname[1])
        self.ctx = AclContext(self.groups, self.notes)
        self.zbf = Zbf()
        for line, children in self.blocks:
            self.top(device, line, children)
        self.nat(device)
        build_policy(device, self.zbf, self.notes)
        return device

    def top(self, device: Device, line: Line, children: list[Line]) -> None:
        w = line.words
        head = w[0]
        if head == "hostname" or head == "object-group":
            return
        if head == "interface" and len(w) >= 2:
            return self.interface(device, line, children)
        if head == "access-list" and len(w) >= 3:
            return self.numbered_acl(device, line)
        if w[:2] == ["ip", "access-list"] and len(w) >= 4 and w[2] in ("standard", "extended"):
            return self.named_acl(device, line, children, w[2] == "standard", w[3])
        if w[:2] == ["ip", "access-list"] and len(w) >= 4 and w[3] in ("permit", "deny"):
            # NEC IX: ``ip access-list NAME permit ip src A dest B``, applied by ``ip filter``
            return self.unverified(line, "an access list in NEC IX form is not modelled (the interface's "
                                   "'ip filter' using it is listed too): the model lets its traffic through")
        if w[:2] == ["ip", "route"]:
            return self.route(device, line)
        if w[:2] == ["ip", "nat"]:
            self.nat_lines.append(line)
            return
        if head == "router" and len(w) >= 2:
            if w[1] in DYNAMIC_ROUTING:
                if device.dynamic_routing is None:
                    device.dynamic_routing = (line.text.strip(), self.span(line))
                return
            return self.unverified(line, f"router {w[1]} is not modelled")
        if head == "vrf" and len(w) >= 3 and w[1] == "definition" or w[:2] == ["ip", "vrf"] and len(w) == 3:
            device.vrfs[w[-1]] = self.span(line)
            return
        if w[:2] == ["ip", "routing"]:
            return
        if w[:3] == ["no", "ip", "routing"]:
            device.forwarding = False
            device.forwarding_span = self.span(line)
            return
        if w[:2] in (["zone", "security"], ["zone-pair", "security"]) or (
                head in ("class-map", "policy-map") and w[1:3] == ["type", "inspect"]):
            read_block(self.zbf, w, self.span(line), [(c.words, self.span(c)) for c in children])
            return
        if head == "route-map":
            return  # used by routing protocols (effect in the FIB) or policy routing (reported there)
        if w[:3] == ["ip", "source-route"] or w[:2] == ["ip", "multicast-routing"]:
            return self.unverified(line, "source routing / multicast forwarding is not modelled")
        if head == "ip" and len(w) >= 2 and w[1] in NEUTRAL_IP:
            return
        if head in NEUTRAL or " ".join(w[:2]) in NEUTRAL:
            return
        self.unverified(line, "command not modelled")

    # -- interfaces ---------------------------------------------------------------------------------

    def interface(self, device: Device, line: Line, children: list[Line]) -> None:
        name = line.words[1]
        if len(line.words) > 2 and line.words[2] == "point-to-point":
            pass
        span = self.span(line)
        if name in device.interfaces or name in device.ports or name in device.omitted:
            raise InputError(f"interface {name} is configured twice", span)
        iface = L3Interface(name, span)
        port = Port(name, span)
        shutdown = False
        switchport = False
        mode_seen = False
        is_sub = "." in name
        lower = name.lower()
        if lower.startswith("vlan") and name[4:].isdigit():
            iface.svi_vlan = int(name[4:])
        if lower.startswith(("loopback", "null")):
            iface.loopback = True
        if is_sub:
            iface.physical = name.split(".", 1)[0]
        channel: str | None = None
        for child in children:
            w = child.words
            where = self.span(child)
            if w[0] == "shutdown":
                shutdown = True
            elif w[:2] == ["no", "shutdown"]:
                shutdown = False
            elif w[0] == "description":
                iface.description = child.text.strip()[len("description"):].strip()
            elif w[:2] == ["ip", "address"] and len(w) >= 3 and w[2][0].isdigit():
                # IOS writes ``A MASK``; AlliedWare Plus and NEC IX write ``A/LEN``
                if "/" in w[2]:
                    address, w = self.cidr(w[2], where), w[:2] + [w[2], ""] + w[3:]
                elif len(w) >= 4:
                    address = self.address(w[2], w[3], where)
                else:
                    raise InputError(f"cannot read {child.text.strip()!r}", where)
                if len(w) >= 5 and w[4] == "secondary":
                    iface.secondary.append((address, where))
                elif len(w) == 4:
                    if iface.address is not None:
                        raise InputError(f"{name} has two primary addresses", where, related=iface.address_span)
                    iface.address, iface.address_span = address, where
                else:
                    raise InputError(f"cannot read {child.text.strip()!r}", where)
            elif w[:3] == ["no", "ip", "address"]:
                continue
            elif w[:2] == ["ip", "address"]:
                self.unverified(child, "address not known from the configuration (DHCP/negotiated): the "
                                "interface is modelled without one")
            elif w[:2] == ["ip", "access-group"] and len(w) == 4 and w[3] in ("in", "out"):
                if w[3] == "in":
                    iface.acl_in = (w[2], where)
                else:
                    iface.acl_out = (w[2], where)
            elif w[:2] == ["ip", "access-group"]:
                raise InputError(f"cannot read {child.text.strip()!r}", where)
            elif w[0] == "encapsulation" and len(w) >= 3 and w[1].lower() == "dot1q":
                if not w[2].isdigit():
                    raise InputError(f"VLAN tag {w[2]!r} is not a number", where)
                iface.vlan_tag = None if w[3:4] == ["native"] else int(w[2])
            elif w[0] == "switchport":
                switchport = True
                self.switchport(port, child, w, where)
                mode_seen |= w[1:2] == ["mode"]
            elif w[:2] == ["no", "switchport"]:
                switchport = False
            elif w[0] == "channel-group" and len(w) >= 2 and w[1].isdigit():
                channel = f"Port-channel{w[1]}"
            elif w[:2] == ["ip", "nat"] and len(w) == 3 and w[2] in ("inside", "outside"):
                iface.nat_side = w[2]
            elif w[:2] == ["zone-member", "security"] and len(w) == 3:
                self.zbf.members[name] = (w[2], where)
            elif w[:2] == ["vrf", "forwarding"] or w[:3] == ["ip", "vrf", "forwarding"]:
                iface.vrf = w[-1]
                iface.vrf_span = self.span(line)
            elif w[0] in ("standby", "vrrp"):
                self.redundancy(iface, child, w, where)
            elif w[:3] == ["ip", "policy", "route-map"]:
                self.unverified(child, "policy-based routing is not modelled: packets it diverts take the "
                                "routing table's path in the model")
            elif w[:2] == ["ip", "helper-address"]:
                self.unverified(child, "DHCP relay is an application relay the model does not follow")
            elif w[:2] == ["ip", "unnumbered"]:
                self.unverified(child, "unnumbered interfaces are modelled without an address")
            elif w[0] == "ip" and len(w) >= 2 and w[1] in NEUTRAL_INTERFACE_IP:
                continue
            elif w[0] in NEUTRAL_INTERFACE:
                continue
            else:
                self.unverified(child, "interface command not modelled")
        if shutdown:
            device.omitted[name] = span
            return
        if channel is not None:
            # A bundle member carries frames for its port-channel; cabling to it means the bundle.
            port.mode = "member:" + channel
            device.ports[name] = port
            return
        if switchport and iface.address is None:
            if not mode_seen:
                port.mode = "access"
            device.ports[name] = port
            return
        if not is_sub and iface.svi_vlan is None and not iface.loopback:
            device.ports[name] = port
        device.interfaces[name] = iface

    def cidr(self, text: str, span: Span) -> IPv4Interface:
        """``A/LEN`` (AlliedWare Plus, NEC IX)."""
        addr, _, length = text.partition("/")
        if not length.isdigit() or int(length) > 32:
            raise InputError(f"cannot read the address {text!r}", span)
        return IPv4Interface((int(parse_ip(addr, span)), int(length)))

    def address(self, addr: str, mask: str, span: Span) -> IPv4Interface:
        ip = parse_ip(addr, span)
        length = mask_length(parse_ip(mask, span), span)
        return IPv4Interface((int(ip), length))

    def switchport(self, port: Port, line: Line, w: list[str], where: Span) -> None:
        if w[1:3] == ["mode", "access"]:
            port.mode = "access"
        elif w[1:3] == ["mode", "trunk"]:
            port.mode = "trunk"
        elif w[1:2] == ["mode"]:
            self.notes.over(where, "negotiated port mode taken as a trunk carrying every VLAN", line.text)
            port.mode = "trunk"
        elif w[1:3] == ["access", "vlan"] and len(w) == 4 and w[3].isdigit():
            port.access_vlan = int(w[3])
        elif w[1:4] == ["trunk", "allowed", "vlan"] and len(w) >= 5:
            if w[4] == "add" and len(w) == 6:
                port.trunk_vlans = (port.trunk_vlans if port.trunk_vlans != ALL_VLANS else frozenset()) | \
                    _vlans(w[5], where)
            elif w[4] == "remove" and len(w) == 6:
                port.trunk_vlans = port.trunk_vlans - _vlans(w[5], where)
            elif w[4] == "except" and len(w) == 6:
                port.trunk_vlans = ALL_VLANS - _vlans(w[5], where)
            elif len(w) == 5:
                port.trunk_vlans = _vlans(w[4], where)
            else:
                raise InputError(f"cannot read {line.text.strip()!r}", where)
        elif w[1:4] == ["trunk", "native", "vlan"] and len(w) == 5 and w[4].isdigit():
            port.native_vlan = int(w[4])

    def redundancy(self, iface: L3Interface, line: Line, w: list[str], where: Span) -> None:
        """HSRP ``standby [G] ip A`` / VRRP ``vrrp G ip A``: a virtual address the active router owns."""
        rest = w[1:]
        if rest and rest[0].isdigit():
            rest = rest[1:]
        if rest[:1] == ["ip"] and len(rest) >= 2 and rest[1][0].isdigit():
            iface.virtual.append((parse_ip(rest[1], where), 100, where))
        elif rest[:1] == ["priority"] and len(rest) >= 2 and rest[1].isdigit() and iface.virtual:
            address, _, vspan = iface.virtual[-1]
            iface.virtual[-1] = (address, int(rest[1]), vspan)

    # -- ACLs ---------------------------------------------------------------------------------------

    def numbered_acl(self, device: Device, line: Line) -> None:
        w = line.words
        number = w[1]
        if not number.isdigit():
            raise InputError(f"access-list number {number!r} is not a number", self.span(line))
        n = int(number)
        standard = 1 <= n <= 99 or 1300 <= n <= 1999
        extended = 100 <= n <= 199 or 2000 <= n <= 2699
        if not standard and not extended:
            return self.unverified(line, f"access-list {n} is not an IOS IP access list (numbers 1-199, 1300-2699; "
                                   "AlliedWare Plus hardware ACLs 3000-3699 are not modelled)")
        acl = device.acls.get(number)
        if acl is None:
            acl = device.acls[number] = AclData(number, self.span(line), default_span=self.span(line))
        self.entry(acl, w[2:], standard, line)

    def named_acl(self, device: Device, line: Line, children: list[Line], standard: bool, name: str) -> None:
        if name in device.acls:
            acl = device.acls[name]
        else:
            acl = device.acls[name] = AclData(name, self.span(line), default_span=self.span(line))
        for child in children:
            w = child.words
            if w[0].isdigit():
                w = w[1:]
            if not w:
                raise InputError("an ACL line holds only a sequence number", self.span(child))
            self.entry(acl, w, standard, child)

    def entry(self, acl: AclData, words: list[str], standard: bool, line: Line) -> None:
        span = self.span(line)
        if words[0] == "remark":
            acl.pending_remark = line.text.strip().split("remark", 1)[1].strip()
            return
        if words[0] in ("permit", "deny") and words[1:2] == ["dynamic"]:
            return self.unverified(line, "dynamic (lock-and-key) entries are not modelled")
        if words[0] == "evaluate":
            return self.unverified(line, "reflexive ACL evaluation is not modelled")
        rule = parse_entry(words, standard, self.ctx, span, line.text, self.notes)
        if rule is None:
            return
        remark = acl.pending_remark
        if remark:
            rule["description"] = remark
            acl.pending_remark = ""
        acl.rules.append(rule)
        acl.rule_spans.append(span)
        acl.default_span = span

    # -- routes and NAT -----------------------------------------------------------------------------

    def route(self, device: Device, line: Line) -> None:
        w = line.words[2:]
        where = self.span(line)
        vrf = None
        if w[:1] == ["vrf"] and len(w) >= 2:
            vrf, w = w[1], w[2:]
        if w[:1] == ["default"] or w[:1] and "/" in w[0]:  # NEC IX ``default``, AlliedWare Plus / IX ``P/LEN``
            prefix = "0.0.0.0/0" if w[0] == "default" else f"{self.cidr(w[0], where).network}"
            rest = w[1:]
        elif len(w) >= 3:
            net = parse_ip(w[0], where)
            length = mask_length(parse_ip(w[1], where), where)
            prefix = f"{IPv4Interface((int(net), length)).network}"
            rest = w[2:]
        else:
            raise InputError(f"cannot read {line.text.strip()!r}", where)
        if not rest:
            raise InputError(f"cannot read {line.text.strip()!r}", where)
        interface = None
        via = None
        if rest and not rest[0][0].isdigit():
            interface, rest = rest[0], rest[1:]
        if rest and rest[0][0].isdigit() and rest[0].count(".") == 3:
            via, rest = str(parse_ip(rest[0], where)), rest[1:]
        distance = 1
        global_hop = False
        while rest:
            word = rest[0]
            if word.isdigit():
                distance = int(word)
                rest = rest[1:]
            elif word in ("name", "tag", "track") and len(rest) >= 2:
                rest = rest[2:]
            elif word == "global" and vrf is not None:  # the next hop is resolved in the global table
                global_hop = True
                rest = rest[1:]
            elif word == "permanent":
                rest = rest[1:]
            else:
                raise InputError(f"cannot read {' '.join(rest)!r} in this route", where)
        if distance == 255:
            self.notes.warn(where, "a route with distance 255 is never installed", line.text)
            return
        data: dict[str, Any] = {"to": prefix}
        if interface is not None and interface.lower().startswith("null"):
            data["drop"] = True
        elif via is not None:
            data["via"] = via
        elif interface is None:
            raise InputError("a route needs a next hop or an interface", where)
        if distance != 1:
            data["distance"] = distance
        if global_hop and "via" in data:
            data["next_vrf"] = "default"
        device.routes.append(RouteData(data, where, vrf, interface if "via" not in data and "drop" not in data
                                       else None))

    def nat(self, device: Device) -> None:
        for line in self.nat_lines:
            w = line.words
            where = self.span(line)
            if w[2:3] == ["pool"] and len(w) >= 6:
                low, high = parse_ip(w[4], where), parse_ip(w[5], where)
                self.pools[w[3]] = (low, high, where)
        outside = [i for i in device.interfaces.values() if i.nat_side == "outside"]
        inside = [i for i in device.interfaces.values() if i.nat_side == "inside"]
        for line in self.nat_lines:
            w = line.words
            where = self.span(line)
            if w[2:3] == ["pool"]:
                continue
            if w[2:5] == ["outside", "source", "static"]:
                self.outside_static_nat(device, outside, inside, w[5:], line, where)
                continue
            if w[2:4] != ["inside", "source"]:
                self.unverified(line, "this form of NAT is not modelled")
                continue
            if not outside:
                self.notes.warn(where, "NAT rule, but no interface is 'ip nat outside': it never applies", line.text)
                continue
            rest = w[4:]
            if rest[:1] == ["static"]:
                self.static_nat(device, outside, rest[1:], line, where)
            elif rest[:1] == ["list"] and len(rest) >= 4:
                self.list_nat(device, outside, rest, line, where)
            else:
                self.unverified(line, "this form of NAT is not modelled")

    def static_nat(self, device: Device, outside: list[L3Interface], rest: list[str], line: Line, where: Span) -> None:
        if rest and rest[0] in ("tcp", "udp") and len(rest) >= 5:
            self.notes.over(where, "static NAT with ports modelled as one-to-one for every port", line.text)
            inside, outside_addr, extra = rest[1], rest[3], rest[5:]
        elif len(rest) >= 2 and rest[0][0].isdigit():
            inside, outside_addr, extra = rest[0], rest[1], rest[2:]
        else:
            return self.unverified(line, "this form of static NAT is not modelled")
        for word in extra:
            if word not in ("extendable", "no-alias", "no-payload", "redundancy", "route-map"):
                return self.unverified(line, "this form of static NAT is not modelled")
        parse_ip(inside, where)
        parse_ip(outside_addr, where)
        for iface in outside:
            device.nat.append(NatData({"type": "static", "out": iface.name, "inside": inside,
                                       "outside": outside_addr}, where))

    def outside_static_nat(self, device: Device, outside: list[L3Interface], inside: list[L3Interface],
                           rest: list[str], line: Line, where: Span) -> None:
        """``ip nat outside source static GLOBAL LOCAL``: the outside host GLOBAL is seen from the
        inside as LOCAL. Each address on its own (it applies to every inside host): the model's
        static rule on each inside interface, with GLOBAL as its inside address and LOCAL as what
        the inside side sees."""
        if len(rest) < 2 or not rest[0][0].isdigit() or any(
                word not in ("add-route", "extendable", "no-alias", "no-payload") for word in rest[2:]):
            return self.unverified(line, "this form of static NAT is not modelled")
        parse_ip(rest[0], where)
        parse_ip(rest[1], where)
        if not outside or not inside:
            self.notes.warn(where, "NAT rule, but no interface is 'ip nat inside' and another 'ip nat outside': it "
                            "never applies", line.text)
            return
        if "add-route" not in rest[2:]:
            self.notes.over(where, f"routed on the outside host's address {rest[0]}: the device routes inside-to-"
                            f"outside packets on {rest[1]} before translating (add-route makes the two agree)",
                            line.text)
        for iface in inside:
            device.nat.append(NatData({"type": "static", "out": iface.name, "inside": rest[0], "outside": rest[1]},
                                      where))

    def list_nat(self, device: Device, outside: list[L3Interface], rest: list[str], line: Line, where: Span) -> None:
        acl_name = rest[1]
        acl = device.acls.get(acl_name)
        if acl is None:
            raise InputError(f"NAT refers to access-list {acl_name!r}, which is not defined", where)
        if rest[2] == "interface" and len(rest) >= 4:
            target_iface = device.interfaces.get(rest[3])
            if target_iface is None or target_iface.address is None:
                raise InputError(f"NAT to interface {rest[3]}, which has no address", where)
            to = str(target_iface.address.ip)
        elif rest[2] == "pool":
            pool = self.pools.get(rest[3])
            if pool is None:
                raise InputError(f"unknown NAT pool {rest[3]!r}", where)
            to = str(pool[0]) if pool[0] == pool[1] else f"{pool[0]}-{pool[1]}"
        else:
            return self.unverified(line, "this form of NAT is not modelled")
        sources: list[str] = []
        for rule in acl.rules:
            if rule["action"] == "deny":
                self.notes.over(where, f"deny lines of {acl_name} are not taken into account for NAT: more "
                                "packets are modelled as translated", line.text)
                continue
            src = rule.get("src", "any")
            sources.extend(src if isinstance(src, list) else [src])
        if not sources:
            return
        for iface in outside:
            data: dict[str, Any] = {"type": "source", "out": iface.name, "to": to}
            if "any" not in sources:
                data["src"] = sources if len(sources) > 1 else sources[0]
            device.nat.append(NatData(data, where))


def parse_ios(text: str, display: str, notes: Notes, fallback_name: str | None = None) -> Device:
    return IosParser(text, display, notes, fallback_name).parse()

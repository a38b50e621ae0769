"""Palo Alto Networks firewalls (PAN-OS), in the set format (``set cli config-output-format set``
then ``show``): interfaces, zones, virtual routers, vsys, address and service objects, security
rules and NAT rules — turned into devices of the snapshot.

Each vsys is one policy context, a device ``HOSTNAME`` (or ``HOSTNAME@VSYS`` when there are
several) whose interfaces are those the vsys imports and whose routes are those of the virtual
router its interfaces belong to. Security rules become the node's zone-pair policy in rule order,
followed by the defaults PAN-OS applies after the last rule: traffic within one zone is allowed,
between zones denied (both can be overridden under ``rulebase default-security-rules``).

PAN-OS matches a security rule's addresses before NAT and its destination zone after it; the
model's policy sees the destination after NAT. So an allowing rule whose destination holds the
original address of a destination NAT also holds the translated one (it may then let more
through than the device: sound for isolation); a deny keeps the original addresses only.
Conditions segverify does not model are widened in an allow and make a deny match nothing, with a
note (docs/import.md, PAN-OS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, Iterator

from ..errors import InputError, Span
from .device import Device, L3Interface, NatData, PolicyData, Port, RouteData
from .fortios import add_line, merge_services
from .notes import Notes
from .panos_xml import looks_like_xml, xml_statements

NAME_OK = re.compile(r"^[^\s:,]+$")

# PAN-OS's predefined services.
BUILTIN_SERVICES: dict[str, list[dict[str, Any]]] = {
    "service-http": [{"proto": "tcp", "dport": "80"}, {"proto": "tcp", "dport": "8080"}],
    "service-https": [{"proto": "tcp", "dport": "443"}],
}
# The ports PAN-OS's application-default means for common App-IDs (PAN-OS's Applipedia); an
# App-ID not listed here is taken as any service in an allow, and makes a deny match nothing.
APP_DEFAULT: dict[str, list[dict[str, Any]]] = {
    "web-browsing": [{"proto": "tcp", "dport": "80"}],
    "ssl": [{"proto": "tcp", "dport": "443"}],
    "ssh": [{"proto": "tcp", "dport": "22"}],
    "telnet": [{"proto": "tcp", "dport": "23"}],
    "ftp": [{"proto": "tcp", "dport": "21"}],
    "smtp": [{"proto": "tcp", "dport": "25"}, {"proto": "tcp", "dport": "587"}],
    "pop3": [{"proto": "tcp", "dport": "110"}],
    "imap": [{"proto": "tcp", "dport": "143"}],
    "dns": [{"proto": "tcp", "dport": "53"}, {"proto": "udp", "dport": "53"}],
    "ntp": [{"proto": "udp", "dport": "123"}],
    "snmp": [{"proto": "udp", "dport": "161"}],
    "syslog": [{"proto": "udp", "dport": "514"}],
    "ldap": [{"proto": "tcp", "dport": "389"}, {"proto": "udp", "dport": "389"}],
    "ms-rdp": [{"proto": "tcp", "dport": "3389"}, {"proto": "udp", "dport": "3389"}],
    "ping": [{"service": "icmp/8"}],
    "icmp": [{"proto": "icmp"}],
    "traceroute": [{"proto": "udp", "dport": "33434-33534"}, {"proto": "icmp"}],
    "ms-ds-smb": [{"proto": "tcp", "dport": "445"}],
    "kerberos": [{"proto": "tcp", "dport": "88"}, {"proto": "udp", "dport": "88"}],
    "mssql-db": [{"proto": "tcp", "dport": "1433"}],
    "mysql": [{"proto": "tcp", "dport": "3306"}],
    "vnc": [{"proto": "tcp", "dport": "5900"}],
    "citrix": [{"proto": "tcp", "dport": "1494"}, {"proto": "tcp", "dport": "2598"}],
}
DEFAULT_ROUTER = "default"  # the virtual router PAN-OS ships with: the routing context of the default table
DENY_ACTIONS = {"deny", "drop", "reset-client", "reset-server", "reset-both"}
# Security-rule keys that cannot change which packets a rule matches.
NEUTRAL_RULE_KEYS = {"description", "tag", "log-start", "log-end", "log-setting", "profile-setting", "group-tag",
                     "option", "qos", "schedule-none", "uuid", "target", "icmp-unreachable", "rule-type-none"}
CONDITION_RULE_KEYS = {"source-user", "hip-profiles", "category", "schedule", "source-hip", "destination-hip",
                       "source-imsi", "source-imei", "source-nw-slice"}
# Top-level sections that cannot change which packets get where.
NEUTRAL_SECTIONS = {"deviceconfig", "mgt-config", "shared log-settings", "shared response-page", "profiles",
                    "shared profiles", "log-settings", "shared local-user-database", "shared admin-role",
                    "shared certificate", "shared ssl-tls-service-profile", "shared authentication-profile",
                    "shared server-profile", "shared botnet", "shared content-preview", "shared reports",
                    "shared report-group", "shared pdf-summary-report", "shared email-scheduler", "profile-group",
                    "schedule", "tag", "shared tag", "application", "application-group", "application-filter",
                    "shared application", "shared application-group", "shared application-filter", "external-list",
                    "shared external-list", "network ike", "network ipsec", "network tunnel", "network qos",
                    "network profiles", "network dhcp", "network dns-proxy", "network lldp",
                    "network gre-tunnel-crypto-profiles", "readonly", "user-id-collector", "certificate", "region",
                    "shared region", "response-page", "authentication-profile", "server-profile",
                    "global-protect", "network global-protect-gateway", "network global-protect-portal",
                    "captive-portal", "rulebase decryption", "rulebase qos", "rulebase authentication",
                    "rulebase tunnel-inspect", "rulebase dos", "rulebase sdwan", "rulebase pbf-none",
                    "display-name", "setting", "import", "shared admin-role", "ocsp-responder", "zone-protection"}


@dataclass
class SetLine:
    verb: str  # set | delete
    words: list[str]
    span: Span
    text: str


def looks_like_panos(text: str) -> bool:
    head = text[:20000]
    return bool(re.search(r"^set (deviceconfig|network interface|rulebase|vsys|zone|address|shared|mgt-config) ",
                          head, re.M)) or looks_hierarchical(text) or looks_like_xml(text)


def _tokens(lines: list[str], index: int, span: Span) -> tuple[list[str], int]:
    """Words of the statement at ``lines[index]``: "..." and '...' quote (a quote closes where a
    blank, the end of the line, ';' or ']' follows it, as PAN-OS writes unescaped quotes inside
    values), [ ] mark lists, { } and ; structure the hierarchical format. A quoted value left open
    runs on over the next lines. Returns the words and the index of the next line."""
    words: list[str] = []
    current: list[str] | None = None
    quote = ""
    line = lines[index]
    pos = 0
    while True:
        if pos >= len(line):
            if not quote:
                break
            index += 1
            if index >= len(lines):
                raise InputError("a quoted value is never closed", span)
            assert current is not None
            current.append("\n")
            line, pos = lines[index], 0
            continue
        ch = line[pos]
        pos += 1
        if quote:
            following = line[pos:pos + 1]
            if ch == quote and (not following or following.isspace() or following in ";]"):
                quote = ""
            else:
                assert current is not None
                current.append(ch)
        elif ch in "\"'" and current is None:
            quote = ch
            current = []
        elif ch.isspace() or ch in "[]{};":
            if current is not None:
                words.append("".join(current))
                current = None
            if not ch.isspace():
                words.append(ch)
        else:
            if current is None:
                current = []
            current.append(ch)
    if current is not None:
        words.append("".join(current))
    return words, index + 1


def _hierarchical(lines: list[str], file: str, notes: Notes) -> list[tuple[list[str], Span, str]]:
    """PAN-OS's brace format (``show config running``) as the set commands it stands for."""
    result: list[tuple[list[str], Span, str]] = []
    path: list[list[str]] = []
    index = 0
    while index < len(lines):
        raw = lines[index]
        number = index + 1
        span = Span(file, number, len(raw) - len(raw.lstrip()) + 1)
        words, index = _tokens(lines, index, span)
        if not words or raw.strip().startswith("#"):
            continue
        pending: list[str] = []
        for word in words:
            if word == "{":
                if len(path) >= 64:
                    raise InputError("configuration nested deeper than 64 levels", span)
                path.append(pending)
                pending = []
            elif word == "}":
                if not path:
                    raise InputError("'}' without a '{' to close", span)
                path.pop()
            elif word == ";":
                if pending:
                    result.append(([w for part in path for w in part] + pending, span, raw.strip()))
                pending = []
            else:
                pending.append(word)
        if pending:
            if pending[:2] == ["show", "config"] or pending[:1] == ["show"]:
                continue
            notes.unverified(span, f"not a PAN-OS statement: {' '.join(pending)[:60]!r}", raw.strip())
    if path:
        raise InputError("a '{' is never closed", Span(file, len(lines)))
    return result


def _unwrap(words: list[str]) -> list[str] | None:
    """A hierarchical path as a firewall's set command: the device and 'config' wrappers dropped."""
    if words[:1] == ["config"]:
        words = words[1:]
    if words[:1] == ["devices"] and len(words) >= 2:
        words = words[2:]
    if words[:1] == ["policy"] and words[1:2] == ["panorama"]:
        return None
    return words


def read_lines(text: str, file: str, notes: Notes) -> list[SetLine]:
    """``set`` lines with ``delete`` and ``move`` applied in order, as the CLI would (the brace
    format and the XML configuration are read as the set commands they stand for)."""
    raw_lines = text.splitlines()
    if looks_like_xml(text) or looks_hierarchical(text):
        lines = []
        statements = xml_statements(text, file, notes) if looks_like_xml(text) else _hierarchical(raw_lines, file, notes)
        for words, span, stripped in statements:
            unwrapped = _unwrap(words)
            if unwrapped:
                lines.append(SetLine("set", unwrapped, span, stripped))
        return lines
    lines = []
    index = 0
    while index < len(raw_lines):
        raw = raw_lines[index]
        number = index + 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("!"):
            index += 1
            continue
        span = Span(file, number, len(raw) - len(raw.lstrip()) + 1)
        words, index = _tokens(raw_lines, index, span)
        verb = words[0] if words else ""
        if verb == "set" and len(words) >= 2:
            lines.append(SetLine("set", words[1:], span, stripped))
        elif verb == "delete" and len(words) >= 2:
            path = words[1:]
            lines = [line for line in lines if line.words[: len(path)] != path]
        elif verb == "move" and len(words) >= 4:
            _move(lines, words[1:], span, stripped, notes)
        elif verb in ("exit", "quit", "configure", "commit", "end"):
            continue
        else:
            notes.unverified(span, f"not a PAN-OS set command: {stripped[:60]!r}", stripped)
    return lines


def looks_hierarchical(text: str) -> bool:
    return bool(re.search(r"^\s*(config|deviceconfig|devices|policy|network|shared|mgt-config)\s*\{", text[:20000], re.M))


def _move(lines: list[SetLine], words: list[str], span: Span, text: str, notes: Notes) -> None:
    """``move rulebase security rules R before|after|top|bottom [OTHER]``: reorder R's lines."""
    where = next((i for i, w in enumerate(words) if w in ("before", "after", "top", "bottom")), None)
    if where is None or where == 0:
        notes.warn(span, "cannot read this move command: it has no effect", text)
        return
    path, how, other = words[:where], words[where], words[where + 1] if where + 1 < len(words) else None
    moving = [line for line in lines if line.words[: len(path)] == path]
    rest = [line for line in lines if line.words[: len(path)] != path]
    if not moving:
        notes.warn(span, f"move: no {' '.join(path)}; PAN-OS rejects this command, it has no effect", text)
        return
    if how in ("top", "bottom"):
        parent = path[:-1]
        idx = [i for i, line in enumerate(rest) if line.words[: len(parent)] == parent]
        at = (idx[0] if how == "top" else idx[-1] + 1) if idx else len(rest)
    else:
        target = path[:-1] + [other or ""]
        idx = [i for i, line in enumerate(rest) if line.words[: len(target)] == target]
        if not idx:
            notes.warn(span, f"move: no {' '.join(target)}; PAN-OS rejects this command, it has no effect", text)
            return
        at = idx[0] if how == "before" else idx[-1] + 1
    lines[:] = rest[:at] + moving + rest[at:]


def _values(words: list[str]) -> list[str]:
    """A value or a [ list ]."""
    if words[:1] == ["["]:
        return [w for w in words[1:] if w != "]"]
    return words[:1]


@dataclass
class Rule:
    name: str
    span: Span
    keys: dict[str, tuple[list[str], Span, str]] = field(default_factory=dict)

    def values(self, key: str, default: list[str] | None = None) -> list[str]:
        found = self.keys.get(key)
        return found[0] if found is not None else list(default or [])

    def span_of(self, key: str) -> Span:
        found = self.keys.get(key)
        return found[1] if found is not None else self.span


@dataclass
class Vsys:
    name: str
    span: Span
    zones: dict[str, tuple[list[str], Span]] = field(default_factory=dict)
    addresses: dict[str, Rule] = field(default_factory=dict)
    groups: dict[str, Rule] = field(default_factory=dict)
    services: dict[str, Rule] = field(default_factory=dict)
    service_groups: dict[str, Rule] = field(default_factory=dict)
    security: dict[str, Rule] = field(default_factory=dict)
    nat: dict[str, Rule] = field(default_factory=dict)
    defaults: dict[str, tuple[str, Span]] = field(default_factory=dict)  # intrazone-default / interzone-default
    imports: list[str] = field(default_factory=list)


def _rule(table: dict[str, Rule], name: str, span: Span) -> Rule:
    if name not in table:
        table[name] = Rule(name, span)
    return table[name]


class PanosParser:
    def __init__(self, text: str, file: str, notes: Notes) -> None:
        self.file = file
        self.notes = notes
        self.lines = read_lines(text, file, notes)
        self.hostname: tuple[str, Span] | None = None
        self.interfaces: dict[str, L3Interface] = {}
        self.ports: dict[str, Port] = {}
        self.down: dict[str, Span] = {}
        self.routers: dict[str, tuple[list[str], list[RouteData], Span]] = {}
        self.dynamic: tuple[str, Span] | None = None
        self.static_routes: dict[tuple[str, str], dict[str, Any]] = {}  # (virtual router, route) -> settings
        self.shared = Vsys("shared", Span(file, 1))
        self.vsys: dict[str, Vsys] = {}

    def vsys_of(self, name: str, span: Span) -> Vsys:
        if name not in self.vsys:
            self.vsys[name] = Vsys(name, span)
        return self.vsys[name]

    # -- reading the lines ------------------------------------------------------------------------

    def read(self) -> None:
        for line in self.lines:
            w = line.words
            if w[:3] == ["deviceconfig", "system", "hostname"] and len(w) == 4:
                self.hostname = (w[3], line.span)
            elif w[:2] == ["network", "interface"]:
                self.interface(w[2:], line)
            elif w[:2] == ["network", "virtual-router"] and len(w) >= 4:
                self.router(w[2], w[3:], line)
            elif w[:1] == ["vsys"] and len(w) >= 3:
                self.in_vsys(self.vsys_of(w[1], line.span), w[2:], line)
            elif w[:1] == ["shared"] and len(w) >= 2:
                self.in_vsys(self.shared, w[1:], line)
            elif w[:1] in (["zone"], ["address"], ["address-group"], ["service"], ["service-group"], ["rulebase"]):
                self.in_vsys(self.vsys_of("vsys1", line.span), w, line)
            elif w[:1] in (["device-group"], ["template"], ["template-stack"], ["panorama"], ["policy"]):
                self.notes.unverified(line.span, "Panorama configuration (device groups, templates) is not "
                                      "verified: import the firewall's own configuration", line.text)
            elif not self.neutral(w):
                self.notes.unverified(line.span, f"'set {' '.join(w[:3])}' is not modelled", line.text)
        if self.hostname is None:
            raise InputError("no 'set deviceconfig system hostname': every device needs a name (the overlay names "
                             "devices by it)", Span(self.file, 1))

    def neutral(self, words: list[str]) -> bool:
        for n in (1, 2, 3):
            if " ".join(words[:n]) in NEUTRAL_SECTIONS:
                return True
        return False

    def interface(self, w: list[str], line: SetLine) -> None:
        if len(w) < 2:
            self.notes.unverified(line.span, "interface line not understood", line.text)
            return
        kind, name, rest = w[0], w[1], w[2:]
        if kind in ("ethernet", "aggregate-ethernet"):
            if rest[:1] == ["layer3"]:
                rest = rest[1:]
                if rest[:1] == ["units"] and len(rest) >= 2:
                    unit, rest = rest[1], rest[2:]
                    iface = self.iface(unit, line.span)
                    iface.physical = name
                    if rest[:1] == ["tag"] and len(rest) == 2 and rest[1].isdigit():
                        iface.vlan_tag = int(rest[1])
                        return
                    return self.l3(iface, rest, line)
                self.ports.setdefault(name, Port(name, line.span))
                return self.l3(self.iface(name, line.span), rest, line)
            if rest[:1] in (["layer2"], ["virtual-wire"], ["tap"], ["decrypt-mirror"], ["ha"]):
                self.notes.unverified(line.span, f"{name}: {rest[0]} interfaces (switching or a wire without "
                                      "routing) are not modelled", line.text)
                return
            if rest[:1] in (["link-state"],) and rest[1:2] == ["down"]:
                self.down[name] = line.span
                return
            if rest[:1] in (["comment"], ["link-speed"], ["link-duplex"], ["link-state"], ["lldp"], ["lacp"],
                            ["aggregate-group"], []):
                return
        elif kind in ("loopback", "vlan", "tunnel"):
            if name == "units" and rest:
                unit, rest = rest[0], rest[1:]
            else:
                unit = kind if name in ("ip", "comment") else name
                rest = w[1:] if name in ("ip", "comment") else rest
            if kind == "tunnel":
                self.notes.unverified(line.span, f"tunnel interface {unit}: what it carries is not modelled", line.text)
                return
            iface = self.iface(unit, line.span)
            iface.loopback = kind == "loopback"
            return self.l3(iface, rest, line)
        self.notes.unverified(line.span, f"interface line not modelled: {' '.join(w[:4])}", line.text)

    def iface(self, name: str, span: Span) -> L3Interface:
        if not NAME_OK.match(name):
            raise InputError(f"interface name {name!r}: segverify names cannot hold spaces, ':' or ','", span)
        if name not in self.interfaces:
            self.interfaces[name] = L3Interface(name, span)
        return self.interfaces[name]

    def l3(self, iface: L3Interface, rest: list[str], line: SetLine) -> None:
        if rest[:1] == ["ip"]:
            for value in _values(rest[1:]):
                try:
                    address = IPv4Interface(value)
                except ValueError:
                    if ":" in value:
                        return  # IPv6 (checked below as not verified only where used)
                    self.notes.unverified(line.span, f"interface address {value!r} is an object name or not an "
                                          "address: modelled without it", line.text)
                    continue
                if iface.address is None:
                    iface.address, iface.address_span = address, line.span
                else:
                    iface.secondary.append((address, line.span))
        elif rest[:1] in (["dhcp-client"], ["pppoe"]):
            self.notes.unverified(line.span, f"{iface.name} takes its address by {rest[0]}: modelled without one",
                                  line.text)
        elif rest[:1] in (["comment"], ["interface-management-profile"], ["mtu"], ["adjust-tcp-mss"], ["ndp-proxy"],
                          ["lldp"], ["netflow-profile"], ["ipv6"], ["arp"], ["untagged-sub-interface"], []):
            if rest[:1] == ["comment"] and len(rest) >= 2:
                iface.description = rest[1]
        else:
            self.notes.unverified(line.span, f"interface setting not modelled: {' '.join(rest[:3])}", line.text)

    def router(self, name: str, w: list[str], line: SetLine) -> None:
        members, routes, span = self.routers.setdefault(name, ([], [], line.span))
        if w[0] == "interface":
            members.extend(_values(w[1:]))
        elif w[:3] == ["routing-table", "ip", "static-route"] and len(w) >= 5:
            self.static_route(name, w[3], w[4:], line)
        elif w[:1] == ["protocol"] and len(w) >= 2:
            if w[1] in ("ospf", "bgp", "rip", "ospfv3") and w[2:4] == ["enable", "yes"] and self.dynamic is None:
                self.dynamic = (f"virtual-router {name} protocol {w[1]}", line.span)
        elif w[:1] in (["ecmp"], ["admin-dists"], ["multicast"]):
            return
        elif w[:3] == ["routing-table", "ipv6", "static-route"]:
            return
        else:
            self.notes.unverified(line.span, f"virtual-router setting not modelled: {' '.join(w[:3])}", line.text)

    def static_route(self, router: str, name: str, w: list[str], line: SetLine) -> None:
        route = self.static_routes.setdefault((router, name), {"span": line.span})
        if w[0] == "destination" and len(w) == 2:
            route["destination"] = (w[1], line.span)
        elif w[:2] == ["nexthop", "ip-address"] and len(w) == 3:
            route["via"] = w[2]
        elif w[:2] == ["nexthop", "discard"]:
            route["drop"] = True
        elif w[:2] == ["nexthop", "next-vr"]:
            route["next-vr"] = w[2] if len(w) > 2 else ""
        elif w[0] == "interface" and len(w) == 2:
            route["interface"] = w[1]
        elif w[0] in ("metric",):
            return
        elif w[0] == "admin-dist" and len(w) == 2 and w[1].isdigit():
            route["distance"] = int(w[1])
        elif w[0] in ("route-table", "bfd", "path-monitor"):
            return
        else:
            self.notes.unverified(line.span, f"static route setting not modelled: {' '.join(w[:3])}", line.text)

    def in_vsys(self, vsys: Vsys, w: list[str], line: SetLine) -> None:
        head = w[0]
        if len(w) == 1 and head in EMPTY_TABLES:
            return  # a table with no entries (the XML configuration writes <service/>)
        if head == "zone" and len(w) >= 4 and w[2] == "network":
            if w[3] in ("layer3",):
                members = _values(w[4:])
                known = vsys.zones.setdefault(w[1], ([], line.span))[0]
                known.extend(members)
            elif w[3] in ("layer2", "virtual-wire", "tap", "tunnel"):
                self.notes.unverified(line.span, f"zone {w[1]}: {w[3]} zones are not modelled", line.text)
            elif w[3] == "external":
                self.notes.unverified(line.span, f"zone {w[1]}: an external zone (traffic to another vsys) is not "
                                      "modelled", line.text)
            return
        if head == "zone" and len(w) >= 2:
            vsys.zones.setdefault(w[1], ([], line.span))
            return
        if head in ("address", "address-group", "service", "service-group") and len(w) >= 3:
            table = {"address": vsys.addresses, "address-group": vsys.groups, "service": vsys.services,
                     "service-group": vsys.service_groups}[head]
            obj = _rule(table, w[1], line.span)
            self._keys(obj, w[2:], line)
            return
        if w[:3] == ["rulebase", "security", "rules"] and len(w) >= 5:
            self._keys(_rule(vsys.security, w[3], line.span), w[4:], line)
            return
        if w[:3] == ["rulebase", "nat", "rules"] and len(w) >= 5:
            self._keys(_rule(vsys.nat, w[3], line.span), w[4:], line)
            return
        if w[:3] == ["rulebase", "default-security-rules", "rules"] and len(w) >= 6 and w[4] == "action":
            vsys.defaults[w[3]] = (w[5], line.span)
            return
        if w[:1] == ["import"] and w[1:3] == ["network", "interface"]:
            vsys.imports.extend(_values(w[3:]))
            return
        if w[:2] == ["rulebase", "application-override"]:
            self.notes.unverified(line.span, "application override rules are not modelled (they do not change "
                                  "which packets pass)", line.text)
            return
        if self.neutral(w) or head in ("display-name", "setting"):
            return
        self.notes.unverified(line.span, f"'{' '.join(w[:3])}' is not modelled", line.text)

    def _keys(self, obj: Rule, w: list[str], line: SetLine) -> None:
        """The settings of an object or rule on one line: ``key value`` and ``key [ list ]`` pairs, one
        or several, where a group key (``protocol tcp``, ``source-translation static-ip``) puts the
        rest of the line under it. Setting a member list again adds to it, as on the CLI
        (``static A`` then ``static B`` is ``static [ A B ]``); any other key is replaced."""
        for key, values in _pairs(w, []):
            known = obj.keys.get(key)
            if key in MEMBER_LISTS and known is not None:
                values = known[0] + [v for v in values if v not in known[0]]
            obj.keys[key] = (values, line.span, line.text)

    # -- building devices -------------------------------------------------------------------------

    def parse(self) -> list[Device]:
        self.read()
        assert self.hostname is not None
        if not self.vsys:
            self.vsys["vsys1"] = Vsys("vsys1", Span(self.file, 1))
        devices = []
        several = len(self.vsys) > 1
        claimed = {i for v in self.vsys.values() for i in v.imports}
        for name, vsys in self.vsys.items():
            if several:
                members = [i for i in vsys.imports if i in self.interfaces]
            else:
                members = [i for i in self.interfaces if i not in claimed or i in vsys.imports]
            devices.append(VsysBuilder(self, vsys, members, several).build())
        return devices

    def routes_of(self, members: list[str], device: Device | None = None) -> list[RouteData]:
        """Routes of the virtual routers the interfaces belong to. With several of them (or a route
        into another, ``nexthop next-vr``) each virtual router is a routing context of the device:
        the one named ``default`` its default table, the others VRFs of their name; the interfaces
        are bound to theirs and a ``next-vr`` route is a leak (``next_vrf``)."""
        pending = self.static_routes
        routers = {r for r, (ifaces, _routes, _span) in self.routers.items() if set(ifaces) & set(members)}
        while True:  # the virtual routers a next-vr route leads into take part too
            more = {spec["next-vr"] for (router, _n), spec in pending.items()
                    if router in routers and spec.get("next-vr") and spec["next-vr"] in self.routers} - routers
            if not more:
                break
            routers |= more
        contexts = len(routers) > 1 and device is not None
        if contexts:
            assert device is not None
            for router in sorted(routers):
                ifaces, _routes, rspan = self.routers[router]
                if router != DEFAULT_ROUTER:
                    device.vrfs[router] = rspan
                for iface in ifaces:
                    if iface in device.interfaces:
                        device.interfaces[iface].vrf = None if router == DEFAULT_ROUTER else router
                        device.interfaces[iface].vrf_span = rspan
        result: list[RouteData] = []
        for (router, name), spec in pending.items():
            if router not in routers:
                continue
            vrf = None if not contexts or router == DEFAULT_ROUTER else router
            span = spec["span"]
            if "destination" not in spec:
                raise InputError(f"static route {name} of virtual router {router} has no destination", span)
            text, dspan = spec["destination"]
            try:
                prefix = IPv4Network(text, strict=False)
            except ValueError:
                if ":" in text:
                    continue
                raise InputError(f"static route {name}: destination {text!r} is not a prefix", dspan) from None
            data: dict[str, Any] = {"to": str(prefix)}
            if "distance" in spec and spec["distance"] != 1:
                data["distance"] = max(1, min(255, spec["distance"]))
            if spec.get("drop"):
                data["drop"] = True
                result.append(RouteData(data, span, vrf))
            elif "next-vr" in spec:
                target = spec["next-vr"]
                if not contexts or target not in self.routers or target == router:
                    self.notes.unverified(span, f"static route {name}: next-vr {target or '(none)'} is no other "
                                          "virtual router of this device: route left out")
                    continue
                data["next_vrf"] = "default" if target == DEFAULT_ROUTER else target
                result.append(RouteData(data, span, vrf))
            elif "via" in spec:
                data["via"] = spec["via"]
                result.append(RouteData(data, span, vrf))
            elif "interface" in spec:
                result.append(RouteData(data, span, vrf, interface=spec["interface"]))
            else:
                raise InputError(f"static route {name} has no next hop (nexthop ip-address, discard or an "
                                 "interface)", span)
        return result


class VsysBuilder:
    def __init__(self, panos: PanosParser, vsys: Vsys, members: list[str], several: bool) -> None:
        self.p = panos
        self.notes = panos.notes
        self.vsys = vsys
        assert panos.hostname is not None
        name = f"{panos.hostname[0]}@{vsys.name}" if several else panos.hostname[0]
        self.device = Device(name, "panos", panos.file, vsys.span if several else panos.hostname[1], kind="firewall")
        for iface in members:
            if iface in panos.down:
                self.device.omitted[iface] = panos.down[iface]
            else:
                self.device.interfaces[iface] = panos.interfaces[iface]
                if iface in panos.ports:
                    self.device.ports[iface] = panos.ports[iface]
        self.zone_of: dict[str, str] = {}
        for zone, (ifaces, span) in vsys.zones.items():
            for iface in ifaces:
                self.zone_of[iface] = zone
        # (original destinations, translated address, translated port as a service term or None)
        self.dnat: list[tuple[list[str], str, dict[str, Any] | None]] = []

    def build(self) -> Device:
        self.device.routes = self.p.routes_of(list(self.device.interfaces), self.device)
        if self.p.dynamic is not None:
            self.device.dynamic_routing = self.p.dynamic
        self.nat()
        # Security rules also decide traffic to the firewall's own addresses, the destination zone
        # being that of the interface holding the address (interface management profiles, which
        # restrict it further, are not modelled: the import may let more through, never less).
        policy = PolicyData(self.device.span, "deny", local_by_rules=True)
        for rule in self.vsys.security.values():
            for line in self.security_lines(rule):
                add_line(policy, (line, rule.span))
        self.defaults(policy)
        self.device.policies = policy
        return self.device

    def zone_interfaces(self, zones: list[str], span: Span) -> list[str] | None:
        if "any" in zones:
            return None
        result: list[str] = []
        for zone in zones:
            if zone not in self.vsys.zones:
                # PAN-OS would not commit this; no interface is in the zone, so nothing matches there.
                self.notes.warn(span, f"no zone {zone!r} in {self.vsys.name}: nothing is in it")
                continue
            result.extend(i for i in self.vsys.zones[zone][0] if i in self.device.interfaces)
        return sorted(set(result))

    # -- objects ------------------------------------------------------------------------------------

    def lookup(self, kind: str, name: str) -> Rule | None:
        for scope in (self.vsys, self.p.shared):
            table = getattr(scope, kind)
            if name in table:
                return table[name]
        return None

    def addresses(self, names: list[str], span: Span, wide: bool, seen: tuple[str, ...] = ()) -> list[str] | None:
        """Address terms for names (None: any)."""
        result: list[str] = []
        for name in names:
            if name == "any":
                return None
            if len(seen) > 32:
                raise InputError("address groups nested more than 32 deep", span)
            if name in seen:
                raise InputError(f"address group {name!r} contains itself", span)
            obj = self.lookup("addresses", name)
            group = self.lookup("groups", name) if obj is None else None
            if obj is not None:
                found = self.address_object(obj, wide)
                if found is None:
                    return None
                result.extend(found)
            elif group is not None:
                if "static" in group.keys:
                    inner = self.addresses(group.values("static"), group.span_of("static"), wide, seen + (name,))
                    if inner is None:
                        return None
                    result.extend(inner)
                else:
                    what = "any address" if wide else "no address"
                    self.notes.over(group.span, f"address group {name}: a dynamic group is modelled as {what}")
                    if wide:
                        return None
            else:
                literal = _literal_address(name)
                if literal is None:
                    low, dash, high = name.partition("-")
                    if dash and _literal_address(low) and _literal_address(high):
                        raise InputError(f"the address range {name} ends before it starts", span)
                    raise InputError(f"no address or address group named {name!r}", span)
                result.append(literal)
        return result

    def address_object(self, obj: Rule, wide: bool) -> list[str] | None:
        for key in ("ip-netmask", "ip-range", "ip-wildcard"):
            if key in obj.keys:
                value = obj.values(key)[0] if obj.values(key) else ""
                term = _literal_address(value) if key != "ip-wildcard" else _wildcard(value)
                if term is None:
                    if ":" in value:
                        return []  # an IPv6 address never matches an IPv4 packet
                    raise InputError(f"address {obj.name}: cannot read {value!r}", obj.span_of(key))
                return [term]
        what = "any address" if wide else "no address"
        self.notes.over(obj.span, f"address {obj.name} ({', '.join(obj.keys) or 'empty'}) is not resolved to "
                        f"addresses: modelled as {what}")
        return None if wide else []

    def services(self, names: list[str], span: Span, wide: bool, apps: list[str],
                 seen: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        terms: list[dict[str, Any]] = []
        for name in names:
            if name == "any":
                return [{}]
            if name == "application-default":
                terms.extend(self.app_default(apps, span, wide))
                continue
            if name in seen:
                raise InputError(f"service group {name!r} contains itself", span)
            obj = self.lookup("services", name)
            group = self.lookup("service_groups", name) if obj is None else None
            if obj is not None:
                terms.extend(self.service_object(obj))
            elif group is not None:
                terms.extend(self.services(group.values("members"), group.span_of("members"), wide, apps,
                                           seen + (name,)))
            elif name in BUILTIN_SERVICES:
                terms.extend(BUILTIN_SERVICES[name])
            else:
                raise InputError(f"no service or service group named {name!r}", span)
        return terms

    def app_default(self, apps: list[str], span: Span, wide: bool) -> list[dict[str, Any]]:
        if not apps or "any" in apps:
            return [{}]
        terms: list[dict[str, Any]] = []
        for app in apps:
            if app in APP_DEFAULT:
                terms.extend(APP_DEFAULT[app])
            else:
                what = "any service" if wide else "no service"
                self.notes.over(span, f"application {app} with service application-default: its ports are not "
                                f"known to segverify; modelled as {what}")
                if wide:
                    return [{}]
        return terms

    def service_object(self, obj: Rule) -> list[dict[str, Any]]:
        terms: list[dict[str, Any]] = []
        for proto in ("tcp", "udp", "sctp"):
            ports = obj.values(f"protocol {proto} port")
            sources = obj.values(f"protocol {proto} source-port")
            if f"protocol {proto} port" not in obj.keys:
                continue
            for dport in ",".join(ports).split(","):
                term: dict[str, Any] = {"proto": proto}
                if dport:
                    term["dport"] = _ports(dport, obj)
                if sources:
                    for sport in ",".join(sources).split(","):
                        terms.append({**term, "sport": _ports(sport, obj)})
                else:
                    terms.append(term)
        if not terms:
            raise InputError(f"service {obj.name}: no protocol and port", obj.span)
        return terms

    # -- rules --------------------------------------------------------------------------------------

    def security_lines(self, rule: Rule) -> Iterator[dict[str, Any]]:
        if rule.values("disabled") == ["yes"]:
            return
        action = (rule.values("action") or ["allow"])[0]
        permit = action == "allow"
        if not permit and action not in DENY_ACTIONS:
            raise InputError(f"security rule {rule.name}: action {action!r}", rule.span_of("action"))
        label = f"security rule {rule.name}"
        handled = {"from", "to", "source", "destination", "service", "action", "disabled", "negate-source",
                   "negate-destination", "rule-type"}
        for key, (values, span, text) in rule.keys.items():
            if key in NEUTRAL_RULE_KEYS or key in handled:
                continue
            if key in CONDITION_RULE_KEYS or key == "application":
                if values in ([], ["any"]):
                    continue
                reason = f"'{key}' narrows what the rule matches"
                if key == "application" and permit:
                    continue  # an allow is widened to the application's ports (or any): no loss for isolation
            else:
                reason = f"'{key}' is not known to segverify"
            if not permit:
                self.notes.over(span, f"{label}: {reason}; the deny is not modelled", text)
                return
            self.notes.over(span, f"{label}: {reason}; modelled as if it matched everything", text)
        src = self.side(rule, "source", permit)
        dst = self.side(rule, "destination", permit)
        if src is False or dst is False:
            return
        services = self.services(rule.values("service", ["any"]), rule.span_of("service"), permit,
                                 rule.values("application", ["any"]))
        if not services:
            return
        if permit and dst is not True:
            # PAN-OS matches the service before NAT too: the translated port of a destination NAT
            # this rule allows is allowed (to any of the rule's destinations: sound, maybe wider).
            targets = set(dst) if isinstance(dst, list) else set()
            services = services + [port for original, _to, port in self.dnat
                                   if port is not None and set(original) & targets]
        zones_from = rule.values("from", ["any"])
        zones_to = rule.values("to", ["any"])
        kind = (rule.values("rule-type") or ["universal"])[0]
        pairs: list[tuple[list[str], list[str]]]
        if kind == "universal":
            pairs = [(zones_from, zones_to)]
        else:
            every = sorted(self.vsys.zones)
            fz = every if "any" in zones_from else zones_from
            tz = every if "any" in zones_to else zones_to
            pairs = [([a], [b]) for a in fz for b in tz if (a == b) == (kind == "intrazone")]
        for zf, zt in pairs:
            ingress = self.zone_interfaces(zf, rule.span_of("from"))
            egress = self.zone_interfaces(zt, rule.span_of("to"))
            if ingress == [] or egress == []:
                continue
            for service in merge_services(services):
                line: dict[str, Any] = {"action": "permit" if permit else "deny", "description": label}
                if ingress is not None:
                    line["from"] = ingress
                if egress is not None:
                    line["to"] = egress
                if src is not True:
                    line["src"] = src
                if dst is not True:
                    line["dst"] = dst
                line.update(service)
                yield line

    def side(self, rule: Rule, key: str, permit: bool) -> Any:
        """A rule's source or destination: True (any), False (nothing), or a topology address clause."""
        negate = rule.values(f"negate-{key}") == ["yes"]
        found = self.addresses(rule.values(key, ["any"]), rule.span_of(key), wide=permit != negate)
        if key == "destination" and permit and found is not None:
            found = found + [to for original, to, _port in self.dnat if set(original) & set(found)]
        if negate:
            if found is None:
                return False
            return {"except": found} if found else True
        if found is None:
            return True
        return found if found else False

    def defaults(self, policy: PolicyData) -> None:
        intrazone, intra_span = self.vsys.defaults.get("intrazone-default", ("allow", self.device.span))
        interzone, inter_span = self.vsys.defaults.get("interzone-default", ("deny", self.device.span))
        if intrazone == "allow":
            for zone, (ifaces, span) in sorted(self.vsys.zones.items()):
                live = [i for i in ifaces if i in self.device.interfaces]
                if live:
                    add_line(policy, ({"from": live, "to": live, "action": "permit",
                                          "description": f"intrazone-default ({zone})"}, intra_span))
        elif intrazone in DENY_ACTIONS and interzone == "allow":
            for zone, (ifaces, span) in sorted(self.vsys.zones.items()):
                live = [i for i in ifaces if i in self.device.interfaces]
                if live:
                    add_line(policy, ({"from": live, "to": live, "action": "deny",
                                          "description": f"intrazone-default ({zone})"}, intra_span))
        policy.default = "permit" if interzone == "allow" else "deny"

    def nat(self) -> None:
        for rule in self.vsys.nat.values():
            if rule.values("disabled") == ["yes"]:
                continue
            label = f"NAT rule {rule.name}"
            src = self.addresses(rule.values("source", ["any"]), rule.span_of("source"), wide=True)
            dst = self.addresses(rule.values("destination", ["any"]), rule.span_of("destination"), wide=True)
            service = rule.values("service", ["any"])
            svc_terms = self.services(service, rule.span_of("service"), True, []) if service != ["any"] else [{}]
            ingress = self.zone_interfaces(rule.values("from", ["any"]), rule.span_of("from"))
            egress_zone = self.zone_interfaces(rule.values("to", ["any"]), rule.span_of("to"))
            to_interface = rule.values("to-interface")
            egress = [to_interface[0]] if to_interface and to_interface != ["any"] else egress_zone
            match: dict[str, Any] = {}
            if src is not None:
                match["src"] = src
            if dst is not None:
                match["dst"] = dst
            services = merge_services(svc_terms)
            dnat = [k for k in rule.keys if k.startswith("destination-translation")]
            snat = [k for k in rule.keys if k.startswith("source-translation")]
            if dnat and snat and self.twice_nat(rule, label, ingress, match, services):
                continue
            if dnat:
                address = rule.values("destination-translation translated-address")
                port = rule.values("destination-translation translated-port")
                if len(address) != 1 or dst is None:
                    self.notes.unverified(rule.span, f"{label}: destination translation without one translated "
                                          "address and a destination is not modelled")
                else:
                    target = self.addresses(address, rule.span_of("destination-translation translated-address"),
                                            wide=False) or []
                    if len(target) != 1 or "-" in target[0] or IPv4Network(target[0]).num_addresses != 1:
                        self.notes.unverified(rule.span, f"{label}: translation to several addresses is not modelled")
                    else:
                        to = target[0].removesuffix("/32")
                        protos = {t.get("proto") for t in svc_terms if t.get("proto") in ("tcp", "udp", "sctp")}
                        moved = {"proto": protos.pop(), "dport": port[0]} if port and len(protos) == 1 else None
                        self.dnat.append((dst, to, moved))
                        for iface in ingress if ingress is not None else sorted(self.device.interfaces):
                            for svc in services:
                                data: dict[str, Any] = {"type": "destination", "in": iface, **match, "to": to,
                                                        "description": label, **svc}
                                if port and port[0].isdigit():
                                    data["port"] = int(port[0])
                                self.device.nat.append(NatData(data, rule.span))
            if snat:
                if ingress is not None:
                    self.notes.unverified(rule.span_of("from"), f"{label}: the source translation's from zone is not "
                                          "a condition in the model (it translates whatever leaves by its to zone)")
                self.source_nat(rule, label, egress, match, services)

    def twice_nat(self, rule: Rule, label: str, ingress: list[str] | None, match: dict[str, Any],
                  services: list[dict[str, Any]]) -> bool:
        """A rule with both translations is twice NAT: only the packets it matches get both. Made a
        twice rule per ingress interface when each side translates to one address and the source
        port is kept (static-ip, dynamic-ip); False leaves the rule to the two halves below."""
        keys = rule.keys
        address = rule.values("destination-translation translated-address")
        if len(address) != 1 or "dst" not in match:
            return False
        if not any(k.startswith("source-translation static-ip") or k.startswith("source-translation dynamic-ip ")
                   or k == "source-translation dynamic-ip" for k in keys):
            return False
        if any(k.startswith("source-translation static-ip bi-directional") and rule.values(k) == ["yes"]
               for k in keys):
            return False
        target = self.addresses(address, rule.span_of("destination-translation translated-address"), wide=False) or []
        if len(target) != 1 or "-" in target[0] or IPv4Network(target[0]).num_addresses != 1:
            return False
        to_src = self.source_target(rule, label)
        if to_src is None:
            return False
        to = target[0].removesuffix("/32")
        port = rule.values("destination-translation translated-port")
        protos = {t.get("proto") for t in services if t.get("proto") in ("tcp", "udp", "sctp")}
        self.dnat.append((match["dst"], to, {"proto": protos.pop(), "dport": port[0]} if port and len(protos) == 1
                          else None))
        for iface in ingress if ingress is not None else sorted(self.device.interfaces):
            for svc in services:
                data: dict[str, Any] = {"type": "twice", "in": iface, **match, "to_dst": to, "to_src": to_src,
                                        "description": label, **svc}
                if port and port[0].isdigit():
                    data["port"] = int(port[0])
                self.device.nat.append(NatData(data, rule.span))
        return True

    def source_target(self, rule: Rule, label: str) -> str | None:
        """The one address a rule's source translation gives (the first of several, with a note)."""
        to: str | None = None
        for key in rule.keys:
            if not key.startswith("source-translation"):
                continue
            values = rule.values(key)
            if key.endswith("interface-address interface") or key.endswith("interface-address"):
                iface = self.device.interfaces.get(values[0]) if values else None
                if iface is not None and iface.address is not None:
                    to = str(iface.address.ip)
            elif key.endswith("interface-address ip"):
                to = values[0].split("/")[0] if values else None
            elif key.endswith("translated-address"):
                found = self.addresses(values, rule.span_of(key), wide=False) or []
                if found:
                    first = found[0]
                    to = first.removesuffix("/32")
                    if len(found) > 1:
                        self.notes.unverified(rule.span_of(key), f"{label}: only the first translated address is "
                                              "modelled")
        return to

    def source_nat(self, rule: Rule, label: str, egress: list[str] | None, match: dict[str, Any],
                   services: list[dict[str, Any]]) -> None:
        keys = rule.keys
        static = [k for k in keys if k.startswith("source-translation static-ip")]
        ports = "keep" if any(k.startswith("source-translation dynamic-ip ") or k == "source-translation dynamic-ip"
                              for k in keys) or static else "1024-65535"
        to = self.source_target(rule, label)
        if to is None:
            self.notes.unverified(rule.span, f"{label}: source translation not understood; not modelled")
            return
        bidirectional = any(k.startswith("source-translation static-ip bi-directional") and rule.values(k) == ["yes"]
                            for k in keys)
        for out in egress if egress is not None else sorted(self.device.interfaces):
            if bidirectional and "src" in match and len(match["src"]) == 1:
                inside = match["src"][0].removesuffix("/32")
                self.device.nat.append(NatData({"type": "static", "out": out, "inside": inside, "outside": to,
                                                "description": label}, rule.span))
                continue
            for svc in services:
                data = {"type": "source", "out": out, **match, "to": to, "ports": ports, "description": label, **svc}
                self.device.nat.append(NatData(data, rule.span))


# Tables of a vsys that the XML configuration may write empty.
EMPTY_TABLES = {"address", "address-group", "service", "service-group", "zone", "rulebase", "import", "application",
                "application-group", "tag", "schedule", "profiles", "profile-group"}
# Keys that hold a list of members: a second set adds to the list.
MEMBER_LISTS = {"static", "members", "from", "to", "source", "destination", "service", "application", "tag",
                "source-user", "category", "hip-profiles", "translated-address"}
# Keys whose following words (this many) name a group the rest of the line belongs to.
GROUP_KEYS = {"protocol": 1, "source-translation": 1, "destination-translation": 0, "interface-address": 0,
              "dynamic-ip-and-port": 0, "dynamic": 0, "profile-setting": 0, "option": 0, "qos": 0,
              "override": 0}


def _pairs(words: list[str], prefix: list[str]) -> list[tuple[str, list[str]]]:
    result: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(words):
        key = words[i]
        i += 1
        if key in GROUP_KEYS and not (key == "dynamic" and words[i:i + 1] == ["filter"]):
            n = GROUP_KEYS[key]
            path = prefix + [key] + words[i:i + n]
            return result + _pairs(words[i + n:], path)
        values: list[str] = []
        if i < len(words) and words[i] == "[":
            end = words.index("]", i) if "]" in words[i:] else len(words)
            values = words[i + 1:end]
            i = end + 1
        elif i < len(words):
            values = [words[i]]
            i += 1
        result.append((" ".join(prefix + [key]), values))
    return result


def _literal_address(text: str) -> str | None:
    low, dash, high = text.partition("-")
    try:
        if dash:
            a, b = IPv4Address(low), IPv4Address(high)
            return f"{a}-{b}" if a <= b else None
        return str(IPv4Network(text, strict=False))
    except ValueError:
        return None


def _wildcard(text: str) -> str | None:
    address, _, mask = text.partition("/")
    try:
        return f"{IPv4Address(address)} {IPv4Address(mask)}"
    except ValueError:
        return None


def _ports(text: str, obj: Rule) -> str:
    low, _, high = text.partition("-")
    if not low.isdigit() or (high and not high.isdigit()) or int(high or low) > 65535 or int(low) > int(high or low):
        raise InputError(f"service {obj.name}: cannot read the port {text!r}", obj.span)
    return text


def parse_panos(text: str, display: str, notes: Notes) -> list[Device]:
    return PanosParser(text, display, notes).parse()

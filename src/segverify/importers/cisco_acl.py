"""Cisco IOS access-list entries and object-groups, turned into topology-format rules.

A contiguous wildcard mask becomes a prefix; a non-contiguous one is kept as the topology format's
``"ADDRESS WILDCARD"`` term. A condition the model cannot express is dropped from a
permit (it then matches more) and makes a deny match nothing (the rule is left out): either way the
model permits at least what the device does, and a note says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from typing import Any

from ..errors import InputError, Span
from .notes import Notes

MAX_GROUP_DEPTH = 32

PROTOCOLS = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1, "igmp": 2, "ipinip": 4, "gre": 47, "esp": 50,
             "ahp": 51, "eigrp": 88, "ospf": 89, "nos": 94, "pim": 103, "pcp": 108, "sctp": 132}
PORTS = {
    "echo": 7, "discard": 9, "daytime": 13, "chargen": 19, "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23,
    "smtp": 25, "time": 37, "nameserver": 42, "whois": 43, "tacacs": 49, "domain": 53, "bootps": 67,
    "bootpc": 68, "tftp": 69, "gopher": 70, "finger": 79, "www": 80, "http": 80, "hostname": 101, "pop2": 109,
    "pop3": 110, "sunrpc": 111, "ident": 113, "nntp": 119, "ntp": 123, "netbios-ns": 137, "netbios-dgm": 138,
    "netbios-ss": 139, "snmp": 161, "snmptrap": 162, "xdmcp": 177, "bgp": 179, "irc": 194, "dnsix": 195,
    "mobile-ip": 434, "pim-auto-rp": 496, "isakmp": 500, "biff": 512, "exec": 512, "login": 513, "who": 513,
    "cmd": 514, "syslog": 514, "lpd": 515, "talk": 517, "rip": 520, "uucp": 540, "klogin": 543, "kshell": 544,
    "drip": 3949, "non500-isakmp": 4500, "https": 443, "ldap": 389, "lotusnotes": 1352, "citrix-ica": 1494,
    "ctiqbe": 2748, "cifs": 3020, "sqlnet": 1521, "pptp": 1723, "radius": 1645, "radius-acct": 1646,
    "rtsp": 554, "kerberos": 750, "imap4": 143, "aol": 5190, "h323": 1720, "msrpc": 135, "onep-plain": 15001,
}
ICMP_TYPES = {"echo-reply": "0", "unreachable": "3", "net-unreachable": "3/0", "host-unreachable": "3/1",
              "protocol-unreachable": "3/2", "port-unreachable": "3/3", "packet-too-big": "3/4",
              "source-route-failed": "3/5", "administratively-prohibited": "3/13", "source-quench": "4",
              "redirect": "5", "alternate-address": "6", "echo": "8", "router-advertisement": "9",
              "router-solicitation": "10", "time-exceeded": "11", "ttl-exceeded": "11/0",
              "reassembly-timeout": "11/1", "parameter-problem": "12", "timestamp-request": "13",
              "timestamp-reply": "14", "information-request": "15", "information-reply": "16",
              "mask-request": "17", "mask-reply": "18", "traceroute": "30", "conversion-error": "31",
              "mobile-redirect": "32"}
# Options that do not change which packets match, for isolation purposes.
NEUTRAL_OPTIONS = {"log", "log-input"}
ICMP_WORDS = {"echo", "echo-reply", "unreachable", "time-exceeded", "packet-too-big", "redirect",
              "router-advertisement", "router-solicitation", "source-quench", "parameter-problem",
              "timestamp-request", "timestamp-reply", "information-request", "information-reply",
              "mask-request", "mask-reply", "traceroute", "ttl-exceeded", "host-unreachable",
              "net-unreachable", "port-unreachable", "protocol-unreachable", "administratively-prohibited",
              "conversion-error", "alternate-address", "mobile-redirect", "general-parameter-problem",
              "host-prohibited", "net-prohibited", "option-missing", "reassembly-timeout", "dod-host-prohibited",
              "dod-net-prohibited", "host-isolated", "host-precedence-unreachable", "host-redirect",
              "host-tos-redirect", "host-tos-unreachable", "host-unknown", "mobile-host-redirect", "net-redirect",
              "net-tos-redirect", "net-tos-unreachable", "net-unknown", "no-room-for-option", "packet-too-big",
              "precedence-unreachable", "source-route-failed", "unreachable"}


class Unsupported(Exception):
    """A condition the model cannot express (the caller decides: widen a permit, drop a deny)."""


def parse_ip(text: str, span: Span) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise InputError(f"{text!r} is not an IPv4 address", span) from None


def mask_length(mask: IPv4Address, span: Span) -> int:
    value = int(mask)
    length = bin(value).count("1")
    if value != (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF:
        raise InputError(f"{mask} is not a contiguous netmask", span)
    return length


@dataclass
class ObjectGroup:
    name: str
    kind: str  # network | service
    span: Span
    entries: list[tuple[list[str], Span]] = field(default_factory=list)


@dataclass
class AddressSet:
    """An address condition: prefixes (None: any); ``widened`` when it matches more than written."""

    prefixes: list[IPv4Network] | None
    widened: bool = False
    narrowed: bool = False
    wildcards: list[str] = field(default_factory=list)  # non-contiguous "ADDRESS WILDCARD" terms


class AclContext:
    """Resolves object-groups (with cycle and depth checks) for the entries of one file."""

    def __init__(self, groups: dict[str, ObjectGroup], notes: Notes) -> None:
        self.groups = groups
        self.notes = notes
        self._network_cache: dict[str, AddressSet] = {}

    def group(self, name: str, kind: str, span: Span) -> ObjectGroup:
        group = self.groups.get(name)
        if group is None:
            raise InputError(f"unknown object-group {name!r}", span)
        if group.kind != kind:
            raise InputError(f"object-group {name!r} is a {group.kind} group, not a {kind} group", span)
        return group

    def network_group(self, name: str, span: Span, stack: tuple[str, ...] = ()) -> AddressSet:
        if name in stack:
            raise InputError(f"object-groups refer to each other in a cycle: {' -> '.join(stack + (name,))}", span)
        if len(stack) > MAX_GROUP_DEPTH:
            raise InputError(f"object-groups nested deeper than {MAX_GROUP_DEPTH}", span)
        if name in self._network_cache:
            return self._network_cache[name]
        group = self.group(name, "network", span)
        result = AddressSet([])
        for words, where in group.entries:
            if words[0] == "description":
                continue
            if words[0] == "group-object" and len(words) == 2:
                part = self.network_group(words[1], where, stack + (name,))
            elif words[0] == "host" and len(words) == 2:
                part = AddressSet([IPv4Network(parse_ip(words[1], where))])
            elif words[0] == "range" and len(words) == 3:
                low, high = parse_ip(words[1], where), parse_ip(words[2], where)
                if int(high) < int(low):
                    raise InputError(f"range {low} {high} ends before it starts", where)
                part = AddressSet(list(summarize_address_range(low, high)))
            elif words[0] == "any" and len(words) == 1:
                part = AddressSet(None)
            elif len(words) == 2 and words[0][0].isdigit():
                net = parse_ip(words[0], where)
                length = mask_length(parse_ip(words[1], where), where)
                part = AddressSet([IPv4Network((int(net), length), strict=False)])
            elif len(words) == 1 and "/" in words[0]:
                try:
                    part = AddressSet([IPv4Network(words[0], strict=False)])
                except ValueError:
                    raise InputError(f"{words[0]!r} is not a prefix", where) from None
            else:
                raise InputError(f"cannot read network object-group entry {' '.join(words)!r}", where)
            if part.prefixes is None:
                result = AddressSet(None, result.widened or part.widened, result.narrowed or part.narrowed)
            elif result.prefixes is not None:
                result.prefixes.extend(part.prefixes)
                result.widened |= part.widened
                result.narrowed |= part.narrowed
        self._network_cache[name] = result
        return result

    def service_group(self, name: str, span: Span, stack: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Service terms of a group as {proto, dport?, sport?} dicts (no proto key: any)."""
        if name in stack:
            raise InputError(f"object-groups refer to each other in a cycle: {' -> '.join(stack + (name,))}", span)
        if len(stack) > MAX_GROUP_DEPTH:
            raise InputError(f"object-groups nested deeper than {MAX_GROUP_DEPTH}", span)
        group = self.group(name, "service", span)
        terms: list[dict[str, Any]] = []
        for words, where in group.entries:
            if words[0] == "description":
                continue
            if words[0] == "group-object" and len(words) == 2:
                terms.extend(self.service_group(words[1], where, stack + (name,)))
                continue
            protos = ["tcp", "udp"] if words[0] == "tcp-udp" else [words[0]]
            rest = words[1:]
            sport: list[str] | None = None
            if rest[:1] == ["source"]:
                sport, rest = port_condition(rest[1:], where)
            dport: list[str] | None = None
            if rest:
                if protos[0] in ("tcp", "udp", "sctp") or words[0] == "tcp-udp":
                    dport, rest = port_condition(rest, where)
                if rest:
                    raise Unsupported(f"service entry {' '.join(words)!r}")
            for proto in protos:
                term: dict[str, Any] = {"proto": protocol_value(proto, where)}
                if sport is not None:
                    term["sport"] = sport
                if dport is not None:
                    term["dport"] = dport
                terms.append(term)
        return terms


def protocol_value(word: str, span: Span) -> int | None:
    if word in PROTOCOLS:
        return PROTOCOLS[word]
    if word.isdigit() and int(word) <= 255:
        return int(word) if int(word) != 0 else None
    raise InputError(f"unknown protocol {word!r}", span)


def port_number(word: str, span: Span) -> int:
    if word.isdigit() and int(word) <= 65535:
        return int(word)
    if word in PORTS:
        return PORTS[word]
    raise InputError(f"unknown port {word!r}", span)


PORT_OPS = {"eq", "neq", "lt", "gt", "range"}


def port_condition(words: list[str], span: Span) -> tuple[list[str], list[str]]:
    """Read ``eq 80 443`` / ``range 1 2`` / ``lt 1024`` ...; return port ranges and the rest."""
    op = words[0]
    if op == "range":
        if len(words) < 3:
            raise InputError("'range' needs two ports", span)
        low, high = port_number(words[1], span), port_number(words[2], span)
        if high < low:
            raise InputError(f"port range {low}-{high} ends before it starts", span)
        return [f"{low}-{high}"], words[3:]
    if len(words) < 2:
        raise InputError(f"'{op}' needs a port", span)
    if op == "eq":
        ports = [str(port_number(words[1], span))]
        rest = words[2:]
        while rest and (rest[0].isdigit() or rest[0] in PORTS) and not (ports and rest[0] in ICMP_WORDS | {"log"}):
            ports.append(str(port_number(rest[0], span)))
            rest = rest[1:]
        return ports, rest
    port = port_number(words[1], span)
    if op == "neq":
        ranges = ([f"0-{port - 1}"] if port > 0 else []) + ([f"{port + 1}-65535"] if port < 65535 else [])
        return ranges, words[2:]
    if op == "lt":
        if port == 0:
            raise InputError("'lt 0' matches no port", span)
        return [f"0-{port - 1}"], words[2:]
    if op == "gt":
        if port == 65535:
            raise InputError("'gt 65535' matches no port", span)
        return [f"{port + 1}-65535"], words[2:]
    raise InputError(f"unknown port operator {op!r}", span)


def address_condition(words: list[str], ctx: AclContext, span: Span, standard: bool = False
                      ) -> tuple[AddressSet, list[str]]:
    """Read ``any`` / ``host A`` / ``A WILDCARD`` / ``object-group N`` (standard ACLs: also bare ``A``)."""
    if not words:
        raise InputError("an address is missing", span)
    head = words[0]
    if head == "any":
        return AddressSet(None), words[1:]
    if head == "host":
        if len(words) < 2:
            raise InputError("'host' needs an address", span)
        return AddressSet([IPv4Network(parse_ip(words[1], span))]), words[2:]
    if head in ("object-group", "addrgroup"):
        if len(words) < 2:
            raise InputError("'object-group' needs a name", span)
        found = ctx.network_group(words[1], span)
        return AddressSet(None if found.prefixes is None else list(found.prefixes), found.widened,
                          found.narrowed), words[2:]
    if "/" in head:
        try:
            return AddressSet([IPv4Network(head, strict=False)]), words[1:]
        except ValueError:
            raise InputError(f"{head!r} is not a prefix", span) from None
    base = parse_ip(head, span)
    if len(words) >= 2 and words[1][:1].isdigit() and words[1].count(".") == 3:
        wildcard = parse_ip(words[1], span)
        wc = int(wildcard)
        if wc & (wc + 1) == 0:  # contiguous: a prefix
            return AddressSet([IPv4Network((int(base) & ~wc & 0xFFFFFFFF, 32 - wc.bit_length()))]), words[2:]
        value = IPv4Address(int(base) & ~wc & 0xFFFFFFFF)
        return AddressSet([], wildcards=[f"{value} {wildcard}"]), words[2:]
    if standard:
        return AddressSet([IPv4Network(base)]), words[1:]
    raise InputError(f"address {head} needs a wildcard mask (or write 'host {head}')", span)


def _address_value(cond: AddressSet) -> str | list[str]:
    texts = sorted({str(p) for p in cond.prefixes or []}, key=lambda t: (IPv4Network(t).network_address, t))
    texts += sorted(set(cond.wildcards))
    return texts[0] if len(texts) == 1 else texts


def parse_entry(words: list[str], standard: bool, ctx: AclContext, span: Span, text: str,
                notes: Notes) -> dict[str, Any] | None:
    """One ``permit|deny ...`` entry as a topology rule, or None when it matches nothing we model."""
    action = words[0]
    if action not in ("permit", "deny"):
        raise InputError(f"an ACL entry starts with permit or deny, not {action!r}", span)
    rest = words[1:]
    rule: dict[str, Any] = {"action": action}
    icmp: str | None = None  # an ICMP type (and code) as a service term
    widened: list[str] = []
    narrowed: list[str] = []
    services: list[dict[str, Any]] | None = None
    proto: int | None = None
    if standard:
        src, rest = address_condition(rest, ctx, span, standard=True)
        dst = AddressSet(None)
    else:
        if not rest:
            raise InputError("the protocol is missing", span)
        if rest[0] == "object-group":
            if len(rest) < 2:
                raise InputError("'object-group' needs a name", span)
            try:
                services = ctx.service_group(rest[1], span)
            except Unsupported as exc:
                services = None
                (widened if action == "permit" else narrowed).append(str(exc))
                if action == "deny":
                    notes.over(span, f"deny line left out: {exc} is not modelled", text)
                    return None
            rest = rest[2:]
        else:
            proto = protocol_value(rest[0], span)
            rest = rest[1:]
        src, rest = address_condition(rest, ctx, span)
        if rest and rest[0] in PORT_OPS:
            if proto not in (6, 17, 132):
                raise InputError("source ports need tcp, udp or sctp", span)
            ports, rest = port_condition(rest, span)
            rule["sport"] = ports if len(ports) > 1 else ports[0]
        dst, rest = address_condition(rest, ctx, span)
        if rest and rest[0] in PORT_OPS:
            if proto not in (6, 17, 132):
                raise InputError("destination ports need tcp, udp or sctp", span)
            ports, rest = port_condition(rest, span)
            rule["dport"] = ports if len(ports) > 1 else ports[0]
    for cond in (src, dst):
        if cond.narrowed:
            narrowed.append("an address group entry")
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in NEUTRAL_OPTIONS:
            i += 1
            continue
        if word == "established" and proto == 6:
            rule["established"] = True
            i += 1
            continue
        if proto == 1 and (word in ICMP_TYPES or word.isdigit()) and icmp is None:
            if word.isdigit():
                code = rest[i + 1] if i + 1 < len(rest) and rest[i + 1].isdigit() else None
                if int(word) > 255 or code is not None and int(code) > 255:
                    raise InputError("ICMP type and code are 0-255", span)
                icmp = f"icmp/{word}" + (f"/{code}" if code is not None else "")
                i += 2 if code is not None else 1
            else:
                icmp = "icmp/" + ICMP_TYPES[word]
                i += 1
            continue
        if proto == 1 and (word in ICMP_WORDS or word.isdigit()):
            widened.append(f"ICMP type {word}") if action == "permit" else narrowed.append(f"ICMP type {word}")
            i += 1
            while i < len(rest) and rest[i].isdigit():
                i += 1
            continue
        if word in ("precedence", "tos", "dscp", "time-range", "ttl", "option", "match-all", "match-any"):
            unmatched = " ".join(rest[i:i + 2])
            widened.append(unmatched) if action == "permit" else narrowed.append(unmatched)
            i += 2
            continue
        if word in ("fragments", "ack", "syn", "fin", "psh", "rst", "urg") or word[:1] in "+-":
            widened.append(word) if action == "permit" else narrowed.append(word)
            i += 1
            continue
        raise InputError(f"cannot read {' '.join(rest[i:])!r} in this ACL entry", span)
    if narrowed:
        notes.over(span, f"deny line left out (it then matches nothing): {', '.join(narrowed)} not modelled", text)
        return None
    if widened:
        notes.over(span, f"permit widened: {', '.join(widened)} not modelled, taken as matching", text)
    for key, cond in (("src", src), ("dst", dst)):
        if cond.prefixes is not None:
            if not cond.prefixes and not cond.wildcards:
                return None
            rule[key] = _address_value(cond)
    if services is not None:
        terms = _service_terms(services)
        if terms is None:
            if action == "deny":
                notes.over(span, "deny line left out: source ports of an object-group are not modelled", text)
                return None
            notes.over(span, "source ports of an object-group are not modelled; taken as any", text)
        elif not terms:
            return None  # an empty service group matches nothing
        else:
            rule["service"] = terms if len(terms) > 1 else terms[0]
    elif icmp is not None:
        rule["service"] = icmp
    elif proto is not None:
        rule["proto"] = _proto_name(proto)
    return rule


def _proto_name(proto: int) -> str | int:
    names = {6: "tcp", 17: "udp", 1: "icmp", 47: "gre", 50: "esp", 132: "sctp"}
    return names.get(proto, proto)


def _service_terms(services: list[dict[str, Any]]) -> list[str] | None:
    """Service terms like tcp/80; None when a term has source ports (service terms carry none)."""
    terms = []
    for term in services:
        if "sport" in term:
            return None
        proto = term["proto"]
        if proto is None:
            return ["any"]
        name = str(_proto_name(proto))
        for port in term.get("dport", [None]):
            terms.append(name if port is None else f"{name}/{port}")
    return terms

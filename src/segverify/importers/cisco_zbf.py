"""Cisco IOS zone-based firewall (``zone security``, ``zone-pair security``, ``class-map`` and
``policy-map type inspect``) as the model's node policy.

IOS rules, written as policy lines in this order: traffic between two zones passes only what the
zone pair's policy map lets through (class by class, first match; ``class-default`` last, drop
unless it says ``pass``); a pair without a zone-pair, and traffic between a zone member and an
interface in no zone, is dropped; within one zone, and between interfaces in no zone, it passes.
A class's ``match access-group`` is the ACL's permitted set; where that cannot be written as lines
(an ACL with deny lines), a passing class is widened and a dropping class left out, with a note.
Zone pairs with ``self`` (traffic to or from the router) only ever drop and are left out, noted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, Span
from .device import AclData, Device, PolicyData
from .notes import Notes

# Application protocols of `match protocol` as the ports IOS's port map gives them.
APP_PORTS = {"http": ["tcp/80"], "https": ["tcp/443"], "ftp": ["tcp/21"], "ssh": ["tcp/22"], "telnet": ["tcp/23"],
             "smtp": ["tcp/25"], "dns": ["udp/53", "tcp/53"], "ntp": ["udp/123"], "snmp": ["udp/161"],
             "pop3": ["tcp/110"], "imap": ["tcp/143"], "ldap": ["tcp/389"], "tftp": ["udp/69"],
             "sqlnet": ["tcp/1521"], "h323": ["tcp/1720"], "sip": ["udp/5060", "tcp/5060"], "rdp": ["tcp/3389"]}


@dataclass
class ClassMap:
    name: str
    span: Span
    match_all: bool
    matches: list[tuple[list[str], Span]] = field(default_factory=list)


@dataclass
class PolicyMap:
    name: str
    span: Span
    classes: list[tuple[str, str, Span]] = field(default_factory=list)  # (class, action, span)


@dataclass
class ZonePair:
    name: str
    source: str
    destination: str
    span: Span
    policy: tuple[str, Span] | None = None


@dataclass
class Zbf:
    zones: dict[str, Span] = field(default_factory=dict)
    pairs: list[ZonePair] = field(default_factory=list)
    classes: dict[str, ClassMap] = field(default_factory=dict)
    policies: dict[str, PolicyMap] = field(default_factory=dict)
    members: dict[str, tuple[str, Span]] = field(default_factory=dict)  # interface -> (zone, span)

    def used(self) -> bool:
        return bool(self.zones or self.members)


def read_block(zbf: Zbf, words: list[str], span: Span, children: list[tuple[list[str], Span]]) -> None:
    """One top-level ZBF block."""
    if words[:2] == ["zone", "security"] and len(words) == 3:
        zbf.zones[words[2]] = span
    elif words[:2] == ["zone-pair", "security"] and len(words) >= 7 and words[3] == "source" \
            and words[5] == "destination":
        pair = ZonePair(words[2], words[4], words[6], span)
        for child, where in children:
            if child[:3] == ["service-policy", "type", "inspect"] and len(child) == 4:
                pair.policy = (child[3], where)
        zbf.pairs.append(pair)
    elif words[:3] == ["class-map", "type", "inspect"] and len(words) >= 4:
        kind = words[3] if words[3] in ("match-any", "match-all") else "match-all"
        name = words[-1]
        cmap = ClassMap(name, span, kind == "match-all")
        cmap.matches = [(c, w) for c, w in children if c[:1] == ["match"]]
        zbf.classes[name] = cmap
    elif words[:3] == ["policy-map", "type", "inspect"] and len(words) == 4:
        pmap = PolicyMap(words[3], span)
        current: tuple[str, Span] | None = None
        for child, where in children:
            if child[:1] == ["class"]:
                current = ("class-default" if child[-1] == "class-default" else child[-1], where)
            elif child and child[0] in ("inspect", "pass", "drop") and current is not None:
                pmap.classes.append((current[0], child[0], where))
                current = None
        zbf.policies[pmap.name] = pmap
    else:
        raise InputError(f"cannot read {' '.join(words)!r} (zone-based firewall)", span)


def _class_terms(zbf: Zbf, name: str, acls: dict[str, AclData], notes: Notes, span: Span,
                 depth: int = 0) -> tuple[list[dict[str, Any]], bool]:
    """The class as alternatives (rule dicts without action) and whether they are exact."""
    cmap = zbf.classes.get(name)
    if cmap is None:
        raise InputError(f"policy map uses class-map {name!r}, which is not defined", span)
    if depth > 16:
        raise InputError("class-maps nested deeper than 16", cmap.span)
    parts: list[tuple[list[dict[str, Any]], bool]] = []
    for words, where in cmap.matches:
        if words[1:3] == ["access-group", "name"] and len(words) == 4 or words[1:2] == ["access-group"] and \
                len(words) == 3:
            acl = acls.get(words[-1])
            if acl is None:
                raise InputError(f"class-map matches access-list {words[-1]!r}, which is not defined", where)
            exact = all(r["action"] == "permit" for r in acl.rules)
            parts.append(([{k: v for k, v in r.items() if k not in ("action", "description")}
                           for r in acl.rules if r["action"] == "permit"], exact))
        elif words[1:2] == ["protocol"] and len(words) == 3:
            proto = words[2]
            if proto in ("tcp", "udp", "icmp"):
                parts.append(([{"proto": proto}], True))
            elif proto in APP_PORTS:
                parts.append(([{"service": APP_PORTS[proto]}], True))
            else:
                parts.append(([{}], False))
                notes.over(where, f"application protocol {proto} is not modelled: taken as any traffic")
        elif words[1:2] == ["class-map"] and len(words) == 3:
            parts.append(_class_terms(zbf, words[2], acls, notes, where, depth + 1))
        else:
            parts.append(([{}], False))
            notes.over(where, f"class-map condition {' '.join(words[1:])!r} is not modelled: taken as any traffic")
    if not parts:
        return [{}], True  # a class with no match matches everything
    if not cmap.match_all:
        return [alt for alts, _ in parts for alt in alts], all(e for _, e in parts)
    if len(parts) == 1:
        return parts[0]
    # match-all of several conditions: exact only when at most one restricts addresses/ports
    restricting = [p for p in parts if p[0] != [{}]]
    if len(restricting) <= 1:
        return (restricting[0][0] if restricting else parts[0][0]), all(e for _, e in parts)
    notes.over(cmap.span, f"match-all class {name} with several conditions: taken as its first one")
    return restricting[0][0], False


def build_policy(device: Device, zbf: Zbf, notes: Notes) -> None:
    if not zbf.used():
        return
    interfaces = sorted(n for n in device.interfaces if not device.interfaces[n].loopback)
    for iface, (zone, where) in zbf.members.items():
        if zone not in zbf.zones:
            raise InputError(f"interface {iface} is in zone {zone!r}, which is not defined", where)
    members: dict[str, list[str]] = {z: [] for z in zbf.zones}
    for iface, (zone, _where) in sorted(zbf.members.items()):
        if iface in device.interfaces:
            members[zone].append(iface)
    outside = [i for i in interfaces if i not in zbf.members]
    first = min(zbf.zones.values())
    policy = PolicyData(first, "permit", stateful=True)

    def add(line: dict[str, Any], span: Span) -> None:
        policy.rules.append(line)
        policy.rule_spans.append(span)

    paired: set[tuple[str, str]] = set()
    for pair in zbf.pairs:
        if "self" in (pair.source, pair.destination):
            notes.over(pair.span, "zone pair with self (traffic to or from the router) is left out: it only "
                       "ever drops")
            continue
        for zone in (pair.source, pair.destination):
            if zone not in zbf.zones:
                raise InputError(f"zone pair names zone {zone!r}, which is not defined", pair.span)
        src, dst = members[pair.source], members[pair.destination]
        paired.add((pair.source, pair.destination))
        if not src or not dst:
            continue
        if pair.policy is None:
            add({"action": "deny", "from": src, "to": dst}, pair.span)
            continue
        pmap = zbf.policies.get(pair.policy[0])
        if pmap is None:
            raise InputError(f"zone pair uses policy-map {pair.policy[0]!r}, which is not defined", pair.policy[1])
        default_action = "deny"
        default_span = pmap.span
        for cname, action, where in pmap.classes:
            verdict = "deny" if action == "drop" else "permit"
            if cname == "class-default":
                default_action, default_span = verdict, where
                continue
            alternatives, exact = _class_terms(zbf, cname, device.acls, notes, where)
            if not exact and verdict == "deny":
                notes.over(where, f"class {cname} cannot be written exactly: its drop is left out")
                continue
            if not exact:
                notes.over(where, f"class {cname} cannot be written exactly (its ACL has deny lines): widened")
            for alt in alternatives:
                add({"action": verdict, **alt, "from": src, "to": dst}, where)
        add({"action": default_action, "from": src, "to": dst}, default_span)
    for a in zbf.zones:
        for b in zbf.zones:
            if a != b and (a, b) not in paired and members[a] and members[b]:
                add({"action": "deny", "from": members[a], "to": members[b]}, zbf.zones[a])
    zoned = [i for z in members.values() for i in z]
    if zoned and outside:
        add({"action": "deny", "from": zoned, "to": outside}, first)
        add({"action": "deny", "from": outside, "to": zoned}, first)
    device.policies = policy

"""Linux hosts: Batfish's ``hosts/NAME.json`` (with its ``iptablesFile``), or state dumped on the host
itself into ``hosts/NAME/``: ``addr.json`` (``ip -j addr``), ``route.json`` (``ip -j route``),
``iptables.txt`` (``iptables-save``) or ``nft.json`` (``nft -j list ruleset``), ``ip_forward``
(the content of ``/proc/sys/net/ipv4/ip_forward``)."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from ..errors import InputError, Span
from .device import Device, L3Interface, NatData, RouteData
from .files import json_positions, read_text
from .marks import follow_marks, follow_twice
from .netfilter import RuleSet, rule_dict, parse_iptables_save, policy_lines
from .notes import Notes


Positions = dict[tuple[Any, ...], tuple[int, int]]


def span_at(spans: Positions, path: tuple[Any, ...], file: str) -> Span:
    """Where the value at ``path`` (or its nearest ancestor) starts: line and column, since the
    dumps of ``ip -j`` and ``nft -j`` are one line each."""
    while path not in spans and path:
        path = path[:-1]
    return Span(file, *spans.get(path, (1, 1)))


def load_json(path: Path, display: str) -> tuple[Any, Positions]:
    text = read_text(path, display)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", Span(display, exc.lineno, exc.colno)) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", Span(display, 1, 1)) from None
    return data, json_positions(text)


def batfish_host(path: Path, display: str, root: Path, notes: Notes) -> Device:
    data, spans = load_json(path, display)
    if not isinstance(data, dict) or not isinstance(data.get("hostname"), str):
        raise InputError("a Batfish host file is an object with 'hostname' and 'hostInterfaces'", Span(display, 1, 1))
    name = data["hostname"]
    device = Device(name, "linux", display, span_at(spans, ("hostname",), display), kind="host", forwarding=False)
    interfaces = data.get("hostInterfaces", {})
    if not isinstance(interfaces, dict):
        raise InputError("'hostInterfaces' must be an object", span_at(spans, ("hostInterfaces",), display))
    for key, spec in interfaces.items():
        where = span_at(spans, ("hostInterfaces", key), display)
        if not isinstance(spec, dict):
            raise InputError(f"interface {key!r} must be an object", where)
        iname = str(spec.get("name", key))
        iface = L3Interface(iname, where)
        if "prefix" in spec:
            aspan = span_at(spans, ("hostInterfaces", key, "prefix"), display)
            try:
                iface.address = IPv4Interface(str(spec["prefix"]))
            except ValueError:
                raise InputError(f"{spec['prefix']!r} is not an IPv4 address with prefix length", aspan) from None
            iface.address_span = aspan
        if "gateway" in spec:
            gspan = span_at(spans, ("hostInterfaces", key, "gateway"), display)
            try:
                iface.gateway = IPv4Address(str(spec["gateway"]))
            except ValueError:
                raise InputError(f"{spec['gateway']!r} is not an IPv4 address", gspan) from None
            iface.gateway_span = gspan
        for extra in spec:
            if extra not in ("name", "prefix", "gateway", "shutdown"):
                notes.unverified(where, f"host interface key {extra!r} is not modelled")
        device.interfaces[iname] = iface
    for extra in data:
        if extra not in ("hostname", "hostInterfaces", "iptablesFile", "hostType"):
            notes.unverified(span_at(spans, (extra,), display), f"host key {extra!r} is not modelled")
    if "iptablesFile" in data:
        rel = str(data["iptablesFile"])
        target = (root / rel)
        if not target.is_file():
            raise InputError(f"iptables file {rel!r} does not exist in the snapshot",
                             span_at(spans, ("iptablesFile",), display))
        ipt_display = str(root / rel)
        ruleset = parse_iptables_save(read_text(target, ipt_display), ipt_display, notes)
        apply_ruleset(device, ruleset, notes)
    return device


def dumped_host(folder: Path, display: str, notes: Notes) -> Device:
    """A host directory of ``ip -j`` / ``iptables-save`` / ``nft -j`` dumps."""
    name = folder.name
    addr_file = folder / "addr.json"
    if not addr_file.is_file():
        raise InputError(f"host directory {display} has no addr.json (the output of 'ip -j addr')", Span(display, 1, 1))
    addr_display = f"{display}/addr.json"
    data, spans = load_json(addr_file, addr_display)
    device = Device(name, "linux", addr_display, Span(addr_display, 1, 1), kind="host", forwarding=False)
    if not isinstance(data, list):
        raise InputError("'ip -j addr' output is a list of interfaces", Span(addr_display, 1, 1))
    for i, link in enumerate(data):
        where = span_at(spans, (i,), addr_display)
        if not isinstance(link, dict) or "ifname" not in link:
            raise InputError("each entry of 'ip -j addr' needs 'ifname'", where)
        ifname = str(link["ifname"])
        if ifname == "lo":
            continue
        iface = L3Interface(ifname, where)
        down = "UP" not in link.get("flags", ["UP"]) if isinstance(link.get("flags"), list) else False
        for j, info in enumerate(link.get("addr_info", []) or []):
            aspan = span_at(spans, (i, "addr_info", j), addr_display)
            if not isinstance(info, dict):
                raise InputError("addr_info entries are objects", aspan)
            if info.get("family") != "inet":
                notes.unverified(aspan, f"{info.get('family')} address of {ifname} is not modelled (IPv4 only)")
                continue
            try:
                address = IPv4Interface(f"{info['local']}/{info['prefixlen']}")
            except (KeyError, ValueError):
                raise InputError("an inet address needs 'local' and 'prefixlen'", aspan) from None
            if iface.address is None:
                iface.address, iface.address_span = address, aspan
            else:
                iface.secondary.append((address, aspan))
        if down:
            device.omitted[ifname] = where
            continue
        device.interfaces[ifname] = iface
    forward_file = folder / "ip_forward"
    if forward_file.is_file():
        fdisplay = f"{display}/ip_forward"
        value = read_text(forward_file, fdisplay).strip()
        if value not in ("0", "1"):
            raise InputError(f"ip_forward holds {value!r}; expected 0 or 1", Span(fdisplay, 1, 1))
        device.forwarding = value == "1"
        device.forwarding_span = Span(fdisplay, 1, 1)
        if device.forwarding:
            device.kind = "router"
    route_file = folder / "route.json"
    if route_file.is_file():
        ip_routes(device, route_file, f"{display}/route.json", notes)
    for fname, parser in (("iptables.txt", "iptables"), ("nft.json", "nft")):
        rule_file = folder / fname
        if rule_file.is_file():
            rdisplay = f"{display}/{fname}"
            if parser == "iptables":
                ruleset = parse_iptables_save(read_text(rule_file, rdisplay), rdisplay, notes)
            else:
                from .nftables import parse_nft_json
                ruleset = parse_nft_json(rule_file, rdisplay, notes)
            apply_ruleset(device, ruleset, notes)
    return device


def ip_routes(device: Device, path: Path, display: str, notes: Notes) -> None:
    data, spans = load_json(path, display)
    if not isinstance(data, list):
        raise InputError("'ip -j route' output is a list of routes", Span(display, 1, 1))
    for i, route in enumerate(data):
        where = span_at(spans, (i,), display)
        if not isinstance(route, dict) or "dst" not in route:
            raise InputError("each route needs 'dst'", where)
        dst = str(route["dst"])
        kind = route.get("type", "unicast")
        if route.get("protocol") == "kernel" and route.get("scope") == "link" and "gateway" not in route:
            continue  # the connected route of an address: derived from the address itself
        prefix = "0.0.0.0/0" if dst == "default" else dst if "/" in dst else f"{dst}/32"
        try:
            IPv4Network(prefix)
        except ValueError:
            raise InputError(f"route destination {dst!r} is not an IPv4 prefix", where) from None
        data_out: dict[str, Any] = {"to": prefix}
        metric = route.get("metric")
        if isinstance(metric, int) and metric > 0:
            data_out["distance"] = max(1, min(255, metric))
        if isinstance(route.get("nexthops"), list):  # a multipath route: one route per next hop
            for hop in route["nexthops"]:
                if not isinstance(hop, dict) or "gateway" not in hop:
                    notes.unverified(where, "a multipath next hop without a gateway is not modelled")
                    continue
                device.routes.append(RouteData({**data_out, "via": str(hop["gateway"])}, where))
            continue
        if kind in ("blackhole", "unreachable", "prohibit"):
            data_out["drop"] = True
        elif "gateway" in route:
            data_out["via"] = str(route["gateway"])
        elif "dev" in route:
            device.routes.append(RouteData(data_out, where, None, str(route["dev"])))
            continue
        else:
            notes.unverified(where, f"route of type {kind} is not modelled")
            continue
        device.routes.append(RouteData(data_out, where))


def apply_ruleset(device: Device, ruleset: RuleSet, notes: Notes) -> None:
    """Filtering as the node's policy (exact for interface pairs), NAT as NAT rules."""
    marks = follow_marks(ruleset)
    twice = follow_twice(ruleset)
    device.policies = policy_lines(ruleset, sorted(device.interfaces), notes, marks)
    read_as_twice: set[int] = set()  # the DNAT rules made twice rules (their SNAT is in them)
    later = []
    for table in ruleset.tables:
        for chain in table.chains.values():
            for rule in chain.rules:
                if chain.kind == "nat" and rule.nat is None and rule.verdict in ("accept", "return", "drop"):
                    # e.g. "no NAT toward the VPN" before a masquerade: the model's NAT rules have no
                    # exemptions, so it translates what this rule exempts; said, never dropped
                    notes.unverified(rule.span, f"{rule.verdict} in a NAT chain (the packets it matches skip "
                                     "the NAT rules after it) is not modelled: the model translates them as "
                                     "those rules say", rule.text)
                    continue
                if rule.nat is None or marks.consumes(rule):  # else a policy line's snat
                    continue
                if id(rule) in twice.snat_rules:
                    later.append((chain.hook, rule))  # after its DNAT rule is read (or not)
                    continue
                if nat_rule(device, chain.hook, rule, notes, marks.why_not(rule), twice.source_of(rule)) \
                        and twice.source_of(rule) is not None:
                    read_as_twice.add(id(rule))
    for hook, rule in later:
        if twice.snat_rules[id(rule)] not in read_as_twice:
            nat_rule(device, hook, rule, notes, marks.why_not(rule))


def _nat_conditions(m: Any) -> dict[str, Any]:
    """The rule's address, protocol and port conditions as the model's NAT keys (src, dst, proto,
    sport, dport, service): NAT rules take the same match as policy lines."""
    from dataclasses import replace

    conditions = rule_dict(replace(m, iif=None, iif_not=frozenset(), oif=None, oif_not=frozenset()), "accept")
    conditions.pop("action")
    return conditions


def nat_rule(device: Device, hook: str | None, rule: Any, notes: Notes, unfollowed_mark: str | None = None,
             twice_source: str | None = None) -> bool:
    """One NAT rule as the model's NAT; ``unfollowed_mark`` says why a mark it tests was not followed;
    ``twice_source`` makes a DNAT a twice rule with that new source. True when it became NAT rules."""
    kind = rule.nat["kind"]
    m = rule.match
    if unfollowed_mark is not None:
        notes.unverified(rule.span, f"NAT conditioned on a packet mark is not modelled: {unfollowed_mark}", rule.text)
        return False
    if m.unmodelled or m.established is not None or m.iif_not or m.oif_not or not m.new \
            or (m.iif if kind != "dnat" else m.oif) is not None:  # the model's NAT names one side
        notes.unverified(rule.span, "NAT conditioned on matches the model's NAT rules cannot express is not modelled",
                         rule.text)
        return False
    conditions = _nat_conditions(m)
    if kind in ("masquerade", "snat") and hook == "postrouting":
        outs = sorted(m.oif) if m.oif is not None else sorted(device.interfaces)
        for out in outs:
            iface = device.interfaces.get(out)
            if iface is None or iface.address is None:
                continue
            target = rule.nat.get("to", "")
            to, _, ports = target.partition(":") if kind == "snat" else (str(iface.address.ip), "", "")
            if not to:
                raise InputError("SNAT needs --to-source", rule.span)
            data: dict[str, Any] = {"type": "source", "out": out, "to": to}  # an address, a-b or a prefix
            # Without a port range the kernel keeps the source port (it picks another only on a clash).
            data["ports"] = str(ports or rule.nat.get("ports") or "keep").replace(":", "-")
            data.update(conditions)
            device.nat.append(NatData(data, rule.span))
        return True
    if kind == "dnat" and hook == "prerouting" and m.dst is not None:
        to, _, port = rule.nat.get("to", "").partition(":")
        port = port or str(rule.nat.get("ports", ""))
        if "-" in to or "/" in to or "-" in port or not to:
            notes.unverified(rule.span, "DNAT to a range of addresses or ports is not modelled", rule.text)
            return False
        if port and m.proto not in (6, 17, 132):
            notes.unverified(rule.span, "DNAT to a port without a TCP, UDP or SCTP match is not modelled", rule.text)
            return False
        ins = sorted(m.iif) if m.iif is not None else sorted(device.interfaces)
        for inside in ins:
            if inside not in device.interfaces:
                continue
            if twice_source is not None:  # the pair: this DNAT and the SNAT on the mark it sets
                data = {"type": "twice", "in": inside, "to_dst": to, "to_src": twice_source, **conditions}
            else:
                data = {"type": "destination", "in": inside, "to": to, **conditions}
            if port:
                data["port"] = int(port)
            device.nat.append(NatData(data, rule.span))
        return True
    notes.unverified(rule.span, f"{kind} in {hook} with these matches is not modelled", rule.text)
    return False

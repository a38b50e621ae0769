"""Render one node's ACLs and NAT as an nftables ruleset with the model's semantics.

The mapping, hook by hook (table ``ip segverify``)::

    prerouting  nat     static NAT: iifname <out> ip daddr <outside> dnat to <inside>;
                        destination NAT: iifname <in> <match> dnat to <to>[:<port>];
                        twice NAT: the same, and ct mark set <the rule's mark> (file order)
    input       filter  acl_in of the ingress interface        (packets for the node itself)
    forward     filter  acl_in of the ingress interface        (forward_in,  priority 0)
    forward     filter  acl_out of the egress interface        (forward_out, priority 10)
    output      filter  acl_out of the egress interface        (packets the node sends)
    output      guard   drop what the node generates itself except marked probes (priority 100)
    forward     filter  the policy: iifname/oifname per line, then its default (forward_policy, 5)
    input       filter  the local policy's lines without 'to' (input_policy, 5)
    output      filter  the local policy's lines without 'from' (output_policy, 5)
    postrouting nat     twice NAT first (ct mark of the rule: snat to its source, and nothing
                        else), then policy-line source NAT (meta mark set by the accepting line),
                        then static NAT snat (src == inside), source NAT snat to a pool[:ports],
                        first match in order

A twice rule marks the connection, not the packet: the policy's ``meta mark set`` for its own
source NAT must not erase what the twice rule decided on entry.

An ACL is a regular chain ending with its default. ``accept`` inside a jumped-to chain ends only
that base chain, so acl_in and acl_out sit in two base chains of the forward hook and a packet
must pass both. Stateful ACLs accept ``ct state established,related`` first; stateless ones never
look at conntrack. Chains are named plainly: nft reserves short words such as ``fwd``.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, collapse_addresses
from typing import Iterable, Mapping, Sequence

from ..model import (PORTED_PROTOCOLS, Acl, Action, Match, NatRule, NatType, Node, PolicyLine, PortRange,
                     ServiceTerm, Wildcard)

ICMP = 1

PROBE_MARK = 0x5E6
TABLE = "segverify"
_PORTED = "{ " + ", ".join(str(p) for p in sorted(PORTED_PROTOCOLS)) + " }"


def _addr_set(nets: Sequence[IPv4Network]) -> str | None:
    """An nft address expression; None when it matches everything."""
    merged = list(collapse_addresses(nets))
    if any(n.prefixlen == 0 for n in merged):
        return None
    items = [str(n.network_address) if n.prefixlen == 32 else str(n) for n in merged]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _port_set(ranges: Sequence[PortRange]) -> str | None:
    spans = sorted((r.low, r.high) for r in ranges)
    merged: list[list[int]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    if merged == [[0, 65535]]:
        return None
    items = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in merged]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _zero_in(ranges: Sequence[PortRange] | None) -> bool:
    return ranges is None or any(r.low == 0 for r in ranges)


def _term_exprs(term: ServiceTerm, tcp_only: bool = False) -> list[str]:
    """nft expressions (one per alternative) for a service term.

    The model gives packets of a protocol without ports the ports 0, so a port condition on such
    a packet holds exactly when 0 is in the range; nft ``th`` would read other bytes instead.
    With ``tcp_only`` the alternatives are narrowed to TCP (for ``established`` rules).
    """
    sports = None if term.sports is None else _port_set(term.sports)
    dports = None if term.dports is None else _port_set(term.dports)
    port_part = "".join(f" th {f} {v}" for f, v in (("sport", sports), ("dport", dports)) if v is not None)
    protocol = term.protocol
    if tcp_only:
        if protocol not in (None, 6):
            return []
        protocol = 6
    if protocol is not None:
        if protocol in PORTED_PROTOCOLS:
            return [f"ip protocol {protocol}{port_part}"]
        if protocol == ICMP:  # the type rides in dports, the code in sports
            parts = "".join(f" icmp {f} {v}" for f, v in (("type", dports), ("code", sports)) if v is not None)
            return [f"ip protocol {ICMP}{parts}"]
        if _zero_in(term.sports) and _zero_in(term.dports):
            return [f"ip protocol {protocol}"]
        return []
    if not port_part:
        return [""]
    out = [f"ip protocol {_PORTED}{port_part}"]
    if _zero_in(term.sports) and _zero_in(term.dports):
        out.append(f"ip protocol != {_PORTED}")
    return out


def _wild_expr(field: str, w: Wildcard, op: str = "==") -> str:
    care = IPv4Address(~w.mask & 0xFFFFFFFF)
    return f"ip {field} & {care} {op} {IPv4Address(w.value)}"


def _address_alternatives(field: str, nets: Sequence[IPv4Network] | None, wild: Sequence[Wildcard],
                          excluded: Sequence[Wildcard]) -> list[str]:
    """Alternatives for one address clause: the prefixes as a set, each wildcard term on its own;
    every alternative carries the exclusions (a prefix as a set lookup, a wildcard as a masked compare)."""
    tail = []
    plain = [IPv4Network((w.value, 32 - w.mask.bit_length())) for w in excluded if (w.mask + 1) & w.mask == 0]
    if plain:
        tail.append(f"ip {field} != {_addr_set(plain) or '0.0.0.0/0'}")
    tail += [_wild_expr(field, w, "!=") for w in excluded if (w.mask + 1) & w.mask != 0]
    if nets is None:
        alts = [""]
    else:
        alts = []
        if nets:
            expr = _addr_set(nets)
            alts.append("" if expr is None else f"ip {field} {expr}")
        alts += [_wild_expr(field, w) for w in wild]
    return [" ".join(x for x in (a, *tail) if x) for a in alts]


def match_exprs(m: Match) -> list[str]:
    """The alternatives (each a conjunction) that together select exactly what ``m`` selects."""
    heads = [""]
    for field, nets, wild, excluded in (("saddr", m.src, m.src_wild, m.src_except),
                                        ("daddr", m.dst, m.dst_wild, m.dst_except)):
        alts = _address_alternatives(field, nets, wild, excluded)
        heads = [" ".join(x for x in (h, a) if x) for h in heads for a in alts]
    if not heads:
        return []
    est = bool(m.established)
    terms = m.services if m.services is not None else (ServiceTerm(),)
    tails = [e for t in terms for e in _term_exprs(t, tcp_only=est)]
    if est:
        # TCP with ACK and without SYN: a segment of an existing connection.
        tails = [f"{t} tcp flags & (syn | ack) == ack" for t in tails]
    return list(dict.fromkeys(" ".join(x for x in (h, t) if x) for h in heads for t in dict.fromkeys(tails)))


def _verdict(action: Action) -> str:
    return "accept" if action is Action.PERMIT else "drop"


def acl_chain_name(acl: Acl, index: int) -> str:
    return f"acl_{index}"


def render_acl(acl: Acl, chain: str) -> list[str]:
    lines = [f"  chain {chain} {{", f"    # {acl.node} acl {acl.name!r} (default {acl.default.value})"]
    if acl.stateful:
        lines.append("    ct state established,related accept")
    for rule in acl.rules:
        for expr in match_exprs(rule.match):
            cond = f"{expr} " if expr else ""
            lines.append(f"    {cond}{_verdict(rule.action)}  # line {rule.index}")
    lines.append(f"    {_verdict(acl.default)}")
    lines.append("  }")
    return lines


def _ifnames(key: str, names: frozenset[str] | None, ifname: Mapping[str, str]) -> str:
    if names is None:
        return ""
    kernel = sorted(f'"{ifname[n]}"' for n in names)
    return f"{key} {kernel[0]}" if len(kernel) == 1 else f"{key} {{ {', '.join(kernel)} }}"


def render_policy(lines: Sequence[PolicyLine], default: Action, stateful: bool, ifname: Mapping[str, str],
                  use_in: bool, use_out: bool, label: str,
                  held: Mapping[str, Sequence[IPv4Address]] | None = None) -> list[str]:
    """A policy as the body of one base chain: its lines in order (iifname/oifname for the
    interface pair, then the match), then its default as a last rule. With ``held`` (the addresses
    of each interface: ``local: rules`` in the input hook) a line's egress side is the destination
    being an address of those interfaces; a line whose egress holds none never applies there."""
    body = ["ct state established,related accept"] if stateful else []
    for line in lines:
        egress = _ifnames("oifname", line.egress, ifname) if use_out else ""
        if held is not None and line.egress is not None:
            addresses = sorted({ip for name in line.egress for ip in held.get(name, ())})
            if not addresses:
                continue
            egress = "ip daddr { " + ", ".join(str(ip) for ip in addresses) + " }"
        sides = " ".join(x for x in (_ifnames("iifname", line.ingress, ifname) if use_in else "", egress) if x)
        verdict = _verdict(line.rule.action)
        if line.snat is not None and held is None:
            verdict = f"meta mark set {policy_mark(line)} {verdict}"
        for expr in match_exprs(line.rule.match):
            cond = " ".join(x for x in (sides, expr) if x)
            body.append(f"{cond + ' ' if cond else ''}{verdict}  # {label} line {line.rule.index}")
    body.append(f"{_verdict(default)}  # {label} default")
    return body


POLICY_MARK = 0x7000  # + line number: what a policy line with its own source NAT accepted
TWICE_MARK = 0x100  # + the rule's place among the node's twice rules: a ct mark


def policy_mark(line: PolicyLine) -> str:
    return f"{POLICY_MARK + line.rule.index:#x}"


def _snat_rules(cond: str, rule: NatRule) -> list[str]:
    """Source NAT to a pool: port protocols take a port of the port pool unless ports are kept."""
    first, last = rule.pool
    pool = str(first) if first == last else f"{first}-{last}"
    out = []
    if rule.ports is not None:
        out.append(f"{cond} ip protocol {_PORTED} snat to {pool}:{rule.ports.low}-{rule.ports.high}")
    out.append(f"{cond} snat to {pool}")
    return out


def render(node: Node, ifname: Mapping[str, str], *, guard: bool = True,
           arp_ignore: Iterable[IPv4Network] = ()) -> str:
    """The ruleset (``nft -f`` input) for ``node``; ``ifname`` maps model to kernel names."""
    chains: list[str] = []
    acl_chain = {name: acl_chain_name(acl, i) for i, (name, acl) in enumerate(sorted(node.acls.items()))}
    used = {i.acl_in for i in node.interfaces} | {i.acl_out for i in node.interfaces}
    for name, acl in sorted(node.acls.items()):
        if name in used:
            chains += render_acl(acl, acl_chain[name])

    def base(name: str, hook: str, prio: str, kind: str, body: list[str]) -> None:
        if not body:
            return
        chains.append(f"  chain {name} {{")
        chains.append(f"    type {kind} hook {hook} priority {prio}; policy accept;")
        chains.extend("    " + b for b in body)
        chains.append("  }")

    ins = [f'iifname "{ifname[i.name]}" jump {acl_chain[i.acl_in]}' for i in node.interfaces if i.acl_in]
    outs = [f'oifname "{ifname[i.name]}" jump {acl_chain[i.acl_out]}' for i in node.interfaces if i.acl_out]
    dnat: list[str] = []
    snat: list[str] = []
    policy = node.policy
    for line in policy.lines if policy is not None else ():
        if line.snat is not None:  # the line marked what it accepted (forward_policy)
            snat += _snat_rules(f"meta mark {policy_mark(line)}", line.snat)
    twice_marks = 0
    for rule in node.nat:
        where = ifname[rule.interface]
        if rule.type is NatType.TWICE:  # the source translation follows the connection's mark
            twice_marks += 1
            mark = f"{TWICE_MARK + twice_marks:#x}"
            port = f":{rule.ports.low}" if rule.ports is not None else ""
            for expr in match_exprs(rule.match):
                dnat.append(f'iifname "{where}" {expr} ct mark set {mark} dnat to {rule.translated}{port}'
                            .replace("  ", " "))
            snat.insert(twice_marks - 1, f"ct mark {mark} snat to {rule.source_to}")
            continue
        if rule.type is NatType.STATIC:
            assert rule.inside is not None
            dnat.append(f'iifname "{where}" ip daddr {rule.translated} dnat to {rule.inside}')
            snat.append(f'oifname "{where}" ip saddr {rule.inside} snat to {rule.translated}')
            continue
        if rule.type is NatType.DESTINATION:
            port = f":{rule.ports.low}" if rule.ports is not None else ""
            for expr in match_exprs(rule.match):
                dnat.append(f'iifname "{where}" {expr} dnat to {rule.translated}{port}'.replace("  ", " "))
            continue
        for expr in match_exprs(rule.match):
            snat += _snat_rules(f'oifname "{where}" {expr}'.strip(), rule)
    base("prerouting_nat", "prerouting", "dstnat", "nat", dnat)
    base("input_filter", "input", "filter", "filter", ins)
    base("forward_in", "forward", "filter", "filter", ins)
    base("forward_out", "forward", "10", "filter", outs)
    base("output_filter", "output", "filter", "filter", outs)
    policy = node.policy
    if policy is not None:
        # Forwarded traffic: one policy decides by (ingress, egress) pair, beside the ACLs' chains.
        base("forward_policy", "forward", "5", "filter",
             render_policy(policy.lines, policy.default, policy.stateful, ifname, True, True, "policy"))
        if policy.local_by_rules:
            held = {iface.name: iface.ips for iface in node.interfaces}
            base("input_policy", "input", "5", "filter",
                 render_policy(policy.lines, policy.default, policy.stateful, ifname, True, False, "policy", held))
        elif policy.local_default is not None:
            inbound = [ln for ln in policy.local if ln.egress is None]
            outbound = [ln for ln in policy.local if ln.ingress is None]
            base("input_policy", "input", "5", "filter",
                 render_policy(inbound, policy.local_default, policy.stateful, ifname, True, False, "local"))
            base("output_policy", "output", "5", "filter",
                 render_policy(outbound, policy.local_default, policy.stateful, ifname, False, True, "local"))
    if guard:
        base("output_guard", "output", "100", "filter", [f"meta mark != {PROBE_MARK:#x} drop"])
    base("postrouting_nat", "postrouting", "srcnat", "nat", snat)
    text = [f"table ip {TABLE} {{", *chains, "}"]
    ignore = list(collapse_addresses(arp_ignore))
    if ignore:
        addrs = ", ".join(str(a.network_address) if a.prefixlen == 32 else str(a) for a in ignore)
        text += [f"table arp {TABLE} {{", "  chain arp_in {",
                 "    type filter hook input priority filter; policy accept;",
                 f"    arp operation request arp daddr ip {{ {addrs} }} drop", "  }", "}"]
    return "\n".join(text) + "\n"

"""nftables rule sets as ``nft -j list ruleset`` prints them, read into the netfilter shape.

Tables of family ``ip`` and ``inet`` are read (``ip6``, ``arp``, ``bridge``, ``netdev`` are not
verified); base chains keep their hook, type and priority, so several filter chains on one hook
are composed (a packet must pass each). Matches the model cannot express (masks, marks, ICMP
types, meta keys other than interface names and l4proto) widen an accept or leave a drop out, with
a note, as for iptables.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from pathlib import Path
from typing import Any

from ..errors import InputError, Span
from .linux_host import load_json, span_at
from .netfilter import ICMP_CODES, ICMP_TYPES, CT_MARK_TEST, MARK_TEST, PROTOCOL_NUMBERS, intersect, masked_prefixes, port_intersect, NfChain, NfMatch, NfRule, NfTable, RuleSet, complement, port_complement
from .notes import Notes

class _Unmodelled(Exception):
    pass




def _addresses(value: Any, sets: dict[str, list[Any]]) -> list[IPv4Network]:
    if isinstance(value, str) and value.startswith("@"):
        if value[1:] not in sets:
            raise _Unmodelled(f"set {value}")
        return [n for item in sets[value[1:]] for n in _addresses(item, sets)]
    if isinstance(value, str):
        try:
            return [IPv4Network(value, strict=False)]
        except ValueError:
            raise _Unmodelled(f"address {value!r}") from None
    if isinstance(value, dict) and "prefix" in value:
        return [IPv4Network(f"{value['prefix']['addr']}/{value['prefix']['len']}", strict=False)]
    if isinstance(value, dict) and "range" in value:
        low, high = (IPv4Address(str(v)) for v in value["range"])
        return list(summarize_address_range(low, high))
    if isinstance(value, dict) and "set" in value:
        return [n for item in value["set"] for n in _addresses(item, sets)]
    if isinstance(value, list):
        return [n for item in value for n in _addresses(item, sets)]
    raise _Unmodelled(f"address {value!r}")


def _ports(value: Any, sets: dict[str, list[Any]]) -> list[tuple[int, int]]:
    if isinstance(value, str) and value.startswith("@"):
        if value[1:] not in sets:
            raise _Unmodelled(f"set {value}")
        return [p for item in sets[value[1:]] for p in _ports(item, sets)]
    if isinstance(value, int) and 0 <= value <= 65535:
        return [(value, value)]
    if isinstance(value, dict) and "range" in value:
        low, high = value["range"]
        if isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 65535:
            return [(low, high)]
    if isinstance(value, dict) and "set" in value:
        return [p for item in value["set"] for p in _ports(item, sets)]
    if isinstance(value, list):
        return [p for item in value for p in _ports(item, sets)]
    raise _Unmodelled(f"port {value!r}")


def _names(value: Any, sets: dict[str, list[Any]]) -> frozenset[str]:
    if isinstance(value, str) and value.startswith("@"):
        return frozenset(str(v) for v in sets.get(value[1:], []))
    if isinstance(value, str):
        if value.endswith("*"):
            raise _Unmodelled(f"interface wildcard {value}")
        return frozenset([value])
    if isinstance(value, dict) and "set" in value:
        return frozenset(n for item in value["set"] for n in _names(item, sets))
    raise _Unmodelled(f"interface name {value!r}")


def _protocol(value: Any) -> int:
    if isinstance(value, int) and 0 <= value <= 255:
        return value
    number = PROTOCOL_NUMBERS.get(value) if isinstance(value, str) else None
    if number is not None:
        return number
    raise _Unmodelled(f"protocol {value!r}")


def _protocols(value: Any, sets: dict[str, list[Any]]) -> list[int]:
    """A protocol, an anonymous set ``{ tcp, udp }`` or a named set of them."""
    if isinstance(value, str) and value.startswith("@"):
        return sorted({_protocol(v) for v in sets.get(value[1:], [])})
    if isinstance(value, dict) and "set" in value and isinstance(value["set"], list):
        return sorted({_protocol(v) for v in value["set"]})
    return [_protocol(value)]


def _restrict(m: dict[str, Any], protocols: list[int]) -> None:
    """The rule matches only ``protocols`` (with what it matched before); none left: it never matches."""
    m["protos"] = protocols if "protos" not in m else [p for p in m["protos"] if p in protocols]
    if not m["protos"]:
        m["never"] = True


def _match(expr: dict[str, Any], m: dict[str, Any], sets: dict[str, list[Any]]) -> None:
    """Add one ``match`` expression to the conditions ``m``; raise _Unmodelled when it cannot."""
    op, left, right = expr.get("op", "=="), expr.get("left"), expr.get("right")
    negate = op == "!="
    if op not in ("==", "!=", "in"):
        raise _Unmodelled(f"operator {op}")
    if isinstance(left, dict) and "&" in left:
        _masked(left["&"], right, negate, m)
        return
    if isinstance(left, dict) and "payload" in left:
        proto, field = left["payload"].get("protocol"), left["payload"].get("field")
        if proto == "ip" and field in ("saddr", "daddr"):
            nets = _addresses(right, sets)
            key = "src" if field == "saddr" else "dst"  # several compares of one field: all must hold
            m[key] = intersect(m.get(key), complement(nets) if negate else nets)
            return
        if proto == "ip" and field == "protocol" and not negate:
            _restrict(m, _protocols(right, sets))
            return
        if proto in ("tcp", "udp", "sctp", "th") and field in ("sport", "dport"):
            if proto != "th":
                _restrict(m, [_protocol(proto)])
            elif not m.get("protos") or any(p not in (6, 17, 132) for p in m["protos"]):
                raise _Unmodelled("th ports without a ported protocol")
            ports = _ports(right, sets)
            m[field] = port_intersect(m.get(field), port_complement(ports) if negate else ports)
            return
        if proto == "icmp" and field in ("type", "code") and not negate:
            listed = right["set"] if isinstance(right, dict) and isinstance(right.get("set"), list) else [right]
            symbolic = ICMP_TYPES if field == "type" else ICMP_CODES

            def number(v: Any) -> Any:
                return symbolic.get(v, v) if isinstance(v, str) else v

            values: list[Any] = []
            for item in listed:  # a value, or a range of them (nft prints `echo-reply-router-solicitation`)
                if isinstance(item, dict) and isinstance(item.get("range"), list) and len(item["range"]) == 2:
                    low, high = (number(v) for v in item["range"])
                    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 255):
                        raise _Unmodelled(f"icmp {field} {right!r}")
                    values.extend(range(low, high + 1))
                else:
                    values.append(number(item))
            values = list(dict.fromkeys(values))
            if not values or not all(isinstance(v, int) and 0 <= v <= 255 for v in values):
                raise _Unmodelled(f"icmp {field} {right!r}")
            _restrict(m, [1])
            before = m.get("icmp_" + field)
            m["icmp_" + field] = [v for v in values if before is None or v in before]
            if not m["icmp_" + field]:
                m["never"] = True
            return
        raise _Unmodelled(f"{proto} {field}")
    if isinstance(left, dict) and "meta" in left:
        key = left["meta"].get("key")
        if key in ("iifname", "oifname"):
            names = _names(right, sets)
            short = key[:3]
            if negate:
                m[short + "_not"] = names
            else:
                m[short] = names
            return
        if key == "l4proto" and not negate:
            _restrict(m, _protocols(right, sets))
            return
        if key == "nfproto" and right in ("ipv4",) and not negate:
            return
        raise _Unmodelled(f"meta {key}")
    if isinstance(left, dict) and "ct" in left and left["ct"].get("key") == "state":
        states = set(right if isinstance(right, list) else [right])
        new = "new" in states
        if negate:
            new = not new
        m["new"] = m.get("new", True) and new
        if {"established", "related"} & states and not negate:
            m["stateful"] = True
        return
    if isinstance(left, dict) and isinstance(left.get("ct"), dict) and left["ct"].get("key") == "mark":
        raise _Unmodelled(CT_MARK_TEST)
    raise _Unmodelled("this match")


def _masked(operands: Any, right: Any, negate: bool, m: dict[str, Any]) -> None:
    """``ip saddr/daddr & MASK == VALUE`` (the prefixes it selects) and ``tcp flags & (syn | ack) ==
    ack`` (the model's ``established``); other masked compares raise _Unmodelled."""
    if not (isinstance(operands, list) and len(operands) == 2 and isinstance(operands[0], dict)
            and "payload" in operands[0]):
        raise _Unmodelled("a masked compare")
    payload, mask = operands[0]["payload"], operands[1]
    proto, field = payload.get("protocol"), payload.get("field")
    if proto == "ip" and field in ("saddr", "daddr") and isinstance(mask, str) and isinstance(right, str):
        nets = masked_prefixes(IPv4Address(mask), IPv4Address(right))
        if nets is None:
            raise _Unmodelled(f"ip {field} & {mask}: too many prefixes")
        key = "src" if field == "saddr" else "dst"
        chosen = complement(nets) if negate else nets
        m[key] = intersect(m.get(key), chosen)
        return
    flags = sorted(mask) if isinstance(mask, list) else [mask]
    if proto == "tcp" and field == "flags" and flags == ["ack", "syn"] and right == "ack" and not negate:
        _restrict(m, [6])
        m["established"] = True
        return
    raise _Unmodelled(f"{proto} {field} masked")


def _is_mark(expr: Any) -> bool:
    return isinstance(expr, dict) and isinstance(expr.get("meta"), dict) and expr["meta"].get("key") == "mark"


def _is_ct_mark(expr: Any) -> bool:
    return isinstance(expr, dict) and isinstance(expr.get("ct"), dict) and expr["ct"].get("key") == "mark" \
        and "dir" not in expr["ct"]


# Statements that neither filter, translate nor set a packet mark.
_INERT = ("counter", "log", "limit", "comment", "continue", "notrack", "quota")
# Header fields the model follows: a stateless rewrite of one (``ip saddr set ...``) is not modelled.
_MODELLED_FIELDS = ("saddr", "daddr", "sport", "dport", "protocol", "type", "code", "flags")


def _rule(rule: dict[str, Any], span: Span, sets: dict[str, list[Any]], ruleset: RuleSet,
          notes: Notes) -> list[NfRule]:
    """The rule as netfilter rules of one protocol (and ICMP type and code) each: a set of
    protocols or ICMP types is one rule per element, in order (they match disjoint packets, so the
    verdicts are the same)."""
    m: dict[str, Any] = {}
    unmodelled: list[str] = []
    verdict: str | None = None
    target: str | None = None
    nat: dict[str, Any] | None = None
    mark_sets: list[tuple[int | None, str]] = []
    mark_tests: list[int] = []
    ct_mark_sets: list[int | None] = []
    ct_mark_tests: list[int] = []
    text = json.dumps(rule.get("expr", []), separators=(",", ":"))
    text = text if len(text) <= 300 else text[:297] + "..."
    # What `nft -a list ruleset` shows: the rule by table, chain and handle (`# handle N`).
    label = f"table {rule.get('family')} {rule.get('table')} chain {rule.get('chain')} rule handle {rule.get('handle', '?')}"
    for expr in rule.get("expr", []):
        if not isinstance(expr, dict) or len(expr) != 1:
            raise InputError("a rule expression is an object with one key", span)
        (kind, body), = expr.items()
        if kind == "match" and isinstance(body, dict) and body.get("op", "==") == "==" and _is_mark(body.get("left")) \
                and isinstance(body.get("right"), int) and not isinstance(body.get("right"), bool):
            # meta mark == X: kept for the NAT it may select (marks.py); a condition the model's
            # filters cannot express, so widened like any other
            mark_tests.append(body["right"])
            unmodelled.append(MARK_TEST.format(body["right"]))
        elif kind == "match" and isinstance(body, dict) and body.get("op", "==") == "==" \
                and _is_ct_mark(body.get("left")) and isinstance(body.get("right"), int) \
                and not isinstance(body.get("right"), bool):
            ct_mark_tests.append(body["right"])  # kept for a twice NAT (marks.py); not a model condition
            unmodelled.append(CT_MARK_TEST)
        elif kind == "match":
            try:
                if not isinstance(body, dict):
                    raise _Unmodelled("a match that is not an object")
                _match(body, m, sets)
            except _Unmodelled as exc:
                unmodelled.append(str(exc))
            except (KeyError, TypeError, ValueError, AttributeError):
                unmodelled.append("an unreadable match")  # hostile or newer JSON: widened, never a crash
        elif kind in ("accept", "drop", "reject", "return"):
            verdict = "drop" if kind == "reject" else kind
        elif kind in ("jump", "goto"):
            verdict, target = kind, str((body or {}).get("target", ""))
        elif kind in ("masquerade", "snat", "dnat"):
            verdict = "nat"
            nat = {"kind": kind}
            if isinstance(body, dict) and "addr" in body:
                addr = body["addr"]
                if isinstance(addr, dict) and "prefix" in addr:
                    nat["to"] = f"{addr['prefix']['addr']}/{addr['prefix']['len']}"
                elif isinstance(addr, dict) and "range" in addr:
                    nat["to"] = "-".join(str(a) for a in addr["range"])
                elif isinstance(addr, str):
                    nat["to"] = addr
                else:
                    unmodelled.append("a NAT address that is not an address, range or prefix")
            if isinstance(body, dict) and "port" in body:
                port = body["port"]
                nat["ports"] = "-".join(str(p) for p in port["range"]) if isinstance(port, dict) and \
                    "range" in port else str(port)
            if isinstance(body, dict):
                nat["options"] = sorted(str(k) for k in body if k not in ("addr", "port", "family"))
        elif kind == "mangle" and isinstance(body, dict) and _is_mark(body.get("key")):
            value = body.get("value")
            constant = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFFFF
            mark_sets.append((value if constant else None, "" if constant else "meta mark set from an expression"))
        elif kind == "mangle" and isinstance(body, dict) and _is_ct_mark(body.get("key")):
            value = body.get("value")
            constant = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFFFF
            ct_mark_sets.append(value if constant else None)
        elif kind == "mangle":
            key = body.get("key") if isinstance(body, dict) else None
            payload = key.get("payload") if isinstance(key, dict) else None
            # other keys (meta priority, ct mark, ip dscp, ...) change nothing the model follows
            if not isinstance(key, dict) or isinstance(payload, dict) and payload.get("field") in _MODELLED_FIELDS:
                notes.unverified(span, f"{label} rewrites a header field in place (a stateless rewrite), which "
                                 "is not modelled", text)
        elif kind in _INERT:
            if kind in ("limit", "quota"):
                unmodelled.append(kind)
        else:
            unmodelled.append(kind)
            mark_sets.append((None, f"a {kind!r} statement"))  # it may set a mark for all the import knows
    if m.pop("stateful", False):
        ruleset.stateful = True
    if m.pop("never", False):
        m["new"] = False
    protocols: list[int | None] = list(m.get("protos") or [None])
    types: list[int | None] = list(m.get("icmp_type") or [None])
    codes: list[int | None] = list(m.get("icmp_code") or [None])
    return [NfRule(NfMatch(src=m.get("src"), dst=m.get("dst"), proto=proto, sport=m.get("sport"),
                           dport=m.get("dport"), iif=m.get("iif"), iif_not=m.get("iif_not", frozenset()),
                           oif=m.get("oif"), oif_not=m.get("oif_not", frozenset()), new=m.get("new", True),
                           unmodelled=tuple(unmodelled), icmp_type=icmp_type, icmp_code=icmp_code,
                           established=m.get("established")),
                   verdict, span, f"{label}: {text}", target, nat, tuple(mark_sets), tuple(mark_tests), label,
                   tuple(ct_mark_sets), tuple(ct_mark_tests))
            for proto in protocols for icmp_type in types for icmp_code in codes]


def parse_nft_json(path: Path, display: str, notes: Notes) -> RuleSet:
    data, spans = load_json(path, display)
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError("'nft -j list ruleset' output is {\"nftables\": [...]}", Span(display, 1, 1))
    ruleset = RuleSet(display)
    tables: dict[tuple[str, str], NfTable] = {}
    sets: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for i, item in enumerate(items):
        span = span_at(spans, ("nftables", i), display)
        if not isinstance(item, dict) or len(item) != 1:
            raise InputError("each entry of 'nftables' is an object with one key", span)
        (kind, body), = item.items()
        if kind == "metainfo":
            continue
        try:
            _item(kind, body, span, ruleset, tables, sets, notes)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"cannot read this {kind} of the rule set ({type(exc).__name__}: {exc})", span) from None
    return ruleset


def _item(kind: str, body: Any, span: Span, ruleset: RuleSet, tables: dict[tuple[str, str], NfTable],
          sets: dict[tuple[str, str], dict[str, list[Any]]], notes: Notes) -> None:
    if not isinstance(body, dict):
        raise InputError(f"{kind} must be an object", span)
    family = str(body.get("family", ""))
    table_name = str(body.get("name" if kind == "table" else "table", ""))
    if family not in ("ip", "inet"):
        if kind in ("table",):
            notes.unverified(span, f"table {family} {table_name} is not modelled (IPv4 only)")
        return
    key = (family, table_name)
    if kind == "table":
        tables[key] = NfTable(table_name)
        ruleset.tables.append(tables[key])
        sets[key] = {}
    elif kind in ("set", "map"):
        if kind == "map":
            notes.unverified(span, f"map {body.get('name')} (verdict maps) is not modelled: rules using it "
                             "are widened or left out")
            return
        sets.setdefault(key, {})[str(body.get("name"))] = list(body.get("elem", []))
    elif kind == "chain":
        table = tables.get(key)
        if table is None:
            raise InputError(f"chain of table {table_name!r}, which is not declared", span)
        name = str(body.get("name"))
        hook = body.get("hook")
        chain = NfChain(name, span, str(body.get("policy", "accept")) if hook else None,
                        str(hook) if hook else None)
        chain.kind = str(body.get("type", "filter"))
        chain.priority = int(body.get("prio", 0)) if isinstance(body.get("prio", 0), int) else 0
        table.chains[name] = chain
    elif kind == "rule":
        table = tables.get(key)
        chain_name = str(body.get("chain"))
        if table is None or chain_name not in table.chains:
            raise InputError(f"rule of chain {chain_name!r}, which is not declared", span)
        table.chains[chain_name].rules.extend(_rule(body, span, sets.get(key, {}), ruleset, notes))
    else:
        notes.unverified(span, f"nftables object {kind} is not modelled")

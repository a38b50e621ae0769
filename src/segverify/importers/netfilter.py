"""Linux netfilter rule sets (iptables-save text, nftables JSON) turned into per-interface ACLs.

Both front ends produce the same small shape — tables of chains of rules, each rule a match and a
verdict — and one translation turns it into the topology format. The verifier follows new flows,
so conntrack conditions are read for what they say about a NEW packet: ``ESTABLISHED,RELATED``
matches none (and makes the ACL stateful), ``NEW`` matches all. A condition the model cannot
express is dropped from an accept and makes a drop match nothing, with a note.

The kernel's INPUT, FORWARD and OUTPUT become the node's ``policies``: FORWARD's lines with the
input and output interfaces they match as ``from``/``to``, INPUT and OUTPUT as ``local`` lines.
Several base chains on one hook (nftables) are composed: a packet must pass each.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from ..errors import InputError, Span
from .notes import Notes

PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "gre": 47, "esp": 50, "ah": 51, "sctp": 132, "all": None}
# ICMP type names iptables and nft accept (the types with a name of their own).
ICMP_TYPES = {"echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
              "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11,
              "parameter-problem": 12, "timestamp-request": 13, "timestamp-reply": 14, "info-request": 15,
              "info-reply": 16, "address-mask-request": 17, "address-mask-reply": 18}
# nft's names for ICMP codes (``nft describe icmp code``); iptables names a code only together
# with its type (``port-unreachable``), which is not modelled.
ICMP_CODES = {"net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3,
              "frag-needed": 4, "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13}
# A masked compare ``addr & MASK == VALUE`` is read as the prefixes it selects while there are at
# most this many (a mask with few don't-care bits above its last compared bit); beyond, not modelled.
MAX_MASK_PREFIXES = 256
PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 47: "gre", 50: "esp", 132: "sctp"}
EVERYTHING = IPv4Network("0.0.0.0/0")
MAX_CHAIN_DEPTH = 32


def complement(prefixes: list[IPv4Network]) -> list[IPv4Network]:
    """Every address not in ``prefixes``, as prefixes."""
    remaining = [EVERYTHING]
    for p in prefixes:
        nxt: list[IPv4Network] = []
        for r in remaining:
            if r.subnet_of(p):
                continue
            if p.subnet_of(r):
                nxt.extend(r.address_exclude(p))
            else:
                nxt.append(r)
        remaining = nxt
    return sorted(remaining)


def masked_prefixes(mask: IPv4Address, value: IPv4Address) -> list[IPv4Network] | None:
    """The addresses ``a`` with ``a & mask == value & mask``, as prefixes; None when there are more
    than MAX_MASK_PREFIXES of them (the caller then reports the compare as not modelled)."""
    care = int(mask)
    trailing = (care & -care).bit_length() - 1 if care else 32  # don't-care bits below every compared one
    length = 32 - trailing
    free = [bit for bit in range(32 - length, 32) if not (care >> bit) & 1]
    if 1 << len(free) > MAX_MASK_PREFIXES:
        return None
    if int(value) & ~care & 0xFFFFFFFF:
        return []  # the value has bits the mask clears: no address compares equal
    base = int(value)
    out = []
    for n in range(1 << len(free)):
        addr = base
        for i, bit in enumerate(free):
            if (n >> i) & 1:
                addr |= 1 << bit
        out.append(IPv4Network((addr, length)))
    return sorted(out)


def intersect(a: list[IPv4Network] | None, b: list[IPv4Network] | None) -> list[IPv4Network] | None:
    if a is None:
        return b
    if b is None:
        return a
    result = set()
    for x in a:
        for y in b:
            if x.subnet_of(y):
                result.add(x)
            elif y.subnet_of(x):
                result.add(y)
    return sorted(result)


def port_complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    result, low = [], 0
    for a, b in sorted(ranges):
        if a > low:
            result.append((low, a - 1))
        low = max(low, b + 1)
    if low <= 65535:
        result.append((low, 65535))
    return result


def port_intersect(a: list[tuple[int, int]] | None, b: list[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
    if a is None:
        return b
    if b is None:
        return a
    return [(max(x[0], y[0]), min(x[1], y[1])) for x in a for y in b if max(x[0], y[0]) <= min(x[1], y[1])]


@dataclass(frozen=True)
class NfMatch:
    """A conjunction of conditions; None means any. Interfaces are sets of names (None: any)."""

    src: list[IPv4Network] | None = None
    dst: list[IPv4Network] | None = None
    proto: int | None = None
    sport: list[tuple[int, int]] | None = None
    dport: list[tuple[int, int]] | None = None
    iif: frozenset[str] | None = None
    iif_not: frozenset[str] = frozenset()
    oif: frozenset[str] | None = None
    oif_not: frozenset[str] = frozenset()
    new: bool = True  # False: matches no NEW packet (e.g. ctstate ESTABLISHED)
    unmodelled: tuple[str, ...] = ()  # conditions the model cannot express
    icmp_type: int | None = None
    icmp_code: int | None = None
    established: bool | None = None  # TCP ACK without SYN (the model's ``established``); None: any

    def empty(self) -> bool:
        return (self.src == [] or self.dst == [] or self.sport == [] or self.dport == []
                or self.iif == frozenset() or self.oif == frozenset() or not self.new)

    def conjoin(self, other: "NfMatch") -> "NfMatch | None":
        proto = self.proto
        if other.proto is not None:
            if proto is not None and proto != other.proto:
                return None
            proto = other.proto
        iif = self.iif if other.iif is None else (other.iif if self.iif is None else self.iif & other.iif)
        oif = self.oif if other.oif is None else (other.oif if self.oif is None else self.oif & other.oif)
        if None not in (self.established, other.established) and self.established != other.established:
            return None
        established = self.established if self.established is not None else other.established
        icmp: list[int | None] = []
        for mine, theirs in ((self.icmp_type, other.icmp_type), (self.icmp_code, other.icmp_code)):
            if mine is not None and theirs is not None and mine != theirs:
                return None
            icmp.append(mine if mine is not None else theirs)
        return NfMatch(intersect(self.src, other.src), intersect(self.dst, other.dst), proto,
                       port_intersect(self.sport, other.sport), port_intersect(self.dport, other.dport),
                       iif, self.iif_not | other.iif_not, oif, self.oif_not | other.oif_not,
                       self.new and other.new, self.unmodelled + other.unmodelled, icmp[0], icmp[1], established)


@dataclass
class NfRule:
    match: NfMatch
    verdict: str | None  # accept drop reject jump goto return; None: no verdict (counter, log)
    span: Span
    text: str
    target: str | None = None  # chain of jump/goto
    nat: dict[str, Any] | None = None  # masquerade / snat / dnat: {"kind", "to"}
    # The packet marks the rule sets, in order: a constant, or None with what sets it otherwise
    # (an expression, a statement that is not understood); and the constants ``meta mark == X`` it
    # tests (each also in match.unmodelled, as MARK_TEST.format(X)). See marks.py.
    mark_sets: tuple[tuple[int | None, str], ...] = ()
    mark_tests: tuple[int, ...] = ()
    label: str = ""  # how a message names the rule beside its span ("chain forward rule handle 7")
    # The same for the conntrack mark (``ct mark set X``, ``ct mark == X``): how a twice NAT is
    # written, a DNAT that marks its connection and an SNAT on that mark. See marks.py.
    ct_mark_sets: tuple[int | None, ...] = ()
    ct_mark_tests: tuple[int, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.label} ({self.span})" if self.label else str(self.span)


MARK_TEST = "meta mark {:#x}"
CT_MARK_TEST = "ct mark"  # a conntrack mark test (not modelled): the rule applies to marked connections only


@dataclass
class NfChain:
    name: str
    span: Span
    policy: str | None = None  # base chains: accept / drop
    hook: str | None = None  # input forward output prerouting postrouting
    rules: list[NfRule] = field(default_factory=list)
    kind: str = "filter"  # filter / nat (the iptables table, or the nft chain type)
    priority: int = 0


@dataclass
class NfTable:
    name: str  # filter / nat (iptables); for nftables the hook decides
    chains: dict[str, NfChain] = field(default_factory=dict)


@dataclass
class RuleSet:
    file: str
    tables: list[NfTable] = field(default_factory=list)
    stateful: bool = False  # some rule lets established/related packets through

    def base_chains(self, hook: str, kind: str = "filter") -> list[NfChain]:
        """Base chains of a hook in the order the kernel runs them (by priority)."""
        found = [c for t in self.tables for c in t.chains.values() if c.hook == hook and c.kind == kind]
        return sorted(found, key=lambda c: c.priority)

    def table_of(self, chain: NfChain) -> NfTable:
        return next(t for t in self.tables if any(c is chain for c in t.chains.values()))


# -- iptables-save ---------------------------------------------------------------------------------

HOOKS = {"INPUT": "input", "FORWARD": "forward", "OUTPUT": "output", "PREROUTING": "prerouting",
         "POSTROUTING": "postrouting"}


def _ports(text: str, span: Span) -> list[tuple[int, int]]:
    ranges = []
    for part in text.split(","):
        low, _, high = part.partition(":")
        if not low.isdigit() and low != "" or high and not high.isdigit():
            raise InputError(f"cannot read port {text!r}", span)
        a, b = int(low or 0), int(high or low) if high or low else 65535
        if high == "" and ":" in part:
            b = 65535
        if not 0 <= a <= b <= 65535:
            raise InputError(f"port range {part!r} is not within 0-65535", span)
        ranges.append((a, b))
    return ranges


def _prefixes(text: str, span: Span) -> list[IPv4Network]:
    result = []
    for part in text.split(","):
        try:
            result.append(IPv4Network(part, strict=False))
        except ValueError:
            raise InputError(f"{part!r} is not an IPv4 address or prefix (IPv6 rules belong in ip6tables)",
                             span) from None
    return result


def parse_iptables_save(text: str, display: str, notes: Notes) -> RuleSet:
    rules = RuleSet(display)
    table: NfTable | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        span = Span(display, number, 1)
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = NfTable(line[1:])
            rules.tables.append(table)
            continue
        if line == "COMMIT":
            table = None
            continue
        if table is None:
            raise InputError("a rule outside a table (no '*filter' line before it)", span)
        if line.startswith(":"):
            parts = line[1:].split()
            if len(parts) < 2:
                raise InputError(f"cannot read chain line {line!r}", span)
            name, policy = parts[0], parts[1].lower()
            table.chains[name] = NfChain(name, span, None if policy == "-" else policy, HOOKS.get(name)
                                         if policy != "-" else None, kind=table.name)
            continue
        if table.name in ("mangle", "raw", "security"):
            notes.unverified(span, f"{table.name} table rules do not filter and are not modelled", line)
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise InputError(f"cannot read rule: {exc}", span) from None
        if words[:1] not in (["-A"], ["-I"]) or len(words) < 2:
            raise InputError(f"cannot read {line!r} (iptables-save rules start with -A CHAIN)", span)
        chain = table.chains.get(words[1])
        if chain is None:
            raise InputError(f"rule for chain {words[1]!r}, which is not declared", span)
        chain.rules.append(_iptables_rule(words[2:], span, line, rules, notes))
    return rules


def _iptables_rule(words: list[str], span: Span, line: str, ruleset: RuleSet, notes: Notes) -> NfRule:
    m: dict[str, Any] = {}
    unmodelled: list[str] = []
    verdict: str | None = None
    target: str | None = None
    nat: dict[str, Any] | None = None
    new = True
    i = 0
    negate = False

    def take() -> str:
        nonlocal i
        if i >= len(words):
            raise InputError(f"option {words[i - 1]!r} needs a value", span)
        i += 1
        return words[i - 1]

    while i < len(words):
        word = words[i]
        i += 1
        if word == "!":
            negate = True
            continue
        neg, negate = negate, False
        if word in ("-s", "--source", "-d", "--destination"):
            prefixes = _prefixes(take(), span)
            key = "src" if word in ("-s", "--source") else "dst"
            m[key] = complement(prefixes) if neg else prefixes
        elif word in ("-p", "--protocol"):
            proto_text = take()
            proto = PROTOCOL_NUMBERS.get(proto_text, int(proto_text) if proto_text.isdigit() else -1)
            if proto == -1:
                raise InputError(f"unknown protocol {proto_text!r}", span)
            if neg:
                unmodelled.append(f"! -p {proto_text}")
            else:
                m["proto"] = proto
        elif word in ("-i", "--in-interface", "-o", "--out-interface"):
            value = take()
            key = "iif" if word in ("-i", "--in-interface") else "oif"
            if value.endswith("+"):
                m[key + "_prefix"] = (value[:-1], neg)
            elif neg:
                m[key + "_not"] = frozenset([value])
            else:
                m[key] = frozenset([value])
        elif word in ("--dport", "--destination-port", "--sport", "--source-port", "--dports", "--sports"):
            ports = _ports(take(), span)
            key = "dport" if "d" in word[2:4] else "sport"
            m[key] = port_complement(ports) if neg else ports
        elif word in ("-m", "--match"):
            module = take()
            if module in ("tcp", "udp", "multiport", "state", "conntrack", "comment", "icmp", "limit", "sctp"):
                if module == "limit":
                    unmodelled.append("-m limit")
                continue
            unmodelled.append(f"-m {module}")
        elif word in ("--state", "--ctstate"):
            states = set(take().split(","))
            matches_new = "NEW" in states
            if neg:
                matches_new = not matches_new
            if ({"ESTABLISHED", "RELATED"} & states) and not neg:
                ruleset.stateful = True
            new = new and matches_new
        elif word == "--comment":
            take()
        elif word == "--icmp-type" and not neg:
            text = take()
            kind, _, code = text.partition("/")
            icmp_type = ICMP_TYPES[kind] if kind in ICMP_TYPES else int(kind) if kind.isdigit() else -1
            if text == "any":
                continue
            if not 0 <= icmp_type <= 255 or (code and (not code.isdigit() or int(code) > 255)):
                unmodelled.append(f"--icmp-type {text}")  # a code name: over-approximated, as in nftables
                continue
            m["icmp_type"] = icmp_type
            if code:
                m["icmp_code"] = int(code)
        elif word in ("--icmp-type", "--tcp-flags", "--syn", "--limit", "--limit-burst", "--tcp-option"):
            if word in ("--icmp-type", "--limit", "--limit-burst"):
                unmodelled.append(f"{word} {take()}")
            elif word == "--tcp-flags":
                unmodelled.append(f"--tcp-flags {take()} {take()}")
            else:
                unmodelled.append(word)
        elif word in ("-j", "--jump", "-g", "--goto"):
            name = take()
            if name in ("ACCEPT", "DROP", "REJECT", "RETURN"):
                verdict = name.lower()
                if verdict == "reject":
                    verdict = "drop"
            elif name in ("MASQUERADE", "SNAT", "DNAT"):
                nat = {"kind": name.lower()}
                verdict = "nat"
            elif name in ("LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "TOS", "DSCP", "TCPMSS", "CT", "NOTRACK"):
                verdict = None
            else:
                verdict = "goto" if word in ("-g", "--goto") else "jump"
                target = name
        elif word in ("--to-source", "--to-destination", "--to", "--to-ports"):
            value = take()
            if nat is None:
                raise InputError(f"{word} without a NAT target", span)
            nat["ports" if word == "--to-ports" else "to"] = value
        elif word in ("--reject-with", "--log-prefix", "--log-level", "--set-mark", "--set-xmark", "--random",
                      "--persistent", "--log-tcp-options", "--log-ip-options", "--set-mss", "--clamp-mss-to-pmtu"):
            if word not in ("--random", "--persistent", "--log-tcp-options", "--log-ip-options",
                            "--clamp-mss-to-pmtu"):
                take()
        elif word.startswith("-c") or word == "--set-counters":
            take()
            take()
        else:
            raise InputError(f"cannot read option {word!r} of this rule", span)
    for key in ("iif_prefix", "oif_prefix"):
        if key in m:
            prefix, neg = m.pop(key)
            unmodelled.append(f"{'! ' if neg else ''}{key[:3]} {prefix}+")
    match = NfMatch(src=m.get("src"), dst=m.get("dst"), proto=m.get("proto"), sport=m.get("sport"),
                    dport=m.get("dport"), iif=m.get("iif"), iif_not=m.get("iif_not", frozenset()),
                    oif=m.get("oif"), oif_not=m.get("oif_not", frozenset()), new=new,
                    unmodelled=tuple(unmodelled), icmp_type=m.get("icmp_type"), icmp_code=m.get("icmp_code"))
    if (match.sport is not None or match.dport is not None) and match.proto not in (6, 17, 132):
        raise InputError("ports need -p tcp, udp or sctp", span)
    if match.icmp_type is not None and match.proto != 1:
        raise InputError("--icmp-type needs -p icmp", span)
    return NfRule(match, verdict, span, line, target, nat)


# -- flattening chains into ordered (match, accept/drop) lists ---------------------------------------


@dataclass
class FlatRule:
    match: NfMatch
    action: str  # accept | drop
    span: Span
    text: str
    mark: int | None = None  # the packet mark an accept sets (marks.py joins it to its NAT)
    mark_exact: bool = True  # False: the line was widened, so it marks more than the kernel does
    mark_where: str = ""  # the rule that sets the mark


def flatten(ruleset: RuleSet, chain: NfChain, notes: Notes) -> tuple[list[FlatRule], str, Span]:
    """A base chain as first-match accept/drop rules and its policy (jumps inlined)."""
    tables = {c.name: c for c in ruleset.table_of(chain).chains.values() if c.hook is None}
    result: list[FlatRule] = []
    _inline(chain, NfMatch(), tables, result, notes, (chain.name,), widened=False)
    return result, chain.policy or "accept", chain.span


MAX_SPLIT_RULES = 10_000


def _negation(m: NfMatch) -> list[NfMatch] | None:
    """Disjoint matches whose union is the packets ``m`` does not match, when ``m`` tests addresses
    only (not src, or src and not dst); None otherwise."""
    if m != NfMatch(src=m.src, dst=m.dst):
        return None
    pieces = []
    if m.src is not None:
        pieces.append(NfMatch(src=complement(m.src)))
    if m.dst is not None:
        pieces.append(NfMatch(src=m.src, dst=complement(m.dst)))
    return pieces


def _inline(chain: NfChain, context: NfMatch, chains: dict[str, NfChain], out: list[FlatRule], notes: Notes,
            stack: tuple[str, ...], widened: bool) -> bool:
    """Append ``chain``'s rules under ``context``; return True when an unconditional verdict ended it."""
    for index, rule in enumerate(chain.rules):
        match = context.conjoin(rule.match)
        if match is None or match.empty():
            continue
        if rule.verdict in (None, "nat"):
            continue
        conditional = rule.match != NfMatch()
        if rule.verdict == "return":
            if not conditional:
                return False
            pieces = _negation(rule.match)
            if pieces is not None and len(out) < MAX_SPLIT_RULES:
                # the rest of the chain sees exactly the packets that did not return
                rest = replace(chain, rules=chain.rules[index + 1:])
                for piece in pieces:
                    sub = context.conjoin(piece)
                    if sub is not None and not sub.empty():
                        _inline(rest, sub, chains, out, notes, stack, widened)
                return False  # the returned packets go on in the calling chain
            widened = True
            notes.over(rule.span, "rules after a conditional RETURN are widened: their drops are left out "
                       "and their accepts apply to the returned packets too", rule.text)
            continue
        if rule.verdict in ("jump", "goto"):
            target = chains.get(rule.target or "")
            if target is None:
                raise InputError(f"jump to chain {rule.target!r}, which is not declared", rule.span)
            if target.name in stack:
                raise InputError(f"chains jump to each other in a loop: {' -> '.join(stack + (target.name,))}",
                                 rule.span)
            if len(stack) > MAX_CHAIN_DEPTH:
                raise InputError(f"chains nested deeper than {MAX_CHAIN_DEPTH}", rule.span)
            ended = _inline(target, match, chains, out, notes, stack + (target.name,), widened)
            if rule.verdict == "goto" and not conditional:
                return True
            if rule.verdict == "goto":
                notes.over(rule.span, "packets returning from a goto'd chain are widened", rule.text)
                widened = True
            if ended and not conditional:
                return True
            continue
        action = rule.verdict
        if action == "drop" and widened:
            continue
        mark = rule.mark_sets[-1][0] if rule.mark_sets else None
        exact = not widened and not match.unmodelled
        if match.unmodelled:
            if action == "drop":
                notes.over(rule.span, f"drop left out (it then matches nothing): {', '.join(match.unmodelled)} "
                           "not modelled", rule.text)
                continue
            notes.over(rule.span, f"accept widened: {', '.join(match.unmodelled)} not modelled", rule.text)
            match = replace(match, unmodelled=())
        out.append(FlatRule(match, action or "accept", rule.span, rule.text, mark, exact, rule.where))
        if not conditional and not widened:
            return True
    return False


# -- into topology-format ACLs ---------------------------------------------------------------------


MAX_COMPOSED_RULES = 50_000


def compose(chains: list[tuple[list[FlatRule], str, Span]]) -> tuple[list[FlatRule], str, Span]:
    """Several base chains on one hook: a packet must be accepted by each. First match over the
    product of their lines (each chain's policy as a last line matching everything) gives exactly
    that: the first line of chain 1 it meets, within it the first of chain 2, and so on."""
    if len(chains) == 1:
        return chains[0]
    lists = [flat + [FlatRule(NfMatch(), policy, span, f"policy {policy}")] for flat, policy, span in chains]
    product = lists[0]
    for nxt in lists[1:]:
        combined = []
        for a in product:
            if a.action == "drop":  # the first chain drops it: the later ones are not asked
                combined.append(a)
                continue
            for b in nxt:
                match = a.match.conjoin(b.match)
                if match is None or match.empty():
                    continue
                drop = a if a.action == "drop" else b if b.action == "drop" else None
                decider = drop or b
                marker = b if b.mark is not None else a  # a later chain's mark overwrites an earlier one's
                combined.append(FlatRule(match, "drop" if drop else "accept", decider.span, decider.text,
                                         None if drop else marker.mark, marker.mark_exact, marker.mark_where))
                if len(combined) > MAX_COMPOSED_RULES:
                    raise InputError(f"the base chains of one hook compose to more than {MAX_COMPOSED_RULES:,} "
                                     "rules", chains[0][2])
        product = combined
    last = product.pop() if product and product[-1].match == NfMatch() else None
    return product, last.action if last else "accept", last.span if last else chains[0][2]


def rule_dict(match: NfMatch, action: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": "permit" if action == "accept" else "deny"}
    if match.src is not None:
        rule["src"] = [str(p) for p in match.src] if len(match.src) != 1 else str(match.src[0])
    if match.dst is not None:
        rule["dst"] = [str(p) for p in match.dst] if len(match.dst) != 1 else str(match.dst[0])
    if match.icmp_type is not None:
        rule["service"] = f"icmp/{match.icmp_type}" + (f"/{match.icmp_code}" if match.icmp_code is not None else "")
    elif match.proto is not None:
        rule["proto"] = PROTO_NAMES.get(match.proto, match.proto)
    if match.established is not None:
        rule["established"] = match.established
    for key in ("sport", "dport"):
        ports = getattr(match, key)
        if ports is not None:
            texts = [str(a) if a == b else f"{a}-{b}" for a, b in ports]
            rule[key] = texts if len(texts) != 1 else texts[0]
    return rule


def _sides(match: NfMatch, interfaces: list[str]) -> tuple[list[str] | None, list[str] | None, NfMatch]:
    """The rule's input and output interfaces as name lists (None: any) and the rest of its match."""
    sides: list[list[str] | None] = []
    for names, nots in ((match.iif, match.iif_not), (match.oif, match.oif_not)):
        if names is None and not nots:
            sides.append(None)
            continue
        chosen = [n for n in interfaces if (names is None or n in names) and n not in nots]
        sides.append(chosen)
    return sides[0], sides[1], replace(match, iif=None, iif_not=frozenset(), oif=None, oif_not=frozenset())


def policy_lines(ruleset: RuleSet, interfaces: list[str], notes: Notes, marks: Any = None) -> Any:
    """INPUT, FORWARD and OUTPUT as the model's node policy: FORWARD's lines with ``from``/``to`` the
    interfaces the kernel matches, INPUT and OUTPUT as ``local`` lines (every line names its side).
    FORWARD is read on a host that does not forward too: its lines never apply there, but the NAT
    addresses they hold are the host's (as those of its interface NAT are), and an overlay may yet
    make the host a router.
    ``marks`` (a marks.MarkNat) gives the forward lines that mark packets for NAT their ``snat``."""
    from .device import PolicyData

    def lines(hook: str) -> tuple[list[tuple[dict[str, Any], Span]], str, Span]:
        chains = ruleset.base_chains(hook)
        if not chains:
            return [], "accept", Span(ruleset.file, 1, 1)
        flat, policy, policy_span = compose([flatten(ruleset, c, notes) for c in chains])
        if marks is not None and hook == "forward":
            marks.check_lines(flat)
        out = []
        for rule in flat:
            ingress, egress, rest = _sides(rule.match, interfaces)
            if ingress == [] or egress == []:
                continue  # names no interface of this host
            if hook == "input":
                ingress = ingress if ingress is not None else list(interfaces)
                egress = None
            elif hook == "output":
                egress = egress if egress is not None else list(interfaces)
                ingress = None
            line = rule_dict(rest, rule.action)
            snat = marks.snat_of(rule) if marks is not None and hook == "forward" else None
            if snat is not None:
                line["snat"] = dict(snat)
            if ingress is not None:
                line["from"] = ingress
            if egress is not None:
                line["to"] = egress
            out.append((line, rule.span))
        return out, policy, policy_span

    forward, forward_policy, forward_span = lines("forward")
    data = PolicyData(forward_span, "permit" if forward_policy == "accept" else "deny", stateful=ruleset.stateful)
    for line, span in forward:
        data.rules.append(line)
        data.rule_spans.append(span)
    for hook, side in (("input", "from"), ("output", "to")):
        local, policy, policy_span = lines(hook)
        for line, span in local:
            data.local_rules.append(line)
            data.local_spans.append(span)
        if interfaces:
            data.local_rules.append({"action": "permit" if policy == "accept" else "deny", side: list(interfaces)})
            data.local_spans.append(policy_span)
    return data

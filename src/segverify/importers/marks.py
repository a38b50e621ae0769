"""Source NAT carried on a packet mark: a forward rule accepts and sets ``meta mark set X``, a rule of
the postrouting NAT chain translates ``meta mark X snat to POOL``. That is a policy line with its own
source NAT (the model's ``snat`` on a policy line), and it is read as one when it can be followed
exactly:

- every rule that sets X is a forward filter rule that accepts (or drops) the packet, with a
  constant value, and no rule sets a mark from an expression (``meta mark set ct mark``, ``| 0x10``,
  a map) or runs a statement the import does not know (which might set one);
- the forward lines that set X are read exactly (not widened for a condition the model lacks);
- the NAT rules testing X come before every other NAT rule of the postrouting hook, test nothing
  but the mark and a protocol, and together translate every protocol to one pool (ports from one
  port range for TCP, UDP and SCTP, or kept) — the model's policy-line NAT, which comes before
  the interfaces' own.

Packets are taken to enter the rule set unmarked (no ``tc`` or socket marks, which a rule-set dump
does not show); a mark no rule sets is therefore never followed. Anything else about marks (masks,
``ct mark``, marks tested elsewhere) is left as it was: the NAT rule is reported as not verified,
with the reason found here. A NAT rule on a ``ct mark`` alone before the marked rules (how the
emulator renders the source half of a twice rule) is such a rule; it applies only to connections
marked earlier and does not keep the marked rules after it from being read.

Twice NAT on a conntrack mark (:func:`follow_twice`): a prerouting DNAT that sets ``ct mark set M``
and a postrouting ``ct mark M snat to A`` is the model's twice rule (one way), read as one when
it is exact: M is set by that DNAT alone, no rule sets a ct mark from an expression or runs a
statement the import does not know, and the SNAT tests nothing but M, translates to one address
with its ports kept, and comes before every postrouting NAT rule that does not test a ct mark (the
twice rule's source comes before any other source NAT).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from .netfilter import CT_MARK_TEST, MARK_TEST, FlatRule, NfChain, NfMatch, NfRule, RuleSet

PORTED = (6, 17, 132)
OTHER = -1  # a protocol no rule names


@dataclass
class MarkNat:
    """The marks whose NAT is read as policy-line NAT, and why the others are not."""

    snat: dict[int, dict[str, str]] = field(default_factory=dict)  # mark -> the policy line's ``snat``
    nat_rules: dict[int, list[NfRule]] = field(default_factory=dict)  # mark -> the NAT rules it stands for
    refused: dict[int, str] = field(default_factory=dict)  # mark -> why its NAT is not followed
    poisoned: str | None = None  # why no mark is followed at all

    def refuse(self, mark: int, reason: str) -> None:
        self.refused.setdefault(mark, reason)
        self.snat.pop(mark, None)
        self.nat_rules.pop(mark, None)

    def check_lines(self, lines: list[FlatRule]) -> None:
        """Refuse a mark that a widened forward line sets: the model would translate more packets
        than the kernel marks (and a translated source can lose what the original one reaches)."""
        for line in lines:
            if line.action == "accept" and line.mark is not None and not line.mark_exact:
                self.refuse(line.mark, f"the forward rule at {line.mark_where} that sets it is widened")

    def snat_of(self, line: FlatRule) -> dict[str, str] | None:
        return self.snat.get(line.mark) if line.action == "accept" and line.mark is not None else None

    def consumes(self, rule: NfRule) -> bool:
        """Is ``rule`` represented by the policy lines' NAT (so not to be read on its own)?"""
        return any(rule is r for rules in self.nat_rules.values() for r in rules)

    def why_not(self, rule: NfRule) -> str | None:
        for mark in rule.mark_tests:
            if self.poisoned is not None:
                return f"packet mark {mark:#x} cannot be followed: {self.poisoned}"
            if mark in self.refused:
                return f"packet mark {mark:#x} cannot be followed: {self.refused[mark]}"
        return None


def _reached(ruleset: RuleSet) -> dict[int, set[str]]:
    """For each chain (by id), the hooks whose base chains run it ("forward filter", ...)."""
    reached: dict[int, set[str]] = defaultdict(set)
    for table in ruleset.tables:
        for base in table.chains.values():
            if base.hook is None:
                continue
            where = f"{base.hook} {base.kind}"
            stack: list[NfChain] = [base]
            seen: set[int] = set()
            while stack:
                chain = stack.pop()
                if id(chain) in seen:
                    continue
                seen.add(id(chain))
                reached[id(chain)].add(where)
                for rule in chain.rules:
                    target = table.chains.get(rule.target or "") if rule.verdict in ("jump", "goto") else None
                    if target is not None and target.hook is None:
                        stack.append(target)
    return reached


def _shape(rule: NfRule) -> str | None:
    """Why this NAT rule on a mark is not a policy line's NAT (None: it is)."""
    nat = rule.nat
    if rule.verdict != "nat" or nat is None:
        return f"the rule at {rule.where} tests it without translating"
    if nat["kind"] != "snat" or "to" not in nat:
        return f"the rule at {rule.where} is a {nat['kind']} (its address depends on the egress)"
    if nat.get("options"):
        return f"the rule at {rule.where} has NAT options {', '.join(nat['options'])}"
    if len(set(rule.mark_tests)) != 1:
        return f"the rule at {rule.where} tests several marks"
    rest = replace(rule.match, unmodelled=tuple(u for u in rule.match.unmodelled
                                                if u not in {MARK_TEST.format(m) for m in rule.mark_tests}))
    if rest != NfMatch(proto=rule.match.proto):
        return f"the rule at {rule.where} tests more than the mark and a protocol"
    return None


def _translation(rules: list[NfRule]) -> dict[str, str] | str:
    """The policy-line ``snat`` the rules on one mark amount to, first match per protocol, or why not."""
    first: dict[int, NfRule] = {}
    for proto in {r.match.proto for r in rules if r.match.proto is not None} | set(PORTED) | {OTHER}:
        hit = next((r for r in rules if r.match.proto is None or r.match.proto == proto), None)
        if hit is None:
            return "some protocols of marked packets are not translated by a rule on the mark"
        first[proto] = hit
    pools = {str(r.nat["to"]) for r in first.values() if r.nat is not None}
    if len(pools) != 1:
        return f"marked packets are translated to different addresses ({', '.join(sorted(pools))})"
    ported = {str((first[p].nat or {}).get("ports") or "keep") for p in PORTED}
    others = {str((r.nat or {}).get("ports") or "keep") for p, r in first.items() if p not in PORTED}
    if len(ported) != 1 or others != {"keep"}:
        return "marked packets of different protocols take ports from different ranges"
    return {"to": pools.pop(), "ports": ported.pop()}


def follow_marks(ruleset: RuleSet) -> MarkNat:
    result = MarkNat()
    reached = _reached(ruleset)
    setters: set[int] = set()
    for table in ruleset.tables:
        for chain in table.chains.values():
            hooks = reached.get(id(chain), set())
            if not hooks:
                continue  # a chain no base chain jumps to never runs
            for rule in chain.rules:
                for value, what in rule.mark_sets:
                    if value is None:
                        result.poisoned = result.poisoned or f"{what} at {rule.where} may set any mark"
                    elif hooks != {"forward filter"}:
                        result.refuse(value, f"it is also set at {rule.where} ({', '.join(sorted(hooks))})")
                    elif rule.verdict not in ("accept", "drop"):
                        result.refuse(value, f"the rule at {rule.where} sets it and goes on to later rules")
                    elif value == 0:
                        result.refuse(value, "0 is the mark of every unmarked packet")
                    else:
                        setters.add(value)
    on_mark: dict[int, list[NfRule]] = defaultdict(list)
    head = True  # still before every NAT rule that does not test a mark
    for chain in ruleset.base_chains("postrouting", "nat"):
        for rule in chain.rules:
            if rule.verdict is None and rule.nat is None:
                continue  # a counter, a log: the packet goes on
            if not rule.mark_tests and CT_MARK_TEST in rule.match.unmodelled:
                # Only for connections a rule marked earlier (a twice NAT's source half, as the
                # emulator renders it): not verified itself, and no reason to doubt the lines after it.
                continue
            if rule.mark_tests:
                problem = _shape(rule) or (None if head else f"the rule at {rule.where} comes after NAT rules that "
                                           "do not test a mark (the model's policy-line NAT comes first)")
                for mark in rule.mark_tests:
                    if problem is not None:
                        result.refuse(mark, problem)
                    elif mark not in result.refused:
                        on_mark[mark].append(rule)
            else:
                head = False
    for mark, rules in sorted(on_mark.items()):
        if mark in result.refused:
            continue
        if mark not in setters:
            result.refuse(mark, "no rule of this rule set sets it (tc or a socket option may, which a dump "
                          "does not show)")
            continue
        snat = _translation(rules)
        if isinstance(snat, str):
            result.refuse(mark, snat)
            continue
        result.snat[mark] = snat
        result.nat_rules[mark] = rules
    if result.poisoned is not None:
        for mark in list(result.snat):
            result.refuse(mark, result.poisoned)
    return result



@dataclass
class TwiceNat:
    """Conntrack marks read as twice NAT: the DNAT rule of each and the source its SNAT gives."""

    sources: dict[int, str] = field(default_factory=dict)  # id of the DNAT rule -> the new source
    snat_rules: dict[int, int] = field(default_factory=dict)  # id of the SNAT rule -> id of its DNAT rule

    def source_of(self, rule: NfRule) -> str | None:
        return self.sources.get(id(rule))


def _twice_snat(rule: NfRule) -> str | None:
    """The one address a rule on a ct mark translates the source to, when that is all it does."""
    nat = rule.nat
    if rule.verdict != "nat" or nat is None or nat["kind"] != "snat" or nat.get("options") or nat.get("ports"):
        return None
    to = str(nat.get("to", ""))
    if not to or any(c in to for c in "-/:") or len(rule.ct_mark_tests) != 1 or rule.mark_tests:
        return None
    return to if rule.match == NfMatch(unmodelled=(CT_MARK_TEST,)) else None


def follow_twice(ruleset: RuleSet) -> TwiceNat:
    result = TwiceNat()
    reached = _reached(ruleset)
    setters: dict[int, list[tuple[NfRule, set[str]]]] = defaultdict(list)
    for table in ruleset.tables:
        for chain in table.chains.values():
            hooks = reached.get(id(chain), set())
            if not hooks:
                continue
            for rule in chain.rules:
                if None in rule.ct_mark_sets or any(v is None and what != "meta mark set from an expression"
                                                    for v, what in rule.mark_sets):
                    return result  # something may set any ct mark: none is followed
                for value in rule.ct_mark_sets:
                    assert value is not None
                    setters[value].append((rule, hooks))
    on_mark: dict[int, list[tuple[NfRule, str | None]]] = defaultdict(list)
    head = True
    for chain in ruleset.base_chains("postrouting", "nat"):
        for rule in chain.rules:
            if rule.verdict is None and rule.nat is None:
                continue
            if rule.ct_mark_tests:
                for mark in rule.ct_mark_tests:
                    on_mark[mark].append((rule, _twice_snat(rule) if head else None))
            else:
                head = False
    for mark, rules in on_mark.items():
        dnat = setters.get(mark, [])
        if mark == 0 or len(rules) != 1 or len(dnat) != 1:
            continue
        (snat_rule, source), (dnat_rule, hooks) = rules[0], dnat[0]
        if source is None or hooks != {"prerouting nat"} or dnat_rule.verdict != "nat" or dnat_rule.nat is None \
                or dnat_rule.nat["kind"] != "dnat" or dnat_rule.ct_mark_sets != (mark,):
            continue
        result.sources[id(dnat_rule)] = source
        result.snat_rules[id(snat_rule)] = id(dnat_rule)
    return result

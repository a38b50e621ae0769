"""ACL lines that add nothing: every packet a line matches, some line above it already decides.

The plain test keeps the union of the lines above and asks whether a line grows it. With the source
bits at the top of the variable order (what propagation needs), a line that matches many sources
rebuilds every source branch of that union, and at 20,000 lines that was most of HYG001's time.

Here the lines are grouped by their destination clause, and a line is tested only against the groups
whose destinations overlap its own: a line that shares no destination with another cannot shadow it or
be shadowed by it. A group's union is taken only when a test needs it, and stays small (its lines share
a destination). A line whose destinations overlap many groups (an ``any`` at the end of an ACL) is
first tried at a destination address no prefix-keyed group holds, which only the groups with a wider
destination clause can cover: when something is left there, the line adds it, and the large union is
never built. The answer is the plain test's, exactly: containment in a union, decided by canonical
BDDs; the grouping only leaves out lines that cannot meet the line tested.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Sequence

from .headers import Bdd, HeaderSpace
from .model import Rule

# Above this many overlapping groups a line is first tried where no prefix-keyed group reaches.
MANY_GROUPS = 8

_WIDE = -1  # sort rank of a group whose destination is not a set of prefixes (any, wildcard, except)


@dataclass(frozen=True)
class Shadowed:
    """A line (0-based position) that adds nothing, with the positions of the lines above it that
    match some of its packets (none: the line matches no packet at all)."""

    position: int
    overlapping: tuple[int, ...]


def _prefixes(rule: Rule) -> tuple[tuple[int, int], ...] | None:
    """The destination clause as (network, length) pairs; None when it is not a set of prefixes."""
    match = rule.match
    if match.dst is None or not match.plain:
        return None
    return tuple(sorted({(int(n.network_address), n.prefixlen) for n in match.dst}))


def _overlaps(keys: list[tuple[tuple[int, int], ...] | None]) -> list[list[int]]:
    """For each key, the keys (by index) whose destinations may meet it: prefix keys that share an
    address (one prefix contains the other), and every key that is not a set of prefixes."""
    wide = [k for k, key in enumerate(keys) if key is None]
    # length -> sorted network numbers with that length, and the keys holding each (length, network)
    holders: dict[tuple[int, int], list[int]] = {}
    for k, key in enumerate(keys):
        for prefix in key or ():
            holders.setdefault(prefix, []).append(k)
    by_length: dict[int, list[int]] = {}
    for net, length in holders:
        by_length.setdefault(length, []).append(net)
    for nets in by_length.values():
        nets.sort()
    out: list[list[int]] = []
    everything = list(range(len(keys)))
    for key in keys:
        if key is None:
            out.append(everything)
            continue
        found = set(wide)
        for net, length in key:
            for other, nets in by_length.items():
                if other <= length:  # a prefix of the same or shorter length that contains this one
                    shift = 32 - other
                    holder = holders.get((net >> shift << shift, other))
                    if holder is not None:
                        found.update(holder)
                else:  # longer prefixes inside this one
                    last = net + (1 << (32 - length)) - 1
                    for inner in nets[bisect_left(nets, net):bisect_right(nets, last)]:
                        found.update(holders[(inner, other)])
        out.append(sorted(found))
    return out


def _uncovered_addresses(key: tuple[tuple[int, int], ...] | None,
                         covered: list[tuple[tuple[int, int], ...] | None]) -> list[int]:
    """For each prefix of ``key`` (the whole space for a line that is not prefixes), its lowest
    address that no prefix of ``covered`` holds, if any."""
    spans = sorted((net, net + (1 << (32 - length)) - 1) for c in covered for net, length in c or ())
    out = []
    for net, length in key or ((0, 0),):
        address, last = net, net + (1 << (32 - length)) - 1
        for low, high in spans:  # in order of their start: a gap before a span's start is the answer
            if low > address:
                break
            address = max(address, high + 1)
        if address <= last:
            out.append(address)
    return out


def shadowed_lines(space: HeaderSpace, rules: Sequence[Rule], matches: Sequence[Bdd],
                   many_groups: int = MANY_GROUPS) -> list[Shadowed]:
    """The lines each of whose packets some line above matches (first match wins: they decide nothing).

    ``many_groups``: above how many overlapping groups a line is first tried at an address none of
    them holds (the answer does not depend on it, only the time)."""
    false = space.false
    keys_of_lines = [_prefixes(rule) for rule in rules]
    index: dict[tuple[tuple[int, int], ...] | None, int] = {}
    keys: list[tuple[tuple[int, int], ...] | None] = []
    group_of: list[int] = []
    for key in keys_of_lines:
        if key is None:  # each wide line is its own group: their destinations are not compared
            keys.append(None)
            group_of.append(len(keys) - 1)
            continue
        g = index.get(key)
        if g is None:
            g = index[key] = len(keys)
            keys.append(key)
        group_of.append(g)
    overlaps = _overlaps(keys)
    # Subtract the widest groups first: an "any" above ends a test at once.
    rank = [_WIDE if key is None else min(length for _, length in key) for key in keys]
    # Unions are taken when a test needs them: most groups are one destination no other line meets.
    members: list[list[int]] = [[] for _ in keys]
    unions: list[tuple[int, Bdd]] = [(0, false)] * len(keys)  # (members folded in, their union)

    def union_of(o: int) -> Bdd:
        done, union = unions[o]
        if done < len(members[o]):
            for j in members[o][done:]:
                union = matches[j] if union == false else union | matches[j]
            unions[o] = (len(members[o]), union)
        return union

    prefix_groups: list[int] = []  # in the order their first line comes
    wide_seen: list[int] = []
    found: list[Shadowed] = []
    for i, match in enumerate(matches):
        g = group_of[i]
        live = [o for o in overlaps[g] if members[o]]
        adds = True
        if match == false:
            adds = False
        elif live:
            if len(live) > many_groups:
                uncovered = _uncovered_addresses(keys_of_lines[i], [keys[o] for o in prefix_groups])
                for address in uncovered:
                    # No prefix group holds this destination: only the wide groups can cover it.
                    rest = match & space.value_prefix("dst", address, 32)
                    for o in wide_seen:
                        if rest == false:
                            break
                        rest = rest & ~union_of(o)
                    if rest != false:
                        live = []  # it adds packets no line above matches: decided
                        break
            if live:
                rest = match
                for o in sorted(live, key=lambda o: (rank[o], o)):
                    rest = rest & ~union_of(o)
                    if rest == false:
                        adds = False
                        break
        if not adds:
            near = sorted(j for o in overlaps[g] for j in members[o])
            found.append(Shadowed(i, tuple(j for j in near if matches[j] & match != false)))
        if not members[g]:
            (wide_seen if keys[g] is None else prefix_groups).append(g)
        members[g].append(i)
    return found

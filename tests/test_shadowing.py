"""HYG001's grouped shadowing test agrees with the plain one on random ACLs.

The plain test: a line adds nothing when the union of every line above it does not grow; its
overlapping lines are those above whose match meets its own. Random ACLs draw from a few nearby
prefixes of every length (so lines overlap, contain and repeat each other), ``any``, wildcard masks,
exclusions, several prefixes per clause, services and the established flag.
"""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segverify import shadowing
from segverify.errors import Span
from segverify.headers import HeaderSpace
from segverify.model import Action, Match, PortRange, Rule, ServiceTerm, Wildcard
from segverify.shadowing import shadowed_lines

SPACE = HeaderSpace()

PREFIXES = st.builds(lambda base, length: IPv4Network((base >> (32 - length) << (32 - length), length)),
                     st.sampled_from([0x0A000000, 0x0A000001, 0x0A000005, 0x0A000100, 0x0A000180, 0x0A010000]),
                     st.sampled_from([0, 8, 16, 23, 24, 25, 30, 31, 32]))
CLAUSE = st.one_of(st.none(), st.lists(PREFIXES, min_size=1, max_size=3).map(tuple))
WILD = st.sampled_from([Wildcard(0x0A000001, 0x0000FF00), Wildcard(0x0A000000, 0x000000FE)])
SERVICES = st.one_of(st.none(), st.lists(st.sampled_from([
    ServiceTerm(6, dports=(PortRange(443, 443),)), ServiceTerm(6, dports=(PortRange(0, 1023),)),
    ServiceTerm(17, dports=(PortRange(53, 53),)), ServiceTerm(1), ServiceTerm(None, dports=(PortRange(0, 80),)),
]), min_size=1, max_size=2).map(tuple))


@st.composite
def matches(draw: st.DrawFn) -> Match:
    src, dst = draw(CLAUSE), draw(CLAUSE)
    dst_wild = draw(st.lists(WILD, max_size=1).map(tuple)) if dst is not None and draw(st.booleans()) else ()
    dst_except = draw(st.lists(WILD, max_size=1).map(tuple)) if draw(st.integers(0, 5)) == 0 else ()
    src_wild = draw(st.lists(WILD, max_size=1).map(tuple)) if src is not None and draw(st.integers(0, 5)) == 0 else ()
    return Match(src=src, dst=dst, services=draw(SERVICES), established=draw(st.sampled_from([None, None, True, False])),
                 src_wild=src_wild, dst_wild=dst_wild, dst_except=dst_except)


def rules_of(lines: list[tuple[Match, bool]]) -> tuple[Rule, ...]:
    return tuple(Rule("acl", i, Action.PERMIT if permit else Action.DENY, match, Span("acl.yaml", i, 1))
                 for i, (match, permit) in enumerate(lines, 1))


def plain_answer(line_matches: list) -> list[tuple[int, tuple[int, ...]]]:
    false = SPACE.false
    covered, out = false, []
    for i, match in enumerate(line_matches):
        grown = covered | match
        if grown == covered:
            out.append((i, tuple(j for j in range(i) if line_matches[j] & match != false)))
        covered = grown
    return out


ACLS = st.lists(st.tuples(matches(), st.booleans()), min_size=1, max_size=40)


@pytest.mark.parametrize("many", [0, 3, shadowing.MANY_GROUPS])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=ACLS)
def test_grouped_test_agrees_with_the_plain_union(many: int, lines: list[tuple[Match, bool]]) -> None:
    # The threshold only decides when the cheap outside test runs first: every value must agree.
    rules = rules_of(lines)
    line_matches = [SPACE.match(r.match) for r in rules]
    got = [(s.position, s.overlapping) for s in shadowed_lines(SPACE, rules, line_matches, many)]
    assert got == plain_answer(line_matches)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=ACLS, repeats=st.lists(st.integers(0, 39), min_size=1, max_size=10))
def test_repeated_and_contained_lines(lines: list[tuple[Match, bool]], repeats: list[int]) -> None:
    """A line repeated further down is shadowed by its first copy; after an ``any``, every line is."""
    body = lines + [lines[k % len(lines)] for k in repeats] + [(Match(), False)]
    for first_any, acl in ((False, body), (True, [(Match(), True)] + body)):
        rules = rules_of(acl)
        line_matches = [SPACE.match(r.match) for r in rules]
        got = [(s.position, s.overlapping) for s in shadowed_lines(SPACE, rules, line_matches, 2)]
        assert got == plain_answer(line_matches)
        shadowed = {p for p, _ in got}
        offset = 1 if first_any else 0
        assert shadowed >= {offset + len(lines) + n for n in range(len(repeats))}
        if first_any:
            assert shadowed == set(range(1, len(acl)))


def test_a_line_matching_nothing_is_reported_with_no_lines_above() -> None:
    never = Match(services=(ServiceTerm(17),), established=True)  # established is TCP only
    rules = rules_of([(never, True), (Match(dst=(IPv4Network("10.0.0.0/8"),)), True)])
    line_matches = [SPACE.match(r.match) for r in rules]
    assert line_matches[0] == SPACE.false
    assert [(s.position, s.overlapping) for s in shadowed_lines(SPACE, rules, line_matches)] == [(0, ())]

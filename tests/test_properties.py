"""Properties the engine must have on any network, checked on seeded random networks.

ACL edits are monotone. Forwarding never depends on which *other* packets an ACL lets through (the
verifier follows new flows only, so no state carries over from one packet to another), and every
hop's transfer is "filter, rewrite, route" per packet. So if an edit shrinks the set of packets one
ACL permits, the flows of every source to every destination can only shrink, and if it grows that
set they can only grow. Each edit below is one of those, for a reason stated beside it:

* a deny line added on top: the ACL now permits exactly ``old ∧ ¬match`` — a subset.
* a permit line turned into a deny: packets whose first match is that line go from permitted to
  denied, all others keep their decision — a subset.
* a deny line turned into a permit: the mirror image — a superset.
* the last permit line of an ACL whose default is deny removed: packets that first matched it now
  fall through to deny lines or the default, so they are denied — a subset. (Removing an arbitrary
  permit line is *not* monotone: a later permit, or a permit default, may take the packets over.)
* a deny line removed: its packets fall to later lines, which may permit them — a superset.

And the file's order carries no meaning except where the format says it does (ACL lines, NAT
rules): reordering zones, nodes, interfaces, ACL names, links and LANs changes no flow.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import segverify

sys.path.insert(0, str(Path(__file__).parent))
import randomnet  # noqa: E402

from dd import cudd  # noqa: E402
from segverify import network, reach  # noqa: E402

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
CHOICE = st.integers(min_value=0, max_value=2**31 - 1)
# derandomize: the same examples on every run, so CI is stable; a failure names its seed.
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

Flows = dict[tuple[str, str], Any]


def engine(doc: dict[str, Any], label: str) -> tuple[Any, Flows]:
    topo = segverify.loads(randomnet.dump(doc), name=f"{label}.yaml")
    r = reach.Reachability(network.Network(topo))
    eps = r.endpoints
    return r, {(a, b): r.flows(a, b) for a in eps for b in eps if a != b}


def compare(before: Flows, after: Flows, after_space: Any, before_space: Any,
            holds: Callable[[Any, Any, Any], bool], what: str, context: str) -> None:
    """Check ``holds(old, new)`` for every pair, with ``new`` copied into the old BDD manager."""
    assert before.keys() == after.keys(), f"{context}: the endpoints changed"
    for pair, old in before.items():
        new = cudd.copy_bdd(after[pair].bdd, before_space.bdd)
        assert holds(old.bdd, new, before_space), (
            f"{context}: flows {pair[0]} -> {pair[1]} {what}\n"
            f"  before: {old.describe(4)}\n  after:  {after[pair].describe(4)}"
        )


def subset(old: Any, new: Any, space: Any) -> bool:
    return (new & ~old) == space.false


def superset(old: Any, new: Any, space: Any) -> bool:
    return (old & ~new) == space.false


def equal(old: Any, new: Any, space: Any) -> bool:
    return old == new


def referenced_acls(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """ACLs some interface uses (editing an unused one proves nothing); all of them if none is."""
    used = [(n, a) for n, a in randomnet.acls(doc)
            if any(a in (i.get("acl_in"), i.get("acl_out")) for i in doc["nodes"][n]["interfaces"].values())]
    return used or randomnet.acls(doc)


def lines(doc: dict[str, Any], action: str) -> list[tuple[str, str, int]]:
    used = set(referenced_acls(doc))
    return [(n, a, i) for n, a, i in randomnet.acl_lines(doc)
            if (n, a) in used and doc["nodes"][n]["acls"][a]["rules"][i]["action"] == action]


def check_edit(seed: int, edit: Callable[[dict[str, Any]], str | None],
               holds: Callable[[Any, Any, Any], bool], what: str) -> None:
    doc = randomnet.generate_dict(seed)
    new = copy.deepcopy(doc)
    described = edit(new)
    assume(described is not None)
    r_old, before = engine(doc, f"random-{seed}")
    r_new, after = engine(new, f"random-{seed}-edited")
    compare(before, after, r_new.space, r_old.space, holds, what,
            f"random network seed {seed} (tests/randomnet.py), after {described}")


@SETTINGS
@given(seed=SEEDS, choice=CHOICE)
def test_deny_on_top_never_adds_flows(seed: int, choice: int) -> None:
    def edit(doc: dict[str, Any]) -> str | None:
        places = referenced_acls(doc)
        if not places:
            return None
        node, acl = places[choice % len(places)]
        rule = randomnet.random_rule(doc, choice, "deny")
        doc["nodes"][node]["acls"][acl]["rules"].insert(0, rule)
        return f"adding {rule} on top of {node}/{acl}"

    check_edit(seed, edit, subset, "grew")


@SETTINGS
@given(seed=SEEDS, choice=CHOICE)
def test_permit_turned_deny_never_adds_flows(seed: int, choice: int) -> None:
    def edit(doc: dict[str, Any]) -> str | None:
        found = lines(doc, "permit")
        if not found:
            return None
        node, acl, i = found[choice % len(found)]
        doc["nodes"][node]["acls"][acl]["rules"][i]["action"] = "deny"
        return f"turning line {i + 1} of {node}/{acl} into a deny"

    check_edit(seed, edit, subset, "grew")


@SETTINGS
@given(seed=SEEDS, choice=CHOICE)
def test_deny_turned_permit_never_removes_flows(seed: int, choice: int) -> None:
    def edit(doc: dict[str, Any]) -> str | None:
        found = lines(doc, "deny")
        if not found:
            return None
        node, acl, i = found[choice % len(found)]
        doc["nodes"][node]["acls"][acl]["rules"][i]["action"] = "permit"
        return f"turning line {i + 1} of {node}/{acl} into a permit"

    check_edit(seed, edit, superset, "shrank")


@SETTINGS
@given(seed=SEEDS, choice=CHOICE)
def test_removing_last_permit_of_deny_default_acl_never_adds_flows(seed: int, choice: int) -> None:
    def edit(doc: dict[str, Any]) -> str | None:
        candidates = []
        for node, acl in referenced_acls(doc):
            spec = doc["nodes"][node]["acls"][acl]
            permits = [i for i, r in enumerate(spec["rules"]) if r["action"] == "permit"]
            if spec["default"] == "deny" and permits:
                candidates.append((node, acl, permits[-1]))  # only deny lines follow it
        if not candidates:
            return None
        node, acl, i = candidates[choice % len(candidates)]
        del doc["nodes"][node]["acls"][acl]["rules"][i]
        return f"removing line {i + 1} (the last permit) of {node}/{acl}"

    check_edit(seed, edit, subset, "grew")


@SETTINGS
@given(seed=SEEDS, choice=CHOICE)
def test_removing_a_deny_never_removes_flows(seed: int, choice: int) -> None:
    def edit(doc: dict[str, Any]) -> str | None:
        found = lines(doc, "deny")
        if not found:
            return None
        node, acl, i = found[choice % len(found)]
        del doc["nodes"][node]["acls"][acl]["rules"][i]
        return f"removing deny line {i + 1} of {node}/{acl}"

    check_edit(seed, edit, superset, "shrank")


@SETTINGS
@given(seed=SEEDS, order=CHOICE)
def test_order_of_the_file_does_not_matter(seed: int, order: int) -> None:
    doc = randomnet.generate_dict(seed)
    r_old, before = engine(doc, f"random-{seed}")
    r_new, after = engine(randomnet.shuffled(doc, order), f"random-{seed}-shuffled-{order}")
    assert sorted(r_old.endpoints) == sorted(r_new.endpoints)
    compare(before, after, r_new.space, r_old.space, equal, "changed",
            f"random network seed {seed} (tests/randomnet.py), reordered with shuffled(doc, {order})")


def test_shuffled_is_the_same_network() -> None:
    """The reordering helper itself: same content, different order."""
    doc = randomnet.generate_dict(7)
    other = randomnet.shuffled(doc, 1)
    assert other == doc  # dict equality ignores order
    assert randomnet.dump(other) != randomnet.dump(doc)

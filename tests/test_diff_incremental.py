"""diff reuses what the two versions share, and answers exactly as if it had not.

Files with the same bytes are parsed once (each version's spans still name its own files); the new
version's propagations are updated from the old one's (Reachability ``previous``): only packets
whose old trajectory met a state the change touched are propagated again. Checked against a full
propagation of the new version on random networks with random one-line changes, set by set.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import segverify
from segverify import changes
from segverify.changes import diff
from segverify.errors import InputError
from segverify.generate import generate
from segverify.headers import HeaderSpace
from segverify.network import Network, space_for
from segverify.reach import Reachability
from segverify.reader import ParsedFiles, load_document
from test_cases import BROKEN, REFERENCE, TODAY

sys.path.insert(0, str(Path(__file__).parent))
import randomnet  # noqa: E402

CHANGED_LINE = "dst: any, service: [web, smtp, dns, ntp, ping]"


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated network in several files and a copy with one ACL line changed in one of them."""
    root = tmp_path_factory.mktemp("versions")
    old = generate(2, 40, 20, "alpha", seed=3, inject=0, out=root / "old").directory
    new = root / "new"
    shutil.copytree(old, new)
    target = new / "municipalities" / "m01.yaml"
    text = target.read_text(encoding="utf-8")
    assert CHANGED_LINE in text
    target.write_text(text.replace(CHANGED_LINE, "dst: any, service: [web, smtp, dns, ntp]", 1), encoding="utf-8")
    return old / "network.yaml", new / "network.yaml"


def test_identical_files_are_taken_over_with_their_own_paths(versions: tuple[Path, Path]) -> None:
    old, new = versions
    parsed = ParsedFiles()
    load_document(old, parsed)
    shared = load_document(new, parsed)
    assert parsed.reused == 2  # network.yaml and m02.yaml; m01.yaml differs
    alone = load_document(new)
    assert shared.data == alone.data
    assert shared.spans == alone.spans and shared.key_spans == alone.key_spans
    assert shared.files == alone.files and shared.texts == alone.texts
    assert all(where[0].startswith(str(new.parent)) for where in shared.spans.values())
    # A span the fast read leaves out is found again in the new version's file.
    deep = [p for p in alone.spans if len(p) > 6] or [("nodes",)]
    for path in deep[:50] + [("nodes", name, "acls") for name in list(alone.data["nodes"])[:5]]:
        assert shared.span(path) == alone.span(path)


def test_an_error_in_the_new_version_names_the_new_files(versions: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = versions
    broken = tmp_path / "broken"
    shutil.copytree(new.parent, broken)
    # m01 now defines a zone that m02 (a file taken over unchanged, merged after m01) defines too:
    # the message cites m02's line from the document taken over.
    m01 = broken / "municipalities" / "m01.yaml"
    text = m01.read_text(encoding="utf-8")
    m01.write_text(text.replace("zones:\n", "zones:\n  m02-mn-office: {segment: lgwan}\n", 1), encoding="utf-8")
    messages = []
    for parsed in (None, ParsedFiles()):
        if parsed is not None:
            load_document(old, parsed)
        with pytest.raises(InputError) as caught:
            load_document(broken / "network.yaml", parsed)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "defined twice" in messages[0] and str(old.parent) not in messages[0]
    assert str(broken / "municipalities" / "m02.yaml") in messages[0]


def test_rule_matches_are_taken_over_only_where_names_resolve_alike(versions: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    old, new = versions
    parsed = ParsedFiles()
    segverify.load(old, parsed=parsed)
    assert segverify.load(new, parsed=parsed) == segverify.load(new)  # spans and all
    assert parsed.matches
    # A service the unchanged municipality files use changes meaning in network.yaml: their lines'
    # matches must be made again.
    other = tmp_path / "other"
    shutil.copytree(old.parent, other)
    main = other / "network.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace("  https: [tcp/443]", "  https: [tcp/443, tcp/8443]", 1),
                    encoding="utf-8")
    taken_over = segverify.load(main, parsed=parsed)
    alone = segverify.load(main)
    assert taken_over == alone
    assert taken_over != segverify.load(old)


def test_the_diff_is_the_same_with_files_taken_over(versions: tuple[Path, Path]) -> None:
    old, new = versions
    alone = diff(segverify.load(old), segverify.load(new), today=TODAY)
    parsed = ParsedFiles()
    shared = diff(segverify.load(old, parsed=parsed), segverify.load(new, parsed=parsed), today=TODAY)
    assert parsed.reused == 2
    assert json.dumps(shared.to_dict(), sort_keys=True) == json.dumps(alone.to_dict(), sort_keys=True)
    assert alone.blocked  # the change is seen


# -- incremental propagation ----------------------------------------------------------------------

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
# derandomize: the same examples on every run, so CI is stable; a failure names its seed.
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


KINDS = ("insert", "remove", "flip", "replace", "insert", "flip", "route", "unfilter", "readdress", "represents")


def _one_line_change(doc: dict[str, Any], rng: random.Random, kind: str | None = None) -> str | None:
    """One ACL line inserted, removed, turned around or replaced; now and then a route removed, an
    interface's filter taken off, a host's subnet renumbered or what an external node stands for
    changed (the last two change what a source sends)."""
    lines = randomnet.acl_lines(doc)
    kind = kind or rng.choice(KINDS)
    if kind == "represents":  # what an external node sends changes: its packets all go again
        externals = [n for n, node in doc["nodes"].items() if "represents" in node]
        if externals:
            node = rng.choice(externals)
            taken = {str(doc["nodes"][n]["represents"]) for n in externals if n != node}
            options = [list(r) for r in randomnet.REPRESENTS
                       if str(list(r)) not in taken and str(r[0]) not in taken and list(r) != doc["nodes"][node]["represents"]]
            if options:
                doc["nodes"][node]["represents"] = rng.choice(options)
                return f"{node} stands for {doc['nodes'][node]['represents']}"
        kind = "insert"
    if kind == "readdress":  # what a host may send changes (its subnet's addresses): its packets all go again
        hosts = [(n, i, spec["address"]) for n, node in doc["nodes"].items() if node["kind"] in randomnet.HOST_KINDS
                 for i, spec in node["interfaces"].items() if isinstance(spec.get("address"), str)]
        if hosts:
            node, iface, address = rng.choice(hosts)
            ip = ipaddress.ip_interface(address)
            wider = ip.network.prefixlen - 1 if rng.random() < 0.5 else ip.network.prefixlen + 1
            if 24 <= wider <= 30 and ip.ip in ipaddress.ip_interface(f"{ip.ip}/{wider}").network:
                doc["nodes"][node]["interfaces"][iface]["address"] = f"{ip.ip}/{wider}"
                return f"{node} {iface} renumbered to /{wider}"
        kind = "insert"
    if kind == "route":
        routed = [n for n, node in doc["nodes"].items() if node.get("routes")]
        if routed:
            node = rng.choice(routed)
            del doc["nodes"][node]["routes"][rng.randrange(len(doc["nodes"][node]["routes"]))]
            return f"a route of {node} removed"
        kind = "insert"
    if kind == "unfilter":
        filtered = [(n, i) for n, node in doc["nodes"].items() for i, spec in node["interfaces"].items()
                    if spec.get("acl_in") or spec.get("acl_out")]
        if filtered:
            node, iface = rng.choice(filtered)
            spec = doc["nodes"][node]["interfaces"][iface]
            spec.pop("acl_in" if spec.get("acl_in") else "acl_out")
            return f"a filter of {node} {iface} taken off"
        kind = "insert"
    if kind == "insert" or not lines:
        places = randomnet.acls(doc)
        if not places:
            return None
        node, acl = rng.choice(places)
        rules = doc["nodes"][node]["acls"][acl]["rules"]
        rule = randomnet.random_rule(doc, rng.randrange(2**31), rng.choice(["permit", "deny"]))
        at = rng.randrange(len(rules) + 1)
        rules.insert(at, rule)
        return f"{rule} inserted at line {at + 1} of {node}/{acl}"
    node, acl, i = rng.choice(lines)
    rules = doc["nodes"][node]["acls"][acl]["rules"]
    if kind == "remove":
        del rules[i]
        return f"line {i + 1} of {node}/{acl} removed"
    if kind == "flip":
        rules[i]["action"] = "deny" if rules[i]["action"] == "permit" else "permit"
        return f"line {i + 1} of {node}/{acl} turned around"
    rules[i] = randomnet.random_rule(doc, rng.randrange(2**31), rules[i]["action"])
    return f"line {i + 1} of {node}/{acl} replaced by {rules[i]}"


def assert_same_propagation(full: Reachability, updated: Reachability, context: str) -> None:
    """Set by set: what each node received, from which sources, and what each state saw."""
    # One header space: equal sets are one BDD node, so dict equality compares the sets.
    assert updated.delivered.keys() == full.delivered.keys(), context
    for node, got in full.delivered.items():
        assert updated.delivered[node] == got, f"{context}: delivered at {node} differs"
        assert updated.senders(node) == full.senders(node), f"{context}: senders of {node} differ"
    assert updated.visited == full.visited, f"{context}: visited sets differ"


@SETTINGS
@given(seed=SEEDS, choice=SEEDS)
def test_an_updated_propagation_is_the_full_one(seed: int, choice: int) -> None:
    check_update(seed, choice, None)


@SETTINGS
@given(seed=SEEDS, choice=SEEDS)
def test_an_update_after_a_source_changed_is_the_full_one(seed: int, choice: int) -> None:
    check_update(seed, choice, "represents")


def check_update(seed: int, choice: int, kind: str | None) -> None:
    doc = randomnet.generate_dict(seed)
    changed = copy.deepcopy(doc)
    rng = random.Random(choice)
    described = _one_line_change(changed, rng, kind)
    assume(described is not None)
    old = segverify.loads(randomnet.dump(doc), name=f"random-{seed}.yaml")
    try:
        new = segverify.loads(randomnet.dump(changed), name=f"random-{seed}-changed.yaml")
    except InputError:  # a renumbered subnet may no longer hold its gateway: no network to compare
        assume(False)
        raise
    space = space_for(old, new)
    old_net, new_net = Network(old, shared_space=space), Network(new, shared_space=space)
    context = f"random network seed {seed} (tests/randomnet.py), {described}"
    # All sources, and a waypoint question: some nodes blocked, from some sources.
    nodes = sorted(new_net.nodes)
    blocked = frozenset(rng.sample(nodes, min(len(nodes) - 1, rng.randrange(3))))
    chosen = rng.sample(new_net.endpoints, max(1, len(new_net.endpoints) // 2))
    for question in ({}, {"blocked": blocked, "sources": chosen}):
        before = Reachability(old_net, **question)  # type: ignore[arg-type]
        full = Reachability(new_net, **question)  # type: ignore[arg-type]
        updated = Reachability(new_net, previous=before, **question)  # type: ignore[arg-type]
        if old_net.origin_ids == new_net.origin_ids:  # the same endpoints (a renumbering may add a pool)
            assert updated.repropagated is not None, f"{context}: not updated"
        assert_same_propagation(full, updated, f"{context}, {question or 'all sources'}")


def test_an_update_propagates_only_what_the_change_touches(versions: tuple[Path, Path]) -> None:
    """On the generated network with one ACL line changed: some packets are propagated again, not all."""
    old, new = (segverify.load(p) for p in versions)
    space = space_for(old, new)
    old_net, new_net = Network(old, shared_space=space), Network(new, shared_space=space)
    before = Reachability(old_net)
    updated = Reachability(new_net, previous=before)
    assert updated.repropagated is not None and updated.repropagated != space.false
    everything = space.false
    for name in new_net.endpoints:
        everything |= new_net.origin_headers(name)
    assert everything & ~space.identities(updated.repropagated) != space.false  # not everything again
    assert_same_propagation(Reachability(new_net), updated, "one ACL line changed")
    # The same network again: nothing is propagated again.
    same = Reachability(old_net, previous=before)
    assert same.repropagated == space.false
    assert_same_propagation(before, same, "no change")


def test_versions_that_cannot_be_compared_are_propagated_in_full() -> None:
    """Different endpoints (other origin ids): the previous answer is not used."""
    doc = randomnet.generate_dict(11)
    old = segverify.loads(randomnet.dump(doc), name="a.yaml")
    changed = copy.deepcopy(doc)
    host = next(n for n, spec in changed["nodes"].items() if spec["kind"] in randomnet.HOST_KINDS)
    changed["nodes"][host + "x"] = changed["nodes"].pop(host)
    for link in changed.get("links", []):
        if isinstance(link, list):
            link[:] = [e.replace(host + ":", host + "x:") if isinstance(e, str) else e for e in link]
    new = segverify.loads(randomnet.dump(changed), name="b.yaml") if _loads(changed) else old
    space = space_for(old, new)
    old_net, new_net = Network(old, shared_space=space), Network(new, shared_space=space)
    updated = Reachability(new_net, previous=Reachability(old_net))
    if old_net.origin_ids != new_net.origin_ids:
        assert updated.repropagated is None
    assert_same_propagation(Reachability(new_net), updated, "renamed host")


def _loads(doc: dict[str, Any]) -> bool:
    try:
        segverify.loads(randomnet.dump(doc), name="b.yaml")
    except InputError:
        return False
    return True


class _Forgetful(dict):  # type: ignore[type-arg]
    """A cache that keeps nothing: every answer computed afresh."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def _reference_diff(old: Any, new: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The diff with nothing reused: the new version propagated from nothing, no answer kept."""
    def fresh_space(*topologies: Any) -> HeaderSpace:
        space = space_for(*topologies)
        space.groups_cache = _Forgetful()
        space.shadowed_cache = _Forgetful()
        return space

    with monkeypatch.context() as patch:
        patch.setattr(changes, "space_for", fresh_space)
        return diff(old, new, today=TODAY, incremental=False)


def _pairs() -> list[tuple[Path, Path]]:
    names = {p: segverify.load(p).name for p in REFERENCE}
    out = []
    for broken in BROKEN:
        name = segverify.load(broken).name
        base = [r for r in REFERENCE if name.startswith(names[r])]
        out += [(base[0], broken), (broken, base[0])]
    return out


@pytest.mark.parametrize("old_path,new_path", _pairs(), ids=lambda p: p.stem)
def test_diff_output_is_byte_identical_to_the_reference_path(old_path: Path, new_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = segverify.load(old_path), segverify.load(new_path)
    fast = json.dumps(diff(old, new, today=TODAY).to_dict(), ensure_ascii=False, indent=2)
    assert fast == json.dumps(_reference_diff(old, new, monkeypatch).to_dict(), ensure_ascii=False, indent=2)


def test_generated_diff_is_byte_identical_to_the_reference_path(versions: tuple[Path, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = ParsedFiles()
    old, new = segverify.load(versions[0], parsed=parsed), segverify.load(versions[1], parsed=parsed)
    fast = diff(old, new, today=TODAY).to_dict()
    reference = _reference_diff(segverify.load(versions[0]), segverify.load(versions[1]), monkeypatch).to_dict()
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(reference, ensure_ascii=False)

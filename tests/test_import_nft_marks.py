"""nftables: source NAT carried on a packet mark (a forward rule sets ``meta mark set X`` and
accepts, postrouting translates ``meta mark X snat to POOL``) is read as the policy line's own NAT
when it can be followed exactly, and reported as not verified, with the reason, when it cannot.

The rule sets are written in the JSON of ``nft -j list ruleset`` (nft 1.0.6 prints these shapes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import segverify
from segverify.importers import NoteKind, load_snapshot
from test_import_linux_fib import OVERLAY

Expr = dict[str, Any]
MARK = {"meta": {"key": "mark"}}


def _is(left: Any, right: Any, op: str = "==") -> Expr:
    return {"match": {"op": op, "left": left, "right": right}}


def _meta(key: str, value: Any) -> Expr:
    return _is({"meta": {"key": key}}, value)


def _ip(field: str, value: Any) -> Expr:
    return _is({"payload": {"protocol": "ip", "field": field}}, value)


def _set_mark(value: Any) -> Expr:
    return {"mangle": {"key": MARK, "value": value}}


def _snat(first: str, last: str, ports: tuple[int, int] | None = None, **options: Any) -> Expr:
    body: dict[str, Any] = {"addr": {"range": [first, last]}}
    if ports is not None:
        body["port"] = {"range": list(ports)}
    return {"snat": {**body, **options}}


PORTED = _ip("protocol", {"set": ["tcp", "udp", "sctp"]})
LAN_TO_UP = [_meta("iifname", "eth0"), _meta("oifname", "eth1"), _ip("saddr", {"prefix": {"addr": "10.1.0.0", "len": 24}})]
MARKING_LINE = [*LAN_TO_UP, _set_mark(0x10), {"accept": None}]
NAT_PORTED = [_is(MARK, 0x10), PORTED, _snat("10.2.0.100", "10.2.0.101", (2000, 3000))]
NAT_REST = [_is(MARK, 0x10), _snat("10.2.0.100", "10.2.0.101")]
# name: (hook, type, priority, policy); a regular chain (no hook) is named by a rule's jump
CHAINS = {"fwd": ("forward", "filter", 0, "drop"), "post": ("postrouting", "nat", 100, "accept"),
          "pre": ("prerouting", "filter", -150, "accept"), "lan": None}


def _ruleset(rules: list[tuple[str, list[Expr]]]) -> str:
    items: list[dict[str, Any]] = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
                                   {"table": {"family": "ip", "name": "t", "handle": 1}}]
    for handle, (name, base) in enumerate(CHAINS.items(), start=1):
        chain: dict[str, Any] = {"family": "ip", "table": "t", "name": name, "handle": handle}
        if base is not None:
            chain.update(zip(("hook", "type", "prio", "policy"), base))
        items.append({"chain": chain})
    for handle, (chain, expr) in enumerate(rules, start=10):
        items.append({"rule": {"family": "ip", "table": "t", "chain": chain, "handle": handle, "expr": expr}})
    return json.dumps({"nftables": items})


def _import(tmp_path: Path, rules: list[tuple[str, list[Expr]]]) -> tuple[dict[str, Any], list[str]]:
    root = tmp_path / "snap"
    host = root / "hosts" / "fw"
    host.mkdir(parents=True)
    addr = [{"ifname": n, "flags": ["UP"], "addr_info": [{"family": "inet", "local": a, "prefixlen": 24}]}
            for n, a in (("eth0", "10.1.0.1"), ("eth1", "10.2.0.1"))]
    (host / "addr.json").write_text(json.dumps(addr))
    (host / "nft.json").write_text(_ruleset(rules))
    (host / "ip_forward").write_text("1\n")
    (root / "segverify.yaml").write_text(OVERLAY)
    imported = load_snapshot(root)
    segverify.load(root)  # the model builds from it
    notes = [f"{n.kind.value}: {n.message}" for n in imported.notes.sorted() if n.kind is NoteKind.NOT_VERIFIED]
    return imported.doc.data["nodes"]["fw"], notes


def test_a_mark_set_by_a_forward_line_and_translated_in_postrouting_is_the_lines_nat(tmp_path: Path) -> None:
    node, notes = _import(tmp_path, [("fwd", MARKING_LINE), ("fwd", [*LAN_TO_UP, {"accept": None}]),
                                     ("post", NAT_PORTED), ("post", NAT_REST),
                                     ("post", [_meta("oifname", "eth1"), {"masquerade": None}])])
    first, second = node["policies"]["rules"][:2]
    assert first == {"action": "permit", "src": "10.1.0.0/24", "from": ["eth0"], "to": ["eth1"],
                     "snat": {"to": "10.2.0.100-10.2.0.101", "ports": "2000-3000"}}
    assert "snat" not in second  # it sets no mark: the interface's own NAT (the masquerade) takes it
    assert node["nat"] == [{"type": "source", "out": "eth1", "to": "10.2.0.1", "ports": "keep"}]
    assert notes == []
    topology = segverify.load(tmp_path / "snap")
    (line,) = [ln for ln in topology.nodes["fw"].policy.lines if ln.snat is not None]
    assert line.snat.pool == (segverify.model.IPv4Address("10.2.0.100"), segverify.model.IPv4Address("10.2.0.101"))


def test_without_a_port_range_the_ports_are_kept(tmp_path: Path) -> None:
    node, notes = _import(tmp_path, [("fwd", MARKING_LINE), ("post", NAT_REST)])
    assert node["policies"]["rules"][0]["snat"] == {"to": "10.2.0.100-10.2.0.101", "ports": "keep"}
    assert notes == []


def test_marks_are_followed_through_a_jump_and_one_mark_may_be_set_by_several_lines(tmp_path: Path) -> None:
    node, notes = _import(tmp_path, [("fwd", [_meta("iifname", "eth0"), {"jump": {"target": "lan"}}]),
                                     ("lan", [_ip("saddr", "10.1.0.5"), _set_mark(0x10), {"accept": None}]),
                                     ("lan", [_ip("saddr", "10.1.0.6"), _set_mark(0x10), {"accept": None}]),
                                     ("post", NAT_REST)])
    snats = [r.get("snat") for r in node["policies"]["rules"]]
    assert snats == [{"to": "10.2.0.100-10.2.0.101", "ports": "keep"}] * 2
    assert notes == []


# Each variant keeps the marking line and its NAT but adds or changes one thing the import cannot
# follow exactly: the NAT is then not verified (left out, as before) with the reason, never dropped.
UNFOLLOWED = {
    "set in another hook": ([("pre", [_ip("saddr", "10.1.0.9"), _set_mark(0x10)]), ("fwd", MARKING_LINE),
                             ("post", NAT_REST)], "it is also set at"),
    "set from an expression": ([("fwd", [_set_mark({"ct": {"key": "mark"}})]), ("fwd", MARKING_LINE),
                                ("post", NAT_REST)], "meta mark set from an expression"),
    "set with a mask": ([("fwd", [_set_mark({"|": [MARK, 16]}), {"accept": None}]), ("fwd", MARKING_LINE),
                         ("post", NAT_REST)], "meta mark set from an expression"),
    "an unknown statement": ([("fwd", [{"xt": {"type": "target", "name": "MARK"}}]), ("fwd", MARKING_LINE),
                              ("post", NAT_REST)], "'xt' statement"),
    "set by a rule that goes on": ([("fwd", [*LAN_TO_UP, _set_mark(0x10)]), ("fwd", [*LAN_TO_UP, {"accept": None}]),
                                    ("post", NAT_REST)], "goes on to later rules"),
    "set by a widened line": ([("fwd", [*LAN_TO_UP, {"limit": {"rate": 10, "per": "second"}}, _set_mark(0x10),
                                        {"accept": None}]), ("post", NAT_REST)], "is widened"),
    "after another NAT rule": ([("fwd", MARKING_LINE), ("post", [_meta("oifname", "eth1"), {"masquerade": None}]),
                                ("post", NAT_REST)], "comes after NAT rules"),
    "masquerade on the mark": ([("fwd", MARKING_LINE), ("post", [_is(MARK, 0x10), {"masquerade": None}])],
                               "masquerade"),
    "with more conditions": ([("fwd", MARKING_LINE), ("post", [_is(MARK, 0x10), _meta("oifname", "eth1"),
                                                               *NAT_REST[1:]])], "more than the mark"),
    "set by no rule": ([("fwd", [*LAN_TO_UP, {"accept": None}]), ("post", NAT_REST)], "no rule of this rule set"),
    "some protocols untranslated": ([("fwd", MARKING_LINE), ("post", NAT_PORTED)], "some protocols"),
    "protocols to different pools": ([("fwd", MARKING_LINE), ("post", NAT_PORTED),
                                      ("post", [_is(MARK, 0x10), _snat("10.2.0.200", "10.2.0.200")])],
                                     "different addresses"),
    "NAT options": ([("fwd", MARKING_LINE), ("post", [*NAT_REST[:1], _snat("10.2.0.100", "10.2.0.101",
                                                                           flags="random")])], "NAT options"),
    "mark 0": ([("fwd", [*LAN_TO_UP, _set_mark(0), {"accept": None}]), ("post", [_is(MARK, 0), *NAT_REST[1:]])],
               "unmarked packet"),
}


@pytest.mark.parametrize("name", sorted(UNFOLLOWED))
def test_a_mark_the_import_cannot_follow_leaves_its_nat_not_verified(tmp_path: Path, name: str) -> None:
    rules, reason = UNFOLLOWED[name]
    node, notes = _import(tmp_path, rules)
    assert not any("snat" in r for r in node["policies"]["rules"])
    marked = [n for n in notes if "NAT conditioned on a packet mark" in n]
    assert marked and all(reason in n for n in marked), notes
    assert not [r for r in node.get("nat", []) if "10.2.0.10" in r["to"]]  # nor is the pool anywhere else


@pytest.mark.parametrize("test", [_is({"&": [MARK, 255]}, 0x10), _is(MARK, {"set": [0x10, 0x20]}),
                                  _is(MARK, 0x10, "!="), _is({"ct": {"key": "mark"}}, 0x10)],
                         ids=["masked", "a set of marks", "not the mark", "ct mark"])
def test_nat_on_a_mark_test_other_than_equality_is_not_verified(tmp_path: Path, test: Expr) -> None:
    node, notes = _import(tmp_path, [("fwd", MARKING_LINE), ("post", [test, *NAT_REST[1:]])])
    assert not any("snat" in r for r in node["policies"]["rules"])
    assert any("NAT conditioned on matches the model's NAT rules cannot express" in n for n in notes), notes


CT_MARK = {"ct": {"key": "mark"}}
TWICE_DNAT = [_meta("iifname", "eth0"), _ip("saddr", "10.1.0.10"), _ip("daddr", "10.1.0.250"),
              {"mangle": {"key": CT_MARK, "value": 0x101}}, {"dnat": {"addr": "10.2.0.5"}}]
TWICE_SNAT = [_is(CT_MARK, 0x101), {"snat": {"addr": "10.2.0.250"}}]


def _with_nat_prerouting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CHAINS, "prenat", ("prerouting", "nat", -100, "accept"))


def test_a_dnat_that_marks_its_connection_and_an_snat_on_the_mark_are_one_twice_rule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """How the emulator writes a twice rule, and how nftables can: read back as the twice rule (only
    the DNAT's packets take the SNAT's source), the SNAT rule inside it."""
    _with_nat_prerouting(monkeypatch)
    node, notes = _import(tmp_path, [("prenat", TWICE_DNAT), ("post", TWICE_SNAT), ("fwd", MARKING_LINE),
                                     ("post", NAT_REST)])
    assert node["nat"] == [{"type": "twice", "in": "eth0", "to_dst": "10.2.0.5", "to_src": "10.2.0.250",
                            "src": "10.1.0.10/32", "dst": "10.1.0.250/32"}]
    assert node["policies"]["rules"][0]["snat"] == {"to": "10.2.0.100-10.2.0.101", "ports": "keep"}
    assert notes == []


@pytest.mark.parametrize("variant", ["set twice", "snat with ports", "after another NAT rule", "set elsewhere"])
def test_a_twice_nat_the_import_cannot_follow_is_the_dnat_alone_and_the_snat_not_verified(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    _with_nat_prerouting(monkeypatch)
    rules: list[tuple[str, list[Expr]]] = [("prenat", TWICE_DNAT), ("post", TWICE_SNAT)]
    if variant == "set twice":
        rules.append(("prenat", [*TWICE_DNAT[:1], _ip("daddr", "10.1.0.251"), *TWICE_DNAT[3:]]))
    elif variant == "snat with ports":
        rules[1] = ("post", [TWICE_SNAT[0], {"snat": {"addr": "10.2.0.250", "port": {"range": [2000, 3000]}}}])
    elif variant == "after another NAT rule":
        rules.insert(1, ("post", [_meta("oifname", "eth1"), {"masquerade": None}]))
    else:
        rules.append(("fwd", [{"mangle": {"key": CT_MARK, "value": 0x101}}]))
    node, notes = _import(tmp_path, rules)
    assert not [r for r in node["nat"] if r["type"] == "twice"]
    assert {"type": "destination", "in": "eth0", "to": "10.2.0.5", "src": "10.1.0.10/32",
            "dst": "10.1.0.250/32"} in node["nat"]
    assert any("NAT conditioned on matches the model's NAT rules cannot express" in n for n in notes), notes


def test_nat_on_a_conntrack_mark_first_leaves_the_marked_lines_nat_readable(tmp_path: Path) -> None:
    """A NAT rule on a ct mark alone (how a twice rule's source half is rendered) applies only to
    connections marked before: it is not verified itself, and the packet-mark NAT after it is still
    the policy line's."""
    ct_nat = [_is({"ct": {"key": "mark"}}, 0x101), {"snat": {"addr": "10.2.0.9"}}]
    node, notes = _import(tmp_path, [("fwd", MARKING_LINE), ("post", ct_nat), ("post", NAT_REST)])
    assert node["policies"]["rules"][0]["snat"] == {"to": "10.2.0.100-10.2.0.101", "ports": "keep"}
    assert any("NAT conditioned on matches the model's NAT rules cannot express" in n for n in notes), notes
    assert not [n for n in notes if "packet mark" in n]


def test_a_stateless_rewrite_of_an_address_is_not_verified(tmp_path: Path) -> None:
    rewrite = {"mangle": {"key": {"payload": {"protocol": "ip", "field": "saddr"}}, "value": "10.2.0.9"}}
    _, notes = _import(tmp_path, [("fwd", [*LAN_TO_UP, rewrite, {"accept": None}])])
    assert any("rewrites a header field in place" in n for n in notes), notes
    dscp = {"mangle": {"key": {"payload": {"protocol": "ip", "field": "dscp"}}, "value": "cs1"}}
    _, notes = _import(tmp_path / "2", [("fwd", [*LAN_TO_UP, dscp, {"accept": None}])])
    assert notes == []  # a field the model does not follow


@pytest.mark.parametrize("indent", [None, 2], ids=["one line, as nft -j prints it", "pretty-printed (jq .)"])
def test_a_note_cites_the_rules_own_place_and_handle(tmp_path: Path, indent: int | None) -> None:
    """`nft -j` prints the whole rule set on one line: a note cites the column where the rule's
    object starts (line and column when the JSON is pretty-printed) and names the rule as
    `nft -a list ruleset` does, by table, chain and handle."""
    widened = [*LAN_TO_UP, {"limit": {"rate": 10, "per": "second"}}, {"accept": None}]
    text = json.dumps(json.loads(_ruleset([("fwd", MARKING_LINE), ("fwd", widened)])), indent=indent)
    root = tmp_path / "snap"
    (root / "hosts" / "fw").mkdir(parents=True)
    (root / "hosts" / "fw" / "nft.json").write_text(text)
    (root / "hosts" / "fw" / "addr.json").write_text(json.dumps(
        [{"ifname": n, "flags": ["UP"], "addr_info": [{"family": "inet", "local": a, "prefixlen": 24}]}
         for n, a in (("eth0", "10.1.0.1"), ("eth1", "10.2.0.1"))]))
    (root / "segverify.yaml").write_text(OVERLAY)
    (note,) = [n for n in load_snapshot(root).notes.sorted() if "limit" in n.message]
    offset = text.index('{"rule": {"family": "ip", "table": "t", "chain": "fwd", "handle": 11' if indent is None
                        else '{\n      "rule": {\n        "family": "ip",\n        "table": "t",\n        "chain": "fwd",\n'
                             '        "handle": 11')
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    assert (note.span.line, note.span.column) == (line, column)
    assert (line == 1) is (indent is None) and column > 1
    assert note.text.startswith("table ip t chain fwd rule handle 11: ")


def test_json_positions_give_line_and_column_of_every_value() -> None:
    from segverify.importers.files import json_positions, json_spans

    text = '{"a": [1, {"b": "x y"}],\n  "c": null}'
    assert json_positions(text) == {(): (1, 1), ("a",): (1, 7), ("a", 0): (1, 8), ("a", 1): (1, 11),
                                    ("a", 1, "b"): (1, 17), ("c",): (2, 8)}
    assert json_spans(text) == {path: line for path, (line, _) in json_positions(text).items()}


def test_an_accept_in_the_nat_chain_is_not_verified(tmp_path: Path) -> None:
    exempt = [_meta("oifname", "eth1"), _ip("daddr", {"prefix": {"addr": "10.9.0.0", "len": 16}}), {"accept": None}]
    _, notes = _import(tmp_path, [("post", exempt), ("post", [_meta("oifname", "eth1"), {"masquerade": None}])])
    assert any("accept in a NAT chain" in n for n in notes), notes

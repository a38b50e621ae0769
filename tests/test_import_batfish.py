"""Batfish's example network, imported, against Batfish's own reference answers (corpus batfish-example).

Every disagreement with an answer is asserted here exactly (not tolerated in bulk) and explained in
docs/import.md, section "Batfish's example network".
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

import segverify
from corpora import corpus, snapshot_of
from segverify.headers import Packet
from segverify.importers import load_snapshot
from segverify.network import Network
from segverify.trace import Outcome, trace

OVERLAY = Path(__file__).parent / "data" / "import" / "batfish-example-overlay.yaml"


def _snapshot(tmp_path: Path, which: str) -> Path:
    root = corpus("batfish-example")
    parts = {d: root / which / d for d in ("configs", "hosts", "iptables")}
    parts["fib/routes.json"] = root / "answers" / "routes.ref"
    parts["segverify.yaml"] = OVERLAY
    return snapshot_of(tmp_path / which, parts)


def _answer(name: str) -> object:
    return json.loads((corpus("batfish-example") / "answers" / name).read_text())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _snapshot(tmp_path_factory.mktemp("bf"), "live")


@pytest.fixture(scope="module")
def network(live: Path) -> Network:
    return Network(segverify.load(live))


def test_layer3_adjacencies_match_topology_ref(live: Path) -> None:
    ref = _answer("topology.ref")
    assert isinstance(ref, dict)
    theirs = set()
    for link in ref["links"]:
        a, b = (x.removeprefix("interface-node-") for x in (link["srcId"], link["dstId"]))
        theirs.add(frozenset((a.replace("-", ":", 1), b.replace("-", ":", 1))))
    topo = segverify.load(live)
    ours = set()
    same_node = []
    for lan in topo.lans:
        ends = [f"{n}:{i}" for n, i in lan.endpoints if topo.nodes[n].pool is None]
        for i, a in enumerate(ends):
            for b in ends[i + 1:]:
                if a.split(":")[0] == b.split(":")[0]:
                    same_node.append(frozenset((a, b)))
                else:
                    ours.add(frozenset((a, b)))
    assert ours == theirs
    assert len(theirs) == 19
    # Neither links two interfaces of one node (as3core1's Gi2/0 and Gi3/0 share 90.90.90.0/24 with
    # nobody else: each is a stub, docs/import.md).
    assert same_node == []


def test_routes_match_routes_ref(network: Network) -> None:
    ref = _answer("routes.ref")
    assert isinstance(ref, list)
    expected: dict[str, set[str]] = {}
    for row in ref[0]["rows"]:
        node, prefix, protocol = row["Node"]["name"], row["Network"], row["Protocol"]
        if protocol == "local" or protocol == "connected" and IPv4Network(prefix).prefixlen == 32:
            continue  # the device's own addresses: segverify delivers to them without a route
        expected.setdefault(node, set()).add(prefix)
    ours = {name: {str(e.prefix) for e in compiled.fib} for name, compiled in network.nodes.items()}
    for name in expected:
        missing = expected[name] - ours.get(name, set())
        extra = ours.get(name, set()) - expected[name]
        assert not missing and not extra, (name, sorted(missing), sorted(extra))
    assert sum(len(v) for v in expected.values()) == 214  # every non-local row of routes.ref, compared


def _batfish_paths(name: str) -> tuple[list[tuple[str, ...]], set[str]]:
    """Batfish's traces as hop sequences (node, interface in, interface out), and their dispositions."""
    ref = _answer(name)
    assert isinstance(ref, list)
    paths, dispositions = [], set()
    for row in ref[0]["rows"]:
        for tr in row["Traces"]:
            hops = []
            for h in tr["hops"]:
                enter = [s["detail"]["inputInterface"]["interface"] for s in h["steps"]
                         if s["type"] == "EnterInputInterface"]
                leave = [s["detail"]["outputInterface"]["interface"] for s in h["steps"]
                         if s["type"] == "ExitOutputInterface"]
                hops.append((h["node"]["name"], enter[0] if enter else None, leave[0] if leave else None))
            paths.append(tuple(hops))
            dispositions.add(tr["disposition"])
    return sorted(paths, key=str), dispositions


def _our_paths(paths: list) -> list[tuple[tuple[str, str | None, str | None], ...]]:
    return sorted((tuple((h.node, h.in_iface, h.out_iface) for h in p.hops) for p in paths), key=str)


def test_traceroute_host2_to_as1border1(network: Network) -> None:
    paths, dispositions = _batfish_paths("traceroute-2-1.ref")
    ours = trace(network, "host2", Packet(IPv4Address("2.128.1.101"), IPv4Address("1.0.1.1"), 17, 49152, 33434))
    assert _our_paths(ours) == paths  # hop by hop, interface in and out
    assert len(paths) == 4 and dispositions == {"ACCEPTED"}
    assert {p.outcome for p in ours} == {Outcome.DELIVERED}


def test_traceroute_as1core1_to_host1(network: Network) -> None:
    """@enter(as1core1): Batfish starts the flow at each interface of as1core1, one row each."""
    paths, dispositions = _batfish_paths("traceroute-1-2.ref")
    ref = _answer("traceroute-1-2.ref")
    assert isinstance(ref, list)
    entries = sorted(row["Flow"]["ingressInterface"] for row in ref[0]["rows"])
    assert entries == ["GigabitEthernet0/0", "GigabitEthernet1/0"]
    ours = []
    for entry in entries:
        ours += trace(network, "as1core1", Packet(IPv4Address("1.0.2.3"), IPv4Address("2.128.0.101"), 17, 49152,
                                                  33434), entering=entry)
    assert _our_paths(ours) == paths
    assert len(paths) == 8 and dispositions == {"DENIED_IN"}
    # Batfish's DENIED_IN at host1 is its INPUT chain, which segverify models as host1's local policy
    assert {p.outcome for p in ours} == {Outcome.DENIED_POLICY}
    deciding = {(p.hops[-1].policy.span.file.rsplit("/", 1)[-1], p.hops[-1].policy.span.line)
                for p in ours if p.hops[-1].policy}
    assert deciding == {("host1.iptables", 12)}  # ":INPUT DROP"


def test_unreachable_acl_lines_match_filter_line_reachability(live: Path) -> None:
    ref = _answer("filterLineReachability.ref")
    assert isinstance(ref, list)
    theirs = {(row["Sources"][0].split(": ")[0], row["Sources"][0].split(": ")[1], " ".join(row["Unreachable_Line"]
               .split())) for row in ref[0]["rows"]}
    report = segverify.verify(segverify.load(live))
    ours = set()
    for finding in report.findings:
        if finding.rule == "HYG001":
            subject = dict(finding.subject)
            line = Path(finding.location.file).read_text().splitlines()[finding.location.line - 1]
            ours.add((subject["node"], subject["acl"], " ".join(line.split())))
    assert ours == theirs


def test_duplicate_addresses_match_unique_ip_assignments(live: Path) -> None:
    ref = _answer("uniqueIpAssignments.ref")
    assert isinstance(ref, list)
    theirs = set(ref[0]["duplicateIps"])
    imported = load_snapshot(live)
    ours = {n.message.split()[2].rstrip(":") for n in imported.notes.items if n.message.startswith("duplicate address")}
    assert ours == theirs == {"2.1.1.2"}


def test_candidate_differs_only_by_the_two_outbound_acls(tmp_path: Path) -> None:
    old = segverify.load(_snapshot(tmp_path, "live"))
    new = segverify.load(_snapshot(tmp_path, "candidate"))
    changed = []
    for name, node in new.nodes.items():
        for iface in node.interfaces:
            before = old.nodes[name].interface(iface.name)
            if (before.acl_in, before.acl_out) != (iface.acl_in, iface.acl_out):
                changed.append((name, iface.name, iface.acl_out))
    assert sorted(changed) == [("as2dept1", "GigabitEthernet2/0", "RESTRICT_HOST_TRAFFIC_IN"),
                               ("as2dept1", "GigabitEthernet3/0", "RESTRICT_HOST_TRAFFIC_OUT")]
    result = segverify.diff(old, new)
    assert result is not None


def test_without_fib_the_dynamic_routing_is_an_error(tmp_path: Path) -> None:
    root = corpus("batfish-example")
    snap = snapshot_of(tmp_path / "s", {"configs": root / "live" / "configs", "segverify.yaml": OVERLAY})
    with pytest.raises(segverify.InputError) as info:
        segverify.load(snap)
    assert "routes dynamically (router ospf 1)" in str(info.value)
    assert "as1border1.cfg:70" in str(info.value)

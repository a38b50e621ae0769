"""Cisco IOS import: each construct, the notes for what is not modelled, errors with file:line, the overlay."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address
from pathlib import Path

import pytest

import segverify
from segverify.headers import Packet
from segverify.importers import NoteKind, load_snapshot
from segverify.network import Network
from segverify.trace import Outcome, trace

OVERLAY = """\
segverify: 1
name: test
profile: alpha
zones:
  inside: {segment: lgwan, subnets: [10.1.0.0/16]}
  outside: {segment: internet}
default_zone: outside
"""

R1 = """\
hostname r1
!
object-group network WEB
 host 10.2.0.80
 10.2.1.0 255.255.255.0
 group-object MORE
object-group network MORE
 range 10.2.2.1 10.2.2.2
object-group service WEBPORTS
 tcp eq www 443
 udp range 5000 5001
!
interface GigabitEthernet0/0
 description to the LAN
 ip address 10.1.0.1 255.255.255.0
 ip address 10.1.9.1 255.255.255.0 secondary
 ip access-group FROM_LAN in
 standby 1 ip 10.1.0.254
 standby 1 priority 110
!
interface GigabitEthernet0/1
 ip address 10.2.0.1 255.255.0.0
 ip access-group 110 out
 ip nat outside
!
interface GigabitEthernet0/2
 no ip address
 shutdown
!
interface GigabitEthernet0/3
 ip address 192.0.2.1 255.255.255.252
 ip policy route-map DIVERT
 frobnicate 12
!
ip access-list extended FROM_LAN
 remark web only
 permit tcp 10.1.0.0 0.0.0.255 object-group WEB eq 443
 permit object-group WEBPORTS any object-group WEB
 deny   icmp any any echo
 permit tcp any any established
 10 deny ip any any log
!
access-list 110 permit ip 10.1.0.0 0.0.255.0 any
access-list 110 deny ip any any
ip route 0.0.0.0 0.0.0.0 10.2.0.2
ip route 10.99.0.0 255.255.0.0 Null0
ip route 10.98.0.0 255.255.0.0 10.2.0.3 200
zone security INSIDE
some-unknown-command here
"""

R2 = """\
hostname r2
interface GigabitEthernet0/0
 ip address 10.1.0.2 255.255.255.0
 standby 1 ip 10.1.0.254
interface GigabitEthernet0/1
 ip address 10.2.0.2 255.255.0.0
"""


def line_of(text: str, needle: str) -> int:
    """1-based number of the line of ``text`` that contains ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def snapshot(tmp_path: Path, configs: dict[str, str], overlay: str | None = OVERLAY, **files: str) -> Path:
    root = tmp_path / "snap"
    (root / "configs").mkdir(parents=True)
    for name, text in configs.items():
        (root / "configs" / f"{name}.cfg").write_text(textwrap.dedent(text))
    if overlay is not None:
        (root / "segverify.yaml").write_text(overlay)
    for rel, text in files.items():
        path = root / rel.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_ios_constructs(tmp_path: Path) -> None:
    root = snapshot(tmp_path, {"r1": R1, "r2": R2})
    imported = load_snapshot(root)
    r1 = imported.doc.data["nodes"]["r1"]
    assert set(r1["interfaces"]) == {"GigabitEthernet0/0", "GigabitEthernet0/1", "GigabitEthernet0/3"}  # 0/2 is shut
    assert r1["interfaces"]["GigabitEthernet0/0"]["secondary"] == ["10.1.9.1/24"]
    assert r1["interfaces"]["GigabitEthernet0/0"]["virtual"] == ["10.1.0.254"]  # r1 has priority 110
    assert "virtual" not in imported.doc.data["nodes"]["r2"]["interfaces"]["GigabitEthernet0/0"]
    assert r1["interfaces"]["GigabitEthernet0/0"]["zone"] == "inside"
    assert r1["interfaces"]["GigabitEthernet0/3"]["zone"] == "outside"
    rules = r1["acls"]["FROM_LAN"]["rules"]
    assert rules[0] == {"action": "permit", "proto": "tcp", "src": "10.1.0.0/24",
                        "dst": ["10.2.0.80/32", "10.2.1.0/24", "10.2.2.1/32", "10.2.2.2/32"], "dport": "443",
                        "description": "web only"}
    assert rules[1]["service"] == ["tcp/80", "tcp/443", "udp/5000-5001"]
    assert rules[2] == {"action": "deny", "service": "icmp/8"}
    assert rules[3] == {"action": "permit", "proto": "tcp", "established": True}
    assert rules[4] == {"action": "deny"}
    assert r1["acls"]["110"]["rules"][0]["src"] == "10.1.0.0 0.0.255.0"  # a non-contiguous wildcard, kept
    assert r1["routes"] == [{"to": "0.0.0.0/0", "via": "10.2.0.2"}, {"to": "10.99.0.0/16", "drop": True},
                            {"to": "10.98.0.0/16", "via": "10.2.0.3", "distance": 200}]
    kinds = {(n.span.line, n.kind) for n in imported.notes.items}
    assert (line_of(R1, "ip policy route-map"), NoteKind.NOT_VERIFIED) in kinds
    assert (line_of(R1, "frobnicate"), NoteKind.NOT_VERIFIED) in kinds
    assert (line_of(R1, "some-unknown-command"), NoteKind.NOT_VERIFIED) in kinds
    assert any("virtual address 10.1.0.254 modelled on the active router r1" in n.message for n in imported.notes.items)
    topo = segverify.load(root)
    lan = [lan for lan in topo.lans if ("r1", "GigabitEthernet0/0") in lan.endpoints]
    devices = {e for e in lan[0].endpoints if topo.nodes[e[0]].pool is None}  # the LAN's pools of unowned addresses aside
    assert len(lan) == 1 and devices == {("r1", "GigabitEthernet0/0"), ("r2", "GigabitEthernet0/0")}
    assert topo.nodes["r1"].acls["FROM_LAN"].rules[0].span.line == line_of(R1, "eq 443")


def test_trace_decisions_cite_vendor_lines(tmp_path: Path) -> None:
    net = Network(segverify.load(snapshot(tmp_path, {"r1": R1, "r2": R2})))
    paths = trace(net, "r1", Packet(IPv4Address("10.1.0.5"), IPv4Address("10.2.0.80"), 6, 40000, 443),
                  entering="GigabitEthernet0/0")
    assert [p.outcome for p in paths] == [Outcome.DENIED_OUT]
    hop = paths[0].hops[0]
    assert hop.acl_in is not None and hop.acl_in.span.line == line_of(R1, "eq 443")
    # 110 permits 10.1.X.0 only (wildcard 0.0.255.0): 10.1.0.5 meets its explicit deny
    assert hop.acl_out is not None and hop.acl_out.span.line == line_of(R1, "access-list 110 deny")
    assert hop.acl_out.span.file.endswith("configs/r1.cfg")


def test_nat_static_and_overload(tmp_path: Path) -> None:
    config = """\
    hostname nat1
    interface Gi0/0
     ip address 10.1.0.1 255.255.255.0
     ip nat inside
    interface Gi0/1
     ip address 203.0.113.1 255.255.255.0
     ip nat outside
    access-list 1 permit 10.1.0.0 0.0.0.255
    ip nat inside source list 1 interface Gi0/1 overload
    ip nat inside source static 10.1.0.10 203.0.113.10
    ip nat inside source static tcp 10.1.0.11 80 203.0.113.11 8080
    """
    imported = load_snapshot(snapshot(tmp_path, {"nat1": config}))
    nat = imported.doc.data["nodes"]["nat1"]["nat"]
    assert nat == [{"type": "source", "out": "Gi0/1", "to": "203.0.113.1", "src": "10.1.0.0/24"},
                   {"type": "static", "out": "Gi0/1", "inside": "10.1.0.10", "outside": "203.0.113.10"},
                   {"type": "static", "out": "Gi0/1", "inside": "10.1.0.11", "outside": "203.0.113.11"}]
    assert any(n.kind is NoteKind.OVER_APPROXIMATED and n.span.line == 11 and "with ports" in n.message
               for n in imported.notes.items)


def test_nat_outside_source_static_is_each_address_on_its_own(tmp_path: Path) -> None:
    """IOS twice NAT is two static translations, each for every host: the inside one and the
    outside one (the partner 192.0.2.5 seen from the inside as 10.0.9.5), as two static rules."""
    config = """\
    hostname nat1
    interface Gi0/0
     ip address 10.0.1.1 255.255.255.0
     ip nat inside
    interface Gi0/1
     ip address 198.51.100.1 255.255.255.248
     ip nat outside
    ip route 0.0.0.0 0.0.0.0 198.51.100.2
    ip nat inside source static 10.0.1.10 198.51.100.5
    ip nat outside source static 192.0.2.5 10.0.9.5 add-route
    ip nat outside source static 192.0.2.6 10.0.9.6
    ip nat outside source list 5 pool P
    """
    imported = load_snapshot(snapshot(tmp_path, {"nat1": config}))
    nat = imported.doc.data["nodes"]["nat1"]["nat"]
    assert nat == [{"type": "static", "out": "Gi0/1", "inside": "10.0.1.10", "outside": "198.51.100.5"},
                   {"type": "static", "out": "Gi0/0", "inside": "192.0.2.5", "outside": "10.0.9.5"},
                   {"type": "static", "out": "Gi0/0", "inside": "192.0.2.6", "outside": "10.0.9.6"}]
    notes = [(n.span.line, n.kind) for n in imported.notes.items]
    assert (11, NoteKind.OVER_APPROXIMATED) in notes and (10, NoteKind.OVER_APPROXIMATED) not in notes
    assert (12, NoteKind.NOT_VERIFIED) in notes


def test_switchports_and_cabling(tmp_path: Path) -> None:
    sw = """\
    hostname sw1
    interface Vlan10
     ip address 10.1.0.1 255.255.255.0
    interface GigabitEthernet1/0/1
     switchport mode access
     switchport access vlan 10
    interface GigabitEthernet1/0/2
     switchport mode trunk
     switchport trunk allowed vlan 10,20
    """
    r = """\
    hostname r9
    interface GigabitEthernet0/0.10
     encapsulation dot1Q 10
     ip address 10.1.0.2 255.255.255.0
    interface GigabitEthernet0/0
     no ip address
    interface GigabitEthernet0/1
     ip address 10.1.0.3 255.255.255.0
    """
    layer1 = """{"edges": [
      {"node1": {"hostname": "sw1", "interfaceName": "GigabitEthernet1/0/2"},
       "node2": {"hostname": "r9", "interfaceName": "GigabitEthernet0/0"}}]}"""
    root = snapshot(tmp_path, {"sw1": sw, "r9": r}, batfish__layer1_topology_json=layer1)
    (root / "batfish" / "layer1_topology_json").rename(root / "batfish" / "layer1_topology.json")
    topo = segverify.load(root)
    lans = {lan.name: {e for e in lan.endpoints if topo.nodes[e[0]].pool is None} for lan in topo.lans}
    joined = [e for e in lans.values() if ("sw1", "Vlan10") in e][0]
    # the trunk carries VLAN 10 to r9's subinterface; r9's Gi0/1 has the same subnet but no cable: a stub
    assert joined == {("sw1", "Vlan10"), ("r9", "GigabitEthernet0/0.10")}


def test_reused_subnet_without_cabling_is_refused(tmp_path: Path) -> None:
    a = "hostname a\ninterface e0\n ip address 10.1.0.1 255.255.255.0\n"
    b = "hostname b\ninterface e0\n ip address 10.1.0.1 255.255.255.0\n"
    c = "hostname c\ninterface e0\n ip address 10.1.0.2 255.255.255.0\n"
    with pytest.raises(segverify.InputError) as info:
        segverify.load(snapshot(tmp_path, {"a": a, "b": b, "c": c}))
    assert "give the cabling" in str(info.value) and "b.cfg:3" in str(info.value)


@pytest.mark.parametrize("overlay, message, line", [
    (OVERLAY + "nodes:\n  r3: {kind: router}\n", None, None),
    (OVERLAY + "nodes:\n  rX: {role: boundary}\n", "no configuration defines", 9),
    (OVERLAY + "nodes:\n  r3:\n    interfaces:\n      Gi9/9: {zone: inside}\n", "has no interface 'Gi9/9'", 11),
    (OVERLAY + "nodes:\n  r3:\n    interfaces:\n      Gi0/0: {address: 10.9.9.9/24}\n", "comes from its configuration", 11),
    (OVERLAY.replace("default_zone: outside\n", ""), "r3:Gi0/1 (10.3.0.1/24) has no zone", 4),
])
def test_overlay_errors_name_the_line(tmp_path: Path, overlay: str, message: str | None, line: int | None) -> None:
    r3 = "hostname r3\ninterface Gi0/0\n ip address 10.1.0.1 255.255.255.0\ninterface Gi0/1\n ip address 10.3.0.1 255.255.255.0\n"
    root = snapshot(tmp_path, {"r3": r3}, overlay)
    if message is None:
        assert segverify.load(root).nodes["r3"].kind.value == "router"
        return
    with pytest.raises(segverify.InputError) as info:
        segverify.load(root)
    assert message in str(info.value)
    assert info.value.span is not None and info.value.span.line == line


@pytest.mark.parametrize("bad, message, line", [
    ("interface Gi0/0\n ip address 10.1.0.300 255.255.255.0\n", "is not an IPv4 address", 3),
    ("interface Gi0/0\n ip address 10.1.0.1 255.0.255.0\n", "not a contiguous netmask", 3),
    ("ip access-list extended X\n permit tcp any any eq nonsense\n", "unknown port", 3),
    ("ip access-list extended X\n permit ip 10.0.0.0 any\n", "needs a wildcard mask", 3),
    ("object-group network A\n group-object B\nobject-group network B\n group-object A\n"
     "ip access-list extended X\n permit ip object-group A any\n", "cycle", 5),
    ("ip route 10.0.0.0 255.0.0.0\n", "cannot read", 2),
])
def test_config_errors_name_the_line(tmp_path: Path, bad: str, message: str, line: int) -> None:
    root = snapshot(tmp_path, {"r": "hostname r\n" + bad})
    with pytest.raises(segverify.InputError) as info:
        segverify.load(root)
    assert message in str(info.value)
    assert info.value.span is not None and info.value.span.file.endswith("r.cfg") and info.value.span.line == line


def test_import_writes_a_topology_that_loads_to_the_same_model(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from segverify.cli import cli

    root = snapshot(tmp_path, {"r1": R1, "r2": R2})
    out = tmp_path / "model.yaml"
    result = CliRunner().invoke(cli, ["import", str(root), "-o", str(out), "--report-unsupported"])
    assert result.exit_code == 0, result.output
    assert "frobnicate" in result.output and "not verified" in result.output
    text = out.read_text()
    assert f"# {root}/configs/r1.cfg:{line_of(R1, 'eq 443')}" in text
    direct, written = segverify.load(root), segverify.load(out)
    assert direct.nodes.keys() == written.nodes.keys()
    for name in direct.nodes:
        assert direct.nodes[name].acls.keys() == written.nodes[name].acls.keys()
        for acl in direct.nodes[name].acls:
            assert [r.match for r in direct.nodes[name].acls[acl].rules] == \
                [r.match for r in written.nodes[name].acls[acl].rules]
        assert [i.address for i in direct.nodes[name].interfaces] == [i.address for i in written.nodes[name].interfaces]
        assert [(r.prefix, r.via) for r in direct.nodes[name].routes] == \
            [(r.prefix, r.via) for r in written.nodes[name].routes]
    assert {frozenset(lan.endpoints) for lan in direct.lans} == {frozenset(lan.endpoints) for lan in written.lans}
    again = CliRunner().invoke(cli, ["import", str(root), "-o", str(root / "configs" / "r1.cfg")])
    assert again.exit_code != 0 and "never overwritten" in str(again.exception or again.output)


def test_containerlab_links_settle_a_reused_subnet(tmp_path: Path) -> None:
    configs = {name: f"hostname {name}\ninterface e0\n ip address 10.1.0.{1 if name in 'ac' else 2} "
               "255.255.255.0\n" for name in "abcd"}
    with pytest.raises(segverify.InputError):
        segverify.load(snapshot(tmp_path / "without", configs))
    clab = "name: lab\ntopology:\n  nodes: {}\n  links:\n    - endpoints: [a:e0, b:e0]\n    - endpoints: [c:e0, d:e0]\n"
    root = snapshot(tmp_path / "with", configs, lab__clab_yml=clab)
    (root / "lab" / "clab_yml").rename(root / "lab.clab.yml")
    topo = segverify.load(root)
    pairs = {frozenset(e for e in lan.endpoints if topo.nodes[e[0]].pool is None) for lan in topo.lans}
    assert frozenset({("a", "e0"), ("b", "e0")}) in pairs and frozenset({("c", "e0"), ("d", "e0")}) in pairs


def test_zone_based_firewall_becomes_the_node_policy(tmp_path: Path) -> None:
    config = (Path(__file__).parent / "data" / "import" / "zbf.cfg").read_text()
    hosts = ("nodes:\n  pc: {kind: terminal, interfaces: {eth0: {zone: inside, address: 10.20.0.11/24, "
             "gateway: 10.20.0.1}}}\n  vb: {kind: server, interfaces: {eth0: {zone: outside, address: "
             "10.30.0.100/24, gateway: 10.30.0.1}}}\n")
    root = snapshot(tmp_path, {"zfw": config}, OVERLAY + hosts)
    policy = load_snapshot(root).doc.data["nodes"]["zfw"]["policies"]
    assert policy["rules"] == [
        {"action": "permit", "proto": "tcp", "src": "10.20.0.0/24", "dst": "10.30.0.100/32", "dport": "443",
         "from": ["Gi0/0"], "to": ["Gi0/1"]},                          # class SCREEN: inspect
        {"action": "deny", "from": ["Gi0/0"], "to": ["Gi0/1"]},         # class-default: drop
        {"action": "deny", "from": ["Gi0/1"], "to": ["Gi0/0"]},         # no zone pair INET -> LGWAN
        {"action": "deny", "from": ["Gi0/0", "Gi0/1"], "to": ["Gi0/2"]},  # zone member <-> no zone
        {"action": "deny", "from": ["Gi0/2"], "to": ["Gi0/0", "Gi0/1"]}]
    net = Network(segverify.load(root))
    pc, vb = IPv4Address("10.20.0.11"), IPv4Address("10.30.0.100")
    assert [p.outcome for p in trace(net, "pc", Packet(pc, vb, 6, 40000, 443))] == [Outcome.DELIVERED]
    denied = trace(net, "pc", Packet(pc, vb, 6, 40000, 22))
    assert [p.outcome for p in denied] == [Outcome.DENIED_POLICY]
    assert denied[0].hops[1].policy is not None and denied[0].hops[1].policy.span.line == line_of(config, "drop log")
    assert [p.outcome for p in trace(net, "vb", Packet(vb, pc, 6, 40000, 22))] == [Outcome.DENIED_POLICY]


def test_diff_against_a_git_revision_of_a_configuration_repository(tmp_path: Path) -> None:
    """The RANCID/Oxidized setup: configurations in git; diff --git REV SNAPSHOT shows what a change opens."""
    import json
    import subprocess

    from click.testing import CliRunner

    from segverify.cli import cli

    repo = tmp_path / "repo"
    hosts = ("nodes:\n  pc: {kind: terminal, interfaces: {eth0: {zone: inside, address: 10.1.0.10/24, "
             "gateway: 10.1.0.1}}}\n  web: {kind: server, interfaces: {eth0: {zone: outside, address: "
             "10.2.0.80/16, gateway: 10.2.0.1}}}\n")
    root = snapshot(repo, {"r1": R1, "r2": R2}, OVERLAY + hosts)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "as running"], check=True)
    config = root / "configs" / "r1.cfg"
    config.write_text(config.read_text().replace("access-list 110 deny ip any any", "access-list 110 permit ip any any")
                      .replace("10 deny ip any any log", "10 permit ip any any"))
    result = CliRunner().invoke(cli, ["diff", "--git", "HEAD", str(root), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert data["newly_allowed"] and not data["newly_blocked"]


def test_vrfs_are_routing_contexts_of_the_router(tmp_path: Path) -> None:
    """``vrf definition`` / ``vrf forwarding`` / ``ip route vrf`` become the node's VRFs; a route
    with ``global`` has its next hop in the global table (``next_vrf: default``)."""
    config = ("hostname pe1\nvrf definition CUST\ninterface Gi0/0\n vrf forwarding CUST\n ip address 10.1.0.1 "
              "255.255.255.0\ninterface Gi0/1\n ip vrf forwarding CUST\n ip address 10.2.0.1 255.255.255.0\n"
              "interface Gi0/2\n ip address 10.3.0.1 255.255.255.0\n"
              "ip route vrf CUST 10.9.0.0 255.255.0.0 10.2.0.9\nip route 0.0.0.0 0.0.0.0 10.3.0.254\n"
              "ip route vrf CUST 0.0.0.0 0.0.0.0 10.3.0.254 global\n")
    root = snapshot(tmp_path, {"pe1": config}, OVERLAY + "nodes:\n  pe1: {kind: router}\n")
    topo = segverify.load(root)
    assert sorted(n for n, node in topo.nodes.items() if node.pool is None) == ["pe1"]
    pe1 = topo.nodes["pe1"]
    assert sorted(pe1.vrfs) == ["CUST"]
    assert {i.name: i.vrf for i in pe1.interfaces} == {"Gi0/0": "CUST", "Gi0/1": "CUST", "Gi0/2": "default"}
    assert pe1.interface("Gi0/1").span.line == 6 and pe1.vrfs["CUST"].span.line == 2
    assert [(str(r.prefix), str(r.via), r.next_vrf) for r in pe1.routes_in("CUST")] == [
        ("10.9.0.0/16", "10.2.0.9", None), ("0.0.0.0/0", "10.3.0.254", "default")]
    assert [(str(r.prefix), str(r.via)) for r in pe1.routes_in("default")] == [("0.0.0.0/0", "10.3.0.254")]
    assert [r.span.line for r in pe1.routes_in("CUST")] == [11, 13]


def test_zone_based_firewall_match_all_class(tmp_path: Path) -> None:
    """A match-all class whose other condition is not modelled (taken as any) matches what its first does."""
    config = """\
    hostname zbf1
    zone security IN
    zone security OUT
    class-map type inspect match-all WEB
     match protocol http
     match user-group staff
    policy-map type inspect IN-OUT
     class type inspect WEB
      inspect
     class class-default
      drop
    zone-pair security IN-OUT source IN destination OUT
     service-policy type inspect IN-OUT
    interface Gi0/0
     ip address 10.1.0.1 255.255.255.0
     zone-member security IN
    interface Gi0/1
     ip address 10.2.0.1 255.255.0.0
     zone-member security OUT
    """
    imported = load_snapshot(snapshot(tmp_path, {"zbf1": config}))
    rules = imported.doc.data["nodes"]["zbf1"]["policies"]["rules"]
    web = [r for r in rules if r.get("from") == ["Gi0/0"] and r.get("to") == ["Gi0/1"]]
    assert web and web[0]["action"] == "permit" and web[0].get("service") == ["tcp/80"]


def test_exit_lines_of_a_cli_script_are_understood(tmp_path: Path) -> None:
    """Configuration generators (aerleon, templates) write ``exit`` after an ACL, as typed at the CLI."""
    config = R1.replace("!\ninterface GigabitEthernet0/0", "exit\n!\ninterface GigabitEthernet0/0", 1)
    imported = load_snapshot(snapshot(tmp_path, {"r1": config, "r2": R2}))
    baseline = load_snapshot(snapshot(tmp_path / "base", {"r1": R1, "r2": R2}))
    assert not [n for n in imported.notes.items if "exit" in n.text]
    assert sorted(n.message for n in imported.notes.items) == sorted(n.message for n in baseline.notes.items)

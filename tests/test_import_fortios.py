"""FortiOS import: the configuration language, each construct, the notes for what is not modelled,
errors with file:line, and the reachability an imported FortiGate must give.

The configurations here are written for these tests from Fortinet's public FortiOS CLI reference
(config system interface / zone, router static, firewall address / addrgrp / service / policy /
vip / ippool / local-in-policy, config vdom); no text is copied from it.
"""

from __future__ import annotations

import datetime
import os
import random
import textwrap
from ipaddress import IPv4Address
from pathlib import Path

import pytest

import segverify
from segverify.errors import InputError
from segverify.findings import Finding, Report
from segverify.headers import Packet
from segverify.importers import NoteKind, load_snapshot
from segverify.importers.fortios_config import looks_like_fortios, parse_config
from segverify.network import Network
from segverify.reach import Reachability

FGT = """\
#config-version=FGT60F-7.2.8-FW-build1639-240313:opmode=0:vdom=0:user=admin
config system global
    set hostname "fw-boundary"
    set admin-sport 8443
end
config system interface
    edit "port1"
        set ip 10.20.1.1 255.255.255.0
        set allowaccess ping https ssh
        set alias "LGWAN office"
    next
    edit "port2"
        set ip 10.30.1.1 255.255.255.0
        set allowaccess ping
        set secondary-IP enable
        config secondaryip
            edit 1
                set ip 10.30.2.1 255.255.255.0
            next
        end
    next
    edit "wan1"
        set ip 203.0.113.2 255.255.255.252
    next
    edit "port9"
        set status down
    next
    edit "ssl.root"
        set type tunnel
    next
end
config system zone
    edit "INET"
        set interface "port2"
    next
end
config firewall address
    edit "all"
    next
    edit "LG_OFFICE"
        set subnet 10.20.1.0 255.255.255.0
    next
    edit "VB"
        set subnet 10.30.1.100 255.255.255.255
    next
    edit "VB_POOL"
        set type iprange
        set start-ip 10.30.2.10
        set end-ip 10.30.2.20
    next
    edit "ODD"
        set type wildcard
        set wildcard 10.30.0.5 255.255.0.255
    next
    edit "UPDATES"
        set type fqdn
        set fqdn "update.example.com"
    next
end
config firewall addrgrp
    edit "INET_HOSTS"
        set member "VB" "VB_POOL"
    next
    edit "INET_NOT_POOL"
        set member "INET_NET"
        set exclude enable
        set exclude-member "VB_POOL"
    next
    edit "INET_NET"
        set member "ODD"
    next
end
config firewall service custom
    edit "RDP-HTML5"
        set tcp-portrange 443 8443:1024-65535
    next
    edit "PING"
        set protocol ICMP
        set icmptype 8
    next
end
config firewall service group
    edit "SCREEN"
        set member "RDP-HTML5" "PING"
    next
end
config firewall vip
    edit "WEB-PUBLISH"
        set extip 203.0.113.2
        set mappedip "10.30.1.80"
        set extintf "wan1"
        set portforward enable
        set extport 443
        set mappedport 8443
    next
end
config firewall ippool
    edit "CLOUD-POOL"
        set startip 203.0.113.16
        set endip 203.0.113.23
    next
end
config firewall policy
    edit 7
        set name "screen-transfer"
        set srcintf "port1"
        set dstintf "INET"
        set srcaddr "LG_OFFICE"
        set dstaddr "VB"
        set action accept
        set schedule "always"
        set service "SCREEN"
    next
    edit 3
        set name "disabled-any"
        set srcintf "any"
        set dstintf "any"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
        set status disable
    next
    edit 4
        set srcintf "INET"
        set dstintf "wan1"
        set srcaddr "INET_HOSTS"
        set dstaddr "all"
        set action accept
        set service "HTTP" "HTTPS"
        set nat enable
        set ippool enable
        set poolname "CLOUD-POOL"
    next
    edit 5
        set srcintf "wan1"
        set dstintf "port2"
        set srcaddr "all"
        set dstaddr "WEB-PUBLISH"
        set action accept
        set service "HTTPS-ALT"
    next
    edit 6
        set srcintf "INET"
        set dstintf "wan1"
        set srcaddr "INET_NOT_POOL"
        set dstaddr "UPDATES"
        set action deny
        set service "ALL"
    next
    edit 8
        set srcintf "ssl.root"
        set dstintf "port1"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
        set schedule "weekdays"
        set frobnicate enable
    next
end
config firewall service custom
    edit "HTTPS-ALT"
        set tcp-portrange 8443
    next
end
config router static
    edit 1
        set gateway 203.0.113.1
        set device "wan1"
    next
    edit 2
        set dst 10.99.0.0 255.255.0.0
        set blackhole enable
    next
end
config vpn ipsec phase1-interface
    edit "to-branch"
        set interface "wan1"
    next
end
"""

OVERLAY = """\
segverify: 1
name: fortigate test
profile: alpha
zones:
  lg-office: {segment: lgwan, subnets: [10.20.0.0/16]}
  inet-dmz: {segment: internet, subnets: [10.30.0.0/16]}
  pref-cloud: {segment: security-cloud, subnets: [203.0.113.0/30]}
nodes:
  fw-boundary:
    role: boundary
  lg-pc:
    kind: terminal
    interfaces:
      eth0: {zone: lg-office, address: 10.20.1.11/24, gateway: 10.20.1.1}
  vb:
    kind: server
    interfaces:
      eth0: {zone: inet-dmz, address: 10.30.1.100/24, gateway: 10.30.1.1}
  web:
    kind: server
    interfaces:
      eth0: {zone: inet-dmz, address: 10.30.1.80/24, gateway: 10.30.1.1}
  cloud:
    kind: external
    role: security-cloud
    represents: [any]
    interfaces:
      eth0: {zone: pref-cloud, address: 203.0.113.1/30}
"""


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based number of the first line of ``text`` containing ``needle`` (after the line holding ``after``)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines[start:], start=start + 1) if needle in line)


def snapshot(tmp_path: Path, config: str = FGT, overlay: str = OVERLAY) -> Path:
    root = tmp_path / "snap"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "fw.conf").write_text(config)
    (root / "segverify.yaml").write_text(overlay)
    return root


def test_config_language() -> None:
    text = 'config system global\n  set hostname "a \\"b\\""\n  set banner "two\nlines"\nend\n'
    config = parse_config(text, "f.conf")
    table = config.tables[0]
    assert table.path == "system global"
    assert table.settings["hostname"].values == ['a "b"']
    assert table.settings["banner"].values == ["two\nlines"]
    assert table.settings["banner"].span.line == 3
    assert looks_like_fortios(FGT) and not looks_like_fortios("hostname r1\ninterface Gi0/0\n")


@pytest.mark.parametrize("text, line, message", [
    ("config system global\n  set hostname x\n", 1, "never closed"),
    ("config system interface\n  edit port1\n  set ip 1.2.3.4/24\nnext\nnext\nend\n", 5, "'next' without"),
    ("config firewall address\n  frob\nend\n", 2, "unknown FortiOS statement"),
    ('config system global\n  set hostname "open\n', 2, "never closed"),
    ("set hostname x\n", 1, "outside any"),
    ("config a\nend\nend\n", 3, "'end' without"),
])
def test_structure_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_config(text, "f.conf")
    assert info.value.span is not None and info.value.span.line == line
    assert message in info.value.message


def test_fortigate_constructs(tmp_path: Path) -> None:
    imported = load_snapshot(snapshot(tmp_path))
    fw = imported.doc.data["nodes"]["fw-boundary"]
    assert fw["kind"] == "firewall"
    assert set(fw["interfaces"]) == {"port1", "port2", "wan1"}  # port9 down, ssl.root a tunnel
    assert fw["interfaces"]["port2"]["secondary"] == ["10.30.2.1/24"]
    policy = fw["policies"]
    assert policy["default"] == "deny" and policy["stateful"] is True
    rules = policy["rules"]
    # config order, not ids; the disabled policy is gone; a service group with a source-port term splits
    assert rules[0] == {"action": "permit", "description": "policy 7 (screen-transfer)", "from": ["port1"],
                        "to": ["port2"], "src": ["10.20.1.0/24"], "dst": ["10.30.1.100/32"],
                        "service": ["tcp/443", "icmp/8"]}
    assert rules[1]["proto"] == "tcp" and rules[1]["dport"] == "8443" and rules[1]["sport"] == "1024-65535"
    assert rules[2]["snat"] == {"to": "203.0.113.16-203.0.113.23", "ports": "5117-65533"}
    assert rules[2]["src"] == ["10.30.1.100/32", "10.30.2.10-10.30.2.20"]
    assert rules[2]["service"] == ["tcp/80", "tcp/443"]
    assert rules[3]["dst"] == ["10.30.1.80"] and rules[3]["service"] == ["tcp/8443"]  # after the VIP
    # the deny toward an FQDN matches nothing (so it blocks nothing): noted
    assert not any(r.get("action") == "deny" for r in rules)
    assert fw["nat"] == [{"type": "destination", "in": "wan1", "dst": "203.0.113.2", "to": "10.30.1.80",
                          "description": "VIP WEB-PUBLISH", "service": "tcp/443", "port": 8443}]
    local = policy["local"]["rules"]
    assert {"from": ["port1"], "action": "permit", "description": "allowaccess on port1",
            "service": ["icmp/8", "tcp/8443", "tcp/22"]} in local
    assert fw["routes"] == [{"to": "0.0.0.0/0", "via": "203.0.113.1", "distance": 10},
                            {"to": "10.99.0.0/16", "distance": 10, "drop": True}]
    notes = {(n.span.line, n.kind) for n in imported.notes.items}
    assert (line_of(FGT, 'set type fqdn'), NoteKind.OVER_APPROXIMATED) not in notes
    assert (line_of(FGT, "edit \"UPDATES\""), NoteKind.OVER_APPROXIMATED) in notes
    assert (line_of(FGT, "set frobnicate"), NoteKind.OVER_APPROXIMATED) in notes
    assert (line_of(FGT, 'set schedule "weekdays"'), NoteKind.OVER_APPROXIMATED) in notes
    assert (line_of(FGT, "config vpn ipsec phase1-interface"), NoteKind.NOT_VERIFIED) in notes
    assert (line_of(FGT, 'set srcintf "ssl.root"'), NoteKind.NOT_VERIFIED) in notes


def test_fortigate_reachability(tmp_path: Path) -> None:
    topo = segverify.load(snapshot(tmp_path))
    net = Network(topo)
    reach = Reachability(net)

    def gets(src: str, dst: str, packet: Packet) -> bool:
        return reach.delivers(src, dst, packet)

    pc, vb = IPv4Address("10.20.1.11"), IPv4Address("10.30.1.100")
    assert gets("lg-pc", "vb", Packet(pc, vb, 6, 40000, 443))              # policy 7
    assert gets("lg-pc", "vb", Packet(pc, vb, 1, 0, 8))                    # PING: icmp type 8 (in dport)
    assert not gets("lg-pc", "vb", Packet(pc, vb, 6, 40000, 22))
    assert gets("lg-pc", "vb", Packet(pc, vb, 6, 40000, 8443))            # the source-port term
    assert not gets("lg-pc", "vb", Packet(pc, vb, 6, 80, 8443))           # ... only from 1024-65535
    assert not gets("vb", "lg-pc", Packet(vb, pc, 6, 40000, 443))          # no policy back
    cloud_dst = IPv4Address("198.51.100.7")
    assert gets("vb", "cloud", Packet(vb, cloud_dst, 6, 40000, 443))       # policy 4, through the pool
    assert not gets("vb", "cloud", Packet(vb, cloud_dst, 6, 40000, 25))
    outside = IPv4Address("198.51.100.9")
    assert gets("cloud", "web", Packet(outside, IPv4Address("203.0.113.2"), 6, 40000, 443))  # the VIP
    assert not gets("cloud", "web", Packet(outside, IPv4Address("203.0.113.2"), 6, 40000, 80))
    fw = IPv4Address("10.20.1.1")
    assert gets("lg-pc", "fw-boundary", Packet(pc, fw, 6, 40000, 8443))   # allowaccess https on admin-sport
    assert not gets("lg-pc", "fw-boundary", Packet(pc, fw, 6, 40000, 443))


def test_findings_cite_fortios_lines(tmp_path: Path) -> None:
    exposing = FGT.replace('set dstaddr "WEB-PUBLISH"', 'set dstaddr "all"').replace(
        'set dstintf "port2"\n', 'set dstintf "any"\n')
    report = segverify.verify(segverify.load(snapshot(tmp_path, exposing)))
    lines = {f.location.line for f in report.findings if f.location is not None and f.location.file.endswith("fw.conf")}
    assert line_of(exposing, "edit 5", after="config firewall policy") in lines


def test_vdoms_are_devices_of_their_own(tmp_path: Path) -> None:
    config = textwrap.dedent("""\
    config vdom
    edit root
    next
    edit lg
    next
    end
    config global
    config system global
        set hostname "fgt"
    end
    config system interface
        edit "port1"
            set vdom "root"
            set ip 10.30.1.1 255.255.255.0
        next
        edit "port2"
            set vdom "lg"
            set ip 10.20.1.1 255.255.255.0
        next
        edit "link0"
            set vdom "root"
            set type vdom-link
            set ip 10.255.0.1 255.255.255.252
        next
        edit "link1"
            set vdom "lg"
            set type vdom-link
            set ip 10.255.0.2 255.255.255.252
        next
    end
    end
    config vdom
    edit root
    config firewall policy
        edit 1
            set srcintf "port1"
            set dstintf "link0"
            set srcaddr "all"
            set dstaddr "all"
            set action accept
            set service "ALL"
        next
    end
    next
    edit lg
    config firewall policy
        edit 1
            set srcintf "link1"
            set dstintf "port2"
            set srcaddr "all"
            set dstaddr "all"
            set action accept
            set service "ALL"
        next
    end
    config router static
        edit 1
            set dst 10.30.0.0 255.255.0.0
            set gateway 10.255.0.1
            set device "link1"
        next
    end
    next
    end
    """)
    overlay = OVERLAY.replace("  fw-boundary:\n    role: boundary\n", "").replace(
        "zones:\n", "zones:\n  vdom-link: {segment: lgwan, subnets: [10.255.0.0/30]}\n")
    root = snapshot(tmp_path, config, overlay)
    imported = load_snapshot(root)
    nodes = imported.doc.data["nodes"]
    assert {"fgt@root", "fgt@lg"} <= set(nodes)
    assert set(nodes["fgt@lg"]["interfaces"]) == {"port2", "link1"}
    topo = segverify.load(root)
    lan = [lan for lan in topo.lans if ("fgt@root", "link0") in lan.endpoints]
    assert len(lan) == 1 and ("fgt@lg", "link1") in lan[0].endpoints  # the VDOM link joins them


@pytest.mark.parametrize("change, needle, message", [
    ('set dstaddr "VB"', 'set dstaddr "NOPE"', "no address, address group or VIP named 'NOPE'"),
    ('set dstintf "INET"', 'set dstintf "port7"', "no interface or zone 'port7'"),
    ('set member "VB" "VB_POOL"', 'set member "VB" "INET_HOSTS"', "contains itself"),
    ('set ip 10.20.1.1 255.255.255.0', 'set ip 10.20.1.1 255.0.255.0', "cannot read the address"),
    ('set poolname "CLOUD-POOL"', 'set poolname "MISSING"', "no IP pool named 'MISSING'"),
])
def test_bad_references_name_the_line(tmp_path: Path, change: str, needle: str, message: str) -> None:
    config = FGT.replace(change, needle, 1)
    with pytest.raises(InputError) as info:
        load_snapshot(snapshot(tmp_path, config))
    assert message in info.value.message
    assert info.value.span is not None and info.value.span.file.endswith("fw.conf")
    assert info.value.span.line == line_of(config, needle)


# -- hostile files: a model or one clear error, never a traceback ------------------------------------

FUZZ_ROUNDS = int(os.environ.get("SEGVERIFY_FUZZ_ROUNDS", "60"))


def mutate_and_load(tmp_path: Path, name: str, header: bytes, text: str, overlay: str, seed: int) -> None:
    """Seeded mutations of a vendor file (truncated, junk, shuffled, words replaced, lines dropped):
    each loads, or stops with one error naming a place."""
    from test_import_fuzz import _mutate

    rng = random.Random(seed)
    for n in range(FUZZ_ROUNDS):
        root = tmp_path / f"r{n}"
        (root / "configs").mkdir(parents=True)
        mutated = text.encode()
        for _ in range(rng.randrange(1, 4)):
            mutated = _mutate(rng, mutated) if mutated else mutated
        (root / "configs" / name).write_bytes(header + mutated)
        (root / "segverify.yaml").write_text(overlay)
        try:
            segverify.load(root)
        except segverify.InputError as exc:
            assert exc.span is not None and str(exc)


@pytest.mark.parametrize("seed", range(3))
def test_mutated_fortios_files_give_a_model_or_one_error(tmp_path: Path, seed: int) -> None:
    mutate_and_load(tmp_path, "fw.conf", b"#config-version=FGT\n", FGT, OVERLAY, seed)


def test_deep_nesting_and_group_cycles_are_errors(tmp_path: Path) -> None:
    deep = "config system global\n set hostname x\nend\n" + "config a\nedit 1\n" * 100 + "next\nend\n" * 100
    with pytest.raises(InputError, match="nested deeper"):
        parse_config(deep, "f.conf")
    groups = "".join(f'    edit "G{i}"\n        set member "G{i + 1}"\n    next\n' for i in range(40))
    config = FGT.replace('config firewall addrgrp\n', 'config firewall addrgrp\n' + groups).replace(
        'set srcaddr "LG_OFFICE"', 'set srcaddr "G0"')
    with pytest.raises(InputError, match="nested more than 32"):
        load_snapshot(snapshot(tmp_path, config))
    cyclic = FGT.replace('set member "ODD"', 'set member "INET_NOT_POOL"')
    with pytest.raises(InputError, match="contains itself"):
        load_snapshot(snapshot(tmp_path / "c", cyclic))


def test_a_huge_policy_table_loads(tmp_path: Path) -> None:
    policies = "".join(f'    edit {1000 + i}\n        set srcintf "port1"\n        set dstintf "wan1"\n'
                       f'        set srcaddr "all"\n        set dstaddr "all"\n        set action deny\n'
                       f'        set service "HTTP"\n    next\n' for i in range(5000))
    config = FGT.replace("config firewall policy\n", "config firewall policy\n" + policies)
    imported = load_snapshot(snapshot(tmp_path, config))
    assert len(imported.doc.data["nodes"]["fw-boundary"]["policies"]["rules"]) == 5000 + 4


# -- the FortiGate-built reference network: a snapshot and its hand-written twin ---------------------

ROOT = Path(__file__).resolve().parent.parent
CITY = ROOT / "topologies" / "snapshots" / "alpha-fortigate"
CITY_FW = (CITY / "configs" / "fw-inet.conf").read_text(encoding="utf-8")
TODAY = datetime.date(2026, 11, 1)


def city(tmp_path: Path, fw: str = CITY_FW, overlay_edit: tuple[str, str] | None = None) -> Path:
    root = tmp_path / "city"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "fw-inet.conf").write_text(fw, encoding="utf-8")
    (root / "configs" / "core-inet.cfg").write_text((CITY / "configs" / "core-inet.cfg").read_text())
    overlay = (CITY / "segverify.yaml").read_text(encoding="utf-8")
    if overlay_edit is not None:
        assert overlay_edit[0] in overlay
        overlay = overlay.replace(overlay_edit[0], overlay_edit[1] + overlay_edit[0], 1)
    (root / "segverify.yaml").write_text(overlay, encoding="utf-8")
    return root


def summary(report: Report) -> list[tuple[str, str, str, bool]]:
    return sorted((f.rule, f.severity.value, f.title, f.suppressed_by != ()) for f in report.findings)


def test_the_fortigate_city_imports_to_the_verdict_of_its_twin() -> None:
    twin = segverify.verify(segverify.load(ROOT / "topologies" / "alpha-fortigate.yaml"), today=TODAY)
    imported = segverify.verify(segverify.load(CITY), today=TODAY)
    assert imported.compliant and twin.compliant
    assert summary(imported) == summary(twin)


def fw_with(policy: str, before: str = "    edit 10\n") -> str:
    """The city's FortiOS configuration with a policy inserted before another."""
    assert before in CITY_FW
    return CITY_FW.replace(before, policy + before, 1)


ANY_OUT = """\
    edit 5
        set name "dmz-anywhere"
        set srcintf "port2"
        set dstintf "any"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set schedule "always"
        set service "ALL"
    next
"""


def findings_at(report: Report, rule: str, config: str, needle: str) -> list[Finding]:
    line = line_of(config, needle, after="config firewall policy")
    return [f for f in report.active if f.rule == rule and f.location is not None
            and f.location.file.endswith("fw-inet.conf") and f.location.line == line]


def test_a_policy_with_dstintf_any_above_the_separation_rules_is_found_at_its_line(tmp_path: Path) -> None:
    config = fw_with(ANY_OUT)
    report = segverify.verify(segverify.load(city(tmp_path, config)), today=TODAY)
    # the DMZ now reaches both sanitizers on every service: their attack surface, at the policy's line
    assert findings_at(report, "SEG004", config, "edit 5")


def test_a_disabled_deny_lets_the_broad_policy_through(tmp_path: Path) -> None:
    deny = """\
    edit 4
        set name "no-dmz-to-sanitizers"
        set srcintf "port2"
        set dstintf "port4" "port5"
        set srcaddr "all"
        set dstaddr "all"
        set action deny
        set schedule "always"
        set service "ALL"
    next
"""
    # the deny sits after the two sanitizer feeds (policies 20, 21) so they keep working
    guarded = CITY_FW.replace("    edit 30\n", deny + ANY_OUT + "    edit 30\n", 1)
    report = segverify.verify(segverify.load(city(tmp_path / "on", guarded)), today=TODAY)
    assert not findings_at(report, "SEG004", guarded, "edit 5")
    disabled = guarded.replace('        set action deny\n', '        set action deny\n        set status disable\n', 1)
    report = segverify.verify(segverify.load(city(tmp_path / "off", disabled)), today=TODAY)
    assert findings_at(report, "SEG004", disabled, "edit 5")


def test_a_vip_exposing_an_lgwan_server_is_found_at_the_fortios_policy(tmp_path: Path) -> None:
    vip = CITY_FW.replace("config firewall ippool\n", """\
config firewall vip
    edit "VIP-GROUPWARE"
        set extip 10.30.255.100
        set mappedip "10.20.2.13"
        set extintf "port2"
    next
end
config firewall ippool
""", 1)
    config = vip.replace("    edit 30\n", """\
    edit 25
        set name "dmz-to-groupware"
        set srcintf "port2"
        set dstintf "port3"
        set srcaddr "INET_DMZ"
        set dstaddr "VIP-GROUPWARE"
        set action accept
        set schedule "always"
        set service "HTTPS"
    next
    edit 30
""", 1)
    # fw-lg (in the overlay) lets it in too: two mistakes in series, as in the YAML variant
    lg_permit = ("        - {from: port3, to: port1, dst: 10.20.2.13, service: https, action: permit, "
                 "description: VIP groupware (誤り)}\n")
    root = city(tmp_path, config, (
        "        - {from: lg-interconnect, to: any, action: deny", lg_permit))
    report = segverify.verify(segverify.load(root), today=TODAY)
    found = findings_at(report, "SEG003", config, "edit 25")
    assert found and all(f.location is not None for f in found)


def test_object_keys_segverify_does_not_read_are_noted(tmp_path: Path) -> None:
    config = FGT.replace('        set mappedport 8443\n', '        set mappedport 8443\n        set nat-source-vip enable\n'
                         '        set comment "published web"\n')
    imported = load_snapshot(snapshot(tmp_path, config))
    noted = [n for n in imported.notes.items if "nat-source-vip" in n.message]
    assert noted and noted[0].kind is NoteKind.NOT_VERIFIED and noted[0].span.line == line_of(config, "nat-source-vip")
    assert not any("'set comment'" in n.message for n in imported.notes.items)


def test_a_port_range_from_1_leaves_port_0_out(tmp_path: Path) -> None:
    """``tcp-portrange 1-65535`` was read as every port, port 0 too: a deny of it then blocked port 0,
    which the FortiGate lets on to the next policy."""
    config = FGT.replace("config firewall policy\n", """config firewall service custom
    edit "TCP_1_UP"
        set tcp-portrange 1-65535
    next
end
config firewall policy
    edit 90
        set srcintf "port1"
        set dstintf "INET"
        set srcaddr "all"
        set dstaddr "all"
        set service "TCP_1_UP"
        set schedule "always"
        set action deny
    next
    edit 91
        set srcintf "port1"
        set dstintf "INET"
        set srcaddr "all"
        set dstaddr "all"
        set service "ALL"
        set schedule "always"
        set action accept
    next
""", 1)
    reach = Reachability(Network(segverify.load(snapshot(tmp_path, config))))
    pc, vb = IPv4Address("10.20.1.11"), IPv4Address("10.30.1.100")
    assert reach.delivers("lg-pc", "vb", Packet(pc, vb, 6, 40000, 0))
    assert not reach.delivers("lg-pc", "vb", Packet(pc, vb, 6, 40000, 1))
    assert not reach.delivers("lg-pc", "vb", Packet(pc, vb, 6, 40000, 65535))


VDOM_LINK = """\
config vdom
edit lg
next
edit inet
next
end
config global
config system global
    set hostname "fgt"
end
config system interface
    edit "port1"
        set vdom "inet"
        set ip 10.30.1.1 255.255.255.0
    next
    edit "port2"
        set vdom "lg"
        set ip 10.20.1.1 255.255.255.0
    next
    edit "sep0"
        set vdom "inet"
        set type vdom-link
        set ip 10.255.0.1 255.255.255.252
    next
    edit "sep1"
        set vdom "lg"
        set type vdom-link
        set ip 10.255.0.2 255.255.255.252
    next
end
end
config vdom
edit lg
config firewall policy
    edit 1
        set name "from the Internet VDOM: replies only"
        set srcintf "sep1"
        set dstintf "port2"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
    next
end
config router static
    edit 1
        set dst 10.30.0.0 255.255.0.0
        set gateway 10.255.0.1
        set device "sep1"
    next
end
next
edit inet
config firewall policy
    edit 4
        set name "temporary: file server maintenance"
        set srcintf "port1"
        set dstintf "sep0"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
    next
end
config router static
    edit 1
        set dst 10.20.0.0 255.255.0.0
        set gateway 10.255.0.2
        set device "sep0"
    next
end
next
end
"""


def test_a_vdom_link_joining_lgwan_and_internet_is_found_at_its_policy(tmp_path: Path) -> None:
    """One FortiGate, an LGWAN VDOM and an Internet VDOM joined by an inter-VDOM link (a classic way
    to save a box): the Internet VDOM's policy into the link, with the LGWAN VDOM's policy out of it,
    opens LGWAN to the Internet segment. SEG003, cited at the Internet VDOM's policy (where the
    packet first enters an LGWAN zone: the link's addresses belong to the LGWAN side)."""
    overlay = OVERLAY.replace("  fw-boundary:\n    role: boundary\n", "").replace(
        "zones:\n", "zones:\n  lg-vdom-link: {segment: lgwan, subnets: [10.255.0.0/30]}\n")
    root = snapshot(tmp_path, VDOM_LINK, overlay)
    topo = segverify.load(root)
    assert {"fgt@lg", "fgt@inet"} <= set(topo.nodes)
    report = segverify.verify(topo)
    crossing = [f for f in report.active if f.rule == "SEG003"]
    assert crossing and all(f.path is not None and f.path.hops[0].node in ("vb", "web") or "inet-dmz" in f.title
                            for f in crossing)
    policy_4 = line_of(VDOM_LINK, "edit 4", after="edit inet")
    assert {(Path(f.location.file).name, f.location.line) for f in crossing if f.location is not None} == {
        ("fw.conf", policy_4)}
    # Without the Internet VDOM's policy into the link, nothing crosses.
    closed = VDOM_LINK.replace("        set action accept\n        set service \"ALL\"\n    next\nend\nconfig router static\n"
                               "    edit 1\n        set dst 10.20.0.0", "        set action deny\n        set service \"ALL\"\n"
                               "    next\nend\nconfig router static\n    edit 1\n        set dst 10.20.0.0")
    assert closed != VDOM_LINK
    report = segverify.verify(segverify.load(snapshot(tmp_path / "closed", closed, overlay)))
    assert not [f for f in report.active if f.rule in ("SEG001", "SEG002", "SEG003")]


VRF_FGT = """\
config system global
    set hostname "fw-boundary"
end
config system interface
    edit "port1"
        set ip 10.20.1.1 255.255.255.0
        set speed 1000full
    next
    edit "port2"
        set ip 10.30.1.1 255.255.255.0
        set vrf 5
        set vrrp-virtual-mac enable
    next
end
config router static
    edit 1
        set dst 10.31.0.0 255.255.0.0
        set gateway 10.30.1.254
        set device "port2"
    next
end
config firewall policy
    edit 1
        set srcintf "port1"
        set dstintf "port2"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
        set schedule "always"
    next
end
"""


def test_interface_vrfs_are_routing_contexts_of_the_vdom(tmp_path: Path) -> None:
    """``set vrf N`` puts an interface in VRF N of its VDOM (0 is the main table); a static route
    belongs to its device's VRF. A policy from port1 to port2 then opens nothing: port2's subnet is
    not in port1's table."""
    imported = load_snapshot(snapshot(tmp_path, VRF_FGT))
    fw = imported.doc.data["nodes"]["fw-boundary"]
    assert fw["interfaces"]["port2"]["vrf"] == "vrf5" and "vrf" not in fw["interfaces"]["port1"]
    assert fw["vrfs"]["vrf5"]["routes"] == [{"to": "10.31.0.0/16", "via": "10.30.1.254", "distance": 10}]
    notes = {(n.span.line, n.kind) for n in imported.notes.items}
    assert (line_of(VRF_FGT, "vrrp-virtual-mac"), NoteKind.NOT_VERIFIED) in notes  # reported, not dropped
    assert not any(n.span.line == line_of(VRF_FGT, "set speed") for n in imported.notes.items)
    packet = Packet(IPv4Address("10.20.1.11"), IPv4Address("10.30.1.100"), 6, 40000, 443)
    assert not Reachability(Network(segverify.load(snapshot(tmp_path / "vrf", VRF_FGT)))).delivers("lg-pc", "vb", packet)
    flat = VRF_FGT.replace("        set vrf 5\n", "")
    assert Reachability(Network(segverify.load(snapshot(tmp_path / "flat", flat)))).delivers("lg-pc", "vb", packet)
    with pytest.raises(InputError, match="a VRF is a number"):
        load_snapshot(snapshot(tmp_path / "bad", VRF_FGT.replace("set vrf 5", "set vrf five")))

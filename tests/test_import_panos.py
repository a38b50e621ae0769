"""PAN-OS import (set format): each construct, notes for what is not modelled, errors with
file:line, and the reachability an imported Palo Alto firewall must give.

The configuration here is written for these tests from Palo Alto Networks' public PAN-OS CLI and
administrator's guides (zones, layer-3 interfaces and subinterfaces, virtual routers, address and
service objects, security and NAT rule bases); no text is copied from them.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

import segverify
from segverify.errors import InputError
from segverify.headers import Packet
from segverify.importers import NoteKind, load_snapshot
from segverify.importers.panos import looks_like_panos
from segverify.network import Network
from segverify.reach import Reachability
from segverify.trace import trace
from test_import_fortios import OVERLAY as FORTI_OVERLAY
from test_import_fortios import line_of, mutate_and_load

PA = """\
set deviceconfig system hostname pa-boundary
set network interface ethernet ethernet1/1 layer3 ip [ 10.20.1.1/24 ]
set network interface ethernet ethernet1/2 layer3 units ethernet1/2.30 tag 30
set network interface ethernet ethernet1/2 layer3 units ethernet1/2.30 ip [ 10.30.1.1/24 10.30.2.1/24 ]
set network interface ethernet ethernet1/3 layer3 ip 203.0.113.2/30
set network interface ethernet ethernet1/4 layer2
set network virtual-router default interface [ ethernet1/1 ethernet1/2.30 ethernet1/3 ]
set network virtual-router default routing-table ip static-route to-cloud destination 0.0.0.0/0
set network virtual-router default routing-table ip static-route to-cloud nexthop ip-address 203.0.113.1
set network virtual-router default routing-table ip static-route to-cloud admin-dist 10
set network virtual-router default routing-table ip static-route sink destination 10.99.0.0/16
set network virtual-router default routing-table ip static-route sink nexthop discard
set zone lgwan network layer3 ethernet1/1
set zone inet network layer3 [ ethernet1/2.30 ]
set zone cloud network layer3 [ ethernet1/3 ]
set address LG_OFFICE ip-netmask 10.20.1.0/24
set address VB ip-netmask 10.30.1.100
set address VB_POOL ip-range 10.30.2.10-10.30.2.20
set address ODD ip-wildcard 10.30.0.5/0.0.255.0
set address UPDATES fqdn update.example.com
set address WEB_PUBLIC ip-netmask 203.0.113.2
set address WEB ip-netmask 10.30.1.80
set address-group INET_HOSTS static [ VB VB_POOL ]
set service RDP-HTML5 protocol tcp port 443,8443
set service RDP-HTML5-SRC protocol tcp port 8443 source-port 1024-65535
set service-group SCREEN members [ RDP-HTML5 ]
set rulebase security rules screen-transfer from lgwan
set rulebase security rules screen-transfer to inet
set rulebase security rules screen-transfer source LG_OFFICE
set rulebase security rules screen-transfer destination VB
set rulebase security rules screen-transfer service SCREEN
set rulebase security rules screen-transfer application any
set rulebase security rules screen-transfer action allow
set rulebase security rules old-any from any to any source any destination any service any action allow
set rulebase security rules old-any disabled yes
set rulebase security rules web-out from inet to cloud source INET_HOSTS destination any
set rulebase security rules web-out application [ web-browsing ssl ] service application-default action allow
set rulebase security rules publish from cloud to inet source any destination WEB_PUBLIC service service-https
set rulebase security rules publish application any action allow
set rulebase security rules no-updates from inet to cloud source any destination UPDATES service any
set rulebase security rules no-updates application any action deny
set rulebase security rules not-vb from inet to cloud source VB negate-source yes destination any
set rulebase security rules not-vb service any application any action deny
set rulebase security rules ugly from cloud to lgwan source any destination any service any application any
set rulebase security rules ugly source-user known-user action allow
set rulebase nat rules publish-web from cloud to cloud source any destination WEB_PUBLIC service service-https
set rulebase nat rules publish-web destination-translation translated-address WEB translated-port 8443
set rulebase nat rules hide from inet to cloud source any destination any service any
set rulebase nat rules hide source-translation dynamic-ip-and-port interface-address interface ethernet1/3
set rulebase default-security-rules rules intrazone-default action allow
move rulebase security rules no-updates before web-out
set mgt-config users admin permissions role-based superuser yes
set network ike gateway gw1 authentication pre-shared-key key xyz
set frobnicate something
"""

# The FortiOS tests' network, with the Palo Alto firewall in the FortiGate's place.
OVERLAY = FORTI_OVERLAY.replace("fw-boundary", "pa-boundary").replace("fortigate test", "palo alto test")


def snapshot(tmp_path: Path, config: str = PA, overlay: str = OVERLAY) -> Path:
    root = tmp_path / "snap"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "pa.txt").write_text(config)
    (root / "segverify.yaml").write_text(overlay)
    return root


def test_palo_alto_constructs(tmp_path: Path) -> None:
    assert looks_like_panos(PA)
    imported = load_snapshot(snapshot(tmp_path))
    pa = imported.doc.data["nodes"]["pa-boundary"]
    assert pa["kind"] == "firewall"
    assert set(pa["interfaces"]) == {"ethernet1/1", "ethernet1/2.30", "ethernet1/3"}
    assert pa["interfaces"]["ethernet1/2.30"]["address"] == "10.30.1.1/24"
    assert pa["interfaces"]["ethernet1/2.30"]["secondary"] == ["10.30.2.1/24"]
    assert pa["routes"] == [{"to": "0.0.0.0/0", "distance": 10, "via": "203.0.113.1"},
                            {"to": "10.99.0.0/16", "drop": True}]
    rules = pa["policies"]["rules"]
    names = [r["description"] for r in rules]
    # rule order after 'move'; the disabled rule gone; the deny toward an FQDN and the deny with a
    # user condition are left out (they would block more than the device)
    assert names == ["security rule screen-transfer", "security rule web-out", "security rule publish",
                     "security rule not-vb", "security rule ugly", "intrazone-default (cloud)",
                     "intrazone-default (inet)", "intrazone-default (lgwan)"]
    assert rules[0] == {"action": "permit", "description": "security rule screen-transfer", "from": ["ethernet1/1"],
                        "to": ["ethernet1/2.30"], "src": ["10.20.1.0/24"], "dst": ["10.30.1.100/32"],
                        "service": ["tcp/443", "tcp/8443"]}
    assert rules[1]["service"] == ["tcp/80", "tcp/443"]  # application-default of web-browsing and ssl
    assert rules[1]["src"] == ["10.30.1.100/32", "10.30.2.10-10.30.2.20"]
    assert rules[2]["dst"] == ["203.0.113.2/32", "10.30.1.80"]  # before NAT, and after it
    assert rules[3] == {"action": "deny", "description": "security rule not-vb", "from": ["ethernet1/2.30"],
                        "to": ["ethernet1/3"], "src": {"except": ["10.30.1.100/32"]}}
    assert pa["policies"]["default"] == "deny"
    assert {"type": "destination", "in": "ethernet1/3", "dst": ["203.0.113.2/32"], "to": "10.30.1.80",
            "description": "NAT rule publish-web", "service": ["tcp/443"], "port": 8443} in pa["nat"]
    assert {"type": "source", "out": "ethernet1/3", "to": "203.0.113.2", "ports": "1024-65535",
            "description": "NAT rule hide"} in pa["nat"]
    notes = {(n.span.line, n.kind) for n in imported.notes.items}
    assert (line_of(PA, "ethernet1/4 layer2"), NoteKind.NOT_VERIFIED) in notes
    assert (line_of(PA, "source-user known-user"), NoteKind.OVER_APPROXIMATED) in notes
    assert (line_of(PA, "frobnicate"), NoteKind.NOT_VERIFIED) in notes
    assert (line_of(PA, "set network ike"), NoteKind.NOT_VERIFIED) not in notes  # IKE: neutral


def test_palo_alto_reachability(tmp_path: Path) -> None:
    net = Network(segverify.load(snapshot(tmp_path)))
    reach = Reachability(net)
    pc, vb = IPv4Address("10.20.1.11"), IPv4Address("10.30.1.100")
    assert reach.delivers("lg-pc", "vb", Packet(pc, vb, 6, 40000, 8443))
    assert not reach.delivers("lg-pc", "vb", Packet(pc, vb, 6, 40000, 22))
    assert not reach.delivers("vb", "lg-pc", Packet(vb, pc, 6, 40000, 443))
    out = IPv4Address("198.51.100.7")
    assert reach.delivers("vb", "cloud", Packet(vb, out, 6, 40000, 443))       # web-out, hidden behind 203.0.113.2
    assert not reach.delivers("vb", "cloud", Packet(vb, out, 6, 40000, 25))
    public = IPv4Address("203.0.113.2")
    assert reach.delivers("cloud", "web", Packet(out, public, 6, 40000, 443))  # the destination NAT to 8443
    assert reach.delivers("cloud", "lg-pc", Packet(out, pc, 6, 40000, 3389))   # 'ugly' widened past its user condition
    assert not reach.delivers("lg-pc", "cloud", Packet(pc, out, 6, 40000, 443))


def test_security_rules_decide_traffic_to_the_firewall_itself(tmp_path: Path) -> None:
    """PAN-OS security rules apply to traffic to the firewall's own addresses, the destination zone
    being that of the interface holding the address: the import says local: rules."""
    root = snapshot(tmp_path)
    assert load_snapshot(root).doc.data["nodes"]["pa-boundary"]["policies"]["local"] == "rules"
    reach = Reachability(Network(segverify.load(root)))
    pc, vb = IPv4Address("10.20.1.11"), IPv4Address("10.30.1.100")
    fw_lgwan, fw_inet, fw_cloud = IPv4Address("10.20.1.1"), IPv4Address("10.30.1.1"), IPv4Address("203.0.113.2")
    assert reach.delivers("lg-pc", "pa-boundary", Packet(pc, fw_lgwan, 6, 40000, 22))     # intrazone-default (lgwan)
    assert not reach.delivers("lg-pc", "pa-boundary", Packet(pc, fw_inet, 6, 40000, 443))  # lgwan -> inet: VB only
    assert reach.delivers("vb", "pa-boundary", Packet(vb, fw_cloud, 6, 40000, 443))       # web-out: inet -> cloud
    assert not reach.delivers("vb", "pa-boundary", Packet(vb, fw_cloud, 6, 40000, 25))    # interzone-default


def test_virtual_routers_are_routing_contexts_with_next_vr_leaks(tmp_path: Path) -> None:
    """The uplink in a virtual router of its own, reached by ``nexthop next-vr`` both ways: the
    device's VRFs, and the same reachability as with one virtual router."""
    config = PA.replace("set network virtual-router default interface [ ethernet1/1 ethernet1/2.30 ethernet1/3 ]",
                        "set network virtual-router default interface [ ethernet1/1 ethernet1/2.30 ]\n"
                        "set network virtual-router vr-out interface ethernet1/3").replace(
        "static-route to-cloud nexthop ip-address 203.0.113.1", "static-route to-cloud nexthop next-vr vr-out")
    config += ("set network virtual-router vr-out routing-table ip static-route up destination 0.0.0.0/0\n"
               "set network virtual-router vr-out routing-table ip static-route up nexthop ip-address 203.0.113.1\n"
               "set network virtual-router vr-out routing-table ip static-route back destination 10.0.0.0/8\n"
               "set network virtual-router vr-out routing-table ip static-route back nexthop next-vr default\n"
               "set network virtual-router vr-loop routing-table ip static-route x destination 10.9.0.0/16\n"
               "set network virtual-router default routing-table ip static-route y destination 10.8.0.0/16\n"
               "set network virtual-router default routing-table ip static-route y nexthop next-vr nowhere\n")
    imported = load_snapshot(snapshot(tmp_path, config))
    pa = imported.doc.data["nodes"]["pa-boundary"]
    assert set(pa["vrfs"]) == {"vr-out"}
    assert pa["interfaces"]["ethernet1/3"]["vrf"] == "vr-out" and "vrf" not in pa["interfaces"]["ethernet1/1"]
    assert {"to": "0.0.0.0/0", "distance": 10, "next_vrf": "vr-out"} in pa["routes"]
    assert pa["vrfs"]["vr-out"]["routes"] == [{"to": "0.0.0.0/0", "via": "203.0.113.1"},
                                              {"to": "10.0.0.0/8", "next_vrf": "default"}]
    notes = {(n.span.line, n.kind) for n in imported.notes.items}
    assert (line_of(config, "static-route y destination"), NoteKind.NOT_VERIFIED) in notes  # no such router
    topo = segverify.load(snapshot(tmp_path / "again", config))
    assert topo.nodes["pa-boundary"].vrfs["vr-out"].span.line == line_of(config, "virtual-router vr-out interface")
    reach = Reachability(Network(topo))
    pc, vb, out = IPv4Address("10.20.1.11"), IPv4Address("10.30.1.100"), IPv4Address("198.51.100.7")
    assert reach.delivers("vb", "cloud", Packet(vb, out, 6, 40000, 443))       # default -> vr-out -> cloud
    assert not reach.delivers("vb", "cloud", Packet(vb, out, 6, 40000, 25))
    assert reach.delivers("cloud", "web", Packet(out, IPv4Address("203.0.113.2"), 6, 40000, 443))  # vr-out -> default
    assert reach.delivers("lg-pc", "vb", Packet(pc, vb, 6, 40000, 8443))


def test_several_vsys_are_devices_of_their_own(tmp_path: Path) -> None:
    config = PA.replace("set zone ", "set vsys vsys1 zone ").replace("set address", "set vsys vsys1 address").replace(
        "set rulebase", "set vsys vsys1 rulebase").replace("set service", "set vsys vsys1 service").replace(
        "move rulebase", "move vsys vsys1 rulebase")
    config += ("set vsys vsys1 import network interface [ ethernet1/1 ethernet1/2.30 ethernet1/3 ]\n"
               "set network interface ethernet ethernet1/5 layer3 ip 10.40.0.1/24\n"
               "set network virtual-router vr2 interface ethernet1/5\n"
               "set vsys vsys2 import network interface [ ethernet1/5 ]\n"
               "set vsys vsys2 zone other network layer3 ethernet1/5\n")
    overlay = OVERLAY.replace("  pa-boundary:\n    role: boundary\n", "").replace(
        "zones:\n", "zones:\n  other: {segment: lgwan, subnets: [10.40.0.0/16]}\n")
    nodes = load_snapshot(snapshot(tmp_path, config, overlay)).doc.data["nodes"]
    assert set(nodes["pa-boundary@vsys1"]["interfaces"]) == {"ethernet1/1", "ethernet1/2.30", "ethernet1/3"}
    assert set(nodes["pa-boundary@vsys2"]["interfaces"]) == {"ethernet1/5"}


@pytest.mark.parametrize("change, needle, message", [
    ("destination VB\n", "destination NOPE\n", "no address or address group named 'NOPE'"),
    ("service SCREEN\n", "service NOSVC\n", "no service or service group named 'NOSVC'"),
    ("set address VB ip-netmask 10.30.1.100", "set address VB ip-netmask 10.30.1.300", "cannot read"),
])
def test_bad_references_name_the_line(tmp_path: Path, change: str, needle: str, message: str) -> None:
    config = PA.replace(change, needle, 1)
    with pytest.raises(InputError) as info:
        load_snapshot(snapshot(tmp_path, config))
    assert message in info.value.message
    assert info.value.span is not None and info.value.span.file.endswith("pa.txt")
    assert info.value.span.line == line_of(config, needle.strip())


def test_a_rule_naming_a_zone_that_does_not_exist_matches_nothing_there(tmp_path: Path) -> None:
    config = PA.replace("screen-transfer to inet", "screen-transfer to dmz")
    imported = load_snapshot(snapshot(tmp_path, config))
    names = [r["description"] for r in imported.doc.data["nodes"]["pa-boundary"]["policies"]["rules"]]
    assert "security rule screen-transfer" not in names
    assert any(n.kind is NoteKind.WARNING and "no zone 'dmz'" in n.message for n in imported.notes.items)


def test_the_brace_format_reads_as_its_set_commands(tmp_path: Path) -> None:
    braces = """\
config {
  devices {
    localhost.localdomain {
      deviceconfig { system { hostname pa-boundary; } }
      network {
        interface { ethernet { ethernet1/1 { layer3 { ip { 10.20.1.1/24; } } } } }
        virtual-router { default { interface [ ethernet1/1 ]; } }
      }
      vsys {
        vsys1 {
          zone { lgwan { network { layer3 [ ethernet1/1 ]; } } }
          address { LG { ip-netmask 10.20.1.0/24; } }
          rulebase { security { rules { r1 { from lgwan; to lgwan; source LG; destination any;
            service any; application any; action deny; } } } }
        }
      }
    }
  }
}
"""
    root = tmp_path / "b"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "pa.txt").write_text(braces)
    (root / "segverify.yaml").write_text(OVERLAY.replace("  pa-boundary:\n    role: boundary\n", ""))
    pa = load_snapshot(root).doc.data["nodes"]["pa-boundary"]
    assert pa["interfaces"]["ethernet1/1"]["address"] == "10.20.1.1/24"
    assert pa["policies"]["rules"][0] == {"action": "deny", "description": "security rule r1", "from": ["ethernet1/1"],
                                          "to": ["ethernet1/1"], "src": ["10.20.1.0/24"]}


@pytest.mark.parametrize("seed", range(2))
def test_mutated_panos_files_give_a_model_or_one_error(tmp_path: Path, seed: int) -> None:
    mutate_and_load(tmp_path, "pa.txt", b"set deviceconfig system hostname x\n", PA, OVERLAY, seed)


XML = """\
<?xml version="1.0"?>
<config version="10.1.0" urldb="paloaltonetworks">
  <devices>
    <entry name="localhost.localdomain">
      <deviceconfig><system><hostname>pa-boundary</hostname></system></deviceconfig>
      <network>
        <interface><ethernet><entry name="ethernet1/1"><layer3><ip>
          <entry name="10.20.1.1/24"/>
        </ip></layer3></entry></ethernet></interface>
        <virtual-router><entry name="default">
          <interface><member>ethernet1/1</member></interface>
          <routing-table><ip><static-route><entry name="sink">
            <destination>10.99.0.0/16</destination>
            <nexthop><discard/></nexthop>
          </entry></static-route></ip></routing-table>
        </entry></virtual-router>
      </network>
      <vsys>
        <entry name="vsys1">
          <zone><entry name="lgwan"><network><layer3><member>ethernet1/1</member></layer3></network></entry></zone>
          <address>
            <entry name="LG"><ip-netmask>10.20.1.0/24</ip-netmask></entry>
            <entry name="PC"><ip-netmask>10.20.1.5</ip-netmask></entry>
          </address>
          <address-group><entry name="ONE"><static><member>PC</member></static></entry></address-group>
          <application/>
          <rulebase><security><rules>
            <entry name="r1" uuid="0b7c3c8e-0000-4000-8000-000000000001">
              <from><member>lgwan</member></from>
              <to><member>lgwan</member></to>
              <source><member>LG</member></source>
              <destination><member>ONE</member></destination>
              <service><member>any</member></service>
              <application><member>any</member></application>
              <action>deny</action>
            </entry>
          </rules></security></rulebase>
        </entry>
      </vsys>
    </entry>
  </devices>
</config>
"""


def _xml_snapshot(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "x"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "pa.xml").write_text(text)
    (root / "segverify.yaml").write_text(OVERLAY.replace("  pa-boundary:\n    role: boundary\n", ""))
    return root


def test_the_xml_configuration_reads_as_its_set_commands(tmp_path: Path) -> None:
    assert looks_like_panos(XML)
    imported = load_snapshot(_xml_snapshot(tmp_path, XML))
    pa = imported.doc.data["nodes"]["pa-boundary"]
    assert pa["interfaces"]["ethernet1/1"]["address"] == "10.20.1.1/24"
    assert {"to": "10.99.0.0/16", "drop": True} in pa["routes"]
    # a group of one <member> is that member (not a dynamic group: no widening note)
    assert pa["policies"]["rules"][0] == {"action": "deny", "description": "security rule r1", "from": ["ethernet1/1"],
                                          "to": ["ethernet1/1"], "src": ["10.20.1.0/24"], "dst": ["10.20.1.5/32"]}
    assert not [n for n in imported.notes.items if n.kind is not NoteKind.WARNING], imported.notes.items
    # what is not modelled is noted at the element's own line
    odd = XML.replace("<application/>", "<frobnicate>on</frobnicate>")
    noted = [n for n in load_snapshot(_xml_snapshot(tmp_path / "odd", odd)).notes.items if "frobnicate" in n.message]
    assert noted and noted[0].span.line == line_of(odd, "<frobnicate>")


@pytest.mark.parametrize("change, needle, message", [
    ("<action>deny</action>", "<action>deny</actio>", "not well-formed XML"),
    ('<?xml version="1.0"?>', '<?xml version="1.0"?>\n<!DOCTYPE config [<!ENTITY x "y">]>', "document type"),
    ('<entry name="r1" uuid', '<entry uuid', "needs a name"),
])
def test_bad_xml_names_the_line(tmp_path: Path, change: str, needle: str, message: str) -> None:
    broken = XML.replace(change, needle)
    with pytest.raises(InputError) as err:
        load_snapshot(_xml_snapshot(tmp_path, broken))
    assert message in str(err.value)
    assert err.value.span is not None and err.value.span.file.endswith("pa.xml")
    assert err.value.span.line == line_of(broken, needle.splitlines()[-1][:12])


def test_the_xml_api_answer_reads_as_its_configuration(tmp_path: Path) -> None:
    """``show config running`` through the XML API wraps the configuration in <response><result>."""
    body = XML.split("\n", 1)[1]
    wrapped = '<response status="success"><result>\n' + body + "</result></response>\n"
    pa = load_snapshot(_xml_snapshot(tmp_path, wrapped)).doc.data["nodes"]["pa-boundary"]
    assert pa["interfaces"]["ethernet1/1"]["address"] == "10.20.1.1/24"


def test_empty_xml_tables_are_understood(tmp_path: Path) -> None:
    """Generators write the tables they have nothing for as empty elements (``<service/>``)."""
    empty = XML.replace("<application/>", "<application/><service/><service-group/><address-group/><tag/>")
    imported = load_snapshot(_xml_snapshot(tmp_path, empty))
    assert not [n for n in imported.notes.items if n.kind is not NoteKind.WARNING], imported.notes.items


def test_xml_nested_too_deeply_is_an_error(tmp_path: Path) -> None:
    deep = XML.replace("<application/>", "<a>" * 80 + "</a>" * 80)
    with pytest.raises(InputError, match="nested deeper"):
        load_snapshot(_xml_snapshot(tmp_path, deep))


def test_a_one_member_static_group_in_the_set_format_is_that_member(tmp_path: Path) -> None:
    """``static A`` (PAN-OS writes a one-element list without brackets) was read as a dynamic group,
    any address: a deny of it then matched nothing."""
    config = PA.replace("set address-group INET_HOSTS static [ VB VB_POOL ]", "set address-group INET_HOSTS static VB")
    imported = load_snapshot(snapshot(tmp_path, config))
    rules = imported.doc.data["nodes"]["pa-boundary"]["policies"]["rules"]
    web_out = next(r for r in rules if "web-out" in r.get("description", ""))
    assert web_out["src"] == ["10.30.1.100/32"]
    assert not [n for n in imported.notes.items if "INET_HOSTS" in n.message]
    # set again, a member list grows (as on the CLI); a value is replaced
    config = config.replace("static VB\n", "static VB\nset address-group INET_HOSTS static VB_POOL\n"
                            "set address-group INET_HOSTS static VB\n")
    rules = load_snapshot(snapshot(tmp_path / "again", config)).doc.data["nodes"]["pa-boundary"]["policies"]["rules"]
    web_out = next(r for r in rules if "web-out" in r.get("description", ""))
    assert web_out["src"] == ["10.30.1.100/32", "10.30.2.10-10.30.2.20"]


@pytest.mark.parametrize("seed", range(2))
def test_mutated_xml_files_give_a_model_or_one_error(tmp_path: Path, seed: int) -> None:
    mutate_and_load(tmp_path, "pa.xml", b"", XML, OVERLAY, seed)


TWICE = """set rulebase nat rules partner from inet to cloud source VB destination 203.0.113.9 service any
set rulebase nat rules partner destination-translation translated-address 198.51.100.9
set rulebase nat rules partner source-translation static-ip translated-address 203.0.113.3
"""


def test_palo_alto_rule_with_both_translations_is_one_twice_rule(tmp_path: Path) -> None:
    """A NAT rule that translates source and destination translates both only for the packets it
    matches: one twice rule, not a destination rule plus a source rule that would also take a
    packet sent to the real address directly."""
    config = PA.replace("set rulebase default-security-rules", TWICE + "set rulebase default-security-rules")
    root = snapshot(tmp_path, config)
    pa = load_snapshot(root).doc.data["nodes"]["pa-boundary"]
    assert {"type": "twice", "in": "ethernet1/2.30", "src": ["10.30.1.100/32"], "dst": ["203.0.113.9/32"],
            "to_dst": "198.51.100.9", "to_src": "203.0.113.3", "description": "NAT rule partner"} in pa["nat"]
    assert not any(r.get("description") == "NAT rule partner" and r["type"] != "twice" for r in pa["nat"])
    net = Network(segverify.load(root))
    vb = IPv4Address("10.30.1.100")
    [mapped] = [p for p in trace(net, "vb", Packet(vb, IPv4Address("203.0.113.9"), 6, 40000, 443)) if p.delivered]
    assert (str(mapped.hops[-1].packet.src), str(mapped.hops[-1].packet.dst)) == ("203.0.113.3", "198.51.100.9")
    [direct] = [p for p in trace(net, "vb", Packet(vb, IPv4Address("198.51.100.9"), 6, 40000, 443)) if p.delivered]
    assert str(direct.hops[-1].packet.src) == "203.0.113.2"  # the hide rule, not the pair's source

"""``segverify emulate``: the model replayed in Linux network namespaces must agree with the engine.

These tests need root, iproute2 and nftables. Without them they skip with the reason, except under
``CI=true``, where a missing tool is a failure: CI must run them for real (``require_environment``
in conftest.py decides).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conftest import require_environment
import randomnet

import segverify
from segverify.emulate import EmulationResult, emulate, format_text
from segverify.emulate import netns
from segverify.emulate.nftables import match_exprs, render
from segverify.emulate.plan import make_plan
from segverify.errors import EnvironmentProblem

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = sorted((ROOT / "topologies").glob("*.yaml"))
RANDOM_SEEDS = range(20)
POLICY_FORM_PROBES = int(os.environ.get("SEGVERIFY_POLICY_FORM_PROBES", "1500"))


def _environment() -> str | None:
    try:
        netns.check_environment()
    except EnvironmentProblem as exc:
        return str(exc)
    return None


PROBLEM = _environment()


@pytest.fixture
def kernel() -> None:
    require_environment("emulation (root, ip, nft)", PROBLEM is None, PROBLEM or "")


needs_kernel = pytest.mark.usefixtures("kernel")


SMALL = textwrap.dedent("""\
    segverify: 1
    name: emulate-small
    profile: alpha
    zones:
      lg: {segment: lgwan}
      inet: {segment: internet}
      dmz: {segment: internet}
      world: {segment: external-internet}
    nodes:
      lg-pc:
        kind: terminal
        interfaces:
          eth0: {zone: lg, address: 10.20.1.11/24, gateway: 10.20.1.1}
      lg-pc2:
        kind: terminal
        interfaces:
          eth0: {zone: lg, address: 10.20.1.12/24, gateway: 10.20.1.1}
      web:
        kind: server
        interfaces:
          eth0: {zone: dmz, address: 10.30.1.10/24, gateway: 10.30.1.1}
      san:
        kind: sanitizer
        interfaces:
          eth0: {zone: dmz, address: 10.30.1.25/24, gateway: 10.30.1.1}
          eth1: {zone: lg, address: 10.20.1.25/24}
        sanitizer:
          type: file
          inbound: [{from: any, service: tcp/443}]
          outbound: [{to: any, service: tcp/443}]
      fw:
        kind: firewall
        interfaces:
          eth0: {zone: lg, address: 10.20.1.1/24, acl_in: lg-in}
          eth1: {zone: dmz, address: 10.30.1.1/24, acl_out: dmz-out}
          eth2: {zone: inet, address: 192.0.2.2/30, acl_in: outside-in}
        routes:
          - {to: 0.0.0.0/0, via: 192.0.2.1}
          - {to: 10.99.0.0/16, drop: true}
        acls:
          lg-in:
            default: deny
            rules:
              - {action: deny, src: 10.20.1.12, proto: tcp, dport: 22}
              - {action: permit, src: 10.20.1.0/24, dst: 10.30.1.0/24, proto: tcp, dport: [22, 443]}
              - {action: permit, src: 10.20.1.0/24, proto: icmp}
              - {action: permit, dst: [198.51.100.0/24, 10.99.0.0/16], proto: udp, dport: 53}
          dmz-out:
            default: deny
            stateful: false
            rules:
              - {action: permit, proto: tcp, dport: 443}
              - {action: permit, proto: tcp, dport: 22, src: 10.20.1.11}
              - {action: permit, proto: tcp, established: true}
              - {action: permit, proto: icmp}
          outside-in:
            default: deny
            rules:
              - {action: permit, dst: 10.30.1.10, proto: tcp, dport: 443}
              - {action: deny, proto: udp}
        nat:
          - {type: static, out: eth2, inside: 10.30.1.10, outside: 192.0.2.10}
          - {type: source, out: eth2, src: 10.20.1.0/24, to: 192.0.2.2}
      internet:
        kind: external
        represents: [any]
        interfaces:
          eth0: {zone: world, address: 192.0.2.1/30}
        routes:
          - {to: 10.0.0.0/8, via: 192.0.2.2}
          - {to: 192.0.2.8/29, via: 192.0.2.2}
    lans:
      lan-lg: {endpoints: [fw:eth0, lg-pc:eth0, lg-pc2:eth0, san:eth1]}
      lan-dmz: {endpoints: [fw:eth1, web:eth0, san:eth0]}
    links:
      - [fw:eth2, internet:eth0]
    """)


def _assert_agrees(result: EmulationResult) -> None:
    __tracebackhide__ = True
    if result.disagreements:
        pytest.fail(format_text(result))


# -- without root: rendering -----------------------------------------------------------------------


def test_ruleset_rendering_has_the_model_semantics() -> None:
    topo = segverify.loads(SMALL, name="small.yaml")
    fw = topo.nodes["fw"]
    text = render(fw, {"eth0": "e0", "eth1": "e1", "eth2": "e2"})
    assert "ct state established,related accept" in text  # lg-in is stateful (the default)
    dmz_out = text.split("acl 'dmz-out'")[1].split("}")[0]
    assert "ct state" not in dmz_out  # stateless: no conntrack matching
    assert "tcp flags & (syn | ack) == ack accept" in dmz_out
    assert 'iifname "e2" ip daddr 192.0.2.10 dnat to 10.30.1.10' in text
    assert 'oifname "e2" ip saddr 10.30.1.10 snat to 192.0.2.10' in text
    assert "snat to 192.0.2.2:1024-65535" in text
    # acl_in in input and forward; acl_out in forward and output, as separate base chains.
    assert text.count('iifname "e0" jump') == 2 and text.count('oifname "e1" jump') == 2
    assert "forward_out" in text and "fwd" not in text


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(proto=st.sampled_from([6, 17, 1, 47, 50, 132, 4, 255]), src=st.integers(0, 2**32 - 1),
       dst=st.integers(0, 2**32 - 1), sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       echo=st.booleans(), ident=st.integers(1, 2**32 - 1), run=st.integers(0, 2**32 - 1))
def test_packed_probes_are_the_bytes_scapy_builds(proto: int, src: int, dst: int, sport: int, dport: int,
                                                  echo: bool, ident: int, run: int) -> None:
    """The probes packed by hand are exactly scapy's datagrams (checksums included), and decode."""
    from ipaddress import IPv4Address

    from segverify.headers import Packet
    from segverify.emulate.probes import Probe, decode, encode, encode_with_scapy

    if proto == 1:
        sport, dport = (0, 8) if echo else (sport % 16, dport % 256)
    elif proto not in (6, 17, 132):
        sport = dport = 0
    probe = Probe(ident, "a", Packet(IPv4Address(src), IPv4Address(dst), proto, sport, dport), "test")
    packed = encode(probe, run)
    assert packed == encode_with_scapy(probe, run)
    if proto != 1 or echo:
        assert decode(packed) == (run, ident)


def test_port_ranges_on_portless_protocols_match_port_zero() -> None:
    from segverify.model import Match, PortRange, ServiceTerm

    any_proto = Match(services=(ServiceTerm(None, None, (PortRange(0, 100),)),))
    assert match_exprs(any_proto) == ["ip protocol { 6, 17, 132 } th dport 0-100", "ip protocol != { 6, 17, 132 }"]
    no_zero = Match(services=(ServiceTerm(47, None, (PortRange(1, 100),)),))
    assert match_exprs(no_zero) == []
    # ICMP carries its type in the destination-port field and its code in the source-port field.
    echo = Match(services=(ServiceTerm(1, (PortRange(0, 3),), (PortRange(8, 8),)),))
    assert match_exprs(echo) == ["ip protocol 1 icmp type 8 icmp code 0-3"]


def test_wildcard_masks_and_exclusions_render_as_masked_compares() -> None:
    from ipaddress import IPv4Address, IPv4Network

    from segverify.model import Match, Wildcard

    w = Wildcard(int(IPv4Address("128.12.0.1")), int(IPv4Address("0.0.255.0")))
    m = Match(src=(IPv4Network("10.0.0.0/24"),), src_wild=(w,),
              dst_except=(Wildcard(int(IPv4Address("10.9.0.0")), 255), Wildcard(int(IPv4Address("10.8.0.1")), 0x60)))
    assert match_exprs(m) == [
        "ip saddr 10.0.0.0/24 ip daddr != 10.9.0.0/24 ip daddr & 255.255.255.159 != 10.8.0.1",
        "ip saddr & 255.255.0.255 == 128.12.0.1 ip daddr != 10.9.0.0/24 ip daddr & 255.255.255.159 != 10.8.0.1",
    ]


def test_plan_names_fit_the_kernel() -> None:
    topo = segverify.loads(SMALL, name="small.yaml")
    plan = make_plan(topo, netns.new_run_tag(), ["lg-pc", "web"])
    for _model, ns, ifname in plan.names:
        assert len(ifname) <= 15
        assert ns.startswith(netns.PREFIX)
    assert any("route add blackhole 10.99.0.0/16" in line for line in plan.nodes["fw"].ip_lines)


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns, "tool", lambda name: None)
    with pytest.raises(EnvironmentProblem, match="nftables") as info:
        netns.check_environment()
    assert "iproute2" in str(info.value)


# -- with root: the kernel -------------------------------------------------------------------------


def _ours() -> list[str]:
    return [n for n in netns.list_namespaces() if n.startswith(f"{netns.PREFIX}{os.getpid()}-")]


@needs_kernel
def test_small_network_agrees() -> None:
    topo = segverify.loads(SMALL, name="small.yaml")
    result = emulate(topo)
    _assert_agrees(result)
    delivered = [o for o in result.outcomes if o.observed]
    blocked = [o for o in result.outcomes if not o.observed]
    assert delivered and blocked  # the probes exercise both sides
    assert any("line 1 (deny)" in o.probe.reason for o in result.outcomes)
    assert any(o.probe.packet.dst.exploded == "192.0.2.10" and o.observed == {"web"} for o in result.outcomes)
    assert not _ours()


@needs_kernel
@pytest.mark.parametrize("judged", ["narrower", "wider"])
def test_a_model_that_differs_from_the_kernel_disagrees(judged: str) -> None:
    """The comparison sees both kinds of difference: the kernel delivering what the engine says it
    drops (lg-pc's ssh through lg-in, which a narrower model no longer permits) and the kernel
    dropping what the engine says gets through (a wider model that lets lg-pc2 ssh too). Each
    round ends early once the engine's expected arrivals are in, so the first kind is what a wait
    cut too short would miss."""
    topo = segverify.loads(SMALL, name="small.yaml")
    if judged == "narrower":
        text = SMALL.replace("proto: tcp, dport: [22, 443]}", "proto: tcp, dport: 443}")
    else:
        text = SMALL.replace("src: 10.20.1.12, proto: tcp, dport: 22}", "src: 10.20.1.12, proto: tcp, dport: 23}")
        text = text.replace("- {action: permit, proto: tcp, dport: 22, src: 10.20.1.11}",
                            "- {action: permit, proto: tcp, dport: 22}")
    assert text != SMALL
    result = emulate(topo, judge=segverify.loads(text, name="judge.yaml"))
    assert result.disagreements
    for o in result.disagreements:
        assert (o.probe.packet.proto, o.probe.packet.dport) == (6, 22), format_text(result)
        if judged == "narrower":
            assert o.observed > o.expected, format_text(result)  # the kernel lets more through
        else:
            assert o.expected > o.observed, format_text(result)
    sender = "lg-pc" if judged == "narrower" else "lg-pc2"
    assert sender in {o.probe.src_node for o in result.disagreements}, format_text(result)


VRF_LEAKS = Path(__file__).parent / "data" / "vrf-leaks.yaml"


def test_vrfs_render_as_tables_chosen_by_interface() -> None:
    """Each VRF is a table chosen by ``ip rule iif``; its connected routes live there; a leak is a
    throw route, then a rule into the target table and a blackhole for what the target leaves."""
    topo = segverify.load(VRF_LEAKS)
    core = make_plan(topo, "t", []).nodes["core"]
    e = {i: core.ifname[i] for i in ("vlan20", "vlan30", "up", "vlan99")}
    lines = core.ip_lines
    assert f"addr add 10.20.1.1/24 dev {e['vlan20']} noprefixroute" in lines
    assert f"addr add 10.99.1.1/24 dev {e['vlan99']}" in lines  # the default VRF: main, as before
    lgwan = next(line.split()[-1] for line in lines if line.startswith(f"rule add") and f"iif {e['vlan20']} lookup" in line)
    assert f"route add 10.20.1.0/24 dev {e['vlan20']} table {lgwan} proto kernel scope link src 10.20.1.1" in lines
    assert f"route add throw 10.99.0.0/16 table {lgwan}" in lines
    rules = [line.split(" ", 4)[4] for line in lines if line.startswith("rule add")]
    mine = [r for r in rules if r.startswith(f"iif {e['vlan20']} ")]
    at = mine.index(f"iif {e['vlan20']} to 10.99.0.0/16 lookup main")
    assert mine[at + 1] == f"iif {e['vlan20']} to 10.99.0.0/16 blackhole"
    assert mine[-1] == f"iif {e['vlan20']} blackhole"
    assert f"route add 10.40.0.0/16 table {lgwan} via 10.31.0.2 dev {e['up']} onlink" in lines


@needs_kernel
def test_vrf_network_agrees() -> None:
    result = emulate(segverify.load(VRF_LEAKS))
    _assert_agrees(result)
    delivered = {(o.probe.src_node, frozenset(o.observed)) for o in result.outcomes}
    assert ("h-lg", frozenset({"h-mgmt"})) in delivered  # through two leaks
    assert ("h-lg", frozenset({"h-far"})) in delivered  # by a next hop of the other VRF
    assert ("h-lg", frozenset({"h-inet"})) not in delivered


@needs_kernel
def test_vrfs_with_overlapping_subnets_agree() -> None:
    """Each VRF's connected routes live in its own table, so two VRFs may hold one subnet."""
    _assert_agrees(emulate(segverify.load(Path(__file__).parent / "data" / "vrf-overlap.yaml")))


@needs_kernel
def test_nat_as_devices_do_it_agrees() -> None:
    """Port forwards, a whole-address VIP, a policy line's source NAT to a pool with a port pool,
    interface NAT keeping ports, ARP for NAT addresses: the kernel delivers what the engine says."""
    text = (Path(__file__).parent / "data" / "nat-devices.yaml").read_text(encoding="utf-8")
    # Which pool address and port a kernel picks is its choice; the engine says "reached" when any
    # of them is. Filters that tell pool members apart (the oracle's test) stay out of this one.
    text = text.replace(", acl_in: pools}", "}")
    topo = segverify.loads(text, name="nat-devices.yaml")
    result = emulate(topo)
    _assert_agrees(result)
    to_vip = [o for o in result.outcomes if str(o.probe.packet.dst) == "198.51.100.5" and o.observed == {"srv"}]
    assert to_vip, "a port forward delivered nothing"
    assert any(o.probe.src_node == "pc" and o.observed == {"x"} for o in result.outcomes)



@needs_kernel
def test_local_rules_agrees() -> None:
    """local: rules (PAN-OS): the firewall's own addresses are decided in the input hook by its
    policy lines, each line's egress side being the addresses of its interfaces. The kernel
    delivers to the firewall exactly what the engine says, permits and refusals both."""
    result = emulate(segverify.load(Path(__file__).parent / "data" / "policy-local-rules.yaml"))
    _assert_agrees(result)
    to_fw = [o for o in result.outcomes if "own address" in o.probe.reason and o.probe.reason.startswith("fw ")]
    reached = {(o.probe.src_node, str(o.probe.packet.dst), o.probe.packet.dport) for o in to_fw if o.observed == {"fw"}}
    assert ("pc", "10.20.1.1", 443) in reached and ("pc", "10.9.1.1", 80) in reached
    assert ("admin", "10.20.1.1", 22) in reached
    refused = {(o.probe.src_node, str(o.probe.packet.dst), o.probe.packet.dport) for o in to_fw if not o.observed}
    assert ("pc", "10.20.1.1", 22) in refused and ("pc", "10.30.1.1", 443) in refused


@needs_kernel
@pytest.mark.parametrize("name", ["twice-nat-rule.yaml", "twice-nat.yaml", "twice-nat-static.yaml"])
def test_twice_nat_agrees(name: str) -> None:
    """Both addresses translated in both directions (static pairs, no pool to choose from): the
    kernel's conntrack does what the engine says, downstream filters on the translated addresses
    included."""
    result = emulate(segverify.load(Path(__file__).parent / "data" / name))
    _assert_agrees(result)
    reached = {(o.probe.src_node, str(o.probe.packet.dst)) for o in result.outcomes if o.observed}
    assert ("pc", "10.0.9.5") in reached and ("partner", "198.51.100.5") in reached


@needs_kernel
@pytest.mark.parametrize("path", REFERENCE, ids=[p.stem for p in REFERENCE])
def test_reference_network_agrees(path: Path) -> None:
    _assert_agrees(emulate(segverify.load(path)))


def test_the_random_sample_uses_vrfs() -> None:
    """The sample below holds networks with routing contexts and leaks (9 of its 20)."""
    with_vrfs = [s for s in RANDOM_SEEDS if any("vrfs" in n for n in randomnet.generate_dict(s)["nodes"].values())]
    assert len(with_vrfs) >= 8


def test_the_random_sample_uses_twice_nat() -> None:
    """The sample below holds networks with twice NAT on a router: as twice rules (both ways and
    one way) and as the pair form."""
    def twice(seed: int, kind: str) -> bool:
        return any(rule.get("dst") == "203.0.113.250" and rule["type"] == kind
                   for n in randomnet.generate_dict(seed)["nodes"].values() for rule in n.get("nat", []))
    rules = [s for s in RANDOM_SEEDS if twice(s, "twice")]
    assert len(rules) >= 3 and len([s for s in RANDOM_SEEDS if twice(s, "destination")]) >= 2
    kinds = {"out" in rule for s in rules for n in randomnet.generate_dict(s)["nodes"].values()
             for rule in n.get("nat", []) if rule["type"] == "twice"}
    assert kinds == {True, False}


@needs_kernel
@pytest.mark.parametrize("local", ["copy", "rules"])
@pytest.mark.parametrize("path", REFERENCE, ids=[p.stem for p in REFERENCE])
def test_reference_network_as_zone_pair_policies_agrees(path: Path, local: str) -> None:
    """Each reference network with its boundary firewalls written as zone-pair policies (as a
    FortiGate or PAN-OS holds them; tests/policyform.py): the kernel, with nftables iifname/oifname
    rules in the forward hook and, in the input hook, the local lines (a copy) or the policy's own
    lines with the egress side as the device's addresses (local: rules), agrees with the engine."""
    from test_policies import reference_as_policies

    topology, rewritten = reference_as_policies(path, local)
    assert rewritten
    # The ACL form is emulated with every planned probe above; here an even, fixed cut of them.
    _assert_agrees(emulate(topology, probes=POLICY_FORM_PROBES))


@needs_kernel
@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_network_agrees(seed: int) -> None:
    _assert_agrees(emulate(segverify.loads(randomnet.generate(seed), name=f"random-{seed}.yaml")))


GRE_BEHIND_NAT = textwrap.dedent("""\
    segverify: 1
    name: gre-behind-nat
    profile: alpha
    zones:
      inet: {segment: internet}
      world: {segment: external-internet}
    nodes:
      h1:
        kind: server
        interfaces:
          eth0: {zone: inet, address: 10.30.1.11/24, gateway: 10.30.1.1}
      h2:
        kind: server
        interfaces:
          eth0: {zone: inet, address: 10.30.1.12/24, gateway: 10.30.1.1}
      r:
        kind: router
        interfaces:
          eth0: {zone: inet, address: 10.30.1.1/24, acl_in: out}
          eth1: {zone: world, address: 192.0.2.1/24}
        acls:
          out:
            default: permit
            rules:
            - {action: permit, dst: [10.30.1.200, 192.0.2.10], proto: gre}
        nat:
        - {type: static, out: eth0, inside: 192.0.2.10, outside: 10.30.1.200}
        - {type: source, out: eth1, src: 10.30.1.0/24, to: 192.0.2.1}
      x:
        kind: external
        interfaces:
          eth0: {zone: world, address: 192.0.2.10/24, gateway: 192.0.2.1}
        represents: 203.0.113.0/24
    lans:
      office: [h1:eth0, h2:eth0, r:eth0]
    links:
    - endpoints: [r:eth1, x:eth0]
    """)


@needs_kernel
def test_gre_through_nat_is_real_gre() -> None:
    """GRE probes carry a GRE version 0 header: the kernel's NAT drops GRE of an unknown version
    when it rewrites the destination (a raw tag reads as version 7), where real GRE passes. Before
    the fix, every GRE probe to the static NAT address disagreed."""
    topo = segverify.loads(GRE_BEHIND_NAT, name="gre-behind-nat.yaml")
    result = emulate(topo)
    _assert_agrees(result)
    via_static = {o.probe.src_node: o.observed for o in result.outcomes
                  if o.probe.packet.proto == 47 and str(o.probe.packet.dst) == "10.30.1.200"}
    assert via_static == {"h1": {"x"}, "h2": {"x"}, "lan:r:eth1,x:eth0": frozenset()}


@needs_kernel
def test_portless_probes_never_share_a_translated_tuple() -> None:
    """Two GRE senders behind one source NAT address, to one receiver: conntrack has no port to tell
    the translated flows apart, so sent together the second is dropped although each is delivered
    on its own (what the engine judges). Such probes go in separate rounds."""
    topo = segverify.loads(GRE_BEHIND_NAT, name="gre-behind-nat.yaml")
    result = emulate(topo)
    _assert_agrees(result)
    direct = {o.probe.src_node for o in result.outcomes
              if o.probe.packet.proto == 47 and str(o.probe.packet.dst) == "192.0.2.10" and o.observed == {"x"}}
    assert direct == {"h1", "h2", "lan:r:eth1,x:eth0"}


# A source NAT with a port pool in front of an ACL that admits low source ports only: the engine
# says a port of the pool gets through; the kernel keeps the port it was sent with, or takes
# another when that tuple is taken (random-16 of the sample, found by CI).
PORT_POOL_BEFORE_PORT_ACL = textwrap.dedent("""\
    segverify: 1
    name: port-pool
    profile: alpha
    zones:
      a: {segment: mynumber}
      b: {segment: mynumber}
    nodes:
      h:
        kind: server
        interfaces: {eth0: {zone: a, address: 10.0.1.10/24, gateway: 10.0.1.1}}
      nat:
        kind: router
        interfaces:
          lan: {zone: a, address: 10.0.1.1/24}
          wan: {zone: b, address: 10.0.2.1/24}
        nat:
          - {type: source, out: wan, to: 10.0.2.1}
      fw:
        kind: firewall
        interfaces:
          wan: {zone: b, address: 10.0.2.2/24, acl_in: low-ports}
        acls:
          low-ports:
            default: deny
            rules:
              - {action: permit, proto: tcp, sport: 1024-39999}
    links:
      - [h:eth0, nat:lan]
      - [nat:wan, fw:wan]
    """)


def test_a_kernel_translation_is_one_of_the_engines() -> None:
    """Where a probe leaves a pool NAT, the kernel's one translation may reach fewer receivers than
    the engine's some-translation answer, never others; without such a NAT the sets must be equal."""
    from segverify.emulate.probes import Probe
    from segverify.emulate.run import Outcome, _chooses_translation
    from segverify.headers import Packet
    from segverify.network import Network
    from ipaddress import IPv4Address

    net = Network(segverify.loads(PORT_POOL_BEFORE_PORT_ACL, name="port-pool.yaml"))
    through = Probe(1, "h", Packet(IPv4Address("10.0.1.10"), IPv4Address("10.0.2.2"), 6, 40000, 80), "test")
    direct = Probe(2, "h", Packet(IPv4Address("10.0.1.10"), IPv4Address("10.0.1.1"), 6, 40000, 80), "test")
    assert _chooses_translation(net, through)
    assert not _chooses_translation(net, direct)
    assert Outcome(through, frozenset({"fw"}), frozenset(), translation_chosen=True).agrees
    assert not Outcome(through, frozenset({"fw"}), frozenset({"h"}), translation_chosen=True).agrees
    assert not Outcome(direct, frozenset({"fw"}), frozenset()).agrees


@needs_kernel
def test_port_pool_before_a_port_acl_agrees() -> None:
    result = emulate(segverify.loads(PORT_POOL_BEFORE_PORT_ACL, name="port-pool.yaml"))
    _assert_agrees(result)
    kept = [o for o in result.outcomes if o.translation_chosen]
    assert kept and all(o.observed < o.expected for o in kept)


@needs_kernel
def test_keep_then_cleanup() -> None:
    topo = segverify.loads(SMALL, name="small.yaml")
    result = emulate(topo, probes=10, keep=True)
    try:
        assert result.kept and set(result.kept) <= set(netns.list_namespaces())
        assert "kept namespaces" in format_text(result)
    finally:
        removed = netns.delete_namespaces(result.kept)
    assert sorted(removed) == sorted(result.kept)


@needs_kernel
def test_cleanup_removes_only_stale_segverify_namespaces() -> None:
    stale = f"{netns.PREFIX}999999999-abcd-n0"  # no such pid
    other = "segverify-test-other"
    netns.run_ip([], batch=[f"netns add {stale}", f"netns add {other}"])
    try:
        removed = netns.cleanup()
        assert stale in removed
        assert other in netns.list_namespaces()
    finally:
        subprocess.run([netns.tool("ip") or "ip", "netns", "delete", other], capture_output=True)
        netns.delete_namespaces([stale])


INTERRUPTS = 20  # runs interrupted, half SIGINT, half SIGTERM, at seeded random moments
INTERRUPT_SEED = 14


def _root_links_and_tables() -> tuple[set[str], set[str]]:
    """Link names and nftables tables of this (the root) namespace: a run must leave both as found."""
    links = subprocess.run([netns.tool("ip") or "ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    tables = subprocess.run([netns.tool("nft") or "nft", "list", "tables"], capture_output=True, text=True).stdout
    return ({line.split(":")[1].strip().split("@")[0] for line in links.splitlines() if ":" in line},
            set(tables.splitlines()))


def _start_emulate(path: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "segverify", "emulate", str(path), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_namespaces(child: subprocess.Popen[bytes], prefix: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if any(n.startswith(prefix) for n in netns.list_namespaces()):
            return
        time.sleep(0.005)
    assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""


def _namespace_phase(child: subprocess.Popen[bytes], prefix: str) -> float:
    """Seconds from the run's first namespace to the last (the run is left to finish)."""
    _wait_for_namespaces(child, prefix)
    first = last = time.monotonic()
    while child.poll() is None:
        if any(n.startswith(prefix) for n in netns.list_namespaces()):
            last = time.monotonic()
        time.sleep(0.005)
    return last - first


@needs_kernel
def test_interrupts_at_random_moments_leave_nothing_behind(tmp_path: Path) -> None:
    """SIGINT and SIGTERM while namespaces exist, at seeded random moments of building, probing and
    teardown: every run exits non-zero (130 or 143 when the signal came while namespaces existed)
    and leaves no namespace, link or nftables table behind."""
    import random

    path = tmp_path / "random-27.yaml"
    path.write_text(randomnet.generate(27), encoding="utf-8")
    rng = random.Random(INTERRUPT_SEED)
    links_before, tables_before = _root_links_and_tables()
    calibration = _start_emulate(path)
    phase = _namespace_phase(calibration, f"{netns.PREFIX}{calibration.pid}-")
    calibration.communicate()
    interrupted = attempts = 0
    while interrupted < INTERRUPTS:
        attempts += 1
        assert attempts <= 3 * INTERRUPTS, f"only {interrupted} runs could be interrupted in {attempts} tries"
        sig = (signal.SIGINT, signal.SIGTERM)[attempts % 2]
        child = _start_emulate(path)
        prefix = f"{netns.PREFIX}{child.pid}-"
        try:
            _wait_for_namespaces(child, prefix)
            time.sleep(rng.uniform(0.0, phase))  # a moment somewhere in building, probing or teardown
            during = any(ns.startswith(prefix) for ns in netns.list_namespaces())
            child.send_signal(sig)
            _out, err = child.communicate(timeout=60)
            if not during and child.returncode in (0, -sig, 128 + sig):
                continue  # the run had already cleaned up: that moment was not inside it
            assert child.returncode == 128 + sig, (attempts, sig, child.returncode, err.decode())
            assert b"Traceback" not in err and b"interrupted by" in err
            assert not [ns for ns in netns.list_namespaces() if ns.startswith(prefix)], attempts
            interrupted += 1
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            netns.delete_namespaces([ns for ns in netns.list_namespaces() if ns.startswith(prefix)])
    assert _root_links_and_tables() == (links_before, tables_before)


@needs_kernel
def test_cleanup_after_sigkill_removes_that_run_only(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    alive = f"{netns.PREFIX}{os.getpid()}-beef-n0"  # a run that is still going (this process)
    other = f"segverify-test-other-{os.getpid()}"
    netns.run_ip([], batch=[f"netns add {alive}", f"netns add {other}"])
    child = _start_emulate(path, "--probes", "1000")
    prefix = f"{netns.PREFIX}{child.pid}-"
    try:
        _wait_for_namespaces(child, prefix)
        time.sleep(0.2)
        child.kill()
        child.wait()
        left = [ns for ns in netns.list_namespaces() if ns.startswith(prefix)]
        assert left, "SIGKILL cannot clean up; the run should have left its namespaces"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
        done = subprocess.run([sys.executable, "-m", "segverify", "emulate", "--cleanup"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        remaining = netns.list_namespaces()
        assert not [ns for ns in remaining if ns.startswith(prefix)]
        assert set(left) <= set(done.stdout.split())
        assert alive in remaining and other in remaining
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        netns.delete_namespaces([ns for ns in netns.list_namespaces() if ns.startswith(prefix)] + [alive])
        subprocess.run([netns.tool("ip") or "ip", "netns", "delete", other], capture_output=True)


@needs_kernel
def test_a_failing_tool_is_one_message_with_its_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from segverify.cli import main
    from segverify.emulate import run as run_mod

    real = run_mod.make_plan
    made: list[str] = []

    def broken_plan(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        plan = real(*args, **kwargs)  # type: ignore[arg-type]
        first = next(iter(plan.nodes.values()))
        first.ruleset += "\nthis is not nft syntax\n"
        made.append(plan.tag)
        return plan

    monkeypatch.setattr(run_mod, "make_plan", broken_plan)
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["emulate", str(path), "--probes", "5"])
    _out, err = capsys.readouterr()
    assert exc.value.code == 2 and "Traceback" not in err
    assert "nft rejected the ruleset" in err and "nft -f - in " in err and "syntax error" in err.lower()
    assert made and not [ns for ns in netns.list_namespaces() if ns.startswith(made[0])]


@needs_kernel
def test_ip_failure_is_tool_failed() -> None:
    from segverify.errors import ToolFailed

    with pytest.raises(ToolFailed) as info:
        netns.run_ip(["link", "show", "segv-no-such-device"])
    assert "link show segv-no-such-device" in info.value.command and info.value.stderr

"""A concrete trace and the symbolic engine must always agree: property test over random packets."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segverify
from segverify.headers import Packet
from segverify.network import Network
from segverify.reach import Reachability
from segverify.trace import trace

ROOT = Path(__file__).parent.parent / "topologies"
NETWORKS = sorted(str(p) for p in ROOT.glob("*.yaml")) + sorted(str(p) for p in (ROOT / "broken").glob("*.yaml"))[:6]
PORTS = [0, 22, 25, 53, 80, 110, 123, 443, 445, 587, 3389, 8080, 49152]


@lru_cache(maxsize=None)
def compiled(path: str) -> tuple[Network, Reachability, tuple[IPv4Address, ...]]:
    net = Network(segverify.load(path))
    addresses = tuple(sorted(net.owner)) + tuple(
        rule.translated for node in net.topology.nodes.values() for rule in node.nat)
    return net, Reachability(net), addresses


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, Packet]:
    path = draw(st.sampled_from(NETWORKS))
    net, _, addresses = compiled(path)
    source = draw(st.sampled_from(net.endpoints))
    node = net.topology.nodes[source]
    if node.addresses and draw(st.booleans()):
        src = draw(st.sampled_from(node.addresses))
    else:
        src = IPv4Address(draw(st.integers(0, 2**32 - 1)))
    dst = draw(st.sampled_from(addresses)) if draw(st.integers(0, 3)) else IPv4Address(draw(st.integers(0, 2**32 - 1)))
    proto = draw(st.sampled_from([6, 17, 1, 47]))
    ported = proto in (6, 17)
    sport = draw(st.sampled_from(PORTS)) if ported else 0
    dport = draw(st.sampled_from(PORTS)) if ported else 0
    return path, source, Packet(src, dst, proto, sport, dport)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_trace_agrees_with_engine(case: tuple[str, str, Packet]) -> None:
    path, source, packet = case
    net, reach, _ = compiled(path)
    sent = reach.space.contains(net.origin_headers(source), packet)
    delivered = {p.final_node for p in trace(net, source, packet) if p.delivered} if sent else set()
    for destination in net.endpoints:
        if destination == source:
            continue
        assert reach.delivers(source, destination, packet) == (destination in delivered), (
            f"{Path(path).name}: {packet} from {source} to {destination}: engine "
            f"{reach.delivers(source, destination, packet)}, trace {sorted(delivered)}")


def test_trace_agrees_with_engine_on_random_networks() -> None:
    """Random networks bring policies, VRRP and secondary addresses, wildcard and excluded
    addresses, ICMP types and NAT: the trace takes the same decisions as the engine."""
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import randomnet

    checked = 0
    for seed in range(12):
        net = Network(segverify.loads(randomnet.generate(seed), name=f"random-{seed}.yaml"))
        reach = Reachability(net)
        rng = random.Random(seed)
        dsts = randomnet.destination_addresses(net.topology)
        for _ in range(60):
            source = rng.choice(net.endpoints)
            srcs = randomnet.source_addresses(net.topology, source, rng)
            proto, sport, dport = rng.choice(list(randomnet.services(rng)))
            packet = Packet(rng.choice(srcs), rng.choice(dsts), proto, sport, dport)
            if not reach.space.contains(net.origin_headers(source), packet):
                continue
            paths = trace(net, source, packet)
            delivered = {p.final_node for p in paths if p.delivered}
            for destination in net.endpoints:
                if destination != source:
                    checked += 1
                    assert reach.delivers(source, destination, packet) == (destination in delivered), (
                        f"random {seed}: {packet} from {source} to {destination}: trace {sorted(delivered)}; "
                        + " | ".join(h.describe() for p in paths for h in p.hops))
    assert checked > 500


def test_trace_agrees_with_engine_through_nat_as_devices_do_it() -> None:
    """Port forwards, pools, a policy line's source NAT and ARP for NAT addresses, packet by packet."""
    net = Network(segverify.load(Path(__file__).parent / "data" / "nat-devices.yaml"))
    reach = Reachability(net)
    dsts = [IPv4Address(a) for a in ("198.51.100.5", "198.51.100.6", "198.51.100.4", "198.51.100.3", "10.0.5.10",
                                     "8.8.8.8", "192.0.2.50", "10.0.1.10")]
    checked = 0
    for source, src in (("x", "8.8.8.8"), ("x", "192.0.2.50"), ("pc", "10.0.1.10"), ("srv", "10.0.5.10")):
        for dst in dsts:
            for proto, dport in ((6, 443), (6, 80), (6, 22), (17, 53), (1, 8)):
                packet = Packet(IPv4Address(src), dst, proto, 40000 if proto != 1 else 0, dport)
                delivered = {p.final_node for p in trace(net, source, packet) if p.delivered}
                for destination in net.endpoints:
                    if destination != source:
                        checked += 1
                        assert reach.delivers(source, destination, packet) == (destination in delivered), (
                            f"{packet} from {source} to {destination}: trace {sorted(delivered)}")
    assert checked == 4 * 8 * 5 * (len(net.endpoints) - 1)  # every (source, packet) against every other endpoint
    forward = trace(net, "x", Packet(IPv4Address("8.8.8.8"), IPv4Address("198.51.100.5"), 6, 40000, 443))
    hop = next(h for p in forward for h in p.hops if h.node == "fw")
    assert hop.packet.dst == IPv4Address("10.0.5.10") and hop.packet.dport == 8443
    assert hop.policy is not None and hop.policy.rule_index == 1



@pytest.mark.parametrize("name", ["twice-nat-rule.yaml", "twice-nat.yaml", "twice-nat-static.yaml"])
def test_trace_of_twice_nat_shows_the_packet_as_sent_and_as_received(name: str) -> None:
    """Both addresses translated: the trace agrees with the engine packet by packet, and shows the
    packet as the PC sent it and as the partner received it, in both directions."""
    net = Network(segverify.load(Path(__file__).parent / "data" / name))
    reach = Reachability(net)
    dsts = [IPv4Address(a) for a in ("10.0.9.5", "198.51.100.5", "192.0.2.5", "10.0.1.10", "198.51.100.1")]
    for source, src in (("pc", "10.0.1.10"), ("pc2", "10.0.1.11"), ("partner", "192.0.2.5")):
        for dst in dsts:
            for dport in (22, 443):
                packet = Packet(IPv4Address(src), dst, 6, 40000, dport)
                delivered = {p.final_node for p in trace(net, source, packet) if p.delivered}
                for destination in net.endpoints:
                    if destination != source:
                        assert reach.delivers(source, destination, packet) == (destination in delivered)
    for source, sent, received in (("pc", ("10.0.1.10", "10.0.9.5"), ("198.51.100.5", "192.0.2.5")),
                                   ("partner", ("192.0.2.5", "198.51.100.5"), ("10.0.9.5", "10.0.1.10"))):
        paths = trace(net, source, Packet(IPv4Address(sent[0]), IPv4Address(sent[1]), 6, 40000, 443))
        [path] = [p for p in paths if p.delivered]
        first, last = path.hops[0].packet, path.hops[-1].packet
        assert (str(first.src), str(first.dst)) == sent and (str(last.src), str(last.dst)) == received
        assert any(len(h.nat) == 2 for h in path.hops)  # both translations named at the firewall


def test_trace_names_the_vrf_and_each_leak_per_hop() -> None:
    """On a node with VRFs a hop says which VRF the lookup began in and which leak route (file:line)
    moved it into the next one; the JSON carries the same as ``vrf`` and ``vrf_path``."""
    path = Path(__file__).parent / "data" / "vrf-leaks.yaml"
    net = Network(segverify.load(path))
    [leaked] = trace(net, "h-lg", Packet(IPv4Address("10.20.1.10"), IPv4Address("10.99.1.10"), 6, 49152, 443))
    assert leaked.delivered and leaked.final_node == "h-mgmt"
    core = leaked.hops[1]
    assert f"vrf lgwan -> default (leak {path}:33:13)" in core.describe()
    assert core.to_dict()["vrf"] == "default"
    assert core.to_dict()["vrf_path"] == [{"vrf": "lgwan"}, {"vrf": "default", "leak": f"{path}:33:13"}]
    assert "vrf" not in leaked.hops[0].to_dict()  # a node without VRFs says nothing about them
    [stays] = trace(net, "h-inet", Packet(IPv4Address("10.30.1.10"), IPv4Address("10.20.1.10"), 1, 0, 8))
    assert stays.outcome.value == "no route" and "vrf inet" in stays.hops[-1].describe()
    [cycle] = trace(net, "h-lg", Packet(IPv4Address("10.20.1.10"), IPv4Address("10.50.0.1"), 1, 0, 8))
    assert cycle.outcome.value == "no route"  # the leak cycle lgwan -> inet -> lgwan ends
    [other_vrf] = trace(net, "h-lg", Packet(IPv4Address("10.20.1.10"), IPv4Address("10.40.1.10"), 1, 0, 8))
    assert other_vrf.delivered and other_vrf.hops[1].out_iface == "up"  # next hop resolved in VRF inet

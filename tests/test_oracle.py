"""The engine against a brute-force oracle, packet by packet.

First the oracle itself is checked on small hand-written networks (so a bug in it is not mistaken
for one in the engine), then for the reference topologies and seeded random networks every packet of
a small universe is sent from every source endpoint, and the engine's flow sets must agree with the
oracle on which endpoints receive it.
"""

from __future__ import annotations

import random
import sys
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

import segverify
from segverify.network import Network
from segverify.reach import Reachability

sys.path.insert(0, str(Path(__file__).parent))
import oracle  # noqa: E402
import randomnet  # noqa: E402
from oracle import Pkt, can_send_from, delivered  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RANDOM_SEEDS = range(30)
PACKET_BUDGET = 3000  # (source, packet) pairs per random network: keeps the file well under a minute
REFERENCE_BUDGET = 3000
BROKEN_BUDGET = 600

TCP, UDP, ICMP, GRE = 6, 17, 1, 47
A = IPv4Address


# -- the oracle on its own ---------------------------------------------------------------------------

BASE = """
segverify: 1
name: oracle-check
profile: alpha
zones:
  in: {segment: lgwan}
  out: {segment: external-internet}
nodes:
  h1:
    kind: host
    interfaces:
      eth0: {zone: in, address: 10.0.1.10/24, gateway: 10.0.1.1}
  h2:
    kind: server
    interfaces:
      eth0: {zone: in, address: 10.0.3.10/24, gateway: 10.0.3.1}
  r1:
    kind: router
    interfaces:
      eth0: {zone: in, address: 10.0.1.1/24}
      eth1: {zone: in, address: 10.0.2.1/29}
    routes:
      - {to: 10.0.3.0/24, via: 10.0.2.2}
      - {to: 10.0.1.0/24, via: 10.0.2.2}     # shadowed by the connected route
      - {to: default, via: 10.0.2.2}
      - {to: 10.0.9.0/24, drop: true}
      - {to: 10.0.7.0/24, via: 10.0.2.2}     # a loop: r2 sends it back
      - {to: 10.0.8.0/24, via: 10.0.2.2}     # equal-cost pair
      - {to: 10.0.8.0/24, via: 10.0.2.3}
  r2:
    kind: firewall
    interfaces:
      eth0: {zone: in, address: 10.0.2.2/29}
      eth1: {zone: in, address: 10.0.3.1/24, acl_out: to-h2}
      eth2: {zone: out, address: 198.51.100.1/30}
    routes:
      - {to: 10.0.1.0/24, via: 10.0.2.1}
      - {to: 10.0.7.0/24, via: 10.0.2.1}
      - {to: 10.0.8.0/24, drop: true}
      - {to: default, via: 198.51.100.2}
    acls:
      to-h2:
        default: deny
        rules:
          - {action: deny, proto: tcp, sport: 1024-2000}
          - {action: permit, proto: tcp, dport: 443}
          - {action: permit, proto: udp, sport: 3000-65535}
          - {action: permit, proto: tcp, dport: 22, established: true}
    nat:
      - {type: static, out: eth2, inside: 10.0.3.10, outside: 203.0.113.5}
      - {type: source, out: eth2, src: 10.0.0.0/16, to: 198.51.100.1}
  r3:
    kind: router
    interfaces:
      eth0: {zone: in, address: 10.0.2.3/29}
      eth1: {zone: in, address: 10.0.5.1/24}
    routes:
      - {to: 10.0.8.0/24, via: 10.0.5.20}
  h5:
    kind: host
    interfaces:
      eth0: {zone: in, address: 10.0.5.10/24}
  x1:
    kind: external
    represents: [any]
    interfaces:
      eth0: {zone: out, address: 198.51.100.2/30, gateway: 198.51.100.1}
  x2:
    kind: external
    represents: [10.0.8.0/24, 10.0.5.128/25]
    interfaces:
      eth0: {zone: in, address: 10.0.5.20/24, gateway: 10.0.5.1}
lans:
  lan1: [r1:eth0, h1:eth0]
  core: [r1:eth1, r2:eth0, r3:eth0]
  lan3: [r2:eth1, h2:eth0]
  lan5: [r3:eth1, h5:eth0, x2:eth0]
links:
  - [r2:eth2, x1:eth0]
"""


# Destinations behind the drop route, the loop, the equal-cost pair and x2's ranges.
HAND_PROBES = ("10.0.9.9", "10.0.7.7", "10.0.8.8", "10.0.5.200", "10.0.5.77", "8.8.8.8")


@pytest.fixture(scope="module")
def base() -> segverify.Topology:
    return segverify.loads(BASE, name="oracle-check.yaml")


def tcp(src: str, dst: str, dport: int, sport: int = 40000) -> Pkt:
    return Pkt(A(src), A(dst), TCP, sport, dport)


def test_oracle_forwards_through_routers_and_acl_out(base: Any) -> None:
    assert delivered(base, "h1", tcp("10.0.1.10", "10.0.3.10", 443)) == {"h2"}
    assert delivered(base, "h1", tcp("10.0.1.10", "10.0.3.10", 80)) == frozenset()
    # First match wins: a source port in 1024-2000 is denied before the permit of 443.
    assert delivered(base, "h1", tcp("10.0.1.10", "10.0.3.10", 443, sport=1500)) == frozenset()
    # New flows never match an `established` line.
    assert delivered(base, "h1", tcp("10.0.1.10", "10.0.3.10", 22)) == frozenset()
    # The reverse direction has no ACL.
    assert delivered(base, "h2", Pkt(A("10.0.3.10"), A("10.0.1.10"), ICMP)) == {"h1"}


def test_oracle_local_delivery_drop_routes_loops_and_ecmp(base: Any) -> None:
    assert delivered(base, "h1", Pkt(A("10.0.1.10"), A("10.0.2.2"), ICMP)) == {"r2"}
    assert delivered(base, "h1", Pkt(A("10.0.1.10"), A("10.0.9.9"), ICMP)) == frozenset()  # null route
    assert delivered(base, "h1", Pkt(A("10.0.1.10"), A("10.0.7.7"), ICMP)) == frozenset()  # loop ends
    # ECMP: r2 drops 10.0.8.0/24, r3 hands it to x2, which represents it.
    assert delivered(base, "h1", Pkt(A("10.0.1.10"), A("10.0.8.8"), ICMP)) == {"x2"}
    # A connected route beats the static one of the same length back toward r2.
    assert delivered(base, "h2", Pkt(A("10.0.3.10"), A("10.0.1.10"), GRE)) == {"h1"}
    # h5 has no gateway: only its own LAN, where x2 also takes what it represents.
    assert delivered(base, "h5", Pkt(A("10.0.5.10"), A("10.0.1.10"), ICMP)) == frozenset()
    assert delivered(base, "h5", Pkt(A("10.0.5.10"), A("10.0.5.1"), ICMP)) == {"r3"}
    assert delivered(base, "h5", Pkt(A("10.0.5.10"), A("10.0.5.200"), ICMP)) == {"x2"}
    assert delivered(base, "h5", Pkt(A("10.0.5.10"), A("10.0.5.20"), ICMP)) == {"x2"}
    # No interface owns 10.0.5.77: it is one of the addresses of lan5 that lan5's pool stands for.
    assert delivered(base, "h5", Pkt(A("10.0.5.10"), A("10.0.5.77"), ICMP)) == {"lan:lan5"}
    # 10.0.1.99 is unowned on lan1: routed there through r2 and r1, lan1's pool receives it.
    assert delivered(base, "h2", Pkt(A("10.0.3.10"), A("10.0.1.99"), ICMP)) == {"lan:lan1"}
    assert delivered(base, "h1", Pkt(A("10.0.1.10"), A("10.0.1.99"), ICMP)) == {"lan:lan1"}


def test_oracle_nat_and_external_nodes(base: Any) -> None:
    # Out to the Internet: the default route leads to x1, which represents any.
    assert delivered(base, "h1", Pkt(A("10.0.1.10"), A("8.8.8.8"), UDP, 5000, 53)) == {"x1"}
    # In through static NAT: 203.0.113.5 becomes h2 before r2's ACLs and routing.
    assert delivered(base, "x1", tcp("8.8.4.4", "203.0.113.5", 443)) == {"h2"}
    assert delivered(base, "x1", tcp("8.8.4.4", "203.0.113.5", 80)) == frozenset()
    # x1 can also reach an inside address directly (no filter on r2's outside).
    assert delivered(base, "x1", tcp("8.8.4.4", "10.0.1.10", 80)) == {"h1"}


def test_oracle_source_nat_rewrites_the_source_port() -> None:
    # r1 overloads traffic toward r2; r2 then filters on the source port. Some rewritten ports fall
    # in 1024-2000 (denied) and others do not (permitted), so the packet is delivered.
    ecmp = "      - {to: 10.0.8.0/24, via: 10.0.2.3}\n"
    text = BASE.replace(ecmp, ecmp + "    nat:\n      - {type: source, out: eth1, src: any, to: 10.0.2.4}\n")
    topo = segverify.loads(text, name="snat.yaml")
    assert delivered(topo, "h1", tcp("10.0.1.10", "10.0.3.10", 443, sport=22)) == {"h2"}
    # UDP is permitted only from source ports 3000 and up: after overload, some are.
    assert delivered(topo, "h1", Pkt(A("10.0.1.10"), A("10.0.3.10"), UDP, 53, 53)) == {"h2"}
    ctx = oracle._context(topo)
    reps = ctx.sport_reps[(1024, 65535)]
    assert 1024 in reps and 2001 in reps and 3000 in reps
    check_against_oracle(topo, "snat.yaml", 5000, seed=4, extra_dsts=HAND_PROBES)


NAT_NETWORK = (ROOT / "tests" / "data" / "nat-devices.yaml").read_text(encoding="utf-8")


def test_nat_as_devices_do_it_against_oracle() -> None:
    """Port forwards (with and without a new port), a whole-address VIP, a policy line's source NAT
    to a pool with a port pool, interface source NAT keeping ports; downstream filters tell pool
    addresses, source ports and translated destination ports apart."""
    topo = segverify.loads(NAT_NETWORK, name="nat.yaml")
    x, srv, pc = "x", "srv", "pc"
    assert delivered(topo, x, tcp("192.0.2.50", "198.51.100.5", 443)) == {srv}   # -> 8443: permitted
    assert delivered(topo, x, tcp("192.0.2.50", "198.51.100.5", 80)) == set()    # src excepted
    assert delivered(topo, x, tcp("8.8.8.8", "198.51.100.5", 80)) == {srv}
    assert delivered(topo, x, tcp("8.8.8.8", "198.51.100.5", 22)) == set()       # no rule translates it
    assert delivered(topo, x, Pkt(A("8.8.8.8"), A("198.51.100.6"), ICMP, 0, 8)) == {srv}
    assert delivered(topo, pc, tcp("10.0.1.10", "8.8.8.8", 443)) == {x}          # via 198.51.100.2
    assert delivered(topo, pc, Pkt(A("10.0.1.10"), A("8.8.8.8"), UDP, 40000, 53)) == set()  # untranslated
    check_against_oracle(topo, "nat.yaml", 20000, seed=5,
                         extra_dsts=("198.51.100.5", "198.51.100.6", "198.51.100.4", "8.8.8.8", "192.0.2.50"))



def test_local_rules_against_oracle() -> None:
    """local: rules (PAN-OS): the policy's own lines decide traffic to the firewall, the interface
    holding the destination address standing as the egress; an address no interface holds meets
    the lines without a 'to'. What the firewall sends is not filtered."""
    name = "policy-local-rules.yaml"
    topo = segverify.loads((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"), name=name)
    assert delivered(topo, "pc", tcp("10.20.1.10", "10.20.1.1", 443)) == {"fw"}     # line 2: to lan
    assert delivered(topo, "pc", tcp("10.20.1.10", "10.20.2.1", 443)) == {"fw"}     # lan's secondary
    assert delivered(topo, "pc", tcp("10.20.1.10", "10.20.1.1", 22)) == set()       # the default
    assert delivered(topo, "pc", tcp("10.20.1.10", "10.9.1.1", 80)) == {"fw"}       # line 4: to wan
    assert delivered(topo, "pc", tcp("10.20.1.10", "10.30.1.1", 443)) == set()      # no line lan -> mgmt
    assert delivered(topo, "admin", tcp("10.30.1.10", "10.20.1.1", 22)) == {"fw"}   # line 1
    assert delivered(topo, "admin", tcp("10.30.1.10", "10.9.1.1", 22)) == set()     # wan not in line 1
    assert delivered(topo, "admin", Pkt(A("10.30.1.10"), A("10.20.2.1"), 1, 0, 8)) == {"fw"}  # line 5
    assert delivered(topo, "fw", tcp("10.9.1.1", "192.0.2.2", 22)) == {"net"}       # its own: unfiltered
    check_against_oracle(topo, name, 20000, seed=8,
                         extra_dsts=("10.20.1.1", "10.20.2.1", "10.30.1.1", "10.9.1.1", "10.9.1.5"))


@pytest.mark.parametrize("name", ["twice-nat-rule.yaml", "twice-nat.yaml", "twice-nat-static.yaml"])
def test_twice_nat_against_oracle(name: str) -> None:
    """Twice NAT, both addresses translated in both directions: as one twice rule (the exact pair),
    as a destination rule with a source match plus the source translation of the policy line that
    permits it (and the mirror pair), and the IOS way as two static rules, one per interface.
    Filters downstream see the translated addresses."""
    topo = segverify.loads((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"), name=name)
    assert delivered(topo, "pc", tcp("10.0.1.10", "10.0.9.5", 443)) == {"partner"}     # as 198.51.100.5
    assert delivered(topo, "partner", tcp("192.0.2.5", "198.51.100.5", 22)) == {"pc"}  # as 10.0.9.5
    # The pair rule translates pc's flows only; IOS's outside static translates 10.0.9.5 for every
    # inside host (pc2's web traffic then leaves as 198.51.100.1, which the partner side lets in).
    assert delivered(topo, "pc2", tcp("10.0.1.11", "10.0.9.5", 443)) == (
        {"partner"} if name == "twice-nat-static.yaml" else set())
    assert delivered(topo, "pc2", tcp("10.0.1.11", "192.0.2.5", 22)) == set()          # 198.51.100.1: denied
    # A packet already addressed to the real server: the twice rule leaves it alone (it leaves as
    # 198.51.100.1, which the partner side lets in for web only); IOS's static rules and the pair
    # form translate its source too.
    assert delivered(topo, "pc", tcp("10.0.1.10", "192.0.2.5", 22)) == (
        set() if name == "twice-nat-rule.yaml" else {"partner"})
    assert delivered(topo, "pc", tcp("10.0.1.10", "192.0.2.5", 443)) == {"partner"}
    check_against_oracle(topo, name, 20000, seed=6,
                         extra_dsts=("10.0.9.5", "198.51.100.5", "192.0.2.5", "10.0.1.10", "198.51.100.1"))


def test_oracle_sources(base: Any) -> None:
    assert can_send_from(base, "h1", A("10.0.1.10"))
    assert can_send_from(base, "h1", A("10.0.1.77"))  # any address of its own subnet
    assert not can_send_from(base, "h1", A("10.0.3.10"))
    assert can_send_from(base, "x1", A("8.8.8.8"))
    assert not can_send_from(base, "x1", A("10.0.3.10"))  # an inside interface address
    assert not can_send_from(base, "x1", A("10.0.8.1"))  # x2's more specific range
    assert not can_send_from(base, "x1", A("10.0.1.99"))  # an address of lan1: lan1's pool sends it
    assert can_send_from(base, "lan:lan1", A("10.0.1.99"))
    assert can_send_from(base, "x2", A("10.0.8.1"))
    assert not can_send_from(base, "x2", A("10.0.9.1"))


def test_oracle_pools(base: Any) -> None:
    """Every LAN subnet with an address nobody owns has a pool; transit links do too."""
    pools = {n.name: n.pool for n in base.nodes.values() if n.pool is not None}
    assert sorted(pools) == ["lan:core", "lan:lan1", "lan:lan3", "lan:lan5"]
    own = oracle.pool_owns
    assert own(base, "lan:lan5", A("10.0.5.77"))
    assert not own(base, "lan:lan5", A("10.0.5.200"))  # x2 on lan5 represents it
    assert not own(base, "lan:lan5", A("10.0.5.10"))  # h5's
    assert not own(base, "lan:lan5", A("10.0.5.255"))  # broadcast
    assert own(base, "lan:core", A("10.0.2.4")) and not own(base, "lan:core", A("10.0.2.7"))
    # Through the only router of lan3 to the Internet, and in from there.
    assert delivered(base, "lan:lan3", Pkt(A("10.0.3.99"), A("8.8.8.8"), ICMP)) == {"x1"}
    assert delivered(base, "x1", Pkt(A("8.8.8.8"), A("10.0.3.99"), TCP, 40000, 443)) == {"lan:lan3"}
    assert delivered(base, "x1", Pkt(A("8.8.8.8"), A("10.0.3.99"), TCP, 40000, 80)) == frozenset()  # r2's to-h2


POOLS = BASE + """
pools:
  pcs:
    lan: lan1
    range: 10.0.1.100-10.0.1.149
    kind: terminal
  guests:
    range: [10.0.5.32/28]
"""


def test_declared_pools_take_their_range_from_the_implicit_one() -> None:
    topo = segverify.loads(POOLS, name="pools.yaml")
    pcs = topo.nodes["pool:pcs"]
    assert sum(r.num_addresses for r in pcs.pool.range) == 50 and pcs.kind.value == "terminal"
    assert pcs.pool.range[0].network_address == A("10.0.1.100") and pcs.addresses == (A("10.0.1.100"),)
    assert oracle.pool_owns(topo, "pool:pcs", A("10.0.1.149"))
    assert not oracle.pool_owns(topo, "pool:pcs", A("10.0.1.150"))
    assert oracle.pool_owns(topo, "lan:lan1", A("10.0.1.150"))
    assert not oracle.pool_owns(topo, "lan:lan1", A("10.0.1.120"))
    assert topo.nodes["pool:guests"].pool.lan == "lan5"
    assert delivered(topo, "x1", Pkt(A("8.8.8.8"), A("10.0.1.120"), ICMP)) == {"pool:pcs"}
    check_against_oracle(topo, "pools.yaml", 4000, seed=5, extra_dsts=("10.0.1.120", "10.0.5.40", "10.0.1.200"))


def test_oracle_matches_established_and_protocols() -> None:
    from segverify.model import Match, PortRange, ServiceTerm

    m = Match(services=(ServiceTerm(6, None, (PortRange(20, 30),)),), established=True)
    assert oracle.matches(m, Pkt(A("1.1.1.1"), A("2.2.2.2"), TCP, 1, 22, True))
    assert not oracle.matches(m, Pkt(A("1.1.1.1"), A("2.2.2.2"), TCP, 1, 22, False))
    assert not oracle.matches(m, Pkt(A("1.1.1.1"), A("2.2.2.2"), TCP, 1, 31, True))
    assert oracle.matches(Match(), Pkt(A("1.1.1.1"), A("2.2.2.2"), GRE))


def test_random_networks_load() -> None:
    for seed in range(60):
        text = randomnet.generate(seed)
        assert text == randomnet.generate(seed), "the generator must be deterministic"
        segverify.loads(text, name=f"random-{seed}.yaml")


# -- the engine against the oracle -------------------------------------------------------------------


def _engine(topo: Any) -> Any:
    return Reachability(Network(topo))


def _universe(topo: Any, endpoints: list[str], rng: random.Random, budget: int,
              extra_dsts: tuple[str, ...] = ()) -> list[tuple[str, Pkt]]:
    dsts = sorted(set(randomnet.destination_addresses(topo)) | {A(a) for a in extra_dsts})
    full: list[tuple[str, Pkt]] = []
    for src_node in endpoints:
        for src in randomnet.source_addresses(topo, src_node, rng):
            for dst in dsts:
                for proto, sport, dport in randomnet.services(rng):
                    full.append((src_node, Pkt(src, dst, proto, sport, dport)))
    if len(full) <= budget:
        return full
    return rng.sample(full, budget)


def check_against_oracle(topo: Any, label: str, budget: int, seed: int, extra_dsts: tuple[str, ...] = ()) -> None:
    from segverify.headers import Packet

    r = _engine(topo)
    endpoints = sorted(r.endpoints)
    # Routers and firewalls receive too (traffic to their own addresses: local policies, acl_in).
    receivers = sorted(r.network.nodes)
    rng = random.Random(seed)
    flows: dict[tuple[str, str], Any] = {}

    def flow(a: str, b: str) -> Any:
        if (a, b) not in flows:
            flows[(a, b)] = r.flows(a, b)
        return flows[(a, b)]

    mismatches: list[str] = []
    checked = 0
    space = r.space
    for src_node, p in _universe(topo, endpoints, rng, budget, extra_dsts):
        packet = Packet(p.src, p.dst, p.proto, p.sport, p.dport, p.established)
        sendable = can_send_from(topo, src_node, p.src)
        got = delivered(topo, src_node, p) if sendable else frozenset()
        # HeaderSet.contains builds the packet's cube on every call; build it once per packet and
        # check that the shortcut agrees with contains() on the first destination.
        cube = space.packet(packet)
        first = True
        for dst_node in receivers:
            if dst_node == src_node:
                continue  # a node's packets to itself are not a flow anyone asks about
            engine = (flow(src_node, dst_node).bdd & cube) != space.false
            if first:
                assert engine == flow(src_node, dst_node).contains(packet)
                first = False
            want = dst_node in got
            checked += 1
            if engine != want:
                mismatches.append(
                    f"{label}: {src_node} -> {dst_node} packet [{packet}]"
                    f"{'' if sendable else ' (source address not usable by the sender)'}: "
                    f"engine says {'reached' if engine else 'not reached'}, oracle says "
                    f"{'reached' if want else 'not reached'} (oracle delivers to {sorted(got) or 'nobody'})"
                )
        # Sources only open new flows: the same header marked established is in no flow.
        if p.proto == TCP and sendable:
            est = Packet(p.src, p.dst, p.proto, p.sport, p.dport, True)
            est_cube = space.packet(est)
            for dst_node in receivers:
                if dst_node != src_node and (flow(src_node, dst_node).bdd & est_cube) != space.false:
                    mismatches.append(f"{label}: {src_node} -> {dst_node} holds the established packet [{est}]")
    assert checked > 0 or len(endpoints) < 2
    assert not mismatches, f"{len(mismatches)} disagreements, first ones:\n" + "\n".join(mismatches[:8])


REFERENCE = sorted(p for pattern in ("*.yaml", "broken/*.yaml") for p in (ROOT / "topologies").glob(pattern))


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: str(p.relative_to(ROOT)))
def test_reference_topology_against_oracle(path: Path) -> None:
    topo = segverify.load(path)
    # The broken/ variants differ from their reference network in a line or two: fewer packets each.
    budget = REFERENCE_BUDGET if path.parent.name == "topologies" else BROKEN_BUDGET
    check_against_oracle(topo, str(path.relative_to(ROOT)), budget, seed=1)


def test_hand_written_network_against_oracle(base: Any) -> None:
    check_against_oracle(base, "oracle-check.yaml", 5000, seed=2, extra_dsts=HAND_PROBES)


UNATTACHED = """
segverify: 1
name: unattached-interface
profile: alpha
zones:
  in: {segment: lgwan}
  out: {segment: external-internet}
nodes:
  h1:
    kind: host
    interfaces:
      eth0: {zone: in, address: 10.0.1.10/24, gateway: 10.0.1.1}
  r1:
    kind: router
    interfaces:
      eth0: {zone: in, address: 10.0.1.1/24}
      eth1: {zone: in, address: 10.0.2.1/24}   # on no link or LAN
      eth2: {zone: out, address: 198.51.100.1/30}
    routes:
      - {to: default, via: 198.51.100.2}
  x1:
    kind: external
    represents: [any]
    interfaces:
      eth0: {zone: out, address: 198.51.100.2/30}
lans:
  lan1: [r1:eth0, h1:eth0]
links:
  - [r1:eth2, x1:eth0]
"""


def test_unattached_interface_is_down() -> None:
    """The format says an interface on no link or LAN is down: it has no connected route.

    So a packet to 10.0.2.7 is not held back by r1's unplugged 10.0.2.0/24: it follows the
    default route to the Internet, as a router with that port down would send it.
    """
    topo = segverify.loads(UNATTACHED, name="unattached.yaml")
    assert delivered(topo, "h1", Pkt(A("10.0.1.10"), A("10.0.2.7"), ICMP)) == frozenset({"x1"})
    assert delivered(topo, "x1", Pkt(A("8.8.8.8"), A("10.0.1.10"), ICMP)) == {"h1"}
    check_against_oracle(topo, "unattached.yaml", 4000, seed=3)


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_network_against_oracle(seed: int) -> None:
    topo = segverify.loads(randomnet.generate(seed), name=f"random-{seed}.yaml")
    check_against_oracle(topo, f"random network seed {seed} (tests/randomnet.py generate({seed}))",
                         PACKET_BUDGET, seed)


def _rule_addresses(topo: Any, rng: random.Random) -> list[IPv4Address]:
    """Addresses on both sides of each wildcard term and exclusion of the topology's rules."""
    out: set[IPv4Address] = set()
    for node in topo.nodes.values():
        for acl in node.acls.values():
            for rule in acl.rules:
                m = rule.match
                for w in (*m.src_wild, *m.dst_wild, *m.src_except, *m.dst_except):
                    out.update({A(w.value), A(w.value | w.mask), A(w.value | (w.mask & rng.getrandbits(32))),
                                A((w.value + 1) & 0xFFFFFFFF), A(w.value ^ 0x100)})
    return sorted(out)


@pytest.mark.parametrize("seed", range(60))
def test_random_acl_verdicts_against_oracle(seed: int) -> None:
    """Every ACL of a random network, compiled, against the oracle's first-match reading of it, on
    packets around its wildcard terms, exclusions, ranges and ICMP types (no forwarding involved,
    so many more packets per rule than the network test can afford)."""
    from segverify.headers import Packet
    from segverify.network import Network

    topo = segverify.loads(randomnet.generate(seed), name=f"random-{seed}.yaml")
    net = Network(topo)
    rng = random.Random(seed)
    addrs = sorted(set(randomnet.destination_addresses(topo)) | set(_rule_addresses(topo, rng)))
    services = list(randomnet.services(rng, full=True)) + [(ICMP, 0, 0), (ICMP, 5, 8), (ICMP, 0, 13)]
    mismatches = []
    for name, node in sorted(topo.nodes.items()):
        for acl_name in sorted(node.acls):
            permitted = net.nodes[name].acls[acl_name].permitted
            for _ in range(500):
                proto, sport, dport = rng.choice(services)
                p = Pkt(rng.choice(addrs), rng.choice(addrs), proto, sport, dport, proto == TCP and rng.random() < 0.3)
                engine = net.space.contains(permitted, Packet(p.src, p.dst, p.proto, p.sport, p.dport, p.established))
                if engine != oracle.acl_permits(topo, name, acl_name, p):
                    mismatches.append(f"seed {seed} {name} acl {acl_name} [{p}]: engine {engine}")
    assert not mismatches, "\n".join(mismatches[:8])


# Two inputs the engine and the oracle used to read differently (the engine delivered to both
# external nodes that represent one prefix and forwarded through an external node with
# ip_forward, the oracle did neither). The format now refuses both, so neither is ever asked.
@pytest.mark.parametrize("old, new, message, line", [
    ("represents: [10.0.8.0/24, 10.0.5.128/25]", "represents: [10.0.8.0/24, any]",
     "0.0.0.0/0 is represented by both x1 and x2", 70),
    ("    kind: external\n    represents: [any]", "    kind: external\n    ip_forward: true\n    represents: [any]",
     "does not forward", 65),
])
def test_inputs_engine_and_oracle_read_differently_are_refused(old: str, new: str, message: str, line: int) -> None:
    assert BASE.count(old) == 1
    with pytest.raises(segverify.InputError) as info:
        segverify.loads(BASE.replace(old, new), name="oracle-check.yaml")
    assert message in info.value.message
    assert info.value.span is not None and (info.value.span.file, info.value.span.line) == ("oracle-check.yaml", line)


# -- routing contexts (VRFs) ---------------------------------------------------------------------------

VRF_NET = """
segverify: 1
name: vrfs
profile: alpha
zones:
  lg: {segment: lgwan}
  inet: {segment: internet}
  mgmt: {segment: lgwan}
nodes:
  h-lg: {kind: terminal, interfaces: {eth0: {zone: lg, address: 10.20.1.10/24, gateway: 10.20.1.1}}}
  h-inet: {kind: terminal, interfaces: {eth0: {zone: inet, address: 10.30.1.10/24, gateway: 10.30.1.1}}}
  h-mgmt: {kind: server, interfaces: {eth0: {zone: mgmt, address: 10.99.1.10/24, gateway: 10.99.1.1}}}
  h-far: {kind: server, interfaces: {eth0: {zone: inet, address: 10.40.1.10/24, gateway: 10.40.1.1}}}
  edge:
    kind: router
    interfaces:
      eth0: {zone: inet, address: 10.31.0.2/30}
      eth1: {zone: inet, address: 10.40.1.1/24}
    routes: [{to: default, via: 10.31.0.1}]
  core:
    kind: l3switch
    interfaces:
      vlan20: {zone: lg, address: 10.20.1.1/24, vrf: lgwan}
      vlan30: {zone: inet, address: 10.30.1.1/24, vrf: inet}
      up: {zone: inet, address: 10.31.0.1/30, vrf: inet}
      vlan99: {zone: mgmt, address: 10.99.1.1/24}
    routes:
      - {to: 10.20.0.0/16, next_vrf: lgwan}          # management reaches the LGWAN VRF
    vrfs:
      lgwan:
        routes:
          - {to: 10.99.0.0/16, next_vrf: default}    # and back
          - {to: 10.50.0.0/16, next_vrf: inet}       # a leak cycle: lgwan -> inet -> lgwan
          - {to: 10.40.0.0/16, via: 10.31.0.2, next_vrf: inet}   # next hop resolved in inet
      inet:
        routes:
          - {to: 10.50.0.0/16, next_vrf: lgwan}
          - {to: 10.40.0.0/16, via: 10.31.0.2}
links:
  - [h-lg:eth0, core:vlan20]
  - [h-inet:eth0, core:vlan30]
  - [h-mgmt:eth0, core:vlan99]
  - [h-far:eth0, edge:eth1]
  - [core:up, edge:eth0]
"""


def test_oracle_vrfs_route_in_the_ingress_vrf_and_follow_leaks() -> None:
    topo = segverify.loads(VRF_NET, name="vrfs.yaml")
    # Each VRF has its own connected routes: lgwan and inet do not meet on core...
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.30.1.10"), ICMP)) == frozenset()
    assert delivered(topo, "h-inet", Pkt(A("10.30.1.10"), A("10.20.1.10"), ICMP)) == frozenset()
    # ... unless a leak route moves the lookup: lgwan -> default and default -> lgwan.
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.99.1.10"), ICMP)) == {"h-mgmt"}
    assert delivered(topo, "h-mgmt", Pkt(A("10.99.1.10"), A("10.20.1.10"), ICMP)) == {"h-lg"}
    # A next hop resolved in another VRF: lgwan's route to 10.40/16 leaves by inet's uplink.
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.40.1.10"), ICMP)) == {"h-far"}
    # The way back comes in by inet's uplink: inet has no route to 10.20/16.
    assert delivered(topo, "h-far", Pkt(A("10.40.1.10"), A("10.20.1.10"), ICMP)) == frozenset()
    # A leak cycle drops and ends.
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.50.0.1"), ICMP)) == frozenset()
    # Another VRF's address on the same device is no local delivery: lgwan has no route to it.
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.30.1.1"), ICMP)) == frozenset()
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.20.1.1"), ICMP)) == {"core"}
    check_against_oracle(topo, "vrfs.yaml", 6000, seed=5, extra_dsts=("10.50.0.1",))


def test_vrf_leaks_equal_cost_with_other_routes_against_oracle() -> None:
    """A leak that ties with a route of its VRF, and two leaks of one prefix into two VRFs, are
    equal-cost: both ways are taken (random networks leave ties out, for the emulator's sake)."""
    text = VRF_NET.replace("          - {to: 10.50.0.0/16, next_vrf: inet}       # a leak cycle: lgwan -> inet -> lgwan\n",
                           "          - {to: 10.50.0.0/16, next_vrf: inet}\n"
                           "          - {to: 10.40.0.0/16, next_vrf: default}\n"
                           "          - {to: 10.30.0.0/16, next_vrf: inet}\n"
                           "          - {to: 10.30.0.0/16, next_vrf: default}\n")
    text = text.replace("      - {to: 10.20.0.0/16, next_vrf: lgwan}          # management reaches the LGWAN VRF\n",
                        "      - {to: 10.20.0.0/16, next_vrf: lgwan}\n      - {to: 10.30.0.0/16, next_vrf: lgwan}\n")
    assert text.count("{to: 10.30.0.0/16, next_vrf:") == 3 and "{to: 10.40.0.0/16, next_vrf: default}" in text
    topo = segverify.loads(text, name="vrf-ties.yaml")
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.40.1.10"), ICMP)) == {"h-far"}  # one way of two
    assert delivered(topo, "h-lg", Pkt(A("10.20.1.10"), A("10.30.1.10"), ICMP)) == {"h-inet"}  # via inet; default loops
    check_against_oracle(topo, "vrf-ties.yaml", 6000, seed=9, extra_dsts=("10.50.0.1", "10.30.9.9"))


def test_vrfs_with_overlapping_subnets_against_oracle() -> None:
    """Two VRFs of one router hold the same subnet (with different addresses): each is its own
    table, and the default table's leak picks one of them."""
    topo = segverify.load(Path(__file__).parent / "data" / "vrf-overlap.yaml")
    assert delivered(topo, "srv", Pkt(A("10.9.0.10"), A("10.0.0.10"), ICMP)) == {"ha"}
    assert delivered(topo, "srv", Pkt(A("10.9.0.10"), A("10.0.0.20"), ICMP)) == frozenset()  # vb is not leaked to
    assert delivered(topo, "hb", Pkt(A("10.0.0.20"), A("10.9.0.10"), ICMP)) == {"srv"}
    assert delivered(topo, "ha", Pkt(A("10.0.0.10"), A("10.0.0.20"), ICMP)) == frozenset()  # on ha's own subnet
    check_against_oracle(topo, "vrf-overlap.yaml", 5000, seed=4, extra_dsts=("10.0.0.30",))


EXTERNAL_ON_A_LAN = """\
segverify: 1
name: external on a LAN
profile: alpha
zones:
  inet: {segment: internet}
  world: {segment: external-internet}
nodes:
  srv:
    kind: server
    interfaces:
      eth0: {zone: inet, address: 10.30.1.10/24, gateway: 10.30.1.1}
  fw:
    kind: firewall
    interfaces:
      eth0: {zone: inet, address: 10.30.1.1/24}
      eth1: {zone: world, address: 192.0.2.1/24}
  internet:
    kind: external
    represents: [203.0.113.0/24]
    interfaces:
      eth0: {zone: world, address: 192.0.2.254/24}
lans:
  office: [srv:eth0, fw:eth0]
  wan: [fw:eth1, internet:eth0]
"""


def test_an_external_node_on_a_lan_sends_through_its_one_router() -> None:
    """The LAN's implicit pool (the addresses nobody lists) is no uplink: the external node without
    routes still sends everything to fw. Counting the pool as a second neighbour had left it
    sending nothing, so no flow from the Internet was checked at all."""
    topo = segverify.loads(EXTERNAL_ON_A_LAN, name="external-on-a-lan.yaml")
    assert any(n.pool is not None and n.pool.lan == "wan" for n in topo.nodes.values())
    assert delivered(topo, "internet", Pkt(A("203.0.113.9"), A("10.30.1.10"), TCP, 40000, 443)) == {"srv"}
    from segverify.headers import Packet

    assert Reachability(Network(topo)).delivers("internet", "srv", Packet(A("203.0.113.9"), A("10.30.1.10"), TCP, 40000, 443))
    check_against_oracle(topo, "external-on-a-lan.yaml", 3000, seed=5)

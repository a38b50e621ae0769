"""The rules and pcap-audit are one policy: every witness ``verify`` reports, captured as a real
packet and audited, is named by the audit with the same rule.

Both sides use the same flow checks (``policy.rules.FLOW_CHECKS``): the rules ask them of every
header symbolically, the audit of each captured packet. For the bundled networks the packets are
built with scapy and written to a pcap file, so the audit's reading, flow grouping and source
location are exercised too; random networks go through the audit's classification entry point.
"""

from __future__ import annotations

import datetime as _dt
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw
from scapy.utils import wrpcap

import randomnet
import segverify
from segverify.policy.check import verify
from segverify.findings import Report
from segverify.headers import Packet
from segverify.model import Topology
from segverify.network import Network
from segverify.simulate.pcap import Judge, audit

ROOT = Path(__file__).parent.parent / "topologies"
NETWORKS = sorted(ROOT.glob("*.yaml")) + sorted((ROOT / "broken").glob("*.yaml"))
TODAY = _dt.date(2026, 11, 26)
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def on_the_wire(p: Packet) -> ScapyPacket:
    """The witness as a first packet on the wire: a TCP opening, a UDP datagram, an echo request."""
    ip = IP(src=str(p.src), dst=str(p.dst), proto=p.proto)
    if p.proto == 6:
        return ETH / ip / TCP(sport=p.sport, dport=p.dport, flags="A" if p.established else "S")
    if p.proto == 17:
        return ETH / ip / UDP(sport=p.sport, dport=p.dport)
    if p.proto == 1:
        return ETH / ip / ICMP(type=8)
    return ETH / ip / Raw(b"\x00" * 8)


def expected_by_packet(report: Report) -> dict[Packet, set[str]]:
    """Every witness with the rules verify names for it. A witness may be sent with an address
    another node owns (a host may use any address of its subnet): the audit, which cannot tell the
    sender from a capture, judges a packet for every node that may send it."""
    wanted: dict[Packet, set[str]] = {}
    for f in report.active:
        if f.witness is not None:
            wanted.setdefault(f.witness, set()).add(f.rule)
    return wanted


def check_agreement(topology: Topology, directory: Path) -> int:
    """Audit every witness of ``verify`` and compare the rules; returns how many were compared."""
    network = Network(topology)
    report = verify(topology, today=TODAY, network=network)
    wanted = expected_by_packet(report)
    if not wanted:
        return 0
    capture = directory / "witnesses.pcap"
    wrpcap(str(capture), [on_the_wire(p) for p in sorted(wanted, key=str)])
    result = audit(topology, str(capture), today=TODAY, network=network)
    judged = {(IPv4Address(f.packet.src), IPv4Address(f.packet.dst), f.packet.proto, f.packet.sport, f.packet.dport):
              {h.rule for h in f.rules} for f in result.flows}
    disagreements = []
    for packet, rules in sorted(wanted.items(), key=lambda kv: str(kv[0])):
        key = (packet.src, packet.dst, packet.proto, packet.sport if packet.proto in (6, 17) else 0,
               packet.dport if packet.proto in (6, 17) else 0)
        named = judged.get(key)
        if named is None or not rules <= named:
            disagreements.append(f"{packet}: verify says {sorted(rules)}, the audit says {sorted(named or ())}")
    assert not disagreements, f"{topology.name}:\n" + "\n".join(disagreements)
    return len(wanted)


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.relative_to(ROOT).with_suffix("").as_posix())
def test_audit_names_the_rule_of_every_witness(path: Path, tmp_path: Path) -> None:
    check_agreement(segverify.load(path), tmp_path)


def test_the_agreement_is_not_vacuous(tmp_path: Path) -> None:
    compared = sum(check_agreement(segverify.load(p), tmp_path) for p in NETWORKS)
    assert compared >= 20


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_audit_classification_agrees_with_verify_on_random_networks(seed: int) -> None:
    """Random networks, through the audit's classification entry point (Judge.judge) with the sender
    and receiver of each witness path: random networks let an external node represent addresses
    of an internal LAN, and which of the two a captured address belongs to is a question of source
    location, not of the rules."""
    topology = segverify.loads(randomnet.generate(seed), name=f"random-{seed}.yaml")
    network = Network(topology)
    judge = Judge(topology, network, TODAY)
    disagreements = []
    for f in verify(topology, today=TODAY, network=network).active:
        if f.witness is None or f.path is None or f.path.final_node is None:
            continue
        named = {h.rule for h in judge.judge(f.witness, f.path.source, f.path.final_node)}
        if f.rule not in named:
            disagreements.append(f"{f.witness} {f.path.source} -> {f.path.final_node}: verify says {f.rule}, "
                                 f"the audit says {sorted(named)}")
    assert not disagreements, "\n".join(disagreements)

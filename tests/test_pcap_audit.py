"""pcap-audit: flows from a capture classified against the model and the rules."""

from __future__ import annotations

import datetime as _dt
import json
import struct
import tracemalloc
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw
from scapy.utils import RawPcapReader, RawPcapWriter, wrpcap, wrpcapng

import segverify
from segverify.cli import cli, main
from segverify.errors import InputError, QueryError
from segverify.network import Network
from segverify.simulate.commands import pcap_audit
from segverify.simulate.pcap import Category, Judge, Start, audit, format_text

ROOT = Path(__file__).parent.parent
ALPHA = str(ROOT / "topologies" / "alpha.yaml")
POP3 = str(ROOT / "topologies" / "broken" / "seg003-lgwan-pop3-to-internet-mail.yaml")
TODAY = _dt.date(2026, 11, 26)
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")

if "pcap-audit" not in cli.commands:  # until the lead registers it in cli.py
    cli.add_command(pcap_audit)


def conversation(client: str, server: str, sport: int, dport: int, data: int = 2) -> list[ScapyPacket]:
    """A TCP opening, its answer, and a few data packets."""
    packets = [ETH / IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="S"),
               ETH / IP(src=server, dst=client) / TCP(sport=dport, dport=sport, flags="SA"),
               ETH / IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="A")]
    for i in range(data):
        packets.append(ETH / IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="PA") / Raw(b"x" * (i + 5)))
    return packets


ALLOWED = [
    *conversation("10.20.1.11", "10.30.1.100", 50000, 443),  # screen transfer to the virtual browser
    *conversation("10.30.1.25", "10.30.9.2", 40000, 25),  # Internet mail into the mail sanitizer
    *conversation("10.20.1.12", "10.20.2.13", 50010, 8080),  # terminal to groupware, inside LGWAN
    ETH / IP(src="10.30.1.53", dst="8.8.8.8") / UDP(sport=5353, dport=53),  # DNS out via the security cloud
    ETH / IP(src="8.8.8.8", dst="10.30.1.53") / UDP(sport=53, dport=5353),
]
# SMB from an LGWAN terminal to an Internet host: forbidden (SEG003), and fw-lg denies it in the model.
VIOLATION = conversation("10.20.1.13", "198.51.100.7", 50020, 445, data=3)
# Policy has nothing against a terminal sending SMTP to the LGWAN mail relay, but fw-lg only lets
# the mail server do it: the answer proves the real network disagrees with the model.
DRIFT = conversation("10.20.1.14", "172.22.0.25", 50030, 25)
NOISE = [ETH / IP(src="10.20.1.11", dst="10.20.1.255") / UDP(sport=137, dport=137),
         Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff", type=0x0806) / Raw(b"\x00" * 28)]


def interleave(*groups: list[ScapyPacket]) -> list[ScapyPacket]:
    """Round-robin the groups, as concurrent flows appear on a wire."""
    out: list[ScapyPacket] = []
    longest = max(len(g) for g in groups)
    for i in range(longest):
        out.extend(g[i] for g in groups if i < len(g))
    return out


CAPTURE = interleave(ALLOWED, VIOLATION, DRIFT, NOISE)


@pytest.fixture(scope="module")
def alpha() -> segverify.Topology:
    return segverify.load(ALPHA)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pcap") / "office.pcap"
    wrpcap(str(path), CAPTURE)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["pcap-audit", *args])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def by_dport(result: object) -> dict[int, object]:
    return {f.packet.dport: f for f in result.flows}  # type: ignore[attr-defined]


def test_flows_are_classified(alpha: segverify.Topology, capture: Path) -> None:
    result = audit(alpha, str(capture), today=TODAY)
    assert result.packets == len(CAPTURE)
    assert result.skipped == {"broadcast or multicast": 1, "not IPv4": 1}
    flows = by_dport(result)
    assert {p: f.category for p, f in flows.items()} == {  # type: ignore[attr-defined]
        443: Category.ALLOWED, 25: Category.ALLOWED, 8080: Category.ALLOWED, 53: Category.ALLOWED,
        445: Category.VIOLATION}
    smb = flows[445]
    assert (str(smb.packet.src), smb.source, smb.destinations) == ("10.20.1.13", "lg-pc03", ("internet",))  # type: ignore[attr-defined]
    assert [h.rule for h in smb.rules] == ["SEG003"] and not smb.possible  # type: ignore[attr-defined]
    assert smb.drift and smb in result.impossible  # answered though the model denies it: both verdicts
    assert "denied in at fw-lg" in smb.model  # type: ignore[attr-defined]
    assert smb.packets == len(VIOLATION) and smb.start is Start.SYN  # type: ignore[attr-defined]
    dns = flows[53]
    assert dns.destinations == ("internet",) and dns.replies == 1 and dns.start is Start.FIRST  # type: ignore[attr-defined]
    drift = [f for f in result.flows if str(f.packet.dst) == "172.22.0.25"]
    assert [f.category for f in drift] == [Category.IMPOSSIBLE] and drift[0].rules == ()
    assert drift[0].destinations == ("lgwan-backbone",) and drift[0].replies == 1
    assert result.exit_code == 1


def test_zone_pair_summary(alpha: segverify.Topology, capture: Path) -> None:
    result = audit(alpha, str(capture), today=TODAY)
    rows = {(z.from_zone, z.to_zone): (z.flows, z.allowed, z.impossible, z.violation, z.packets)
            for z in result.zone_pairs()}
    assert rows == {
        ("inet-dmz", "inet-sanitize"): (1, 1, 0, 0, 5),
        ("inet-dmz", "world"): (1, 1, 0, 0, 2),
        ("lg-office", "inet-dmz"): (1, 1, 0, 0, 5),
        ("lg-office", "lg-server"): (1, 1, 0, 0, 5),
        ("lg-office", "lgwan-wan"): (1, 0, 1, 0, 5),
        ("lg-office", "world"): (1, 0, 1, 1, 6),  # a violation that is model drift too counts in both
    }


def test_written_violations_are_exactly_the_planted_packets(alpha: segverify.Topology, capture: Path,
                                                            tmp_path: Path) -> None:
    result = audit(alpha, str(capture), today=TODAY)
    out = tmp_path / "violations.pcap"
    assert result.write_violations(str(out)) == len(VIOLATION)
    assert [data for data, _ in RawPcapReader(str(out))] == [bytes(p) for p in VIOLATION]


def test_pcapng_input(alpha: segverify.Topology, tmp_path: Path) -> None:
    path = tmp_path / "office.pcapng"
    wrpcapng(str(path), CAPTURE)
    result = audit(alpha, str(path), today=TODAY)
    assert result.format == "pcapng"
    assert result.counts() == {"allowed": 4, "blocked": 0, "impossible": 2, "violation": 1}
    out = tmp_path / "violations.pcap"
    result.write_violations(str(out))
    assert [data for data, _ in RawPcapReader(str(out))] == [bytes(p) for p in VIOLATION]


def test_possible_violation_in_the_broken_network(tmp_path: Path) -> None:
    """The broken network lets LGWAN terminals read Internet mail over POP3: possible and forbidden."""
    path = tmp_path / "pop3.pcap"
    wrpcap(str(path), conversation("10.20.1.15", "10.30.1.25", 50100, 110))
    result = audit(segverify.load(POP3), str(path), today=TODAY)
    (flow,) = result.flows
    assert flow.category is Category.VIOLATION and flow.possible
    assert flow.model == "delivered to inet-mail" and [h.rule for h in flow.rules] == ["SEG003"]
    assert (flow.from_zone, flow.to_zone) == ("lg-office", "inet-dmz")


def test_midstream_flow_says_so(alpha: segverify.Topology, tmp_path: Path) -> None:
    late = conversation("10.20.1.11", "10.30.1.100", 50200, 443)[3:]
    answer_first = conversation("10.20.1.12", "10.30.1.100", 50201, 443)[1:]
    path = tmp_path / "late.pcap"
    wrpcap(str(path), late + answer_first)
    flows = {f.packet.sport: f for f in audit(alpha, str(path), today=TODAY).flows}
    assert flows[50200].start is Start.MIDSTREAM and not flows[50200].start.captured
    assert flows[50201].start is Start.SYN_ACK and str(flows[50201].packet.src) == "10.20.1.12"
    assert all(f.category is Category.ALLOWED for f in flows.values())


def test_capture_point(alpha: segverify.Topology, tmp_path: Path) -> None:
    """At fw-lg's LGWAN leg, the screen transfer passes; Internet mail never does in the model."""
    path = tmp_path / "at.pcap"
    wrpcap(str(path), conversation("10.20.1.11", "10.30.1.100", 50300, 443)
           + conversation("10.30.1.25", "10.30.9.2", 40300, 25))
    flows = by_dport(audit(alpha, str(path), at="fw-lg:port1", today=TODAY))
    assert flows[443].category is Category.ALLOWED  # type: ignore[attr-defined]
    assert flows[25].category is Category.IMPOSSIBLE  # type: ignore[attr-defined]
    assert "fw-lg:port1" in flows[25].model  # type: ignore[attr-defined]
    with pytest.raises(QueryError, match="has no interface"):
        audit(alpha, str(path), at="fw-lg:eth9")


def test_cli_text_json_and_violations_file(capsys: pytest.CaptureFixture[str], capture: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "v.pcap"
    code, out, err = run_cli(capsys, ALPHA, str(capture), "--today", "2026-11-26", "--write-violations", str(out_file))
    assert code == 1 and err == ""
    assert "SEG003: LGWAN ↔ Internet IP path" in out
    assert "2 impossible in the model (model drift), 1 policy violation(s); 1 of them both" in out
    assert "verdicts: policy violation AND impossible in the model (model drift)" in out
    assert f"wrote {len(VIOLATION)} packets of 1 violating flow" in out
    code, out, _ = run_cli(capsys, ALPHA, str(capture), "--format", "json", "--today", "2026-11-26")
    data = json.loads(out)
    assert code == 1 and data["counts"] == {"allowed": 4, "blocked": 0, "impossible": 2, "violation": 1}
    assert out == run_cli(capsys, ALPHA, str(capture), "--format", "json", "--today", "2026-11-26")[1]


def test_cli_all_allowed_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "ok.pcap"
    wrpcap(str(path), ALLOWED)
    code, out, _ = run_cli(capsys, ALPHA, str(path), "--today", "2026-11-26")
    assert code == 0 and "4 allowed, 0 blocked as the model predicts, 0 impossible" in out


@pytest.mark.parametrize("damage", ["truncated", "text", "empty", "missing", "cut header"])
def test_bad_captures_exit_2_with_a_message(capsys: pytest.CaptureFixture[str], capture: Path, tmp_path: Path,
                                            damage: str) -> None:
    path = tmp_path / "bad.pcap"
    raw = capture.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[:-7])
    elif damage == "cut header":
        path.write_bytes(raw[:len(raw) - len(bytes(CAPTURE[-1])) - 5])
    elif damage == "text":
        path.write_text("this is not a capture\n" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    code, out, err = run_cli(capsys, ALPHA, str(path))
    assert code == 2 and out == ""
    assert err.startswith("segverify: error: ") and str(path) in err and "Traceback" not in err
    expected = {"truncated": "truncated", "cut header": "truncated", "text": "not a pcap or pcapng",
                "empty": "not a pcap or pcapng", "missing": "cannot read"}[damage]
    assert expected in err


def test_truncated_pcapng(alpha: segverify.Topology, tmp_path: Path) -> None:
    path = tmp_path / "cut.pcapng"
    wrpcapng(str(path), CAPTURE)
    # Blocks after the last packet (interface statistics) are no truncation; a cut block is.
    body = struct.pack("<IIII", 0, 0, 0, 0)
    with path.open("ab") as f:
        f.write(struct.pack("<II", 5, 12 + len(body)) + body + struct.pack("<I", 12 + len(body)))
    assert audit(alpha, str(path), today=TODAY).packets == len(CAPTURE)
    for cut in (6, 30, 100):
        path.write_bytes(path.read_bytes()[:-cut])
        with pytest.raises(InputError, match="truncated"):
            audit(alpha, str(path), today=TODAY)


def test_large_capture_in_bounded_memory(alpha: segverify.Topology, tmp_path: Path) -> None:
    """200k packets in 100 flows: memory follows the flows, not the packets."""
    path = tmp_path / "large.pcap"
    flows = 100
    templates = []
    for i in range(flows):
        client, server = f"10.20.1.{11 + i % 8}", "10.30.1.100"
        templates.append([bytes(p) for p in conversation(client, server, 20000 + i, 443, data=1)])
    writer = RawPcapWriter(str(path), linktype=1, sync=False)
    writer.write_header(None)
    count = 0
    for round_ in range(2000):
        for t in templates:
            writer.write_packet(t[min(round_, len(t) - 1)], sec=1_700_000_000 + count // 1000, usec=count % 1000)
            count += 1
    writer.close()
    assert count == 200_000
    size = path.stat().st_size
    net = Network(alpha)
    tracemalloc.start()
    try:
        result = audit(alpha, str(path), today=TODAY, network=net)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.packets == 200_000 and len(result.flows) == flows
    assert all(f.category is Category.ALLOWED for f in result.flows)
    assert peak < size / 10, (peak, size)
    print(f"peak {peak} bytes for a {size}-byte capture")


def test_an_unanswered_attempt_the_model_drops_is_blocked_not_drift(tmp_path: Path,
                                                                     alpha: segverify.Topology) -> None:
    # An LGWAN terminal knocks on an Internet-segment server; the firewall drops it, nothing answers.
    attempt = [ETH / IP(src="10.20.1.11", dst="10.30.1.25") / TCP(sport=50100, dport=22, flags="S")] * 3
    path = tmp_path / "attempt.pcap"
    wrpcap(str(path), attempt)
    result = audit(alpha, str(path), today=TODAY)
    assert [f.category for f in result.flows] == [Category.BLOCKED]
    assert result.exit_code == 0


def test_a_relays_attack_surface_is_a_warning_not_a_violation(tmp_path: Path) -> None:
    """Internet mail reaching the mail sanitizer on HTTPS, where it declares SMTP only: SEG004 names
    it as a warning (it crosses nothing), so the flow is allowed and listed with its warning."""
    path = tmp_path / "surface.pcap"
    wrpcap(str(path), conversation("10.30.1.25", "10.30.9.2", 40001, 443))
    topology = segverify.load(ROOT / "topologies" / "broken" / "seg004-mail-sanitizer-any-port.yaml")
    result = audit(topology, str(path), today=TODAY)
    [flow] = result.flows
    assert flow.category is Category.ALLOWED and [(h.rule, h.severity) for h in flow.rules] == [("SEG004", "warning")]
    assert result.exit_code == 0
    assert "allowed flows with warnings (a relay's attack surface):" in format_text(result)


def test_a_packet_is_judged_for_every_node_that_may_send_it(tmp_path: Path) -> None:
    """A capture cannot tell who sent a packet. From lg-vdi, the owner of 10.20.2.100, this SMB
    opening to an Internet-segment PC is the relay reaching the terminals' side (SEG004); any other
    host of the server LAN may send with that address too (a host may use any address of its
    subnet), and from there the same packet is an LGWAN ↔ Internet path (SEG003), which verify
    reports with exactly this witness. The audit names both, and who adds the second."""
    topology = segverify.load(ROOT / "topologies" / "broken" / "beta-vdi-opens-sessions-to-terminals.yaml")
    path = tmp_path / "spoofed.pcap"
    wrpcap(str(path), [Ether() / IP(src="10.20.2.100", dst="10.30.2.11") / TCP(sport=49152, dport=445, flags="S")])
    result = audit(topology, str(path), today=TODAY)
    [flow] = result.flows
    assert flow.source == "lg-vdi" and flow.spoofers == ("lan:lg-server",)
    assert flow.category is Category.VIOLATION and [h.rule for h in flow.rules] == ["SEG004", "SEG003"]
    assert "lg-vdi → inet-pc01 (or lan:lg-server with this address)" in format_text(result)
    assert json.loads(json.dumps(result.to_dict()))["flows"][0]["spoofers"] == ["lan:lg-server"]


def test_alike_hosts_are_one_candidate_and_name_no_one_when_they_change_nothing(alpha: segverify.Topology,
                                                                                  tmp_path: Path) -> None:
    path = tmp_path / "office.pcap"
    wrpcap(str(path), conversation("10.20.1.11", "10.30.1.100", 40000, 443))
    judge_owner, others = Judge(alpha, Network(alpha), TODAY).senders(IPv4Address("10.20.1.11"))
    assert judge_owner == "lg-pc01"
    assert len([o for o in others if o.startswith("lg-pc")]) == 1  # seven other office PCs, one kind
    [flow] = audit(alpha, str(path), today=TODAY).flows
    assert flow.spoofers == () and flow.category is Category.ALLOWED
    # A node a rule asks about by itself is never folded into another: each sanitizer has its own
    # declaration (SEG004), so two alike sanitizers on one subnet stay two candidates.
    from segverify.simulate.pcap import _plain_host

    net = Network(alpha)
    assert _plain_host(net, alpha.nodes["lg-pc01"]) == _plain_host(net, alpha.nodes["lg-pc02"]) is not None
    assert _plain_host(net, alpha.nodes["san-mail"]) is None and _plain_host(net, alpha.nodes["san-file"]) is None


@pytest.mark.parametrize("name", ["twice-nat-rule.yaml", "twice-nat-static.yaml"])
def test_a_translated_address_belongs_to_the_host_it_stands_for(name: str) -> None:
    """A packet captured beyond a one-to-one translation comes from the host behind it: a static
    rule's outside address, and a twice rule's new source (its real source being one address)."""
    topology = segverify.load(Path(__file__).parent / "data" / name)
    judge = Judge(topology, Network(topology), TODAY)
    assert judge.locate(IPv4Address("198.51.100.5")) == ("pc", "in")        # the PC as the partner sees it
    assert judge.locate(IPv4Address("10.0.9.5")) == ("partner", "out")      # the partner as the PC sees it

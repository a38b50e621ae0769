"""Every address sends, and names never shadow each other.

The unowned DHCP address: a permit for 10.20.1.250 (an LGWAN office address no interface owns)
toward the Internet segment used to give COMPLIANT, ``trace`` said the packet was sent by the
Internet and pcap-audit called it drift. The README's ``assert_isolated(t, "mynumber", "internet")``
used to pass on the SEG001 broken network because ``internet`` resolved to the external node.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

import segverify
from segverify.errors import QueryError
from segverify.network import Network
from segverify.places import resolve_place
from segverify.simulate.pcap import Category, audit
from segverify.testing import assert_isolated, assert_no_path, assert_reachable

ROOT = Path(__file__).parent.parent
ALPHA = ROOT / "topologies" / "alpha.yaml"
SEG001 = ROOT / "topologies" / "broken" / "seg001-mynumber-to-internet-proxy.yaml"
BACKUP = ROOT / "tests" / "data" / "whatif-backup-link.yaml"
TODAY = _dt.date(2026, 11, 26)
DHCP_PERMIT = "          - {action: permit, src: 10.20.1.250, dst: 10.30.0.0/16, description: 例外PC (DHCP)}\n"
ANCHOR = "      lg-outbound:\n        default: deny\n        rules:\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def dhcp_permit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = ALPHA.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    path = tmp_path_factory.mktemp("dhcp") / "alpha-dhcp-permit.yaml"
    path.write_text(text.replace(ANCHOR, ANCHOR + DHCP_PERMIT), encoding="utf-8")
    return path


def test_a_permit_for_an_unowned_address_is_a_finding(dhcp_permit: Path) -> None:
    report = segverify.verify(segverify.load(dhcp_permit), today=TODAY)
    seg003 = [f for f in report.active if f.rule == "SEG003"]
    assert seg003, [f.title for f in report.active]
    finding = seg003[0]
    assert dict(finding.subject)["from_zone"] == "lg-office"
    assert finding.witness is not None and str(finding.witness.src) == "10.20.1.250"
    assert finding.path is not None and finding.path.source == "lan:lg-office" and finding.path.delivered
    assert finding.location.line == ALPHA.read_text(encoding="utf-8").split(ANCHOR)[0].count("\n") + 4


def test_trace_sends_an_unowned_address_from_its_lan(dhcp_permit: Path) -> None:
    result = run("trace", str(dhcp_permit), "--src", "10.20.1.250", "--dst", "10.30.1.25", "--dport", "443")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sent by lan:lg-office" in result.stdout and "delivered at inet-mail" in result.stdout


def test_pcap_audit_judges_an_unowned_source_like_a_listed_host(dhcp_permit: Path, tmp_path: Path) -> None:
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    packets = [eth / IP(src="10.20.1.250", dst="10.30.1.25") / TCP(sport=50000, dport=443, flags="S"),
               eth / IP(src="10.30.1.25", dst="10.20.1.250") / TCP(sport=443, dport=50000, flags="SA")]
    capture = tmp_path / "dhcp.pcap"
    wrpcap(str(capture), packets)
    result = audit(segverify.load(dhcp_permit), str(capture), today=TODAY)
    (flow,) = result.flows
    assert flow.source == "lan:lg-office" and flow.from_zone == "lg-office"
    assert flow.possible and flow.category is Category.VIOLATION
    assert "SEG003" in {hit.rule for hit in flow.rules}


def test_readme_example_fails_on_the_seg001_network() -> None:
    t = segverify.load(SEG001)
    with pytest.raises(AssertionError, match="mynumber and internet are not isolated"):
        assert_isolated(t, "mynumber", "internet")
    assert_isolated(segverify.load(ALPHA), "mynumber", "internet")


def test_assert_isolated_takes_segments_only() -> None:
    with pytest.raises(QueryError, match="takes segments"):
        assert_isolated(segverify.load(ALPHA), "mn-office", "internet")


def test_assert_no_path_takes_qualified_terms() -> None:
    t = segverify.load(SEG001)
    with pytest.raises(AssertionError, match="packets get from segment:mynumber to segment:internet"):
        assert_no_path(t, "segment:mynumber", "segment:internet")
    # The external node alone is reached too: through the proxy, out via the security cloud.
    assert_no_path(t, "segment:mynumber", "node:internet", proto="udp")
    with pytest.raises(QueryError, match="ambiguous: it names segment:internet, node:internet"):
        assert_no_path(t, "mynumber", "internet")
    assert_reachable(segverify.load(ALPHA), "zone:lg-office", "node:inet-vb", proto="tcp", dport=443)


@pytest.fixture(scope="module")
def alpha() -> tuple[segverify.Topology, Network]:
    t = segverify.load(ALPHA)
    return t, Network(t)


def test_names_resolve_by_kind_and_misspellings_get_suggestions(alpha: tuple[segverify.Topology, Network]) -> None:
    t, net = alpha
    assert resolve_place(t, net, "mynumber").nodes == resolve_place(t, net, "segment:mynumber").nodes
    assert resolve_place(t, net, "lg-pc01,lg-pc02").nodes == ("lg-pc01", "lg-pc02")
    assert "lan:lg-office" in resolve_place(t, net, "zone:lg-office").nodes
    with pytest.raises(QueryError, match="did you mean lg-pc01"):
        resolve_place(t, net, "lg-pc1")
    with pytest.raises(QueryError, match="did you mean segment:mynumber"):
        resolve_place(t, net, "segment:mynumbr")
    with pytest.raises(QueryError, match="forwards traffic but starts no flows"):
        resolve_place(t, net, "fw-lg", sending=True)
    # A device as a destination stands for its own addresses.
    assert resolve_place(t, net, "node:fw-lg").nodes == ("fw-lg",)
    # An address no interface owns is a host of its LAN subnet: its pool.
    assert resolve_place(t, net, "10.20.1.111", sending=True).nodes == ("lan:lg-office",)


def test_query_lists_port_ranges_and_management_access() -> None:
    result = run("query", str(ALPHA), "--from", "lg-pc01,lg-pc02", "--to", "inet-vb", "--dport", "400-500")
    assert result.returncode == 0, result.stderr
    assert "lg-pc01 -> inet-vb" in result.stdout and "lg-pc02 -> inet-vb" in result.stdout
    assert "tcp/443" in result.stdout and "2 pairs with flows" in result.stdout
    nothing = run("query", str(ALPHA), "--from", "lg-pc01", "--to", "inet-vb", "--dport", "444-500")
    assert nothing.returncode == 0 and nothing.stdout.startswith("nothing gets")
    # Management access: what reaches the LGWAN firewall's own addresses.
    fw = run("query", str(ALPHA), "--from", "zone:lg-office", "--to", "node:fw-lg")
    assert fw.returncode == 0, fw.stderr
    assert fw.stdout.startswith("nothing gets") or "-> fw-lg" in fw.stdout


def test_query_place_errors_exit_2() -> None:
    ambiguous = run("query", str(SEG001), "--from", "mynumber", "--to", "internet")
    assert ambiguous.returncode == 2 and "segment:internet, node:internet" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
    nobody = run("query", str(BACKUP), "--from", "10.7.7.7", "--to", "lgwan")
    assert nobody.returncode == 2 and "no node or pool owns 10.7.7.7" in nobody.stderr
    misspelt = run("query", str(ALPHA), "--from", "lg-ofice", "--to", "internet")
    assert misspelt.returncode == 2 and "did you mean" in misspelt.stderr
    ports = run("query", str(ALPHA), "--from", "lgwan", "--to", "segment:internet", "--dport", "500-400")
    assert ports.returncode == 2 and "not within 0-65535" in ports.stderr


MN_POOL = """
pools:
  mn-dhcp:
    lan: mn-office
    range: 10.10.1.100-10.10.1.199
    mfa: true
    description: マイナンバー系 DHCP 端末 (USB 未制御)
"""


def test_declared_pools_are_checked_like_terminals() -> None:
    t = segverify.loads(ALPHA.read_text(encoding="utf-8") + MN_POOL, name="alpha-pool.yaml")
    pool = t.nodes["pool:mn-dhcp"]
    assert pool.kind.value == "terminal" and pool.interfaces[0].zone == "mn-office"
    report = segverify.verify(t, today=TODAY)
    (finding,) = [f for f in report.active if f.rule == "SEG007"]
    assert "pool:mn-dhcp" in finding.title and "removable media not blocked" in finding.title
    assert finding.location.file == "alpha-pool.yaml" and finding.location.line > 0
    # The pool's addresses are its own; the rest of the LAN stays with the implicit pool.
    net = Network(t)
    assert resolve_place(t, net, "10.10.1.150").nodes == ("pool:mn-dhcp",)
    assert resolve_place(t, net, "10.10.1.230").nodes == ("lan:mn-office",)
    assert resolve_place(t, net, "pool:mn-dhcp").nodes == resolve_place(t, net, "mn-dhcp").nodes


@pytest.mark.parametrize("bad, message", [
    ("    lan: mn-office\n    range: 10.99.0.0/24\n", "is not inside a subnet of LAN 'mn-office'"),
    ("    lan: no-such-lan\n", "no LAN or link of that name"),
    ("    range: 10.10.1.11\n", "every address of pool 'x' is taken"),
    ("    lan: mn-office\n    zone: nowhere\n", "unknown zone 'nowhere'"),
    ("    lan: mn-office\n    gateway: 10.10.1.11\n", "is not the address of a router on mn-office"),
])
def test_bad_pools_name_the_line(bad: str, message: str) -> None:
    with pytest.raises(segverify.errors.InputError, match=message) as err:
        segverify.loads(ALPHA.read_text(encoding="utf-8") + "pools:\n  x:\n" + bad, name="bad-pool.yaml")
    assert err.value.span is not None and err.value.span.file == "bad-pool.yaml"


def test_zone_and_segment_terms_are_address_terms() -> None:
    text = ALPHA.read_text(encoding="utf-8")
    text = text.replace("        - {from: INET_MAIL, service: smtp}", "        - {from: zone:inet-dmz, service: smtp}")
    text = text.replace("          - {action: permit, src: LG_TERMINALS, dst: INET_VB, service: https,",
                        "          - {action: permit, src: zone:lg-office, dst: INET_VB, service: https,")
    text += ("  - {id: EX-Z, rule: SEG003, src: segment:lgwan, dst: zone:inet-dmz, owner: 情報政策課, "
             "justification: 試験, expires: 2030-03-31}\n")
    t = segverify.loads(text, name="zones.yaml")
    from ipaddress import IPv4Network as N
    assert t.nodes["san-mail"].sanitizer.inbound[0].peer == (N("10.30.1.0/24"),)
    rule = t.nodes["fw-lg"].acls["lg-outbound"].rules[0]
    assert rule.match.src == (N("10.20.1.0/24"),) and rule.span.line > 0
    exc = t.exceptions[-1]
    assert exc.scope.dst == (N("10.30.1.0/24"),) and N("10.20.2.0/24") in exc.scope.src
    with pytest.raises(segverify.errors.InputError, match="unknown zone 'lg-ofice'; did you mean zone:lg-office"):
        segverify.loads(text.replace("src: zone:lg-office", "src: zone:lg-ofice"), name="zones.yaml")

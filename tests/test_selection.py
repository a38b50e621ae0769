"""Rule selection, baselines, per-rule counts, structured query output and wording."""

from __future__ import annotations

import json
import subprocess
import sys
from ipaddress import IPv4Network
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import segverify
from segverify.describe import _union_text
from segverify.outputs.text import render_text

ROOT = Path(__file__).parent.parent
ALPHA = str(ROOT / "topologies" / "alpha.yaml")
DUAL = str(ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml")
SHADOWED = str(ROOT / "topologies" / "broken" / "any-any-permit-above-deny.yaml")
TODAY = ["--today", "2026-11-26"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True)


def test_per_rule_counts_at_the_top_errors_first() -> None:
    out = run("check", SHADOWED, *TODAY).stdout.splitlines()
    start = out.index("findings by rule:")
    assert out[start + 1].split()[:3] == ["2", "SEG002", "error"]
    assert out[start + 2].split()[:3] == ["1", "HYG001", "warning"]
    assert out[-1] == "NOT COMPLIANT: 2 errors, 1 warning [HYG001, SEG002]"


def test_select_and_ignore() -> None:
    selected = json.loads(run("check", SHADOWED, *TODAY, "--format", "json", "--select", "HYG").stdout)
    assert {f["rule"] for f in selected["findings"]} == {"HYG001"}
    assert all(r.startswith("HYG") for r in selected["rules_checked"])
    ignored = run("check", SHADOWED, *TODAY, "--ignore", "SEG002")
    assert ignored.returncode == 0 and "SEG002 " not in ignored.stdout.split("suppressed by")[0]
    bad = run("check", SHADOWED, "--select", "SEG0002")
    assert bad.returncode == 2 and "did you mean SEG002" in bad.stderr and "Traceback" not in bad.stderr


def test_baseline_accepts_known_findings_and_reports_new_ones(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    written = run("check", DUAL, *TODAY, "--write-baseline", str(baseline))
    assert written.returncode == 0 and "wrote 6 fingerprints" in written.stderr
    entries = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    assert len(entries) == 6 and {e["rule"] for e in entries} == {"SEG003", "SEG006"}
    again = run("check", DUAL, *TODAY, "--baseline", str(baseline))
    assert again.returncode == 0
    assert "6 findings accepted by the baseline" in again.stdout
    assert again.stdout.splitlines()[-1] == "COMPLIANT: no findings beyond the baseline (6 accepted)"
    # Accept all but one: that one is reported again and fails the run.
    kept = dict(json.loads(baseline.read_text(encoding="utf-8")), findings=entries[1:])
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(kept), encoding="utf-8")
    result = json.loads(run("check", DUAL, *TODAY, "--baseline", str(partial), "--format", "json").stdout)
    assert [f["fingerprint"] for f in result["findings"]] == [entries[0]["fingerprint"]]
    assert result["summary"]["baselined"] == 5


def test_bad_baseline_is_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{\"x\": 1}", encoding="utf-8")
    for path in (junk, tmp_path / "missing.json"):
        result = run("check", ALPHA, "--baseline", str(path))
        assert result.returncode == 2 and "baseline" in result.stderr and "Traceback" not in result.stderr


def test_query_json_gives_structured_flows() -> None:
    answers = json.loads(run("query", ALPHA, "--from", "mn-server", "--to", "lgwan-wan", "--format", "json").stdout)
    first = answers[0]
    # (a server may send with any address of its subnet, so the pair holds both exceptions' flows)
    assert {"text": "tcp/443 from 10.10.2.51 to 172.21.1.10", "protocols": [{"low": 6, "high": 6, "name": "tcp"}],
            "src": ["10.10.2.51/32"], "dst": ["172.21.1.10/32"], "src_ports": None,
            "dst_ports": [{"low": 443, "high": 443}]} in first["flows"]
    assert all(set(f) == {"text", "protocols", "src", "dst", "src_ports", "dst_ports"} for f in first["flows"])
    assert first["rule_locations"] and all(":" in loc for loc in first["rule_locations"])
    assert first["path"]["hops"][0]["node"] == first["from"]


def test_complements_read_as_except() -> None:
    rest = [str(n) for n in IPv4Network("10.20.1.0/24").address_exclude(IPv4Network("10.20.1.5/32"))]
    assert _union_text(rest) == "10.20.1.0/24 except 10.20.1.5"
    world = [str(n) for n in IPv4Network("0.0.0.0/0").address_exclude(IPv4Network("10.0.0.0/8"))]
    assert _union_text(world) == "any except 10.0.0.0/8"


def test_suppressed_flow_is_not_titled_uncovered() -> None:
    report = segverify.verify(segverify.load(ALPHA))
    assert report.suppressed and all("not covered" not in f.title for f in report.suppressed)
    broken = segverify.verify(segverify.load(SHADOWED))
    assert any(f.title.startswith("My Number ↔ LGWAN flow not covered by an exception") for f in broken.active)
    assert "1 warning" in render_text(broken).splitlines()[-1]


def _addresses_of(text: str) -> set[int]:
    """The addresses a union text names, by the plain definition of its words."""
    def block(term: str) -> set[int]:
        net = IPv4Network("0.0.0.0/0" if term == "any" else term)
        return set(range(int(net.network_address), int(net.broadcast_address) + 1))
    whole, _, missing = text.partition(" except ")
    kept = set().union(*(block(t) for t in whole.split(", ")))
    return kept - set().union(*(block(t) for t in missing.split(", ") if t))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), min_size=1, max_size=40))
def test_union_text_names_exactly_the_union(blocks: list[tuple[int, int]]) -> None:
    nets = sorted({IPv4Network((0x0A140100 | (low & (0xFF << (32 - length)) & 0xFF), length)) for low, length in blocks})
    union = set().union(*(set(range(int(n.network_address), int(n.broadcast_address) + 1)) for n in nets))
    text = _union_text([str(n.network_address) if n.prefixlen == 32 else str(n) for n in nets])
    assert _addresses_of(text) == union

"""Model-completeness warnings (HYG002-HYG008): a gap in the model is reported, never a silent COMPLIANT."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import segverify
from segverify.findings import Severity
from segverify.outputs import RENDERERS
from segverify.outputs.text import render_text

ROOT = Path(__file__).parent.parent
SEG003 = ROOT / "topologies" / "broken" / "seg003-lgwan-pop3-to-internet-mail.yaml"
TINY = ROOT / "tests" / "data" / "tiny.yaml"
LINK = "fw-lg:port3, fw-inet:ethernet1/3"


def _without_link(tmp_path: Path) -> Path:
    lines = SEG003.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if LINK not in line]
    assert len(kept) == len(lines) - 1
    path = tmp_path / "seg003-without-link.yaml"
    path.write_text("".join(kept), encoding="utf-8")
    return path


def _gaps(report: segverify.Report) -> list[tuple[str, str]]:
    return sorted((f.rule, f.title) for f in report.active if f.rule.startswith("HYG") and f.rule != "HYG001")


def test_deleted_link_gives_completeness_warnings_not_a_clean_compliant(tmp_path: Path) -> None:
    path = _without_link(tmp_path)
    report = segverify.verify(segverify.load(path))
    assert "SEG003" not in report.rule_ids()  # the path is gone with the link ...
    assert _gaps(report) == [  # ... and the check says why it can no longer see it
        ("HYG002", "interface fw-inet:ethernet1/3 (10.250.0.2/30) is on no link or LAN"),
        ("HYG002", "interface fw-lg:port3 (10.250.0.1/30) is on no link or LAN"),
        ("HYG004", "fw-inet: next hop 10.250.0.1 of 10.20.0.0/16 is unreachable"),
        ("HYG004", "fw-lg: next hop 10.250.0.2 of 10.30.0.0/16 is unreachable"),
    ]
    spans = {f.title: f.location.line for f in report.active}
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[spans["interface fw-lg:port3 (10.250.0.1/30) is on no link or LAN"] - 1].strip().startswith("port3:")
    verdict = render_text(report).splitlines()[-1]
    assert verdict == ("COMPLIANT only for the modelled links: 2 interfaces are on no link, "
                       "2 next hops are unreachable (4 warnings)")
    assert report.exit_code == 0


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_format_carries_the_warnings(fmt: str, tmp_path: Path) -> None:
    report = segverify.verify(segverify.load(_without_link(tmp_path)))
    out = RENDERERS[fmt](report)
    assert out.count("HYG002") >= 2 and "HYG004" in out
    if fmt == "sarif":
        rules = {r["id"]: r for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
        assert rules["HYG002"]["defaultConfiguration"]["level"] == "warning"


def test_strict_makes_gaps_errors(tmp_path: Path) -> None:
    path = _without_link(tmp_path)
    report = segverify.verify(segverify.load(path), strict=True)
    assert {f.severity for f in report.active} == {Severity.ERROR} and report.exit_code == 1
    assert render_text(report).splitlines()[-1].startswith("NOT COMPLIANT: 4 errors, 0 warnings [HYG002, HYG004]; "
                                                            "the model has gaps")
    cli = [sys.executable, "-m", "segverify", "check", str(path)]
    assert subprocess.run(cli, capture_output=True).returncode == 0
    assert subprocess.run(cli + ["--strict"], capture_output=True).returncode == 1


def _tiny(edit: str, replacement: str) -> segverify.Report:
    text = TINY.read_text(encoding="utf-8")
    assert edit in text
    return segverify.verify(segverify.loads(text.replace(edit, replacement), "tiny.yaml"))


def test_tiny_is_complete() -> None:
    assert _gaps(segverify.verify(segverify.load(TINY))) == []


@pytest.mark.parametrize("edit, replacement, expected", [
    ("links:\n  - [fw:eth2, net:eth0]\n", "", [
        ("HYG002", "interface fw:eth2 (198.51.100.2/30) is on no link or LAN"),
        ("HYG004", "fw: next hop 198.51.100.1 of 0.0.0.0/0 is unreachable"),
        ("HYG008", "node net has no interface up")]),
    ("gateway: 10.1.0.1}", "gateway: 10.1.0.99}", [
        ("HYG003", "pc1: next hop 10.1.0.99 of 0.0.0.0/0 is owned by no interface")]),
    ("lg-lan: [pc1:eth0, fw:eth0]", "lg-lan: [pc1:eth0]\n  lg-lan2: [fw:eth0]", [
        ("HYG004", "pc1: next hop 10.1.0.1 of 0.0.0.0/0 is unreachable")]),
    ("  world: {segment: external-internet}\n", "  world: {segment: external-internet}\n  spare: {segment: lgwan}\n", [
        ("HYG005", "zone spare has no interface")]),
    ("      eth0: {zone: lg, address: 10.1.0.1/24, acl_in: lg-in}", "      eth0: {zone: lg, address: 10.1.0.1/24}", [
        ("HYG006", "fw ACL lg-in is bound to no interface")]),
])
def test_each_gap_kind(edit: str, replacement: str, expected: list[tuple[str, str]]) -> None:
    assert _gaps(_tiny(edit, replacement)) == expected


def test_external_node_cut_off() -> None:
    extra = ("  far1:\n    kind: external\n    represents: [192.0.2.0/24]\n    interfaces:\n"
             "      eth0: {zone: world, address: 203.0.113.1/30}\n"
             "  far2:\n    kind: external\n    represents: [192.0.3.0/24]\n    interfaces:\n"
             "      eth0: {zone: world, address: 203.0.113.2/30}\n"
             "links:\n  - [far1:eth0, far2:eth0]\n")
    report = _tiny("links:\n", extra)
    assert _gaps(report) == [("HYG007", "external node far1 is connected to nothing inside the network"),
                             ("HYG007", "external node far2 is connected to nothing inside the network")]


def test_a_whatif_failure_is_not_a_gap() -> None:
    """A link taken down by whatif is a scenario, not a forgotten line: it opens no HYG finding."""
    result = segverify.whatif(segverify.load(TINY), k_failures=1)
    opened = [f.rule for r in result.results for f in r.opened]
    assert result.results and not [rule for rule in opened if rule.startswith("HYG")]


def test_next_hops_on_secondary_subnets() -> None:
    """A next hop that is a secondary address is owned (the LAN pool of a secondary subnet routes
    via it); one nobody holds on a secondary subnet is reported with that subnet."""
    secondary = "      eth0: {zone: lg, address: 10.1.0.1/24, acl_in: lg-in, secondary: [10.1.5.1/24]}"
    assert _gaps(_tiny("      eth0: {zone: lg, address: 10.1.0.1/24, acl_in: lg-in}", secondary)) == []
    text = TINY.read_text(encoding="utf-8").replace(
        "      eth0: {zone: lg, address: 10.1.0.1/24, acl_in: lg-in}", secondary).replace(
        "      - {to: default, via: 198.51.100.1}\n",
        "      - {to: default, via: 198.51.100.1}\n      - {to: 10.77.0.0/16, via: 10.1.5.9}\n")
    report = segverify.verify(segverify.loads(text, "tiny.yaml"))
    (finding,) = [f for f in report.active if f.rule == "HYG003"]
    assert finding.title == "fw: next hop 10.1.5.9 of 10.77.0.0/16 is owned by no interface"
    assert "10.1.5.0/24" in finding.message

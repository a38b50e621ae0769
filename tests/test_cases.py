"""Data-driven cases: reference networks are compliant; each broken network yields exactly its findings.

A broken file names what it must produce in its first lines:

    # expect: SEG003 SEG006
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import segverify
from segverify.findings import Severity

ROOT = Path(__file__).parent.parent / "topologies"
REFERENCE = sorted(ROOT.glob("*.yaml"))
BROKEN = sorted((ROOT / "broken").glob("*.yaml"))
TODAY = dt.date(2026, 11, 26)  # fixed, so exception expiry does not make the suite rot


def expected_rules(path: Path) -> list[str]:
    for line in path.read_text(encoding="utf-8").splitlines()[:10]:
        match = re.match(r"#\s*expect:\s*(.*)", line)
        if match:
            return sorted(match[1].split())
    raise AssertionError(f"{path.name} has no '# expect:' header")


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_reference_network_is_compliant(path: Path) -> None:
    report = segverify.verify(segverify.load(path), today=TODAY)
    assert [(f.rule, f.title, str(f.location)) for f in report.active] == []
    assert report.exit_code == 0


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_network_yields_exactly_its_findings(path: Path) -> None:
    report = segverify.verify(segverify.load(path), today=TODAY)
    found = report.rule_ids()
    assert found == expected_rules(path), "\n".join(f"{f.rule} {f.title} ({f.location})" for f in report.active)
    errors = [f for f in report.active if f.severity is Severity.ERROR]
    assert report.exit_code == report.exit_code_for("error") == (1 if errors else 0)
    assert report.exit_code_for("warning") == 1


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_every_flow_finding_has_witness_path_and_rule_location(path: Path) -> None:
    report = segverify.verify(segverify.load(path), today=TODAY)
    for finding in report.active:
        if finding.witness is None:
            continue  # node and register findings point at the node or exception instead
        assert finding.headers, finding.title
        assert finding.path is not None and finding.path.delivered, finding.title
        assert finding.location.file == str(path) and finding.location.line > 0


def test_there_is_a_broken_case_for_every_rule() -> None:
    covered = {rule for path in BROKEN for rule in expected_rules(path)}
    missing = {f"SEG{n:03d}" for n in range(1, 12)} - covered
    assert not missing, f"no broken topology demonstrates {sorted(missing)}"

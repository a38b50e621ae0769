"""Data-driven cases, black-style: every reference and broken network has its expected output.

``tests/data/cases/<path under topologies/>.txt`` lists every finding the network produces (active
and suppressed): rule, severity, zone pair or subject, primary location (file:line:column), the
witness packet and the nodes of its path. The test compares the whole file exactly. When a change
alters findings on purpose, regenerate and review the diff by hand before committing::

    python3 -m pytest tests/test_cases.py --regen-cases      # or SEGVERIFY_REGEN_CASES=1

A broken file also names the rules it demonstrates in its first lines, which regenerating cannot
change:

    # expect: SEG003 SEG006
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

import segverify
from segverify.errors import Span
from segverify.findings import Finding, Report, Severity
from segverify.outputs.sarif import render_sarif
from segverify.outputs.text import render_text

REPO = Path(__file__).parent.parent
ROOT = REPO / "topologies"
CASES = Path(__file__).parent / "data" / "cases"
REFERENCE = sorted(ROOT.glob("*.yaml"))
BROKEN = sorted((ROOT / "broken").glob("*.yaml"))
TODAY = dt.date(2026, 11, 26)  # fixed, so exception expiry does not make the suite rot


def expected_rules(path: Path) -> list[str]:
    for line in path.read_text(encoding="utf-8").splitlines()[:10]:
        match = re.match(r"#\s*expect:\s*(.*)", line)
        if match:
            return sorted(match[1].split())
    raise AssertionError(f"{path.name} has no '# expect:' header")


def _where(span: Span) -> str:
    file = Path(span.file)
    if file.is_absolute() and file.is_relative_to(REPO):
        file = file.relative_to(REPO)
    return f"{file.as_posix()}:{span.line}:{span.column}"


def finding_case(f: Finding) -> list[str]:
    subject = dict(f.subject)
    pair = f"{subject.pop('from_zone')} → {subject.pop('to_zone')}" if "from_zone" in subject else ""
    head = " ".join(x for x in (f.rule, f.severity.value, pair,
                                " ".join(f"{k}={v}" for k, v in subject.items())) if x)
    lines = [head, f"  at:      {_where(f.location)}" + (f" ({f.cause})" if f.cause else "")]
    if f.witness is not None:
        lines.append(f"  witness: {f.witness}")
    if f.path is not None:
        lines.append(f"  path:    {' > '.join(f.path.nodes)} ({f.path.outcome.value})")
    if f.suppressed_by:
        lines.append(f"  suppressed by {', '.join(f.suppressed_by)}")
    if f.relaxed_by:
        lines.append(f"  relaxed by {', '.join(f.relaxed_by)}")
    return lines + [""]


def render_case(path: Path, report: Report) -> str:
    out = [f"# {path.relative_to(REPO).as_posix()}: profile {report.profile}, today {report.today}",
           f"# {report.errors} error(s), {report.warnings} warning(s), {len(report.suppressed)} suppressed", ""]
    for f in report.findings:
        out.extend(finding_case(f))
    return "\n".join(out) + "\n"


def case_file(path: Path) -> Path:
    return CASES / path.relative_to(ROOT).with_suffix(".txt")


@pytest.mark.parametrize("path", REFERENCE + BROKEN, ids=lambda p: p.relative_to(ROOT).with_suffix("").as_posix())
def test_expected_output(path: Path, regen_cases: bool) -> None:
    actual = render_case(path, segverify.verify(segverify.load(path), today=TODAY))
    expected_file = case_file(path)
    if regen_cases:
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        expected_file.write_text(actual, encoding="utf-8")
    assert expected_file.exists(), f"no expected output {expected_file}: run with --regen-cases and review it"
    assert actual == expected_file.read_text(encoding="utf-8")


def test_every_case_file_has_its_network() -> None:
    wanted = {case_file(p) for p in REFERENCE + BROKEN}
    stale = sorted(str(p.relative_to(CASES)) for p in CASES.rglob("*.txt") if p not in wanted)
    assert not stale, f"expected outputs without a topology: {stale}"


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


def is_flow_finding(f: Finding) -> bool:
    """Flow findings are about a zone pair; node, declaration and register findings are not."""
    return "from_zone" in dict(f.subject)


@pytest.mark.parametrize("path", REFERENCE + BROKEN, ids=lambda p: p.relative_to(ROOT).with_suffix("").as_posix())
def test_every_flow_finding_has_witness_path_and_rule_location(path: Path) -> None:
    report = segverify.verify(segverify.load(path), today=TODAY)
    for finding in report.findings:
        if not is_flow_finding(finding):
            assert finding.witness is None and finding.path is None, finding.title
            continue
        assert finding.witness is not None, f"flow finding without a witness: {finding.title}"
        assert finding.headers, finding.title
        assert finding.path is not None and finding.path.delivered, finding.title
        assert finding.path.packet == finding.witness, finding.title
        assert finding.location.file == str(path) and finding.location.line > 0


def test_flow_rules_are_demonstrated_with_witnesses() -> None:
    """The witness test above is not vacuous: the broken networks have flow findings of every flow rule."""
    flow_rules = set()
    for path in BROKEN:
        report = segverify.verify(segverify.load(path), today=TODAY)
        flow_rules |= {f.rule for f in report.active if is_flow_finding(f) and f.witness is not None}
    assert flow_rules >= {"SEG001", "SEG002", "SEG003", "SEG004", "SEG005", "SEG010", "SEG011"}


def test_there_is_a_broken_case_for_every_rule() -> None:
    covered = {rule for path in BROKEN for rule in expected_rules(path)}
    missing = {f"SEG{n:03d}" for n in range(1, 12)} - covered
    assert not missing, f"no broken topology demonstrates {sorted(missing)}"


# -- where a finding points: the line to change ------------------------------------------------------

# Networks whose mistake is one line marked "# BROKEN" that a flow passes; the witness paths also pass
# permits that are right (the security cloud's generic permit, the Internet firewall's DMZ rule).
BROKEN_LINE_CASES = ["seg001-mynumber-to-internet-proxy", "seg003-lgwan-pop3-to-internet-mail",
                     "seg005-direct-internet-line", "seg010-breakout-proxy-whole-block",
                     "static-route-around-firewall", "beta-vdi-opens-sessions-to-terminals",
                     "any-any-permit-above-deny"]


@pytest.mark.parametrize("stem", BROKEN_LINE_CASES)
def test_primary_location_is_the_line_that_opens_the_boundary(stem: str) -> None:
    path = ROOT / "broken" / f"{stem}.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    flows = [f for f in segverify.verify(segverify.load(path), today=TODAY).active if is_flow_finding(f)]
    assert flows
    for f in flows:
        assert "BROKEN" in lines[f.location.line - 1], f"{f.title}: {f.location} is not the broken line"
        assert f.location not in f.related  # every other hop is related, the primary is not repeated


def test_separation_firewall_not_the_security_cloud_is_the_place_to_change() -> None:
    path = ROOT / "broken" / "seg010-breakout-proxy-whole-block.yaml"
    [finding] = [f for f in segverify.verify(segverify.load(path), today=TODAY).active if f.rule == "SEG010"]
    assert finding.path is not None
    permits = finding.path.permits()
    assert [d.node for d in permits][:1] == ["fw-lg"] and len(permits) >= 2  # later permits: cloud side
    assert finding.location == permits[0].span and finding.cause == "fw-lg ACL lg-outbound line 4"
    assert permits[-1].span in finding.related


def test_a_dual_homed_server_is_the_place_to_change_for_all_its_findings() -> None:
    path = ROOT / "broken" / "dual-homed-server-lgwan-internet.yaml"
    topology = segverify.load(path)
    report = segverify.verify(topology, today=TODAY)
    assert {f.location for f in report.active} == {topology.nodes["lg-file"].span}


def test_findings_with_one_culprit_are_one_problem() -> None:
    path = ROOT / "broken" / "dual-homed-server-lgwan-internet.yaml"
    report = segverify.verify(segverify.load(path), today=TODAY)
    [problem] = report.problems
    assert problem.cause == "node lg-file" and problem.rules == {"SEG003": 5, "SEG006": 1}
    assert len({f.fingerprint for f in problem.findings}) == 6  # each symptom keeps its own fingerprint
    [grouped] = report.to_dict()["problems"]  # type: ignore[misc]
    assert grouped["count"] == 6 and grouped["cause"] == "node lg-file"
    sarif = json.loads(render_sarif(report))
    causes = [r["properties"].get("rootCause") for r in sarif["runs"][0]["results"] if "suppressions" not in r]
    assert all(c is not None and c["findings"] == 6 for c in causes) and len(causes) == 6
    text = render_text(report)
    assert "== one cause, node lg-file (" in text and "6 findings (SEG003 ×5, SEG006)" in text

"""Change verification: diff, what-if failures, and the CI output formats."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

import segverify
from segverify.changes import diff
from segverify.network import Network
from segverify.reach import Reachability
from segverify.outputs import render_github, render_junit, render_sarif
from segverify.failures import whatif
from test_cases import BROKEN, REFERENCE, TODAY, expected_rules

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
SARIF_SCHEMA = DATA / "sarif-schema-2.1.0.json"


def reference_of(broken: Path) -> Path:
    name = segverify.load(broken).name
    matches = [r for r in REFERENCE if name.startswith(segverify.load(r).name)]
    assert len(matches) == 1, f"cannot tell which reference {broken.name} derives from"
    return matches[0]


def test_diff_of_a_file_with_itself_is_empty() -> None:
    topo = segverify.load(REFERENCE[0])
    d = diff(topo, topo, today=TODAY)
    assert (d.allowed, d.blocked, d.introduced, d.resolved) == ([], [], [], [])
    assert d.exit_code(fail_on_new_reachability=True) == 0


@pytest.mark.parametrize("broken", BROKEN, ids=lambda p: p.stem)
def test_diff_reference_to_broken_reports_exactly_the_new_findings(broken: Path) -> None:
    old = segverify.load(reference_of(broken))
    d = diff(old, segverify.load(broken), today=TODAY)
    assert sorted({f.rule for f in d.introduced}) == expected_rules(broken)
    assert d.resolved == []
    assert d.exit_code() == 1
    # A new isolation finding is either a newly allowed flow, or an old flow that the change made
    # forbidden (a role or zone changed): then its witness got through before too.
    allowed = {(c.source_zone, c.destination_zone) for c in d.allowed}
    old_reach = Reachability(Network(old))
    for f in d.introduced:
        subject = dict(f.subject)
        if f.rule in ("SEG001", "SEG002", "SEG003") and "from_zone" in subject and f.path is not None:
            if (subject["from_zone"], subject["to_zone"]) not in allowed:
                assert old_reach.delivers(f.path.source, f.path.final_node, f.witness), f.title
    back = diff(segverify.load(broken), segverify.load(reference_of(broken)), today=TODAY)
    assert sorted({f.rule for f in back.resolved}) == expected_rules(broken) and back.introduced == []


def test_diff_against_git_revision(tmp_path: Path) -> None:
    source = (DATA / "whatif-backup-link.yaml").read_text(encoding="utf-8")
    repo = tmp_path / "net"
    repo.mkdir()
    (repo / "city.yaml").write_text(source, encoding="utf-8")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "city.yaml"], check=True)
    subprocess.run(git + ["commit", "-qm", "as built"], check=True)
    # The change: open the firewall toward the Internet segment.
    (repo / "city.yaml").write_text(source.replace("deny-all: {default: deny, rules: []}",
                                                   "deny-all: {default: permit, rules: []}"), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "segverify", "diff", "--git", "HEAD", str(repo / "city.yaml"),
                          "--format", "json", "--today", TODAY.isoformat()], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    assert {f["rule"] for f in data["findings_introduced"]} == {"SEG003"}
    assert {(c["from_zone"], c["to_zone"]) for c in data["newly_allowed"]} == {("lg", "inet"), ("inet", "lg")}
    bad = subprocess.run([sys.executable, "-m", "segverify", "diff", "--git", "no-such-rev", str(repo / "city.yaml")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no-such-rev" in bad.stderr and "Traceback" not in bad.stderr


def test_fail_on_new_reachability() -> None:
    text = (DATA / "whatif-backup-link.yaml").read_text(encoding="utf-8")
    old = segverify.loads(text, "old.yaml")
    # A change inside LGWAN only: nothing newly crosses segments, the flag changes nothing.
    inside = segverify.loads(text.replace("kind: terminal", "kind: terminal\n    description: changed"), "new.yaml")
    assert diff(old, inside, today=TODAY).exit_code(fail_on_new_reachability=True) == 0
    # The firewall opens LGWAN <-> Internet, and registered exceptions cover it (every address of
    # both subnets sends, listed or not, so the exceptions name the subnets): no finding is
    # introduced, so only --fail-on-new-reachability fails the change.
    register = """
exceptions:
  - {id: EX-1, rule: SEG003, src: 10.1.0.0/24, dst: 10.2.0.0/24, owner: 情報政策課, justification: 試験, expires: 2030-03-31}
  - {id: EX-2, rule: SEG003, src: 10.2.0.0/24, dst: 10.1.0.0/24, owner: 情報政策課, justification: 試験, expires: 2030-03-31}
"""
    opened = segverify.loads(text.replace("deny-all: {default: deny, rules: []}",
                                          "deny-all: {default: permit, rules: []}") + register, "new.yaml")
    d = diff(old, opened, today=TODAY)
    assert d.introduced == []
    assert {(c.source_zone, c.destination_zone) for c in d.allowed if c.cross_segment} == {("lg", "inet"), ("inet", "lg")}
    assert d.exit_code() == 0 and d.exit_code(fail_on_new_reachability=True) == 1


def test_whatif_finds_the_planted_backup_link() -> None:
    result = whatif(segverify.load(DATA / "whatif-backup-link.yaml"), k_failures=1, today=TODAY)
    dangerous = {r.scenario.down: sorted({f.rule for f in r.opened}) for r in result.dangerous}
    assert dangerous == {("core-fw",): ["SEG003"], ("fw",): ["SEG003"]}
    path = result.dangerous[0].opened[0].path
    assert path is not None and "bypass" in path.nodes and "fw" not in path.nodes
    assert result.exit_code == 1


def test_whatif_fail_open_and_jobs_agree() -> None:
    topo = segverify.load(DATA / "whatif-backup-link.yaml")
    opened = whatif(topo, fail_open=("fw",), today=TODAY)
    assert [sorted({f.rule for f in r.opened}) for r in opened.results] == [["SEG003"]]
    one = whatif(topo, k_failures=2, today=TODAY)
    two = whatif(topo, k_failures=2, jobs=2, today=TODAY)
    assert [(r.scenario, [f.fingerprint for f in r.opened]) for r in one.results] == \
           [(r.scenario, [f.fingerprint for f in r.opened]) for r in two.results]


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_reference_networks_survive_any_single_failure(path: Path) -> None:
    result = whatif(segverify.load(path), k_failures=1, jobs=2, today=TODAY)
    assert [str(r.scenario) for r in result.dangerous] == []


def broken_reports() -> list[segverify.findings.Report]:  # type: ignore[name-defined]
    return [segverify.verify(segverify.load(p), today=TODAY) for p in BROKEN[:6]] + \
           [segverify.verify(segverify.load(REFERENCE[0]), today=TODAY)]


def test_sarif_validates_against_the_official_schema() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    for report in broken_reports():
        jsonschema.Draft4Validator(schema).validate(json.loads(render_sarif(report)))


def test_sarif_rules_locations_suppressions_and_stable_fingerprints() -> None:
    report = segverify.verify(segverify.load(REFERENCE[0]), today=TODAY)
    log = json.loads(render_sarif(report))
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]][:10] == [f"HYG00{i}" for i in range(1, 9)] + ["SEG001",
                                                                                                   "SEG002"]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert suppressed and all(s["justification"] for r in suppressed for s in r["suppressions"])
    again = json.loads(render_sarif(segverify.verify(segverify.load(REFERENCE[0]), today=TODAY)))
    assert [r["partialFingerprints"] for r in run["results"]] == \
           [r["partialFingerprints"] for r in again["runs"][0]["results"]]
    broken = segverify.verify(segverify.load(BROKEN[0]), today=TODAY)
    result = json.loads(render_sarif(broken))["runs"][0]["results"][0]
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == BROKEN[0].relative_to(ROOT).as_posix() or \
        region["artifactLocation"]["uri"].endswith(BROKEN[0].name)
    assert region["region"]["startLine"] == broken.findings[0].location.line


def test_junit_has_a_case_per_rule_and_zone_pair() -> None:
    topo = segverify.load(DATA / "tiny.yaml")
    report = segverify.verify(topo, today=TODAY)
    root = ET.fromstring(render_junit(report))
    cases = root.findall(".//testcase")
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert ("segverify.SEG003", "lg -> inet") in names and ("segverify.SEG003", "world -> lg") in names
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert failed == {("segverify.SEG003", "lg -> inet"), ("segverify.SEG003", "inet -> lg"),
                      ("segverify.SEG003", "world -> lg"), ("segverify.SEG005", "inet -> world")}
    assert root.get("failures") == "4"


def test_github_annotations() -> None:
    report = segverify.verify(segverify.load(DATA / "tiny.yaml"), today=TODAY)
    lines = render_github(report).splitlines()
    # lg → inet: the permit that opens the boundary; inet → lg passes no ACL: the firewall node forwards it
    [permit] = [line for line in lines if ",line=29,col=13,title=SEG003 " in line]
    assert permit.startswith("::error file=")
    assert "\n" not in permit and "%0AWitness: tcp 10.1.0.10:49152 -> 10.2.0.10:443" in permit
    assert any(",line=17,col=3,title=SEG003 LGWAN ↔ Internet IP path%3A inet → lg::" in line for line in lines)
    assert len([line for line in lines if line.startswith("::error")]) == 4


def test_diff_sees_what_a_change_opens_for_a_pool() -> None:
    """A permit for one DHCP address nobody lists: diff reports it as newly allowed from the pool,
    with a witness sent from that address, and the finding it introduces (issue: every address
    sends)."""
    text = (DATA / "whatif-backup-link.yaml").read_text(encoding="utf-8").replace(
        "links:\n  - {name: pc-core", "pools:\n  dhcp: {lan: office, range: 10.1.0.100-10.1.0.199, kind: terminal}\nlinks:\n  - {name: pc-core"
    ).replace("  - {name: pc-core, endpoints: [pc:eth0, core:eth0]}\n", "").replace(
        "lans:\n", "lans:\n  office: [pc:eth0, core:eth0]\n")
    old = segverify.loads(text, "old.yaml")
    opened = text.replace("deny-all: {default: deny, rules: []}",
                          "deny-all: {default: deny, rules: [{action: permit, src: 10.1.0.150, dst: 10.2.0.10, service: tcp/443}]}")
    d = diff(old, segverify.loads(opened, "new.yaml"), today=TODAY)
    [change] = [c for c in d.allowed if c.cross_segment]
    assert (change.source_zone, change.destination_zone) == ("lg", "inet")
    assert change.witness is not None and str(change.witness.src) == "10.1.0.150"
    assert change.path is not None and change.path.source == "pool:dhcp"
    assert change.headers == ("tcp/443 from 10.1.0.150 to 10.2.0.10",)
    assert {f.rule for f in d.introduced} == {"SEG003"}
    assert all(f.path is not None and f.path.source == "pool:dhcp" for f in d.introduced)
    # The same permit for a listed PC's address opens the flow for that PC, not for the pool.
    listed = diff(old, segverify.loads(opened.replace("src: 10.1.0.150", "src: 10.1.0.10"), "new.yaml"), today=TODAY)
    assert {c.path.source for c in listed.allowed if c.cross_segment and c.path is not None} == {"pc"}

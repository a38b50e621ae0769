"""The import's scope in the report: every vendor line "not verified" (and the count of the
over-approximated ones) is listed by ``check``'s text output and by the HTML report's method and
scope section, in both languages."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from click.testing import CliRunner

import segverify
from segverify.cli import cli
from segverify.importers import NoteKind, load_snapshot
from test_import_ios import R1, R2, line_of, snapshot

# An over-approximated line: a permit with a match the model cannot express (widened).
WIDENED = "access-list 110 permit tcp 10.1.0.0 0.0.255.0 any dscp ef\n"


def _root(tmp_path: Path) -> Path:
    return snapshot(tmp_path, {"r1": R1.replace("access-list 110 deny ip any any\n", WIDENED + "access-list 110 deny ip any any\n"),
                               "r2": R2})


def test_the_loaded_topology_carries_the_scope(tmp_path: Path) -> None:
    root = _root(tmp_path)
    notes = set(load_snapshot(root).notes.items)
    scope = segverify.load(root).import_scope
    assert scope is not None
    not_verified = sorted(n for n in notes if n.kind is NoteKind.NOT_VERIFIED)
    assert [span for span, _, _ in scope.not_verified] == [n.span for n in not_verified]
    assert scope.over_approximated == sum(1 for n in notes if n.kind is NoteKind.OVER_APPROXIMATED) >= 1
    config = R1.replace("access-list 110 deny", WIDENED + "access-list 110 deny")
    lines = {span.line for span, _, _ in scope.not_verified}
    assert {line_of(config, "ip policy route-map"), line_of(config, "frobnicate"),
            line_of(config, "some-unknown-command")} <= lines
    # a topology file has no import, so no import scope
    assert segverify.load(Path(__file__).parents[1] / "topologies" / "alpha.yaml").import_scope is None


def test_check_lists_the_lines_not_verified(tmp_path: Path) -> None:
    root = _root(tmp_path)
    scope = segverify.load(root).import_scope
    assert scope is not None
    for lang, head in (("en", f"scope of the import: {len(scope.not_verified)} line(s) not verified"),
                       ("ja", f"取込みの範囲: 検証対象外 {len(scope.not_verified)} 行")):
        result = CliRunner().invoke(cli, ["check", str(root), "--lang", lang])
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(head))
        over = (f"{scope.over_approximated} over-approximated" if lang == "en"
                else f"過大近似 {scope.over_approximated} 行")
        assert over in lines[start]
        listed = lines[start + 2:start + 2 + len(scope.not_verified)]
        assert [line.split(": ", 1)[0].strip() for line in listed] == [str(s) for s, _, _ in scope.not_verified]
        assert any("| ip policy route-map DIVERT" in line for line in listed)
        assert lines[-1].startswith("NOT COMPLIANT" if lang == "en" else "不適合")  # the verdict stays last


def test_the_html_report_lists_them_in_method_and_scope(tmp_path: Path) -> None:
    root = _root(tmp_path)
    scope = segverify.load(root).import_scope
    assert scope is not None
    for lang, heading in (("en", "Scope of the import"), ("ja", "設定ファイル取込みの範囲")):
        out = tmp_path / f"report-{lang}.html"
        result = CliRunner().invoke(cli, ["report", str(root), "-o", str(out), "--lang", lang])
        assert result.exit_code == 0, result.output
        page = out.read_text()
        method = page[page.index('<section id="s_method">'):]
        method = method[:method.index("</section>")]
        assert f'<h3 id="import_scope">{heading}</h3>' in method
        table = method[method.index('<table id="not_verified">'):]
        assert table.count("<tr>") == len(scope.not_verified) + 1  # the header and one row per line
        for span, message, written in scope.not_verified:
            assert f"<code>{html.escape(str(span))}</code></td><td>{html.escape(message)}</td>" in table
        assert f"{scope.over_approximated} " in method
        assert "<code>some-unknown-command here</code>" in table


def test_a_fully_understood_snapshot_says_so(tmp_path: Path) -> None:
    config = """\
    hostname r9
    interface GigabitEthernet0/0
     ip address 10.1.0.1 255.255.255.0
    interface GigabitEthernet0/1
     ip address 10.2.0.1 255.255.0.0
    """
    root = snapshot(tmp_path, {"r9": config})
    result = CliRunner().invoke(cli, ["check", str(root), "--lang", "en"])
    assert "scope of the import: every line of the snapshot understood" in result.stdout.splitlines()
    out = tmp_path / "r.html"
    assert CliRunner().invoke(cli, ["report", str(root), "-o", str(out), "--lang", "en"]).exit_code == 0
    assert "<p>Every line of the snapshot&#x27;s vendor files was understood.</p>" in out.read_text()


def _check(root: Path, fmt: str) -> str:
    result = CliRunner().invoke(cli, ["check", str(root), "--format", fmt])
    assert result.exit_code == 1, result.output  # R1's findings: the scope rides along with them
    return result.stdout


def test_json_carries_the_scope(tmp_path: Path) -> None:
    root = _root(tmp_path)
    scope = segverify.load(root).import_scope
    assert scope is not None
    data = json.loads(_check(root, "json"))["import_scope"]
    assert data["over_approximated"] == scope.over_approximated
    assert [(e["location"], e["reason"], e["text"]) for e in data["not_verified"]] == \
        [(str(s), reason, text) for s, reason, text in scope.not_verified]
    assert [(e["file"], e["line"], e["column"]) for e in data["not_verified"]] == \
        [(s.file, s.line, s.column) for s, _, _ in scope.not_verified]
    assert any(e["text"] == "ip policy route-map DIVERT" for e in data["not_verified"])
    # a topology file has no import: null, not missing
    alpha = CliRunner().invoke(cli, ["check", str(Path(__file__).parents[1] / "topologies" / "alpha.yaml"),
                                     "--format", "json"])
    assert json.loads(alpha.stdout)["import_scope"] is None


def test_sarif_carries_the_scope_as_tool_execution_notifications(tmp_path: Path) -> None:
    root = _root(tmp_path)
    scope = segverify.load(root).import_scope
    assert scope is not None
    log = json.loads(_check(root, "sarif"))
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    (run,) = log["runs"]
    assert run["properties"]["importScope"] == {"notVerified": len(scope.not_verified),
                                                "overApproximated": scope.over_approximated}
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = invocation["toolExecutionNotifications"]
    assert len(notes) == len(scope.not_verified) > 0
    for note, (span, reason, text) in zip(notes, scope.not_verified):
        assert note["level"] == "warning" and note["descriptor"]["id"] == "segverify/import-not-verified"
        assert note["message"]["text"] == f"not verified: {reason}"
        (where,) = note["locations"]
        assert where["physicalLocation"]["artifactLocation"]["uri"] == Path(span.file).as_posix()
        assert where["physicalLocation"]["region"] == {"startLine": span.line, "startColumn": span.column}
        assert note.get("properties", {}).get("vendorLine", "") == text
    # the findings are still the results
    assert run["results"] and all(r["ruleId"] for r in run["results"])


def test_junit_carries_the_scope_as_properties_and_system_out(tmp_path: Path) -> None:
    root = _root(tmp_path)
    scope = segverify.load(root).import_scope
    assert scope is not None
    suite = ET.fromstring(_check(root, "junit")).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"segverify.import.not_verified": str(len(scope.not_verified)),
                     "segverify.import.over_approximated": str(scope.over_approximated)}
    out = suite.find("system-out")
    assert out is not None and out.text is not None
    listed = [line.strip() for line in out.text.splitlines()[2:]]
    assert [line.split(": ", 1)[0] for line in listed] == [str(s) for s, _, _ in scope.not_verified]
    assert any(line.endswith("| ip policy route-map DIVERT") for line in listed)
    # JUnit readers expect properties first and system-out after the test cases
    children = [child.tag for child in suite]
    assert children[0] == "properties" and children[-1] == "system-out"


def test_outputs_of_a_fully_understood_snapshot_say_so(tmp_path: Path) -> None:
    config = "hostname r9\ninterface GigabitEthernet0/0\n ip address 10.1.0.1 255.255.255.0\n"
    root = snapshot(tmp_path, {"r9": config})
    data = json.loads(CliRunner().invoke(cli, ["check", str(root), "--format", "json"]).stdout)
    assert data["import_scope"] == {"not_verified": [], "over_approximated": 0}
    log = json.loads(CliRunner().invoke(cli, ["check", str(root), "--format", "sarif"]).stdout)
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    suite = ET.fromstring(CliRunner().invoke(cli, ["check", str(root), "--format", "junit"]).stdout).find("testsuite")
    assert suite is not None and suite.findtext("system-out") == "scope of the import: every line of the snapshot understood"

"""The import's scope in the report: every vendor line "not verified" (and the count of the
over-approximated ones) is listed by ``check``'s text output and by the HTML report's method and
scope section, in both languages."""

from __future__ import annotations

import html
from pathlib import Path

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
    assert [loc for loc, _, _ in scope.not_verified] == [str(n.span) for n in not_verified]
    assert scope.over_approximated == sum(1 for n in notes if n.kind is NoteKind.OVER_APPROXIMATED) >= 1
    config = R1.replace("access-list 110 deny", WIDENED + "access-list 110 deny")
    lines = {int(loc.split(":")[-2]) for loc, _, _ in scope.not_verified}
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
        assert [line.split(": ", 1)[0].strip() for line in listed] == [loc for loc, _, _ in scope.not_verified]
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
        for location, message, written in scope.not_verified:
            assert f"<code>{html.escape(location)}</code></td><td>{html.escape(message)}</td>" in table
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

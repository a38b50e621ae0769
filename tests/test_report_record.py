"""The self-inspection record in the report (report --db): the trend as a chart and tables, with
values read back from the chart for a record of three runs in which six findings open and are fixed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_i18n import english_sentences, visible_text
from test_record import ALPHA, BROKEN, renamed, run


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The network of test_record: compliant in January, six findings in the spring, fixed by autumn."""
    where = tmp_path_factory.mktemp("record")
    net, db = where / "net.yaml", str(where / "record.sqlite")
    for source, day in ((ALPHA, "2026-01-10"), (BROKEN, "2026-04-01"), (ALPHA, "2026-10-01")):
        renamed(source, net)
        recorded = run("record", str(net), "--db", db, "--today", day)
        assert recorded.returncode == 0, recorded.stderr
    return net, db


def report(net: Path, db: str | None, lang: str, out: Path) -> str:
    args = ["report", str(net), "-o", str(out), "--today", "2029-02-01", "--lang", lang]
    result = run(*args, *(["--db", db] if db else []))
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def chart_values(page: str, cls: str) -> list[tuple[int, int]]:
    svg = re.search(r'<svg id="trend-chart".*?</svg>', page, re.S)
    assert svg is not None
    return [(int(r), int(v)) for r, v in
            re.findall(rf'<(?:rect|circle) class="{cls}" data-run="(\d+)" data-value="(\d+)"', svg.group(0))]


def rows(page: str, table: str) -> list[list[str]]:
    found = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S)
    assert found is not None, table
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", found.group(1))][1:]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_report_charts_the_record(three_runs: tuple[Path, str], lang: str, tmp_path: Path) -> None:
    net, db = three_runs
    page = report(net, db, lang, tmp_path / "report.html")
    assert chart_values(page, "opened") == [(1, 0), (2, 6), (3, 0)]
    assert chart_values(page, "fixed") == [(1, 0), (2, 0), (3, 6)]
    assert chart_values(page, "open") == [(1, 0), (2, 6), (3, 0)]
    size = re.search(r'<svg id="trend-chart"[^>]* width="(\d+)" height="(\d+)"', page)
    assert size is not None and 200 <= int(size.group(1)) <= 4000 and int(size.group(2)) <= 400
    runs = rows(page, "record-runs")
    verdicts = {"ja": ["適合", "不適合", "適合"], "en": ["COMPLIANT", "NOT COMPLIANT", "COMPLIANT"]}[lang]
    assert [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in runs] == [
        ("1", "2026-01-10", verdicts[0], "0", "0", "0"), ("2", "2026-04-01", verdicts[1], "6", "6", "0"),
        ("3", "2026-10-01", verdicts[2], "0", "0", "6")]
    findings = rows(page, "record-findings")
    assert len(findings) == 6 and {(f[0], f[2], f[3], f[4], f[5]) for f in findings} == {
        (rule, "2026-04-01", "2026-04-01", "2026-10-01", "183") for rule in ("SEG003", "SEG006")}
    # alpha's EX-2025-001 expires 2029-03-31: 58 days after the report's date; EX-2025-002 is later.
    assert re.findall(r'data-exception="([^"]+)" data-days="(\d+)"', page) == [("EX-2025-001", "58")]
    assert [r[0] for r in rows(page, "record-expiring")] == ["EX-2025-001"]
    heading = {"ja": "9. 自己点検の記録", "en": "9. Self-inspection record"}[lang]
    assert f'<section id="s_record"><h2>{heading}</h2>' in page and 'href="#s_record"' in page
    if lang == "ja":
        text = visible_text(page)
        assert [s for s in english_sentences() if s in text] == []
        assert "LGWAN接続系 ↔ インターネット接続系の IP 経路" in text  # the recorded titles, in Japanese


def test_report_without_a_record_has_no_record_section(three_runs: tuple[Path, str], tmp_path: Path) -> None:
    net, _ = three_runs
    page = report(net, None, "ja", tmp_path / "report.html")
    assert 'id="s_record"' not in page and "trend-chart" not in page


def test_report_of_a_network_the_record_does_not_hold(three_runs: tuple[Path, str], tmp_path: Path) -> None:
    _, db = three_runs
    page = report(ALPHA, db, "en", tmp_path / "report.html")
    assert 'id="record-none"' in page and "trend-chart" not in page


def test_report_with_a_missing_or_damaged_record_is_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    missing = run("report", str(ALPHA), "-o", str(out), "--db", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and not out.exists()
    assert not (tmp_path / "none.sqlite").exists()  # reading a record never creates one
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"\x00garbage" * 100)
    result = run("report", str(ALPHA), "-o", str(out), "--db", str(damaged))
    assert result.returncode == 2 and "damaged.sqlite" in result.stderr and not out.exists()
    assert damaged.read_bytes() == b"\x00garbage" * 100

"""Japanese throughout: the two catalogues match, findings render in either language, and no
English sentence of the catalogue appears in a Japanese report."""

from __future__ import annotations

import datetime as _dt
import html
import pickle
import re
import string
from pathlib import Path

import pytest

import segverify
from segverify.i18n import LANGS, Message, catalogue, language_from_environment, localize, m
from segverify.matrix import zone_matrix
from segverify.network import Network
from segverify.policy.catalogue import CATALOGUE
from segverify.policy.check import verify
from segverify.reach import Reachability
from segverify.viz.report import render_report

ROOT = Path(__file__).parent.parent
TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml")) + sorted((ROOT / "topologies" / "broken").glob("*.yaml"))
TODAY = _dt.date(2026, 11, 26)
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogues_have_the_same_messages_and_fields() -> None:
    en, ja = catalogue("en"), catalogue("ja")
    assert set(en) == set(ja)
    for key in en:
        assert ja[key].strip(), key
        assert fields(en[key]) == fields(ja[key]), key
    for rule in CATALOGUE:  # every rule of the catalogue has its summary in both languages
        assert en[f"rule.{rule}.summary"] == CATALOGUE[rule].summary


def test_message_is_its_english_text_and_renders_in_japanese() -> None:
    msg = m("flow.title", what=m("SEG001.title"), src="mn-office", dst="inet-dmz")
    assert msg == "My Number ↔ Internet flow: mn-office → inet-dmz" and isinstance(msg, str)
    assert msg.render("ja") == "マイナンバー利用事務系 ↔ インターネット接続系の通信: mn-office → inet-dmz"
    again = pickle.loads(pickle.dumps(msg))  # findings cross process boundaries (whatif -j)
    assert isinstance(again, Message) and again.render("ja") == msg.render("ja")
    assert localize("lg-pc01", "ja") == "lg-pc01"  # user data is never translated


def test_language_from_environment() -> None:
    assert language_from_environment({"LANG": "ja_JP.UTF-8"}) == "ja"
    assert language_from_environment({"LANG": "C.UTF-8"}) == "en"
    assert language_from_environment({"LC_ALL": "en_US.UTF-8", "LANG": "ja_JP.UTF-8"}) == "en"
    assert language_from_environment({}) == "en"
    assert set(LANGS) == {"en", "ja"}


def english_sentences() -> list[str]:
    """Every fixed run of three or more English words in the English catalogue whose Japanese
    text differs (a run is what lies between the {fields} of a message)."""
    en, ja = catalogue("en"), catalogue("ja")
    runs = set()
    for key, template in en.items():
        if template == ja[key]:
            continue
        for piece in re.split(r"\{[^}]*\}", template):
            piece = piece.strip(" .,;:()")
            if len(WORD.findall(piece)) >= 3:
                runs.add(piece)
    return sorted(runs)


def visible_text(page: str) -> str:
    """What a reader of the report sees: the page without markup, plus the map's data strings."""
    page = re.sub(r'src="data:[^"]*"', "", page)
    data = re.findall(r'<script type="application/json" id="segmap-data">(.*?)</script>', page, re.S)
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    import json

    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for blob in data:
        walk(json.loads(blob))
    return html.unescape(re.sub(r"<[^>]+>", " ", page)) + "\n" + "\n".join(strings)


def test_the_sentence_check_sees_english() -> None:
    """The check itself: an English report is full of the catalogue's sentences."""
    path = ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml"
    topology = segverify.load(path)
    network = Network(topology)
    report = verify(topology, today=TODAY, network=network)
    page = render_report(topology, report, zone_matrix(topology, network, Reachability(network), report),
                         lang="en", network=network)
    seen = [s for s in english_sentences() if s in visible_text(page)]
    assert len(seen) > 20, seen


@pytest.mark.parametrize("path", TOPOLOGIES, ids=lambda p: p.stem)
def test_japanese_report_has_no_english_sentence_of_the_catalogue(path: Path) -> None:
    topology = segverify.load(path)
    network = Network(topology)
    report = verify(topology, today=TODAY, network=network)
    page = render_report(topology, report, zone_matrix(topology, network, Reachability(network), report),
                         lang="ja", network=network)
    text = visible_text(page)
    found = [s for s in english_sentences() if s in text]
    assert found == []
    for f in report.findings:  # every finding is written in Japanese
        assert localize(f.title, "ja") in text and localize(f.message, "ja") in text
        if isinstance(f.title, Message):
            assert f.title.render("ja") != f.title.render("en")


def run_check(*args: str, env: dict[str, str] | None = None) -> str:
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    environment.update(env or {}, PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run([sys.executable, "-m", "segverify", "check", *args, "--today", TODAY.isoformat()],
                            capture_output=True, text=True, env=environment)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


@pytest.mark.parametrize("name", ["seg004-mail-sanitizer-any-port", "exception-subnet-instead-of-host",
                                  "seg008-expired-exception", "shadowed-acl-line", "seg007-mynumber-terminal-usb"])
def test_check_text_in_japanese(name: str) -> None:
    path = str(ROOT / "topologies" / "broken" / f"{name}.yaml")
    ja = run_check(path, "--lang", "ja")
    assert [s for s in english_sentences() if s in ja] == []
    assert ja.splitlines()[-1].startswith(("適合", "不適合"))
    assert run_check(path, env={"LANG": "ja_JP.UTF-8"}) == ja  # the locale selects Japanese too
    en = run_check(path)
    assert en.splitlines()[-1].startswith(("COMPLIANT", "NOT COMPLIANT"))  # English stays the default


def run_command(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, err: bool = False) -> str:
    """stdout (and stderr with ``err``) of ``segverify ARGS`` (exit 0 or 1), the locale cleared unless
    ``env`` sets it."""
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    environment.update(env or {}, PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True,
                            env=environment, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout + (result.stderr if err else "")


def english_in(output: str) -> list[str]:
    return [s for s in english_sentences() if s in output]


GAPS = [  # edits of tests/data/tiny.yaml that leave gaps of every kind HYG002-HYG008 in the model
    ("links:\n  - [fw:eth2, net:eth0]\n", "links:\n  - [far1:eth0, far2:eth0]\n"),
    ("gateway: 10.1.0.1}", "gateway: 10.1.0.99}"),
    ("  world: {segment: external-internet}\n", "  world: {segment: external-internet}\n  spare: {segment: lgwan}\n"),
    ("      eth0: {zone: lg, address: 10.1.0.1/24, acl_in: lg-in}", "      eth0: {zone: lg, address: 10.1.0.1/24}"),
    ("links:\n", "  far1:\n    kind: external\n    represents: [192.0.2.0/24]\n    interfaces:\n"
                 "      eth0: {zone: world, address: 203.0.113.1/30}\n"
                 "  far2:\n    kind: external\n    represents: [192.0.3.0/24]\n    interfaces:\n"
                 "      eth0: {zone: world, address: 203.0.113.2/30}\nlinks:\n"),
]


def gappy(tmp_path: Path) -> Path:
    text = (ROOT / "tests" / "data" / "tiny.yaml").read_text(encoding="utf-8")
    for old, new in GAPS:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "gaps.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_model_gaps_in_japanese(tmp_path: Path) -> None:
    """HYG002-HYG008 findings and the verdict that counts them are written in Japanese."""
    path = gappy(tmp_path)
    report = verify(segverify.load(path), today=TODAY)
    assert {f.rule for f in report.active} >= {"HYG002", "HYG003", "HYG004", "HYG005", "HYG006", "HYG007", "HYG008"}
    ja = run_command("check", str(path), "--lang", "ja", "--today", TODAY.isoformat())
    assert english_in(ja) == []
    for f in report.active:
        assert f"{f.rule} {localize(f.title, 'ja')}" in ja and localize(f.message, "ja") in ja
        assert localize(f.title, "ja") != str(f.title)
    assert ja.splitlines()[-1].endswith("。定義に欠落があり、ほかの経路を見落としているおそれがある: "
                                        "リンクのないインターフェース 1 件、持ち主のない次ホップ 1 件、到達できない次ホップ 1 件、"
                                        "インターフェースのないゾーン 1 件、適用されていない ACL 1 件、孤立した外部ノード 2 件、"
                                        "稼働インターフェースのない機器 1 件")
    assert "基本方針 7" in ja  # the policy clause the completeness of the model rests on
    en = run_command("check", str(path), "--today", TODAY.isoformat())
    assert en.splitlines()[-1].endswith("; the model has gaps that could hide more: 1 interface is on no link, "
                                        "1 next hop is owned by no interface, 1 next hop is unreachable, "
                                        "1 zone has no interface, 1 ACL is bound to nothing, 2 external nodes are cut off, "
                                        "1 node has no interface up")


def test_one_cause_heading_in_japanese() -> None:
    path = str(ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml")
    ja = run_command("check", path, "--lang", "ja", "--today", TODAY.isoformat())
    heading = next(line for line in ja.splitlines() if line.startswith("=="))
    assert heading.startswith("== 一つの原因による指摘: 機器 lg-file (") and heading.endswith(
        "に起因する指摘 6 件 (SEG003 ×5、SEG006)")
    assert "== one cause, node lg-file (" in run_command("check", path, "--today", TODAY.isoformat())


def test_pcap_audit_in_japanese(tmp_path: Path) -> None:
    args = ("pcap-audit", str(ROOT / "docs" / "examples" / "office.yaml"), str(ROOT / "docs" / "examples" / "office.pcap"),
            "--today", TODAY.isoformat(), "--write-violations", str(tmp_path / "v.pcap"))
    ja = run_command(*args, "--lang", "ja")
    assert english_in(ja) == [] and "ポリシー違反:" in ja and "モデル: srv に到達する" in ja
    assert "受信時に拒否 (inet-in の 1 行目により deny (" in ja
    assert run_command(*args, env={"LANG": "ja_JP.UTF-8"}) == ja
    en = run_command(*args)
    assert "policy violations:" in en and "model: delivered to srv" in en  # English stays the default


def test_whatif_in_japanese() -> None:
    args = ("whatif", str(ROOT / "tests" / "data" / "whatif-backup-link.yaml"), "--k-failures", "1")
    ja = run_command(*args, "--lang", "ja")
    assert english_in(ja) == []
    assert "危険  停止 core-fw" in ja and ja.splitlines()[-1] == "想定した障害 7 件 のうち 2 件で禁止された経路が開く"
    en = run_command(*args)
    assert "DANGEROUS  down core-fw" in en and en.splitlines()[-1] == "2 of 7 scenarios open a forbidden path"


def test_record_and_history_in_japanese(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    examples = ROOT / "docs" / "examples"
    first = run_command("record", str(examples / "office.yaml"), "--db", db, "--today", "2026-11-26", "--lang", "ja")
    assert first.startswith(f"{db} に 例示庁舎 の第 1 回の点検を記録した: 不適合、エラー 2 件")
    checked = run_command("check", str(examples / "office-fixed.yaml"), "--record", "--db", db, "--today", "2026-11-27",
                          "--lang", "ja", err=True)
    assert "例示庁舎 の第 2 回の点検を記録した: 不適合" in checked and english_in(checked) == []
    ja = run_command("history", "--db", db, "--today", "2026-11-27", "--lang", "ja")
    assert english_in(ja) == [] and "COMPLIANT" not in ja
    assert "指摘事項: 検出 2 件、解決 1 件、未解決 1 件" in ja
    assert "LGWAN接続系 ↔ インターネット接続系の IP 経路: lg → inet" in ja  # titles kept as messages, in Japanese
    en = run_command("history", "--db", db, "--today", "2026-11-27")
    assert "findings: 2 seen, 1 fixed, 1 still open" in en and "LGWAN ↔ Internet IP path: lg → inet" in en


def picture_texts(fig: object) -> str:
    """Every text of a picture: matplotlib's own texts, and the labels drawn from the glyph cache."""
    from matplotlib.text import Text

    from segverify.viz.labels import Labels

    texts = [t.get_text() for t in fig.findobj(Text)]  # type: ignore[attr-defined]
    texts += [label for artist in fig.findobj(Labels) for label in artist.texts]  # type: ignore[attr-defined]
    return "\n".join(texts)


@pytest.mark.parametrize("name", ["dual-homed-server-lgwan-internet", "seg008-expired-exception"])
def test_static_pictures_in_japanese(name: str) -> None:
    """The printed map and heatmap under lang ja: titles, verdict, legend and segment columns."""
    from segverify.viz.heatmap import matrix_figure
    from segverify.viz.map import BAND_TITLES, map_figure

    topology = segverify.load(ROOT / "topologies" / "broken" / f"{name}.yaml")
    network = Network(topology)
    report = verify(topology, today=TODAY, network=network)
    matrix = zone_matrix(topology, network, Reachability(network), report)
    for lang in ("ja", "en"):
        shown = picture_texts(map_figure(topology, network, report, lang=lang)) + "\n" + picture_texts(
            matrix_figure(matrix, lang=lang))
        english = english_in(shown) + [w for w in ("COMPLIANT", "profile ", "link / LAN", "Zone × zone", "from (")
                                       if w in shown] + [en for en, _ in BAND_TITLES.values() if en in shown.split("\n")]
        if lang == "ja":
            assert english == [], english
            assert ("不適合" if not report.compliant else "適合") in shown and "リンク・LAN" in shown
            assert "ゾーン間通信マトリクス" in shown and "判定日" in shown
        else:
            assert english, shown  # the check sees the English of the default pictures

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

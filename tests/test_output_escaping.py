"""Every free-text field of every output format is escaped for that format.

A hostile topology (control characters, ANSI escapes and GitHub workflow commands in its name, its
file name and its descriptions; markup, '%', quotes and shell syntax in zone and node names) goes
through every command and format; each output is checked with that format's own rules. The HTML
report has its own test (tests/test_viz.py::test_report_escapes_every_user_string)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from segverify.cli import main
from segverify.outputs.diff import DIFF_RENDERERS
from segverify.outputs import RENDERERS

ROOT = Path(__file__).parent.parent
BASE = ROOT / "topologies" / "broken" / "seg001-mynumber-to-internet-proxy.yaml"

ZONE = "mn-office<b>&%\"'`$(id)"
NODE = "inet-proxy<i>&amp;%0A;"
NAME = "evil\x1b[8m\n::error file=x.yaml::pwned\r%0A\x07\x00\x9b2J\u202e"
FILE_NAME = "evil\x1b[8m\n::warning::%0A,x:y.yaml"
HIDDEN = ("\x1b", "\r", "\x07", "\x00", "\x9b", "\u202e")


def _yaml_quoted(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = BASE.read_text(encoding="utf-8")
    text = re.sub(r"(?<![\w-])mn-office(?![\w-])", lambda _m: ZONE, text)
    text = re.sub(r"(?<![\w-])inet-proxy(?![\w-])", lambda _m: NODE, text)
    text = re.sub(r"^name: .*$", lambda _m: "name: " + _yaml_quoted(NAME), text, count=1, flags=re.M)
    text = re.sub(r"^description: >-\n(  .*\n)+", lambda _m: "description: " + _yaml_quoted(NAME) + "\n", text,
                  count=1, flags=re.M)
    path = tmp_path_factory.mktemp("hostile") / FILE_NAME
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def assert_terminal_safe(text: str) -> None:
    """Nothing that moves the cursor, hides text or reorders it; no line forged by a newline."""
    for ch in HIDDEN:
        assert ch not in text, repr(ch)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    for line in text.splitlines():
        assert not line.startswith("::"), line  # not a workflow command either


def assert_github_safe(text: str) -> None:
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    lines = text.splitlines()
    assert lines[-1].startswith("segverify: ")
    for line in lines[:-1]:
        m = re.fullmatch(r"::(error|warning|notice) ([^:]*)::(.*)", line)
        assert m, line
        for prop in m.group(2).split(","):
            key, _, value = prop.partition("=")
            assert key in ("file", "line", "col", "title") and value, prop
    assert "::pwned" not in text.replace("%0A", "\n").split("\n")[0]
    assert not any(line.startswith(("::stop-commands", "::error file=x.yaml")) for line in lines)


def assert_xml_safe(text: str) -> None:
    root = ET.fromstring(text.encode("utf-8"))  # expat refuses what XML 1.0 forbids
    assert root.tag == "testsuites"
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", text)


def assert_json_keeps_everything(text: str) -> None:
    data = json.loads(text)
    flat = json.dumps(data, ensure_ascii=False)
    assert ZONE in flat or NODE in flat or NAME in flat  # escaped by JSON, nothing lost


CHECKS = {"text": assert_terminal_safe, "github": assert_github_safe, "junit": assert_xml_safe,
          "json": assert_json_keeps_everything, "sarif": assert_json_keeps_everything}


def test_every_check_format_is_covered() -> None:
    assert set(CHECKS) == set(RENDERERS) and set(DIFF_RENDERERS) <= set(CHECKS)


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_check(capsys: pytest.CaptureFixture[str], hostile: Path, fmt: str) -> None:
    code, out, _err = run(capsys, "check", str(hostile), "--format", fmt, "--today", "2026-11-26")
    assert code == 1
    CHECKS[fmt](out)


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_diff(capsys: pytest.CaptureFixture[str], hostile: Path, fmt: str) -> None:
    code, out, _err = run(capsys, "diff", str(BASE), str(hostile), "--format", fmt, "--today", "2026-11-26")
    assert code in (0, 1)
    if fmt in ("json", "sarif"):
        json.loads(out)
    else:
        CHECKS[fmt](out)


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_whatif(capsys: pytest.CaptureFixture[str], hostile: Path, fmt: str) -> None:
    code, out, _err = run(capsys, "whatif", str(hostile), "--fail", NODE, "--format", fmt, "--today", "2026-11-26")
    assert code in (0, 1)
    if fmt in ("json", "sarif"):
        json.loads(out)
    else:
        CHECKS[fmt](out)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_matrix_query_trace(capsys: pytest.CaptureFixture[str], hostile: Path, fmt: str) -> None:
    check = CHECKS[fmt]
    for args in (["matrix", str(hostile)],
                 ["query", str(hostile), "--from", ZONE, "--to", "inet-dmz"],
                 ["trace", str(hostile), "--src", "mn-pc01", "--dst", NODE]):
        _code, out, _err = run(capsys, *args, "--format", fmt)
        if fmt == "json":
            json.loads(out)
        else:
            check(out)


def test_error_messages_are_terminal_safe(capsys: pytest.CaptureFixture[str], hostile: Path, tmp_path: Path) -> None:
    broken = tmp_path / FILE_NAME
    broken.write_text(hostile.read_text(encoding="utf-8") + "\nnodes: {}\n", encoding="utf-8")
    code, out, err = run(capsys, "check", str(broken))
    assert code == 2 and out == ""
    assert_terminal_safe(err)
    assert "\\x1b[8m\\x0a::warning::%0A,x:y.yaml" in err  # the name is shown, made visible


def test_pcap_audit_text(capsys: pytest.CaptureFixture[str], hostile: Path, tmp_path: Path) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.utils import wrpcap

    capture = tmp_path / "c\x1b[2J.pcap"
    wrpcap(str(capture), [IP(src="10.10.1.11", dst="10.30.1.10") / TCP(dport=8080, flags="S")])
    _code, out, err = run(capsys, "pcap-audit", str(hostile), str(capture), "--today", "2026-11-26")
    assert_terminal_safe(out)
    assert_terminal_safe(err)

"""The loader: every malformed input gets one clear message naming file:line, exit code 2, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import segverify
from segverify.errors import InputError

DATA = Path(__file__).parent / "data"
BAD = sorted((DATA / "bad").glob("*.yaml"))


def expectation(path: Path) -> tuple[int, str]:
    match = re.match(r"# expect-error: (\d+): (.*)", path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name} lacks its '# expect-error: LINE: message' header"
    return int(match[1]), match[2]


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_input_names_file_and_line(path: Path) -> None:
    line, message = expectation(path)
    with pytest.raises(InputError) as info:
        segverify.load(path)
    error = info.value
    assert message in error.message
    assert error.span is not None and error.span.file == str(path) and error.span.line == line, str(error)


@pytest.mark.parametrize("path", BAD[:4], ids=lambda p: p.stem)
def test_cli_bad_input_exit_2_without_traceback(path: Path) -> None:
    line, message = expectation(path)
    run = subprocess.run([sys.executable, "-m", "segverify", "check", str(path)], capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert f"{path}:{line}:" in run.stderr and message in run.stderr
    assert run.stderr.count("\n") <= 2


def test_files_are_not_modified(tmp_path: Path) -> None:
    target = tmp_path / "t.yaml"
    source = (DATA / "tiny.yaml").read_bytes()
    target.write_bytes(source)
    segverify.load(target)
    assert target.read_bytes() == source


def test_alias_bomb_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("segverify.reader.MAX_VALUES", 10_000)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="values after alias expansion"):
        segverify.load(bomb)


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("segverify.reader.MAX_FILE_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 200 + "\n")
    with pytest.raises(InputError, match="the limit is 100"):
        segverify.load(big)


def test_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "latin.yaml"
    f.write_bytes(b"name: ok\nzones: \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8") as info:
        segverify.load(f)
    assert info.value.span is not None and info.value.span.line == 2


def test_missing_path() -> None:
    with pytest.raises(InputError, match="no such file"):
        segverify.load("does/not/exist.yaml")


def test_directory_and_includes_merge(tmp_path: Path) -> None:
    text = (DATA / "tiny.yaml").read_text(encoding="utf-8")
    head, _, rest = text.partition("nodes:")
    (tmp_path / "a-main.yaml").write_text(head + "include: [parts/]\n", encoding="utf-8")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "nodes.yaml").write_text("nodes:" + rest, encoding="utf-8")
    topo = segverify.load(tmp_path / "a-main.yaml")
    assert {n for n, node in topo.nodes.items() if node.pool is None} == {"pc1", "fw", "srv", "net"}
    assert [f.path for f in topo.files] == [str(tmp_path / "a-main.yaml"), str(tmp_path / "parts" / "nodes.yaml")]
    node_span = topo.nodes["srv"].span
    assert node_span.file.endswith("nodes.yaml") and node_span.line > 1


def test_name_defined_in_two_files_shows_both(tmp_path: Path) -> None:
    text = (DATA / "tiny.yaml").read_text(encoding="utf-8")
    (tmp_path / "main.yaml").write_text(text + "include: [more.yaml]\n", encoding="utf-8")
    (tmp_path / "more.yaml").write_text("nodes:\n  srv: {kind: host, interfaces: {}}\n", encoding="utf-8")
    with pytest.raises(InputError, match="node 'srv' is defined twice") as info:
        segverify.load(tmp_path / "main.yaml")
    assert info.value.related is not None and info.value.related.file.endswith("main.yaml")


def test_include_cycle(tmp_path: Path) -> None:
    text = (DATA / "tiny.yaml").read_text(encoding="utf-8")
    (tmp_path / "main.yaml").write_text(text + "include: [a.yaml]\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("include: [b.yaml]\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("include: [a.yaml]\n", encoding="utf-8")
    with pytest.raises(InputError, match="include cycle"):
        segverify.load(tmp_path / "main.yaml")


def test_spans_point_at_rules() -> None:
    topo = segverify.load(DATA / "tiny.yaml")
    rule = topo.nodes["fw"].acls["lg-in"].rules[0]
    lines = (DATA / "tiny.yaml").read_text(encoding="utf-8").splitlines()
    assert "action: permit" in lines[rule.span.line - 1]


def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path) -> None:
    # Composing a node tree recurses once per level in C: this used to kill the interpreter.
    deep = tmp_path / "deep.yaml"
    deep.write_text("zones: " + "[" * 200_000 + "]" * 200_000 + "\n")
    run = subprocess.run([sys.executable, "-m", "segverify", "check", str(deep)], capture_output=True, text=True)
    # Our composer stops at 64 levels; a newer libyaml may refuse first with its own depth limit.
    assert run.returncode == 2 and "Traceback" not in run.stderr and f"{deep}:1:" in run.stderr
    assert "nesting deeper than 64 levels" in run.stderr or "maximum nesting depth" in run.stderr


def test_aliases_share_and_count(tmp_path: Path) -> None:
    text = (DATA / "tiny.yaml").read_text(encoding="utf-8").replace(
        "services:\n  web: [tcp/80, tcp/443]", "services:\n  web: &web [tcp/80, tcp/443]\n  www: *web")
    topo = segverify.loads(text, "aliases.yaml")
    assert topo.nodes["fw"].acls["lg-in"].rules[0].match.services is not None
    with pytest.raises(InputError, match="unknown alias"):
        segverify.loads(text.replace("www: *web", "www: *nope"), "aliases.yaml")

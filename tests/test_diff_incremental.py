"""diff reuses what the two versions share, and answers exactly as if it had not.

Files with the same bytes are parsed once (each version's spans still name its own files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import segverify
from segverify.changes import diff
from segverify.errors import InputError
from segverify.generate import generate
from segverify.reader import ParsedFiles, load_document
from test_cases import TODAY

CHANGED_LINE = "dst: any, service: [web, smtp, dns, ntp, ping]"


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated network in several files and a copy with one ACL line changed in one of them."""
    root = tmp_path_factory.mktemp("versions")
    old = generate(2, 40, 20, "alpha", seed=3, inject=0, out=root / "old").directory
    new = root / "new"
    shutil.copytree(old, new)
    target = new / "municipalities" / "m01.yaml"
    text = target.read_text(encoding="utf-8")
    assert CHANGED_LINE in text
    target.write_text(text.replace(CHANGED_LINE, "dst: any, service: [web, smtp, dns, ntp]", 1), encoding="utf-8")
    return old / "network.yaml", new / "network.yaml"


def test_identical_files_are_taken_over_with_their_own_paths(versions: tuple[Path, Path]) -> None:
    old, new = versions
    parsed = ParsedFiles()
    load_document(old, parsed)
    shared = load_document(new, parsed)
    assert parsed.reused == 2  # network.yaml and m02.yaml; m01.yaml differs
    alone = load_document(new)
    assert shared.data == alone.data
    assert shared.spans == alone.spans and shared.key_spans == alone.key_spans
    assert shared.files == alone.files and shared.texts == alone.texts
    assert all(where[0].startswith(str(new.parent)) for where in shared.spans.values())
    # A span the fast read leaves out is found again in the new version's file.
    deep = [p for p in alone.spans if len(p) > 6] or [("nodes",)]
    for path in deep[:50] + [("nodes", name, "acls") for name in list(alone.data["nodes"])[:5]]:
        assert shared.span(path) == alone.span(path)


def test_an_error_in_the_new_version_names_the_new_files(versions: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = versions
    broken = tmp_path / "broken"
    shutil.copytree(new.parent, broken)
    # m01 now defines a zone that m02 (a file taken over unchanged, merged after m01) defines too:
    # the message cites m02's line from the document taken over.
    m01 = broken / "municipalities" / "m01.yaml"
    text = m01.read_text(encoding="utf-8")
    m01.write_text(text.replace("zones:\n", "zones:\n  m02-mn-office: {segment: lgwan}\n", 1), encoding="utf-8")
    messages = []
    for parsed in (None, ParsedFiles()):
        if parsed is not None:
            load_document(old, parsed)
        with pytest.raises(InputError) as caught:
            load_document(broken / "network.yaml", parsed)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "defined twice" in messages[0] and str(old.parent) not in messages[0]
    assert str(broken / "municipalities" / "m02.yaml") in messages[0]


def test_the_diff_is_the_same_with_files_taken_over(versions: tuple[Path, Path]) -> None:
    old, new = versions
    alone = diff(segverify.load(old), segverify.load(new), today=TODAY)
    parsed = ParsedFiles()
    shared = diff(segverify.load(old, parsed=parsed), segverify.load(new, parsed=parsed), today=TODAY)
    assert parsed.reused == 2
    assert json.dumps(shared.to_dict(), sort_keys=True) == json.dumps(alone.to_dict(), sort_keys=True)
    assert alone.blocked  # the change is seen

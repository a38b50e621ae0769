"""Every console block of the docs is a test: its commands run, and they print what the docs show.

A console block is a fenced ```console block whose commands start with ``$ segverify``; the lines
after a command, up to the next ``$``, are what it prints (stdout, then stderr). ``$ echo $?`` shows
the previous command's exit code. Commands run in a scratch directory that sees the repository's
``docs/``, ``topologies/`` and ``tests/``, so files they write stay out of the work tree.

Outputs change on purpose: ``SEGVERIFY_REGEN_DOCS=1`` rewrites the blocks from what the commands
print now (review the diff before committing).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "docs" / "commands.md"]  # the command reference: every block runs
REGEN = os.environ.get("SEGVERIFY_REGEN_DOCS") == "1"
FENCE = re.compile(r"^```console\n(.*?)^```\n", re.S | re.M)
# What must vary between runs (nothing else is normalised: documented outputs are deterministic).
VARYING = [(re.compile(r"\b\d+(\.\d+)? ?(ms|s)\b"), "<time>")]


@dataclass
class Block:
    doc: Path
    start: int  # offset of the block's body in the file
    end: int
    body: str

    @property
    def name(self) -> str:
        line = self.doc.read_text(encoding="utf-8")[: self.start].count("\n") + 1
        return f"{self.doc.name}:{line}"


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if re.search(r"^\$ segverify ", m[1], re.M):
                found.append(Block(doc, m.start(1), m.end(1), m[1]))
    return found


def _steps(body: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise AssertionError(f"output before any command: {line!r}")
    return steps


def _normalise(text: str) -> str:
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def _scratch(tmp: Path) -> Path:
    """docs/ is copied (outside any git work tree, so the self-inspection record has no revision to
    vary); the networks are linked."""
    shutil.copytree(ROOT / "docs", tmp / "docs")
    for name in ("topologies", "tests"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def _run(command: str, cwd: Path) -> tuple[str, int]:
    argv = shlex.split(command)
    assert argv[0] == "segverify", f"documented commands run segverify, not {argv[0]!r}"
    env = dict(os.environ, COLUMNS="100")
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-m", "segverify", *argv[1:]], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    return result.stdout + result.stderr, result.returncode


def _play(block: Block, cwd: Path) -> str:
    """The block as the commands print it now."""
    out: list[str] = []
    code = 0
    for command, _shown in _steps(block.body):
        out.append(f"$ {command}")
        if command == "echo $?":
            out.append(str(code))
            continue
        printed, code = _run(command, cwd)
        out.extend(printed.rstrip("\n").splitlines())
    return "\n".join(out) + "\n"


def _needs_root(block: Block) -> bool:
    return "$ segverify emulate" in block.body


ALL = blocks()


def test_every_command_is_documented_with_output() -> None:
    from segverify.cli import cli

    documented = {m[1] for b in ALL for m in re.finditer(r"^\$ segverify ([a-z-]+)", b.body, re.M)}
    assert sorted(set(cli.commands) - documented) == []


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.name)
def test_documented_console_block(block: Block, tmp_path: Path) -> None:
    if _needs_root(block):
        from conftest import require_environment

        require_environment("root with ip and nft", os.geteuid() == 0, "run as root to emulate in namespaces")
    actual = _play(block, _scratch(tmp_path))
    if REGEN:
        text = block.doc.read_text(encoding="utf-8")
        start = text.index(block.body)
        block.doc.write_text(text[:start] + actual + text[start + len(block.body):], encoding="utf-8")
        return
    assert _normalise(actual) == _normalise(block.body), \
        f"{block.name}: the documented output differs; SEGVERIFY_REGEN_DOCS=1 rewrites it (review the diff)"

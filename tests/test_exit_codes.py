"""Exit codes a CI can trust: a missing output directory is bad usage (2, one line), warnings pass by default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
ALPHA = str(ROOT / "topologies" / "alpha.yaml")
WARNINGS_ONLY = str(ROOT / "topologies" / "broken" / "shadowed-acl-line.yaml")
TODAY = ["--today", "2026-11-26"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True)


WRITERS = {
    "check": lambda out: ["check", ALPHA, "-o", out],
    "check-sarif": lambda out: ["check", ALPHA, "--format", "sarif", "-o", out],
    "draw": lambda out: ["draw", ALPHA, "-o", out + ".png"],
    "report": lambda out: ["report", ALPHA, "-o", out + ".html"],
    "matrix-plot": lambda out: ["matrix", ALPHA, "--plot", out + ".png"],
    "pcap-audit": lambda out: ["pcap-audit", ALPHA, "no-such-capture.pcap", "--write-violations", out + ".pcap"],
    "diff": lambda out: ["diff", ALPHA, ALPHA, "-o", out],
    "whatif": lambda out: ["whatif", ALPHA, "--fail", "fw-mn", "-o", out],
}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_missing_output_directory_is_one_message_exit_2(command: str, tmp_path: Path) -> None:
    out = str(tmp_path / "missing" / "dir" / "x")
    result = run(*WRITERS[command](out))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "does not exist" in result.stderr and str(tmp_path / "missing" / "dir") in result.stderr


def test_output_that_is_a_directory_exits_2(tmp_path: Path) -> None:
    result = run("diff", ALPHA, ALPHA, "-o", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_warnings_alone_exit_0_by_default() -> None:
    result = run("check", WARNINGS_ONLY, *TODAY)
    assert "COMPLIANT with 1 warning" in result.stdout
    assert result.returncode == 0, result.stdout


def test_fail_on_warning_makes_warnings_fail() -> None:
    assert run("check", WARNINGS_ONLY, *TODAY, "--fail-on", "warning").returncode == 1
    assert run("check", ALPHA, *TODAY, "--fail-on", "warning").returncode == 0

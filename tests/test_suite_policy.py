"""The suite's own rules: skips are decided in conftest.py only, and nothing is imported "or skipped"."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent
# Spelled in pieces so that this file does not match itself.
FORBIDDEN = re.compile(r"pytest\.(?:" + "|".join(["import" + "orskip", "skip" + r"\(", r"mark\.skip" + r"(?:if)?\b",
                                                  r"mark\.xfail"]) + ")")


def test_only_conftest_decides_skips() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "conftest.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert not offenders, "skip through conftest.require_environment instead:\n" + "\n".join(offenders)

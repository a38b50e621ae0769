"""Where the external corpora are (see the corpora README): $SEGVERIFY_CORPORA, else ../shared/corpora
from the repository root. Absent outside CI: the test skips with the reason; absent under CI=true: fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def corpus(name: str) -> Path:
    root = Path(os.environ.get("SEGVERIFY_CORPORA") or REPO.parent / "shared" / "corpora")
    path = root / name
    if not path.is_dir():
        message = f"corpus {name} not found under {root} (set SEGVERIFY_CORPORA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def snapshot_of(tmp: Path, parts: dict[str, Path]) -> Path:
    """A snapshot directory made of symbolic links to corpus files (nothing is copied)."""
    for rel, target in parts.items():
        link = tmp / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    return tmp

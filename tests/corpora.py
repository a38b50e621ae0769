"""Where the external corpora are (see the corpora README): $SEGVERIFY_CORPORA, else ../shared/corpora
from the repository root. Absent outside CI the test skips with the reason; under CI=true it fails
(conftest.require_environment decides)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import require_environment

REPO = Path(__file__).resolve().parents[1]


def corpus(name: str) -> Path:
    root = Path(os.environ.get("SEGVERIFY_CORPORA") or REPO.parent / "shared" / "corpora")
    path = root / name
    require_environment(f"corpus {name}", path.is_dir(), f"not found under {root} (set SEGVERIFY_CORPORA)")
    return path


def snapshot_of(tmp: Path, parts: dict[str, Path]) -> Path:
    """A snapshot directory made of symbolic links to corpus files (nothing is copied)."""
    for rel, target in parts.items():
        link = tmp / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    return tmp

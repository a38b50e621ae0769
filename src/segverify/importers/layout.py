"""What makes a directory a snapshot of device configurations (rather than a topology directory)."""

from __future__ import annotations

from pathlib import Path


def is_snapshot(path: Path) -> bool:
    return path.is_dir() and any((path / d).is_dir() for d in ("configs", "hosts"))

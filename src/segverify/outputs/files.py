"""Writing the files a command produces: the one place that checks an output path before work starts.

A missing directory or an unwritable file is the user's mistake, reported as one message (exit 2), not
a traceback after minutes of verification.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import OutputError


def check_output(path: str | os.PathLike[str]) -> None:
    """Raise :class:`OutputError` unless ``path`` can be written: its directory exists, it is no directory."""
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise OutputError(f"{os.fspath(path)}: is a directory; name a file to write")
    if not parent.exists():
        raise OutputError(f"{os.fspath(path)}: directory {os.fspath(parent)} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{os.fspath(path)}: {os.fspath(parent)} is not a directory")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    check_output(path)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise OutputError(f"{os.fspath(path)}: cannot write: {exc.strerror or exc}") from None


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_bytes(path, text.encode("utf-8"))

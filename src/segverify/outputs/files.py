"""Writing the files a command produces: the one place that checks an output path before work starts.

A missing directory or an unwritable file is the user's mistake, reported as one message (exit 2), not
a traceback after minutes of verification.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

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


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwrite(output: str | os.PathLike[str] | None, inputs: Iterable[str | os.PathLike[str]],
                     option: str = "--output") -> None:
    """Stop before writing ``output`` if it is one of the files the command read (or a hard or
    symbolic link to one). Every command that writes a file calls this first."""
    if output is None:
        return
    target = Path(output)
    for given in inputs:
        if _same_file(target, Path(given)):
            raise OutputError(f"{option} {output} would overwrite the input {given}; "
                              f"write the output somewhere else")


def inputs_of(*topologies: object, also: Iterable[str | os.PathLike[str] | None] = ()) -> list[str]:
    """Every file a command read: each topology's files (includes too) and the paths it was given."""
    paths = [f.path for t in topologies for f in getattr(t, "files", ())]
    return paths + [str(p) for p in also if p is not None]

"""Opening the files the user names as input: only regular files, read under a byte limit.

A FIFO blocks ``open`` forever, ``/dev/zero`` has size 0 and never ends, and a file can grow while
it is read; so the file is opened without blocking, checked with ``fstat`` on the open descriptor
(not on the name, which could be swapped in between), and the limit is counted while reading.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from .errors import InputError, Span

CHUNK = 1 << 20


def open_regular(path: str | os.PathLike[str], display: str, what: str = "file",
                 where: Span | None = None) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file; otherwise an :class:`InputError`.

    ``where`` is the place to report (an include line, or line 1 of a topology file)."""
    span = where
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"cannot read {what} {display}: {exc.strerror or exc}", span) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise InputError(f"{what} {display} is {kind}; only regular files are read", span)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], display: str, limit: int, *, what: str = "file",
                 where: Span | None = None, limit_hint: str = "") -> bytes:
    """All bytes of a regular file, refusing it as soon as more than ``limit`` bytes have come."""
    with open_regular(path, display, what, where) as f:
        parts: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = f.read(min(CHUNK, limit + 1 - total))
            except OSError as exc:
                raise InputError(f"cannot read {what} {display}: {exc.strerror or exc}", where) from None
            if not chunk:
                return b"".join(parts)
            total += len(chunk)
            if total > limit:
                hint = f" ({limit_hint})" if limit_hint else ""
                raise InputError(f"{what} {display} is too large: the limit is {limit:,} bytes{hint}", where)
            parts.append(chunk)

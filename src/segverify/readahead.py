"""The later files of a directory parsed by a forked worker while this process reads the first ones.

A large network is a directory of files (one per municipality, say), and turning YAML text into
data and spans is most of reading it. Unpickling a parsed file is about twenty times faster than
parsing it, so a worker (:class:`segverify.forked.Forked`) parses the second half of the files,
by size, while this process parses and merges the first half; this process then merges the
worker's files in their place. Merging, validation and every check on the way (includes that
leave the tree, files read twice) stay here, in the same order: a file the worker could not read or
parse is simply read again here, at its turn, so the error and its file:line are the serial ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from .errors import InputError
from .forked import Forked, wanted
from .reader import Document, _display_name, _inside, read_yaml

# Below this many bytes for the worker, its fork and the pickling cost more than half a parse saves
# (measured: bench/results.md, "Check on two cores").
READ_AHEAD_FROM_BYTES = 1 << 20

Parsed = dict[Path, tuple[Document | None, str]]  # a file's document (None: empty) and its SHA-256


class ReadAhead:
    """The files of one directory, the later ones (about half of the bytes) parsed by a worker."""

    def __init__(self, members: Sequence[Path], confine: Path) -> None:
        sizes = [_size(p) for p in members]
        total = sum(sizes)
        # The first file after which the two parts are closest in size (none for a single file).
        start = min(range(1, len(members)), key=lambda k: abs(total - 2 * sum(sizes[:k])), default=len(members))
        tail = sum(sizes[start:])
        later = list(members[start:]) if wanted(tail >= READ_AHEAD_FROM_BYTES) else []
        self._later = frozenset(later)
        self._worker = Forked(lambda: _parse(later, confine), fork=bool(later))
        self._parsed: Parsed | None = None

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._worker.close()

    def take(self, path: Path) -> tuple[Document | None, str] | None:
        """The worker's parse of ``path`` with its SHA-256; None: read it here."""
        if path not in self._later:
            return None
        if self._parsed is None:
            self._parsed = self._worker.result()
        return self._parsed.pop(path, None)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _parse(paths: Sequence[Path], confine: Path) -> Parsed:
    """What :func:`segverify.reader.read_yaml` gives for each file that reads without an error."""
    parsed: Parsed = {}
    for path in paths:
        try:
            if not _inside(path.resolve(), confine):
                continue  # refused at its turn, with the include that names it
            part, _text, raw = read_yaml(path, _display_name(path), eager=False)
        except (InputError, OSError, RuntimeError):
            continue  # read again at its turn, which says what is wrong and where
        parsed[path] = (part, hashlib.sha256(raw).hexdigest())
    return parsed

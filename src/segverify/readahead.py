"""The later files of a directory parsed by a forked worker while this process reads the first ones.

A large network is a directory of files (one per municipality, say), and turning YAML text into
data and spans is most of reading it. Unpickling a parsed file is about ten times faster than
parsing it, so a worker (:class:`segverify.forked.ForkedItems`) parses the later files, a little
more than half of the bytes, while this process parses and merges the first ones; this process then
merges the worker's files in their place, each as soon as the worker has sent it. Merging, validation and every check on the way (includes that
leave the tree, files read twice) stay here, in the same order: a file the worker could not read or
parse is simply read again here, at its turn, so the error and its file:line are the serial ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator, Sequence

from .errors import InputError
from .forked import ForkedItems, wanted
from .reader import Document, _display_name, _inside, read_yaml

# Below this many bytes for the worker, its fork and the pickling cost more than half a parse saves
# (measured: bench/results.md, "Check on two cores").
READ_AHEAD_FROM_BYTES = 1 << 20
# The worker's share of the bytes. This process parses the rest, then unpickles and merges every
# file; the worker only parses and pickles (measured at 10k devices per file: parse 0.125 s,
# pickle 0.025 s, unpickle 0.01 s, merge 0.025 s), so it takes the larger part.
WORKER_SHARE = 0.57

Parsed = tuple[Document | None, str]  # a file's document (None: empty) and its SHA-256


class ReadAhead:
    """The files of one directory, the later ones (:data:`WORKER_SHARE` of the bytes) parsed by a
    worker, which sends each file as soon as it is parsed."""

    def __init__(self, members: Sequence[Path], confine: Path) -> None:
        sizes = [_size(p) for p in members]
        total = sum(sizes)
        # The first file after which the later ones come closest to the worker's share (none for one file).
        start = min(range(1, len(members)), key=lambda k: abs(sum(sizes[k:]) - WORKER_SHARE * total),
                    default=len(members))
        later = list(members[start:]) if wanted(sum(sizes[start:]) >= READ_AHEAD_FROM_BYTES) else []
        self._later = frozenset(later)
        self._worker = ForkedItems(lambda: _parse(later, confine), fork=bool(later))
        self._taken: dict[Path, Parsed | None] = {}

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._worker.close()

    def take(self, path: Path) -> Parsed | None:
        """The worker's parse of ``path`` with its SHA-256; None: read it here."""
        if path not in self._later:
            return None
        while path not in self._taken:
            item = self._worker.next()
            if item is None:  # the worker stopped short: the rest is read here
                return None
            self._taken[item[0]] = item[1]
        return self._taken.pop(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _parse(paths: Sequence[Path], confine: Path) -> Iterator[tuple[Path, Parsed | None]]:
    """What :func:`segverify.reader.read_yaml` gives for each file, in order; None for a file that
    does not read without an error."""
    for path in paths:
        try:
            if not _inside(path.resolve(), confine):
                yield path, None  # refused at its turn, with the include that names it
                continue
            part, _text, raw = read_yaml(path, _display_name(path), eager=False)
        except (InputError, OSError, RuntimeError):
            yield path, None  # read again at its turn, which says what is wrong and where
            continue
        yield path, (part, hashlib.sha256(raw).hexdigest())

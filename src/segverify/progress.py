"""Progress on long runs: one status line on a terminal's stderr, nothing otherwise.

Library code reports through :func:`current`; it is silent unless the command line turned it on
(stderr is a terminal and ``--quiet`` was not given), so the API and CI logs stay clean.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator, TextIO


class Progress:
    def __init__(self, enabled: bool = False, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._width = 0
        self._started: dict[str, float] = {}  # when each counter's first tick came, for its ETA

    def _write(self, text: str, final: bool = False) -> None:
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad + ("\n" if final else ""))
        self.stream.flush()
        self._width = 0 if final else len(text)

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        start = time.monotonic()
        self._write(f"{label} …")
        try:
            yield
        finally:
            self._write(f"{label} done in {time.monotonic() - start:.1f} s", final=True)

    def tick(self, label: str, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        started = self._started.setdefault(label, now)
        if now - self._last < self.interval and (total is None or done < total):
            return
        self._last = now
        if total:
            filled = int(30 * done / total)
            eta = ""
            if 0 < done < total and now > started:
                eta = f", ETA {_clock((now - started) / done * (total - done))}"
            self._write(f"{label} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}{eta}")
        else:
            self._write(f"{label} {done:,}")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


_CURRENT = Progress()


def current() -> Progress:
    return _CURRENT


def configure(enabled: bool) -> None:
    global _CURRENT
    _CURRENT = Progress(enabled)


@contextmanager
def silenced() -> Iterator[Progress]:
    """Inner work (each of many verifications) reports nothing; the caller keeps the outer
    progress it is given for its own counter, so one line shows one thing."""
    global _CURRENT
    outer = _CURRENT
    _CURRENT = Progress(False)
    try:
        yield outer
    finally:
        _CURRENT = outer

"""Progress on long runs: one status line on a terminal's stderr, nothing otherwise.

Library code reports through :func:`current`; it is silent unless the command line turned it on
(stderr is a terminal and ``--quiet`` was not given, or ``SEGVERIFY_PROGRESS=1`` forces it), so the
API and CI logs stay clean. Only the process that owns the terminal writes: worker processes run
with progress off, and a fan-out reports its jobs through one counter in the parent.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, TextIO


class Progress:
    def __init__(self, enabled: bool = False, stream: TextIO | None = None, interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = interval
        self.clock = clock
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
        start = self.clock()
        self._write(f"{label} …")
        try:
            yield
        finally:
            self._write(f"{label} done in {self.clock() - start:.1f} s", final=True)

    def tick(self, label: str, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = self.clock()
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

    def end_line(self) -> None:
        """Leave the status line standing (the next message starts below it)."""
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def wanted(quiet: bool = False, stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the command line shows progress: ``SEGVERIFY_PROGRESS=1`` forces it on (a terminal
    emulator that is not a tty, a recorded demo), ``0`` off; otherwise on when stderr is a terminal.
    ``--quiet`` always wins."""
    if quiet:
        return False
    forced = (os.environ if environ is None else environ).get("SEGVERIFY_PROGRESS", "")
    if forced in ("0", "1"):
        return forced == "1"
    return (stream or sys.stderr).isatty()


_CURRENT = Progress()


def current() -> Progress:
    return _CURRENT


def configure(enabled: bool) -> None:
    global _CURRENT
    _CURRENT = Progress(enabled)


def counter(label: str, total: int) -> Callable[[int], None]:
    """``done(n)``: the caller's line for ``n`` of ``total`` jobs finished (for :func:`fanout.fan_out`)."""
    progress = current()

    def done(finished: int) -> None:
        progress.tick(label, finished, total)
        if finished >= total:
            progress.end_line()

    return done


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

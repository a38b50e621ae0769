"""Every error segverify raises on purpose derives from :class:`SegverifyError`.

::

    SegverifyError                 exit code 2 from the command line, never a traceback
    ├── InputError                 the topology files are wrong; carries a Span (file:line:column)
    ├── QueryError                 a question names something the topology does not have
    ├── OutputError                an output file cannot be written (missing directory, ...)
    ├── EnvironmentProblem         the machine lacks what a command needs (root, nft, ip, ...)
    ├── ToolFailed                 ip or nft failed in emulate: the command and its stderr
    ├── Interrupted                SIGINT/SIGTERM/SIGHUP stopped a run after cleanup: exit 130/143/129
    └── RecordError                the self-inspection record's database is damaged, foreign or unreachable

Errors carry spans beside the data instead of inside it, so a message can always point at the
place in the user's file that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Span:
    """A place in an input file: 1-based line and column."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        from .escape import one_line  # a file name may hold a newline or an escape sequence

        return f"{one_line(self.file)}:{self.line}:{self.column}"


class SegverifyError(Exception):
    """Base of all deliberate segverify errors."""


class InputError(SegverifyError):
    """The topology input is malformed, inconsistent or hostile."""

    def __init__(self, message: str, span: Span | None = None, *, related: Span | None = None,
                 note: str = "first defined here"):
        self.message = message
        self.span = span
        self.related = related
        self.note = note  # what the related place is
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.span}: error: {self.message}" if self.span else f"error: {self.message}"
        if self.related is not None:
            text += f"\n{self.related}: note: {self.note}"
        return text


class QueryError(SegverifyError):
    """A question (``--from``, ``--to``, ...) names something the topology does not contain."""


class OutputError(SegverifyError):
    """A file a command should write cannot be written (its directory is missing, it is a directory, ...)."""


class EnvironmentProblem(SegverifyError):
    """The machine lacks a privilege or program that a command needs."""


class ToolFailed(SegverifyError):
    """A program segverify runs (``ip``, ``nft`` in ``emulate``) failed: the command and its stderr."""

    def __init__(self, command: str, stderr: str, what: str = "") -> None:
        self.command = command
        self.stderr = stderr.strip()
        lead = f"{what}: " if what else ""
        super().__init__(f"{lead}{command} failed" + (f": {self.stderr}" if self.stderr else ""))


class Interrupted(SegverifyError):
    """SIGINT, SIGTERM or SIGHUP stopped a command (after it cleaned up); exit code 128 + signal."""

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.exit_code = 128 + signum
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        super().__init__(f"interrupted by {name}")


class RecordError(SegverifyError):
    """The self-inspection record cannot be used as it is; segverify leaves it untouched."""

"""Every error segverify raises on purpose derives from :class:`SegverifyError`.

::

    SegverifyError                 exit code 2 from the command line, never a traceback
    ├── InputError                 the topology files are wrong; carries a Span (file:line:column)
    ├── QueryError                 a question names something the topology does not have
    ├── OutputError                an output file cannot be written (missing directory, ...)
    ├── EnvironmentProblem         the machine lacks what a command needs (root, nft, ip, ...)
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
        return f"{self.file}:{self.line}:{self.column}"


class SegverifyError(Exception):
    """Base of all deliberate segverify errors."""


class InputError(SegverifyError):
    """The topology input is malformed, inconsistent or hostile."""

    def __init__(self, message: str, span: Span | None = None, *, related: Span | None = None):
        self.message = message
        self.span = span
        self.related = related
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.span}: error: {self.message}" if self.span else f"error: {self.message}"
        if self.related is not None:
            text += f"\n{self.related}: note: first defined here"
        return text


class QueryError(SegverifyError):
    """A question (``--from``, ``--to``, ...) names something the topology does not contain."""


class OutputError(SegverifyError):
    """A file a command should write cannot be written (its directory is missing, it is a directory, ...)."""


class EnvironmentProblem(SegverifyError):
    """The machine lacks a privilege or program that a command needs."""


class RecordError(SegverifyError):
    """The self-inspection record cannot be used as it is; segverify leaves it untouched."""

"""What an importer could not take fully at its word: every such line of a vendor file, and why.

Each vendor line is understood, or it becomes a :class:`Note` of one of three kinds (the issue's
rules for unknown input): an error (structure everything else depends on; the import stops), an
over-approximation (the line was widened or narrowed so the model allows at least what the device
allows; a warning), or not verified (the line's effect is outside what segverify models, listed in
the report's scope). ``segverify import --report-unsupported`` prints them all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..errors import Span


class NoteKind(str, enum.Enum):
    OVER_APPROXIMATED = "over-approximated"
    NOT_VERIFIED = "not verified"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Note:
    span: Span
    kind: NoteKind
    message: str
    text: str = ""  # the vendor line, as written

    def __str__(self) -> str:
        line = f"  | {self.text}" if self.text else ""
        return f"{self.span}: {self.kind.value}: {self.message}" + (f"\n{line}" if line else "")


@dataclass
class Notes:
    """Collects notes of one import; errors are raised at once (they stop the import)."""

    items: list[Note] = field(default_factory=list)

    def over(self, span: Span, message: str, text: str = "") -> None:
        self.items.append(Note(span, NoteKind.OVER_APPROXIMATED, message, text.strip()))

    def unverified(self, span: Span, message: str, text: str = "") -> None:
        self.items.append(Note(span, NoteKind.NOT_VERIFIED, message, text.strip()))

    def warn(self, span: Span, message: str, text: str = "") -> None:
        self.items.append(Note(span, NoteKind.WARNING, message, text.strip()))

    def sorted(self) -> list[Note]:
        return sorted(set(self.items))

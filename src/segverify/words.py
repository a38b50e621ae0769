"""English wording shared by the plain-text outputs."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors``; ``many`` for irregular plurals (``1 entry``, ``2 entries``)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def display_width(text: str) -> int:
    """Columns a terminal gives ``text``: Japanese (wide) characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

"""Escaping user strings for the formats segverify writes, in one place.

A topology comes from anyone who can open a pull request, so every name and free-text field may
hold characters that mean something to the reader of the output: an ANSI escape hides a verdict
on a terminal, a newline starts a new GitHub workflow command, a control character makes a JUnit
file invalid XML 1.0. HTML is escaped by its template engine, JSON and SARIF by ``json.dumps``.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# XML 1.0 allows only tab, newline and carriage return below U+0020, and no U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """A user string shown inside one line of text: every control character (newline too) visible
    as ``\\xNN``."""
    return _UNSAFE.sub(_visible, text)


def for_terminal(text: str) -> str:
    """Text for a terminal or a CI log: line breaks kept, every other control character (ESC, CR,
    backspace, ...) and bidi override visible as ``\\xNN``/``\\uNNNN``."""
    return "\n".join(one_line(line) for line in text.split("\n"))


def for_xml(text: str) -> str:
    """A string XML 1.0 can hold: the characters it forbids visible as ``\\xNN`` (the XML writer
    escapes ``<``, ``&`` and quotes itself); other controls made visible as on a terminal."""
    return for_terminal(_NOT_XML.sub(_visible, text))


def github_data(text: str) -> str:
    """The message of a GitHub workflow command (``::error ...::MESSAGE``)."""
    return one_line(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def github_property(text: str) -> str:
    """A property value of a workflow command (``file=...,title=...``): ``:`` and ``,`` end it."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")

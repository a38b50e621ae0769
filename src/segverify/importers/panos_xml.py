"""PAN-OS's XML configuration (the export of the running or candidate configuration, and what
configuration generators write) as the set commands it stands for.

The XML and the set format are two spellings of one tree: an element is a word of the path, an
``<entry name="X">`` is the word X, a ``<member>`` list is a value list ``[ a b ]``, a leaf's text
is its value, and an empty element is a path of its own (``<nexthop><discard/></nexthop>`` is
``nexthop discard``). Attributes other than an entry's name (``uuid``, ``loc``, ``admin``, ...)
change nothing about which packets get where. Each statement keeps the line and column of the
element it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from ..errors import InputError, Span
from .notes import Notes

MAX_DEPTH = 64


def looks_like_xml(text: str) -> bool:
    """An XML document whose configuration element is PAN-OS's ``<config>``."""
    head = text[:20000]
    return head.lstrip().startswith("<") and bool(re.search(r"<config[\s>]", head)) and bool(
        re.search(r"<(devices|mgt-config|shared)[\s>]", head))


@dataclass
class _Element:
    words: list[str]
    span: Span
    member: bool = False
    children: bool = False
    text: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)


def xml_statements(text: str, file: str, notes: Notes) -> list[tuple[list[str], Span, str]]:
    """The set commands (path words, span, the source line) that the XML configuration holds."""
    lines = text.splitlines()
    result: list[tuple[list[str], Span, str]] = []
    stack: list[_Element] = []
    parser = expat.ParserCreate()

    def span() -> Span:
        return Span(file, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)

    def source(at: Span) -> str:
        return lines[at.line - 1].strip() if 0 < at.line <= len(lines) else ""

    def refuse_doctype(*_: Any) -> None:
        raise InputError("a document type declaration is not part of a PAN-OS configuration", span())

    def start(tag: str, attrs: dict[str, str]) -> None:
        where = span()
        if len(stack) >= MAX_DEPTH:
            raise InputError(f"configuration nested deeper than {MAX_DEPTH} levels", where)
        parent = stack[-1] if stack else None
        if parent is not None:
            parent.children = parent.children or tag != "member"
            if parent.member:
                raise InputError("a <member> holds a value, not elements", where)
        base = parent.words if parent is not None else []
        if base in ([], ["response"]) and tag in ("response", "result"):
            stack.append(_Element([], where))  # the XML API's wrapper around the configuration
            return
        if tag == "member":
            if parent is None:
                raise InputError("<member> outside of any element", where)
            stack.append(_Element(base, where, member=True))
        elif tag == "entry":
            name = attrs.get("name")
            if not name:
                raise InputError("an <entry> needs a name attribute", where)
            stack.append(_Element(base + [name], where))
        else:
            stack.append(_Element(base + [tag], where))

    def end(tag: str) -> None:
        element = stack.pop()
        value = "".join(element.text).strip()
        if element.member:
            if not value:
                raise InputError("an empty <member>", element.span)
            stack[-1].members.append(value)
            return
        if element.members:
            # always a [ list ]: a <member> is a list element even when alone
            result.append((element.words + ["[", *element.members, "]"], element.span, source(element.span)))
        if element.children:
            if value:
                notes.unverified(element.span, f"text beside elements is not PAN-OS configuration: {value[:40]!r}",
                                 source(element.span))
        elif not element.members and len(element.words) > 0:
            result.append((element.words + ([value] if value else []), element.span, source(element.span)))

    def characters(data: str) -> None:
        if stack:
            stack[-1].text.append(data)

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise InputError(f"not well-formed XML: {expat.errors.messages[exc.code]}",
                         Span(file, exc.lineno, exc.offset + 1)) from None
    return result

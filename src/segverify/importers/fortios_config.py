"""The FortiOS configuration language as a tree: ``config`` tables, ``edit`` entries, ``set`` values.

FortiOS writes its configuration (``show full-configuration``, a backup ``.conf``) as nested
blocks::

    config firewall address          <- a table
        edit "LG_SERVERS"            <- an entry of the table (its name)
            set subnet 10.20.2.0 255.255.255.0
            config tagging           <- a table nested in the entry
            end
        next
    end

A table may also hold ``set`` lines directly (``config system global``). Values are words or
double-quoted strings (``\\"`` and ``\\\\`` escape inside them; a quoted value may span lines, as
certificates do). Every table, entry and setting keeps the span of its line, so findings cite
``configs/fw.conf:812``. Lines this parser cannot place are errors naming file:line: the structure
of the file is what everything else depends on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InputError, Span
from .notes import Notes

MAX_DEPTH = 64  # FortiOS nests a handful of levels; deeper is a hostile or broken file


@dataclass
class Setting:
    key: str
    values: list[str]
    span: Span
    text: str  # the line as written (for notes)

    @property
    def value(self) -> str:
        return " ".join(self.values)


@dataclass
class Entry:
    """One ``edit NAME`` ... ``next`` block."""

    name: str
    span: Span
    settings: dict[str, Setting] = field(default_factory=dict)
    tables: dict[str, "Table"] = field(default_factory=dict)

    def get(self, key: str, default: str = "") -> str:
        setting = self.settings.get(key)
        return setting.value if setting is not None else default

    def values(self, key: str) -> list[str]:
        setting = self.settings.get(key)
        return list(setting.values) if setting is not None else []

    def span_of(self, key: str) -> Span:
        setting = self.settings.get(key)
        return setting.span if setting is not None else self.span


@dataclass
class Table:
    """One ``config PATH`` ... ``end`` block: its entries in file order, or settings of its own."""

    path: str
    span: Span
    entries: dict[str, Entry] = field(default_factory=dict)
    settings: dict[str, Setting] = field(default_factory=dict)
    tables: dict[str, "Table"] = field(default_factory=dict)

    def get(self, key: str, default: str = "") -> str:
        setting = self.settings.get(key)
        return setting.value if setting is not None else default


@dataclass
class Config:
    """The whole file: its top-level tables, in order (``config vdom`` and ``config global`` may repeat)."""

    file: str
    tables: list[Table]
    header: str = ""  # the '#config-version=...' line, if any
    lines: int = 0
    renames: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> old name -> new name


def looks_like_fortios(text: str) -> bool:
    head = text[:20000]
    return head.startswith("#config-version=") or bool(
        re.search(r"^config (system (global|interface)|firewall (policy|address)|vdom)\s*$", head, re.M))


@dataclass
class Statement:
    line: int
    column: int
    words: list[str]
    text: str  # as written (the first physical line of it), for notes


def _statements(text: str, file: str) -> list[Statement]:
    """The file as statements of words. FortiOS quotes with "..." or '...', a backslash takes the next
    character literally (inside quotes too), pieces written together make one word, and a quoted
    value may run over several lines. Lines without quotes or backslashes take the fast path."""
    result: list[Statement] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i]
        number = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(raw) - len(raw.lstrip()) + 1
        if '"' not in raw and "'" not in raw and "\\" not in raw:
            result.append(Statement(number, column, stripped.split(), stripped))
            continue
        words, i = _scan(lines, i - 1, file)
        if words:
            result.append(Statement(number, column, words, stripped))
    return result


def _scan(lines: list[str], index: int, file: str) -> tuple[list[str], int]:
    """Words of the statement starting at ``lines[index]``; returns them and the next line's index."""
    words: list[str] = []
    word: list[str] | None = None
    quote = ""
    start = index
    line = lines[index]
    pos = 0
    while True:
        if pos >= len(line):
            if quote:  # a quoted value goes on on the next line
                index += 1
                if index >= len(lines):
                    raise InputError("a quoted value is never closed", Span(file, start + 1))
                assert word is not None
                word.append("\n")
                line, pos = lines[index], 0
                continue
            break
        ch = line[pos]
        pos += 1
        if ch == "\\":
            if pos >= len(line):  # a backslash at the end of a line joins the next one
                index += 1
                if index >= len(lines):
                    break
                line, pos = lines[index], 0
                continue
            if word is None:
                word = []
            word.append(line[pos])
            pos += 1
        elif quote:
            if ch == quote:
                quote = ""
            else:
                assert word is not None
                word.append(ch)
        elif ch in "\"'":
            quote = ch
            word = word if word is not None else []
        elif ch.isspace():
            if word is not None:
                words.append("".join(word))
                word = None
        else:
            if word is None:
                word = []
            word.append(ch)
    if word is not None:
        words.append("".join(word))
    return words, index + 1


def parse_config(text: str, file: str, notes: Notes | None = None) -> Config:
    if "\x00" in text:
        raise InputError("binary data in a FortiOS configuration", Span(file, text[: text.index("\x00")].count("\n") + 1))
    header = text.split("\n", 1)[0].strip() if text.startswith("#config-version=") else ""
    top: list[Table] = []
    stack: list[Table | Entry] = []
    renames: dict[str, dict[str, str]] = {}
    statements = _statements(text, file)
    for statement in statements:
        span = Span(file, statement.line, statement.column)
        words = statement.words
        stripped = statement.text
        verb = words[0]
        current = stack[-1] if stack else None
        if verb == "config":
            if len(words) < 2:
                raise InputError("'config' needs a table name", span)
            if len(stack) >= MAX_DEPTH:
                raise InputError(f"configuration nested deeper than {MAX_DEPTH} levels", span)
            table = Table(" ".join(words[1:]), span)
            if current is None:
                top.append(table)
            else:
                # A table nested in an entry, or (config vdom / config global) in another table.
                current.tables[table.path] = table
            stack.append(table)
        elif verb == "edit":
            if not isinstance(current, Table) or len(words) != 2:
                raise InputError("'edit NAME' belongs directly inside a 'config' table", span)
            if len(stack) >= MAX_DEPTH:
                raise InputError(f"configuration nested deeper than {MAX_DEPTH} levels", span)
            entry = current.entries.get(words[1])
            if entry is None:  # a second 'edit' of one name continues it, as the CLI does
                entry = current.entries[words[1]] = Entry(words[1], span)
            stack.append(entry)
        elif verb == "next":
            if not isinstance(current, Entry):
                raise InputError("'next' without an 'edit' to close", span)
            stack.pop()
        elif verb == "end":
            if isinstance(current, Entry):  # 'end' right after the last entry closes both
                stack.pop()
                current = stack[-1] if stack else None
            if not isinstance(current, Table):
                raise InputError("'end' without a 'config' to close", span)
            stack.pop()
        elif verb in ("set", "unset", "append", "select", "unselect"):
            if current is None or len(words) < 2:
                raise InputError(f"'{verb}' outside any 'config' table", span)
            key = words[1]
            values = words[2:]
            if verb == "unset":
                current.settings.pop(key, None)
            elif verb in ("append", "select") and key in current.settings:
                current.settings[key].values.extend(values)
            elif verb == "unselect" and key in current.settings:
                current.settings[key].values = [v for v in current.settings[key].values if v not in values]
            else:
                current.settings[key] = Setting(key, values, span, stripped)
        elif verb in ("rename", "move", "delete", "clone", "purge"):
            if not isinstance(current, Table):
                raise InputError(f"'{verb}' belongs directly inside a 'config' table", span)
            try:
                _table_command(current, words, span, renames)
            except InputError as exc:
                if notes is None:
                    raise
                # The FortiGate itself rejects such a command, so it changes nothing.
                notes.warn(span, f"{exc.message}: FortiOS rejects this command; it has no effect", stripped)
        else:
            raise InputError(f"unknown FortiOS statement {verb!r} (expected config, edit, set, unset, next, end, "
                             "rename, move, delete, clone, purge)", span)
    if stack:
        raise InputError(f"'config {_first_table(stack).path}' is never closed with 'end'", _first_table(stack).span)
    return Config(file, top, header, text.count("\n") + 1, renames)


def _table_command(table: Table, words: list[str], span: Span, renames: dict[str, dict[str, str]]) -> None:
    """The CLI's edits of a table as a whole: ``rename A to B``, ``move A before|after B``,
    ``delete A``, ``clone A to B``, ``purge``. FortiOS renames references with the object; the
    old name is kept so references written before the rename still resolve."""
    verb = words[0]
    if verb == "purge" and len(words) == 1:
        table.entries.clear()
        return
    if verb == "delete" and len(words) == 2:
        if table.entries.pop(words[1], None) is None:
            raise InputError(f"'delete {words[1]}': no such entry in config {table.path}", span)
        return
    if verb in ("rename", "clone") and len(words) == 4 and words[2] == "to":
        old, new = words[1], words[3]
        if old not in table.entries:
            raise InputError(f"'{verb} {old}': no such entry in config {table.path}", span)
        if new in table.entries:
            raise InputError(f"'{verb} {old} to {new}': config {table.path} has an entry {new} already", span)
        entry = table.entries[old]
        if verb == "rename":
            items = [(new if k == old else k, v) for k, v in table.entries.items()]
            entry.name = new
            renames.setdefault(table.path, {})[old] = new
        else:
            copy = Entry(new, span, {k: Setting(v.key, list(v.values), v.span, v.text) for k, v in entry.settings.items()},
                         dict(entry.tables))
            items = list(table.entries.items()) + [(new, copy)]
        table.entries.clear()
        table.entries.update(items)
        return
    if verb == "move" and len(words) == 4 and words[2] in ("before", "after"):
        what, where = words[1], words[3]
        if what not in table.entries or where not in table.entries:
            missing = what if what not in table.entries else where
            raise InputError(f"'move': no entry {missing} in config {table.path}", span)
        moving = table.entries.pop(what)
        items = []
        for name, entry in table.entries.items():
            if name == where and words[2] == "before":
                items.append((what, moving))
            items.append((name, entry))
            if name == where and words[2] == "after":
                items.append((what, moving))
        table.entries.clear()
        table.entries.update(items)
        return
    raise InputError(f"cannot read {' '.join(words)!r}", span)


def _first_table(stack: list[Table | Entry]) -> Table:
    for item in reversed(stack):
        if isinstance(item, Table):
            return item
    raise AssertionError("a stack always starts with a table")

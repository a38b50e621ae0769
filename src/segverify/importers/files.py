"""Reading vendor files safely: bounded size, text only, and lines and columns for JSON values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputError, Span

MAX_VENDOR_FILE_BYTES = int(os.environ.get("SEGVERIFY_MAX_FILE_BYTES", 256 * 1024 * 1024))


def read_text(path: Path, display: str) -> str:
    """A vendor file as text: UTF-8, or Latin-1 for the odd byte in a description; binary is refused."""
    try:
        size = path.stat().st_size
        if size > MAX_VENDOR_FILE_BYTES:
            raise InputError(f"{display} is {size:,} bytes; the limit is {MAX_VENDOR_FILE_BYTES:,} "
                             "(SEGVERIFY_MAX_FILE_BYTES)", Span(display, 1, 1))
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {display}: {exc.strerror}") from None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError("the file holds binary data (a NUL byte), not a configuration", Span(display, line, 1))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def json_spans(text: str) -> dict[tuple[Any, ...], int]:
    """The line on which each value of a JSON document starts, keyed by its path (keys and indexes)."""
    return {path: line for path, (line, _column) in json_positions(text).items()}


def json_positions(text: str) -> dict[tuple[Any, ...], tuple[int, int]]:
    """The line and column (1-based) at which each value of a JSON document starts, keyed by its
    path (keys and indexes). The column matters for what tools print on one line (``nft -j``,
    ``ip -j``): there it tells the values apart.

    A small scanner of its own (no recursion), run after json.loads has accepted the text."""
    spans: dict[tuple[Any, ...], tuple[int, int]] = {}
    stack: list[list[Any]] = []  # [kind, path, next key or index]
    line, line_start = 1, 0
    i, n = 0, len(text)
    pending_key: str | None = None

    def value_path() -> tuple[Any, ...]:
        if not stack:
            return ()
        kind, path, slot = stack[-1]
        return path + ((pending_key,) if kind == "{" else (slot,))

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            line_start = i
            continue
        if c in " \t\r,:":
            if c == "," and stack and stack[-1][0] == "[":
                stack[-1][2] += 1
            i += 1
            continue
        if c in "{[":
            path = value_path()
            spans[path] = (line, i - line_start + 1)
            stack.append([c, path, 0])
            pending_key = None
            i += 1
            continue
        if c in "}]":
            stack.pop()
            i += 1
            continue
        if c == '"':
            start = (line, i - line_start + 1)
            j = i + 1
            chars = []
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    chars.append(text[j:j + 2])
                    j += 2
                    continue
                chars.append(text[j])
                j += 1
            raw = "".join(chars)
            i = j + 1
            if stack and stack[-1][0] == "{" and pending_key is None:
                # a key: the next non-space character is ':'
                k = i
                while k < n and text[k] in " \t\r\n":
                    k += 1
                if k < n and text[k] == ":":
                    import json as _json
                    pending_key = _json.loads(f'"{raw}"')
                    continue
            spans[value_path()] = start
            if stack and stack[-1][0] == "{":
                pending_key = None
            continue
        # a number, true, false or null
        j = i
        while j < n and text[j] not in " \t\r\n,]}":
            j += 1
        spans[value_path()] = (line, i - line_start + 1)
        if stack and stack[-1][0] == "{":
            pending_key = None
        i = j
    return spans

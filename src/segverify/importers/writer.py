"""Write an imported Document as a topology file, each object annotated with its source file:line.

The output loads back with :func:`segverify.load` to the same model; the comments let an
administrator review, line by line, what segverify understood from which vendor line.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..reader import Document, Path_
from .notes import Notes

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./@~+-]*$")
_ADDRESS = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(/\d{1,2})?$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
ORDER = ("segverify", "name", "description", "profile", "zones", "networks", "services", "nodes", "links",
         "lans", "exceptions")


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if (_PLAIN.match(text) and text.lower() not in _RESERVED) or _ADDRESS.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


class _Writer:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.out: list[str] = []

    def where(self, path: Path_) -> str:
        place = self.doc.spans.get(path)
        return f"  # {place[0]}:{place[1]}" if place else ""

    def line(self, pad: str, key: Any, value: Any, path: Path_) -> None:
        if isinstance(value, list) and value and any(isinstance(x, dict) for x in value):
            self.out.append(f"{pad}{scalar(key)}:{self.where(path)}")
            for i, entry in enumerate(value):
                self.out.append(f"{pad}  - {flow(entry)}{self.where(path + (i,))}")
        else:
            self.out.append(f"{pad}{scalar(key)}: {flow(value)}{self.where(path)}")

    def mapping(self, value: dict[str, Any], path: Path_, pad: str) -> None:
        """One line per entry (lists of mappings: one line per item)."""
        for key, item in value.items():
            self.line(pad, key, item, path + (key,))

    def node(self, name: str, spec: dict[str, Any]) -> None:
        path: Path_ = ("nodes", name)
        self.out.append(f"  {scalar(name)}:{self.where(path)}")
        for key, value in spec.items():
            sub = path + (key,)
            if key == "interfaces" and isinstance(value, dict):
                self.out.append("    interfaces:")
                self.mapping(value, sub, "      ")
            elif key == "policies" and isinstance(value, dict):
                self.out.append(f"    policies:{self.where(sub)}")
                for pkey, pvalue in value.items():
                    if pkey == "local" and isinstance(pvalue, dict):
                        self.out.append(f"      local:{self.where(sub + ('local',))}")
                        self.mapping(pvalue, sub + ("local",), "        ")
                    else:
                        self.line("      ", pkey, pvalue, sub + (pkey,))
            elif key == "acls" and isinstance(value, dict):
                self.out.append("    acls:")
                for acl, body in value.items():
                    self.out.append(f"      {scalar(acl)}:{self.where(sub + (acl,))}")
                    self.mapping(body, sub + (acl,), "        ")
            else:
                self.line("    ", key, value, sub)


def write_topology(doc: Document, notes: Notes | None = None, header: str = "") -> str:
    w = _Writer(doc)
    if header:
        w.out.extend(f"# {line}" if line else "#" for line in header.splitlines())
    data = doc.data
    for key in ORDER + tuple(k for k in data if k not in ORDER):
        if key not in data:
            continue
        value = data[key]
        if key in ("zones", "networks", "services", "lans"):
            w.out.append(f"{key}:")
            w.mapping(value, (key,), "  ")
        elif key == "nodes":
            w.out.append("nodes:")
            for name, spec in value.items():
                w.node(name, spec)
        elif key in ("links", "exceptions"):
            w.out.append(f"{key}:")
            for i, entry in enumerate(value):
                w.out.append(f"  - {flow(entry)}{w.where((key, i))}")
        else:
            w.out.append(f"{key}: {flow(value)}{w.where((key,))}")
    return "\n".join(w.out) + "\n"


def report_unsupported(notes: Notes) -> str:
    lines = [str(n) for n in notes.sorted()]
    counts: dict[str, int] = {}
    for n in set(notes.items):  # a rule read as several (one per protocol) is noted once
        counts[n.kind.value] = counts.get(n.kind.value, 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "every line understood"
    return "\n".join(lines + [f"{len(set(notes.items))} line(s) not fully understood: {summary}"]) + "\n"

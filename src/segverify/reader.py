"""Read topology files: safe YAML to plain data with a span for every value, then validate.

Spans are kept beside the data (a dict from the path of a value to its place in the file), never
inside it, so the user's keys and values reach the builder exactly as written. Reading is bounded:
file size, total values after alias expansion, nesting depth and include depth all have limits, so
a hostile file fails with a message instead of exhausting the machine.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
import jsonschema
import yaml

from .errors import InputError, Span
from .model import SourceFile
from .schema import SECTIONS, topology_schema

try:  # libyaml is several times faster on large networks
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = int(os.environ.get("SEGVERIFY_MAX_FILE_BYTES", 256 * 1024 * 1024))
MAX_VALUES = 20_000_000
MAX_DEPTH = 64
MAX_INCLUDE_DEPTH = 16

Path_ = tuple[Any, ...]


@dataclass
class Document:
    """Plain data of one or more files with the span of every value and of every mapping key."""

    data: dict[str, Any]
    # (file, line, column) tuples: a large network has hundreds of thousands of values, and a
    # tuple costs a hundredth of a Span; Spans are made only for the places someone asks about.
    spans: dict[Path_, tuple[str, int, int]] = field(default_factory=dict)
    key_spans: dict[Path_, tuple[str, int, int]] = field(default_factory=dict)
    files: list[SourceFile] = field(default_factory=list)

    def span(self, path: Path_) -> Span:
        """The span of the value at ``path``, or of its nearest ancestor that has one."""
        while path not in self.spans and path:
            path = path[:-1]
        return Span(*self.spans.get(path, ("<input>", 1, 1)))

    def key_span(self, path: Path_) -> Span:
        where = self.key_spans.get(path)
        return Span(*where) if where is not None else self.span(path)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _Converter:
    def __init__(self, filename: str, doc: Document, prefix: Path_ = ()) -> None:
        self.filename = filename
        self.doc = doc
        self.prefix = prefix
        self.count = 0

    def where(self, node: yaml.Node) -> tuple[str, int, int]:
        mark = node.start_mark
        return (self.filename, mark.line + 1, mark.column + 1)

    def span(self, node: yaml.Node) -> Span:
        return Span(*self.where(node))

    def convert(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise InputError(f"more than {MAX_VALUES:,} values after alias expansion", self.span(node))
        if depth > MAX_DEPTH:
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", self.span(node))
        self.doc.spans[self.prefix + path] = self.where(node)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            first: dict[str, tuple[str, int, int]] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError("a mapping key must be a plain name", self.span(key_node))
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise InputError("merge keys (<<) are not supported; write the keys out", self.span(key_node))
                key = str(key_node.value)
                if key in result:
                    raise InputError(f"duplicate key {key!r}", self.span(key_node), related=Span(*first[key]))
                first[key] = self.where(key_node)
                self.doc.key_spans[self.prefix + path + (key,)] = first[key]
                result[key] = self.convert(value_node, path + (key,), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        try:
            value = _CONSTRUCTOR.construct_object(node)
        except yaml.YAMLError as exc:
            raise InputError(f"cannot read value: {exc}", self.span(node)) from None
        if isinstance(value, (_dt.date, _dt.datetime)):
            return value.isoformat()[:10]
        if isinstance(value, bytes):
            raise InputError("binary values are not allowed", self.span(node))
        if isinstance(value, float) and value != value:
            raise InputError("NaN is not a value here", self.span(node))
        return value


def read_yaml(path: Path, display: str) -> tuple[Any, str, bytes]:
    """Parse one file into a YAML node tree; return it with its text and raw bytes."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read {display}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise InputError(f"{display} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} (SEGVERIFY_MAX_FILE_BYTES)",
                         Span(display, 1, 1))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {display}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("the file is not UTF-8 text", Span(display, line, 1)) from None
    return parse_text(text, display), text, raw


def parse_text(text: str, display: str) -> yaml.Node | None:
    try:
        documents = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(display, mark.line + 1, mark.column + 1) if mark else Span(display, 1, 1)
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}: {problem}"
        raise InputError(f"YAML syntax: {problem}", span) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML syntax: {exc}", Span(display, 1, 1)) from None
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", Span(display, 1, 1)) from None
    if len(documents) > 1:
        mark = documents[1].start_mark
        raise InputError("one YAML document per file, please (found a second '---')",
                         Span(display, mark.line + 1, mark.column + 1))
    return documents[0] if documents else None


def _display_name(path: Path) -> str:
    """How a file is named in messages: as the user (or the including file) wrote it."""
    return str(path)


_VALIDATOR = jsonschema.Draft202012Validator(topology_schema())


def _compile_fast_validator() -> Callable[[Any], Any]:
    """fastjsonschema turns the schema into Python code: ~20x faster on a large valid network.

    It is only the fast yes; when it says no, jsonschema finds the best error and its path, so
    messages and spans come from one place. The schema uses nothing beyond draft-07 keywords."""
    schema = dict(topology_schema())
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


_FAST_VALIDATOR = _compile_fast_validator()


def _validate(doc: Document, data: Any, prefix: Path_, display: str) -> None:
    if not isinstance(data, dict):
        raise InputError("a topology file must be a mapping of sections (zones, nodes, ...)", Span(display, 1, 1))
    try:
        _FAST_VALIDATOR(data)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(data))
    if error is None:
        return
    path = tuple(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties":
        unexpected = [k for k in error.instance if k not in error.schema.get("properties", {})]
        if unexpected:
            key = sorted(unexpected)[0]
            known = ", ".join(sorted(error.schema.get("properties", {})))
            raise InputError(f"unknown key {key!r} (expected one of: {known})", doc.key_span(prefix + path + (key,)))
    if error.validator == "required":
        message = f"{message.split(' is a required')[0]} is required here"
    if error.validator == "oneOf":
        message = f"{error.instance!r} is not valid here"
    where = "/".join(str(p) for p in path)
    raise InputError(f"{message} (at {where or 'top level'})", doc.span(prefix + path))


def load_document(path: str | os.PathLike[str]) -> Document:
    """Read a file or a directory of files, with includes, into one validated Document."""
    root = Path(path)
    doc = Document(data={})
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise InputError(f"{_display_name(root)} holds no .yaml or .yml file")
        for f in files:
            _merge_file(doc, f, seen=[], depth=0)
    elif root.exists():
        _merge_file(doc, root, seen=[], depth=0)
    else:
        raise InputError(f"{_display_name(root)}: no such file or directory")
    return doc


def load_text(text: str, name: str = "<string>") -> Document:
    doc = Document(data={})
    node = parse_text(text, name)
    _merge_node(doc, node, name, Path("."), seen=[], depth=0)
    doc.files.append(SourceFile(name, hashlib.sha256(text.encode()).hexdigest()))
    return doc


def _merge_file(doc: Document, path: Path, seen: list[Path], depth: int) -> None:
    resolved = path.resolve()
    display = _display_name(path)
    if resolved in seen:
        chain = " -> ".join(_display_name(p) for p in seen + [resolved])
        raise InputError(f"include cycle: {chain}", Span(display, 1, 1))
    if depth > MAX_INCLUDE_DEPTH:
        raise InputError(f"includes nested deeper than {MAX_INCLUDE_DEPTH}", Span(display, 1, 1))
    if any(f.path == display for f in doc.files):
        raise InputError(f"{display} is read twice (included from two places)", Span(display, 1, 1))
    node, _text, raw = read_yaml(path, display)
    doc.files.append(SourceFile(display, hashlib.sha256(raw).hexdigest()))
    _merge_node(doc, node, display, path.parent, seen + [resolved], depth)


def _merge_node(doc: Document, node: yaml.Node | None, display: str, base: Path,
                seen: list[Path], depth: int) -> None:
    if node is None:
        raise InputError("the file is empty", Span(display, 1, 1))
    part = Document(data={})
    data = _Converter(display, part).convert(node, ())
    _validate(part, data, (), display)
    # Group the part's spans by section once, rather than scanning all of them per section.
    grouped: dict[str, tuple[list[tuple[Path_, Any]], list[tuple[Path_, Any]]]] = {}
    for which, table in enumerate((part.spans, part.key_spans)):
        for p, where in table.items():
            if len(p) > 1:
                grouped.setdefault(p[0], ([], []))[which].append((p, where))
    for key, value in data.items():
        if key == "include":
            continue
        if key in SECTIONS:
            _merge_section(doc, part, key, value, *grouped.get(key, ([], [])))
        elif key in doc.data:
            raise InputError(f"{key!r} is set in two files", part.key_span((key,)), related=doc.key_span((key,)))
        else:
            doc.data[key] = value
            doc.spans[(key,)] = part.spans[(key,)]
            doc.key_spans[(key,)] = part.key_spans[(key,)]
    for i, inc in enumerate(data.get("include", [])):
        target = base / inc
        if not target.exists():
            raise InputError(f"included file {inc!r} does not exist", part.span(("include", i)))
        if target.is_dir():
            for f in sorted(p for p in target.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
                _merge_file(doc, f, seen, depth + 1)
        else:
            _merge_file(doc, target, seen, depth + 1)


def _merge_section(doc: Document, part: Document, key: str, value: Any, spans: list[tuple[Path_, Any]],
                   key_spans: list[tuple[Path_, Any]]) -> None:
    """Add a section of one file to the document, keeping spans; a name defined twice is an error."""
    if isinstance(value, list):
        existing = doc.data.setdefault(key, [])
        offset = len(existing)
        existing.extend(value)
        doc.spans.update(((key, p[1] + offset) + p[2:], where) for p, where in spans)
        doc.key_spans.update(((key, p[1] + offset) + p[2:], where) for p, where in key_spans)
        doc.spans.setdefault((key,), part.spans[(key,)])
        return
    existing_map = doc.data.setdefault(key, {})
    for name, item in value.items():
        if name in existing_map:
            raise InputError(f"{key[:-1] if key.endswith('s') else key} {name!r} is defined twice",
                             part.key_span((key, name)), related=doc.key_span((key, name)))
        existing_map[name] = item
    # Names are unique across files now, so no path below this section can already be taken.
    doc.spans.update(spans)
    doc.key_spans.update(key_spans)
    doc.spans.setdefault((key,), part.spans[(key,)])
    doc.key_spans.setdefault((key,), part.key_spans[(key,)])

"""Read topology files: safe YAML to plain data with a span for every value, then validate.

Spans are kept beside the data (a dict from the path of a value to its place in the file), never
inside it, so the user's keys and values reach the builder exactly as written. Reading is bounded:
file size, total values after alias expansion, nesting depth and include depth all have limits, so
a hostile file fails with a message instead of exhausting the machine.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import fastjsonschema
import yaml

from .errors import InputError, Span
from .inputs import read_regular
from .model import SourceFile
from .schema import SECTIONS, topology_schema

if TYPE_CHECKING:
    from .readahead import ReadAhead

try:  # libyaml is several times faster on large networks
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = int(os.environ.get("SEGVERIFY_MAX_FILE_BYTES", 256 * 1024 * 1024))
MAX_VALUES = 20_000_000
MAX_DEPTH = 64
MAX_INCLUDE_DEPTH = 16
# Spans of scalars and mapping keys deeper than this (the fields of ACL and policy lines: most of a
# large network) are not kept when reading a topology; a container's span always is. Findings cite
# containers (a line, a node); an error or an import note that cites a deep value finds its span
# again by reading that one file with every span (Document._deep).
EAGER_DEPTH = 5

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

    # Texts of the files read with deep spans left out (display name -> text), and those files
    # read again with every span, once something asks for one of them.
    texts: dict[str, str] = field(default_factory=dict)
    _exact: dict[str, tuple["Document", dict[tuple[int, int, int], Path_]]] = field(default_factory=dict)

    def span(self, path: Path_) -> Span:
        """The span of the value at ``path``, or of its nearest ancestor that has one."""
        where = self.spans.get(path) or self._deep(path, keys=False)
        while where is None and path:
            path = path[:-1]
            where = self.spans.get(path)
        return Span(*(where or ("<input>", 1, 1)))

    def key_span(self, path: Path_) -> Span:
        where = self.key_spans.get(path) or self._deep(path, keys=True)
        return Span(*where) if where is not None else self.span(path)

    def _deep(self, path: Path_, keys: bool) -> tuple[str, int, int] | None:
        """A span the fast read left out (see :data:`EAGER_DEPTH`): the nearest container above
        ``path`` has its span, which finds that container in its file read again with every span."""
        if not self.texts or len(path) <= EAGER_DEPTH:
            return None
        above = path[:-1]
        while above and above not in self.spans:
            above = above[:-1]
        where = self.spans.get(above)
        if where is None or where[0] not in self.texts:
            return None
        exact, containers = self._exactly_read(where[0])
        local = containers.get((where[1], where[2], len(above)))
        if local is None:
            return None
        return (exact.key_spans if keys else exact.spans).get(local + path[len(above):])

    def _exactly_read(self, display: str) -> tuple["Document", dict[tuple[int, int, int], Path_]]:
        if display not in self._exact:
            exact = _Composer(self.texts[display], display, eager=True).compose()
            assert exact is not None  # the same text composed once already
            containers = {(w[1], w[2], len(p)): p for p, w in exact.spans.items()
                          if isinstance(_value_at(exact.data, p), (dict, list))}
            self._exact[display] = (exact, containers)
        return self._exact[display]


def _value_at(data: Any, path: Path_) -> Any:
    for step in path:
        data = data[step]
    return data


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_MERGE_TAG = "tag:yaml.org,2002:merge"
_UNSEEN = object()


class _Frame:
    __slots__ = ("value", "path", "key", "key_where", "first", "anchor", "start_count")

    def __init__(self, value: Any, path: Path_, anchor: str | None, start_count: int) -> None:
        self.value = value
        self.path = path
        self.key: str | None = None  # a mapping's key waiting for its value
        self.key_where: tuple[str, int, int] | None = None
        self.first: dict[str, tuple[str, int, int]] = {}
        self.anchor = anchor
        self.start_count = start_count


class _Composer:
    """Build plain data and spans straight from libyaml's event stream, with an explicit stack.

    libyaml parses without recursion, but composing a node tree recurses once per nesting level,
    in C: a file of a hundred thousand '[' crashed the interpreter. Here depth is counted as the
    events come, so a hostile file is refused with a message, at the place it goes too deep.
    Aliases are not copied: the anchored value is shared, and its size counts again at every use,
    so an alias bomb stops at MAX_VALUES before anything is expanded."""

    def __init__(self, text: str, display: str, eager: bool = True) -> None:
        self.loader = _Loader(text)
        self.display = display
        self.eager = eager  # every span; otherwise none of scalars and keys below EAGER_DEPTH
        self.doc = Document(data={}, texts={} if eager else {display: text})
        self.count = 0
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.known: dict[tuple[str, Any], Any] = {}

    def where(self, mark: Any) -> tuple[str, int, int]:
        return (self.display, mark.line + 1, mark.column + 1)

    def fail(self, message: str, mark: Any, related: tuple[str, int, int] | None = None) -> InputError:
        return InputError(message, Span(*self.where(mark)), related=Span(*related) if related else None)

    def compose(self) -> Document | None:
        loader = self.loader
        stack: list[Any] = []
        root_set = False
        root: Any = None
        documents = 0
        try:
            while True:
                event = loader.get_event()
                kind = type(event)  # PyYAML's event classes have no subclasses; scalars come most
                if kind is yaml.ScalarEvent:
                    value = self.scalar(event)
                    self.place(stack, value, event.start_mark, is_scalar=True, raw_key=event.value)
                    if event.anchor is not None:
                        self.anchors[event.anchor] = (value, 1)
                    if not stack:
                        root, root_set = value, True
                    continue
                if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                    frame = stack.pop()
                    if frame.anchor is not None:
                        self.anchors[frame.anchor] = (frame.value, self.count - frame.start_count + 1)
                    continue
                if kind is yaml.StreamEndEvent:
                    break
                if kind is yaml.DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        raise self.fail("one YAML document per file, please (found a second '---')",
                                        event.start_mark)
                    continue
                if kind is yaml.StreamStartEvent or kind is yaml.DocumentEndEvent:
                    continue
                if kind is yaml.AliasEvent:
                    if event.anchor not in self.anchors:
                        raise self.fail(f"unknown alias *{event.anchor}", event.start_mark)
                    value, size = self.anchors[event.anchor]
                    self.count += size - 1
                    self.place(stack, value, event.start_mark, is_scalar=not isinstance(value, (dict, list)),
                               raw_key=value if isinstance(value, str) else None)
                    if not stack:
                        root, root_set = value, True
                    continue
                # A collection starts.
                if event.tag is not None and event.tag != "!":
                    raise self.fail(f"YAML tags ({event.tag}) are not supported; write the value plainly",
                                    event.start_mark)
                value = {} if isinstance(event, yaml.MappingStartEvent) else []
                path = self.place(stack, value, event.start_mark, is_scalar=False)
                if not stack:
                    root, root_set = value, True
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
                stack.append(_Frame(value, path, event.anchor, self.count))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            span = Span(*self.where(mark)) if mark else Span(self.display, 1, 1)
            problem = exc.problem or "invalid YAML"
            if exc.context:
                problem = f"{exc.context}: {problem}"
            raise InputError(f"YAML syntax: {problem}", span) from None
        except yaml.YAMLError as exc:
            raise InputError(f"YAML syntax: {exc}", Span(self.display, 1, 1)) from None
        finally:
            loader.dispose()
        if not root_set:
            return None
        self.doc.data = root
        return self.doc

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is not None and tag != "!":
            raise self.fail(f"YAML tags ({tag}) are not supported; write the value plainly", event.start_mark)
        # A network repeats its scalars (any, names, ports, addresses) thousands of times; each
        # one read (and accepted) before is read again from this table. Values are immutable.
        known = self.known.get((event.value, event.implicit), _UNSEEN)
        if known is not _UNSEEN:
            return known
        value = self._construct(event)
        self.known[(event.value, event.implicit)] = value
        return value

    def _construct(self, event: yaml.ScalarEvent) -> Any:
        tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _MERGE_TAG:
            raise self.fail("merge keys (<<) are not supported; write the keys out", event.start_mark)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = _CONSTRUCTOR.construct_object(node)
        except yaml.YAMLError as exc:
            raise self.fail(f"cannot read value: {exc}", event.start_mark) from None
        except (ValueError, OverflowError, ArithmeticError, AttributeError, TypeError) as exc:
            # a date like 2027-02-30, an int of 5,000 digits: PyYAML's constructors raise these
            shown = event.value if len(event.value) <= 40 else event.value[:37] + "..."
            what = "a date" if tag.endswith(":timestamp") else "a number" if tag.endswith((":int", ":float")) else "a value"
            raise self.fail(f"{shown!r} is not {what} segverify can read ({exc})", event.start_mark) from None
        if isinstance(value, (_dt.date, _dt.datetime)):
            return value.isoformat()[:10]
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
            # No field needs more, and a validator that prints such a number hits Python's digit limit.
            shown = event.value if len(event.value) <= 40 else event.value[:37] + "..."
            raise self.fail(f"{shown!r} is not a number segverify can read (more than 64 bits)", event.start_mark)
        if isinstance(value, float):
            # No field takes a fraction, and JSON Schema counts 80.0 as the integer 80 (and 1.0 as
            # the version 1): a decimal point is refused where it is written.
            raise self.fail(f"{event.value} is not a whole number; write it without a decimal point "
                            f"(or quote it to make it text)", event.start_mark)
        if isinstance(value, bytes):
            raise self.fail("binary values are not allowed", event.start_mark)
        if isinstance(value, float) and value != value:
            raise self.fail("NaN is not a value here", event.start_mark)
        return value

    def place(self, stack: list[_Frame], value: Any, mark: Any, *, is_scalar: bool, raw_key: Any = None) -> Path_:
        """Put a value where the stack says it goes; return its path."""
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(f"more than {MAX_VALUES:,} values after alias expansion", mark)
        where = self.where(mark)
        if not stack:
            self.doc.spans[()] = where
            return ()
        top = stack[-1]
        deep = not self.eager and is_scalar and len(top.path) >= EAGER_DEPTH
        if isinstance(top.value, list):
            path = top.path + (len(top.value),)
            top.value.append(value)
            if not deep:
                self.doc.spans[path] = where
            return path
        if top.key is None:  # this value is a key
            if not is_scalar:
                raise self.fail("a mapping key must be a plain name", mark)
            key = str(raw_key)
            if key in top.value:
                if not self.eager:
                    raise _ReadAgain  # the first one's place is not kept; the eager read names it
                raise self.fail(f"duplicate key {key!r}", mark, related=top.first[key])
            if self.eager:
                top.first[key] = where
            top.key, top.key_where = key, where
            self.count -= 1  # keys are names, not values
            return top.path
        path = top.path + (top.key,)
        top.value[top.key] = value
        if not deep:
            self.doc.key_spans[path] = top.key_where  # type: ignore[assignment]
            self.doc.spans[path] = where
        top.key = None
        return path


def read_yaml(path: Path, display: str, where: Span | None = None, eager: bool = True) -> tuple[Any, str, bytes]:
    """Parse one file into plain data with spans; return it with its text and raw bytes.

    Only a regular file is read (a FIFO or a device would hang or never end), and the size limit
    is enforced while reading, not from a size the file system reports."""
    raw = _read_bytes(path, display, where)
    text = _decode(raw, display)
    return parse_text(text, display, eager), text, raw


def _read_bytes(path: Path, display: str, where: Span | None) -> bytes:
    return read_regular(path, display, MAX_FILE_BYTES, what="topology file", where=where or Span(display, 1, 1),
                        limit_hint="SEGVERIFY_MAX_FILE_BYTES")


def _decode(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("the file is not UTF-8 text", Span(display, line, 1)) from None


@dataclass
class ParsedFiles:
    """Topology files this run has parsed and validated, by the SHA-256 of their bytes.

    ``diff`` reads two versions of a network that mostly share their files: a file whose bytes are
    those of one read before is not parsed again; its data and spans are taken over, every span
    naming the file by its own path (a finding of the new version cites the new version's files).
    The data is shared between the two documents: nothing downstream writes to it."""

    by_digest: dict[str, Document] = field(default_factory=dict)
    reused: int = 0  # files taken over instead of parsed (for the benchmark's record)
    # The builder's matches of rule lines, by the id of the line's data (kept alive beside it), and
    # what names resolved to when they were made (segverify.build.Builder._earlier_matches).
    matches: dict[tuple[int, str, str], tuple[dict[str, Any], Any]] = field(default_factory=dict)
    names: tuple[Any, ...] | None = None

    def get(self, digest: str, display: str) -> Document | None:
        part = self.by_digest.get(digest)
        if part is None:
            return None
        self.reused += 1
        return part if part.files[0].path == display else _relocated(part, display)

    def holds(self, path: Path) -> bool:
        """Whether ``path`` has the bytes of a file parsed before (False when it cannot be read:
        its turn says why)."""
        try:
            raw = _read_bytes(path, _display_name(path), None)
        except (InputError, OSError, RuntimeError):
            return False
        return hashlib.sha256(raw).hexdigest() in self.by_digest

    def put(self, digest: str, display: str, part: Document) -> None:
        part.files = [SourceFile(display, digest)]  # whose spans these are
        self.by_digest.setdefault(digest, part)


def _not_parsed(files: list[Path], parsed: ParsedFiles | None) -> list[Path]:
    """The files to parse ahead (readahead.py): not those a diff's other version had already."""
    if parsed is None or not parsed.by_digest:
        return files
    return [f for f in files if not parsed.holds(f)]


def _relocated(part: Document, display: str) -> Document:
    """``part`` as read from the file ``display``: the same data, every span naming that file."""
    (old,) = part.texts if part.texts else (part.files[0].path,)
    texts = {display: part.texts[old]} if part.texts else {}
    return Document(data=part.data,
                    spans={p: (display, w[1], w[2]) for p, w in part.spans.items()},
                    key_spans={p: (display, w[1], w[2]) for p, w in part.key_spans.items()},
                    files=[SourceFile(display, part.files[0].sha256)], texts=texts)


class _ReadAgain(Exception):
    """The fast read met an error it cannot describe alone; the eager read of the text will."""


def parse_text(text: str, display: str, eager: bool = True) -> Document | None:
    """Plain data and spans of one YAML document (None for an empty file). Not ``eager``: the
    spans of deep scalars and keys are left out and found again on demand (:data:`EAGER_DEPTH`)."""
    if eager:
        return _Composer(text, display).compose()
    try:
        return _Composer(text, display, eager=False).compose()
    except (_ReadAgain, InputError):
        # Every error is described by the eager read, with the places the fast one did not keep.
        return _Composer(text, display).compose()


def _display_name(path: Path) -> str:
    """How a file is named in messages: as the user (or the including file) wrote it."""
    return str(path)


def _python_regexes(schema: Any) -> Any:
    """The schema with its patterns made exact for Python's ``re``, which both validators use: there
    ``$`` also matches before a final newline ("pc1\\n" passed as a name) and ``\\d`` matches any
    Unicode digit ("８０" passed as a port). The schema printed for editors keeps ECMA patterns."""
    if isinstance(schema, dict):
        out = {k: _python_regexes(v) for k, v in schema.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str):
            pattern = pattern.replace(r"\d", "[0-9]")
            if pattern.endswith("$") and not pattern.endswith(r"\$"):
                pattern = pattern[:-1] + r"\Z"
            out["pattern"] = pattern
        return out
    if isinstance(schema, list):
        return [_python_regexes(v) for v in schema]
    return schema


@functools.cache
def _explaining_validator() -> Any:
    """jsonschema, which finds the best error and its path: imported only when a file is wrong (its
    import is a tenth of a second that a valid network does not need)."""
    import jsonschema

    return jsonschema.Draft202012Validator(_python_regexes(topology_schema()))


def _fast_schema() -> dict[str, Any]:
    schema = dict(_python_regexes(topology_schema()))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return schema


def schema_digest() -> str:
    """What the shipped validator was generated from: the SHA-256 of the schema it checks."""
    return hashlib.sha256(json.dumps(_fast_schema(), sort_keys=True, ensure_ascii=True).encode()).hexdigest()


GENERATED = Path(__file__).with_name("topology_validator.py")


def fast_validator_source() -> str:
    """fastjsonschema's Python code for the schema, as shipped in topology_validator.py
    (``python -m segverify.reader`` writes it after schema.py changed; a test checks it is current)."""
    code = fastjsonschema.compile_to_code(_fast_schema())
    entry = re.search(r"^def (\w+)\(", code, re.MULTILINE)
    assert entry is not None, "fastjsonschema wrote no function"
    return (f"# Generated from schema.py by `python -m segverify.reader`: do not edit.\n"
            f"# mypy: ignore-errors\n# fmt: off\n"
            f'SCHEMA_SHA256 = "{schema_digest()}"\n'
            f"{code.rstrip()}\n\n\nvalidate = {entry.group(1)}\n")


def _fast_validator() -> Callable[[Any], Any]:
    """fastjsonschema turns the schema into Python code: ~20x faster on a large valid network.

    It is only the fast yes; when it says no, jsonschema finds the best error and its path, so
    messages and spans come from one place. The schema uses nothing beyond draft-07 keywords.
    Generating and compiling that code took a tenth of a second at every start, so it is shipped
    generated; a schema changed since then is compiled here instead."""
    try:
        from . import topology_validator
    except ImportError:  # not generated yet
        topology_validator = None  # type: ignore[assignment]
    shipped = getattr(topology_validator, "validate", None)
    if shipped is not None and getattr(topology_validator, "SCHEMA_SHA256", None) == schema_digest():
        return shipped
    return fastjsonschema.compile(_fast_schema())


_FAST_VALIDATOR = _fast_validator()


def _validate(doc: Document, data: Any, prefix: Path_, display: str) -> None:
    if not isinstance(data, dict):
        raise InputError("a topology file must be a mapping of sections (zones, nodes, ...)", Span(display, 1, 1))
    try:
        _FAST_VALIDATOR(data)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    import jsonschema

    error = jsonschema.exceptions.best_match(_explaining_validator().iter_errors(data))
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
    if error.validator == "pattern":  # a regular expression means nothing to the reader of the message
        expected = error.schema.get("x-expected") or error.schema.get("description") or "a different value"
        message = f"{error.instance!r} is not valid here: expected {expected}"
    where = "/".join(str(p) for p in path)
    raise InputError(f"{message} (at {where or 'top level'})", doc.span(prefix + path))


def validate_document(doc: Document) -> None:
    """Check a Document assembled elsewhere (an importer's) against the schema, with its spans."""
    _validate(doc, doc.data, (), doc.files[0].path if doc.files else "<input>")


def load_document(path: str | os.PathLike[str], parsed: ParsedFiles | None = None) -> Document:
    """Read a file or a directory of files, with includes, into one validated Document.

    ``parsed``: files read before in this run; one with the same bytes is taken from there."""
    try:
        return _load_document(path, parsed)
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop, a directory we may not list
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read {os.fspath(path)}: {detail}") from None


def _load_document(path: str | os.PathLike[str], parsed: ParsedFiles | None) -> Document:
    """Includes are confined to the directory tree of the top-level topology (the directory itself
    when ``path`` is one), with symbolic links resolved: a topology cannot make segverify read,
    or quote in an error, a file outside its own tree."""
    root = Path(path)
    doc = Document(data={})
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise InputError(f"{_display_name(root)} holds no .yaml or .yml file")
        confine = root.resolve()
        from .readahead import ReadAhead

        with ReadAhead(_not_parsed(files, parsed), confine) as ahead:
            for f in files:
                _merge_file(doc, f, seen=[], depth=0, confine=confine, ahead=ahead, parsed=parsed)
    elif root.exists() or root.is_symlink():
        _merge_file(doc, root, seen=[], depth=0, confine=root.resolve().parent, parsed=parsed)
    else:
        raise InputError(f"{_display_name(root)}: no such file or directory")
    return doc


def load_text(text: str, name: str = "<string>") -> Document:
    doc = Document(data={})
    part = parse_text(text, name, eager=False)
    if part is None:
        raise InputError("the file is empty", Span(name, 1, 1))
    _validate(part, part.data, (), name)
    _merge_node(doc, part, name, Path("."), seen=[], depth=0, confine=Path(".").resolve())
    doc.files.append(SourceFile(name, hashlib.sha256(text.encode()).hexdigest()))
    return doc


def _inside(path: Path, confine: Path) -> bool:
    return path == confine or confine in path.parents


def _merge_file(doc: Document, path: Path, seen: list[Path], depth: int, confine: Path,
                where: Span | None = None, ahead: ReadAhead | None = None,
                parsed: ParsedFiles | None = None) -> None:
    resolved = path.resolve()
    display = _display_name(path)
    if where is not None and not _inside(resolved, confine):
        raise InputError(f"include {display} is outside {confine.name or confine}/, the directory of the "
                         f"top-level topology (includes may not leave it)", where)
    if resolved in seen:
        chain = " -> ".join(_display_name(p) for p in seen + [resolved])
        raise InputError(f"include cycle: {chain}", where or Span(display, 1, 1))
    if depth > MAX_INCLUDE_DEPTH:
        raise InputError(f"includes nested deeper than {MAX_INCLUDE_DEPTH}", where or Span(display, 1, 1))
    if any(f.path == display for f in doc.files):
        raise InputError(f"{display} is read twice (included from two places)", where or Span(display, 1, 1))
    early = ahead.take(path) if ahead is not None else None  # parsed by a worker (readahead.py)
    taken: Document | None = None  # parsed before in this run (the other version of a diff)
    part: Document | None
    if early is not None:
        part, digest = early
    else:
        raw = _read_bytes(path, display, where)
        digest = hashlib.sha256(raw).hexdigest()
        taken = parsed.get(digest, display) if parsed is not None else None
        part = taken if taken is not None else parse_text(_decode(raw, display), display, eager=False)
    doc.files.append(SourceFile(display, digest))
    if taken is None:
        if part is None:
            raise InputError("the file is empty", Span(display, 1, 1))
        _validate(part, part.data, (), display)
        if parsed is not None:
            parsed.put(digest, display, part)
    _merge_node(doc, part, display, path.parent, seen + [resolved], depth, confine, parsed)


def _merge_node(doc: Document, part: Document | None, display: str, base: Path,
                seen: list[Path], depth: int, confine: Path, parsed: ParsedFiles | None = None) -> None:
    """Add one parsed and validated file (and what it includes) to ``doc``."""
    if part is None:
        raise InputError("the file is empty", Span(display, 1, 1))
    data = part.data
    doc.texts.update(part.texts)
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
        include_at = part.span(("include", i))
        target = base / inc
        try:
            if not _inside(target.resolve(), confine):
                raise InputError(f"include {inc!r} is outside {confine.name or confine}/, the directory of the "
                                 f"top-level topology (includes may not leave it)", include_at)
            if not target.exists():
                raise InputError(f"included file {inc!r} does not exist", include_at)
            members = sorted(p for p in target.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()) \
                if target.is_dir() else [target]
        except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop, no permission
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InputError(f"cannot read include {inc[:80]!r}: {detail}", include_at) from None
        from .readahead import ReadAhead

        with ReadAhead(_not_parsed(members, parsed), confine) as ahead:
            for f in members:
                _merge_file(doc, f, seen, depth + 1, confine, include_at, ahead, parsed)


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


if __name__ == "__main__":
    GENERATED.write_text(fast_validator_source(), encoding="utf-8")

"""A structure-aware fuzzer for the topology loader, run in CI with a fixed seed.

Inputs are the reference topologies (topologies/*.yaml), the broken ones (topologies/broken/) and
tests/data/tiny.yaml, mutated in their structure (keys deleted, duplicated, retyped; values swapped
between fields; out-of-range and malformed values; unicode and control characters) and in their
text (anchors, aliases, merge keys, tags, includes that try to leave the tree or read devices).

The contract for every input: ``segverify.loads`` raises :class:`InputError` with a file:line, or
it returns a topology that ``verify`` checks without raising. Anything else (another exception, a
message without a place) is a bug.

CI runs FUZZ_EXAMPLES inputs (hypothesis with derandomize=True, so the same inputs every run); set
SEGVERIFY_FUZZ_EXAMPLES for a longer run, e.g. SEGVERIFY_FUZZ_EXAMPLES=50000.
"""

from __future__ import annotations

import copy
import datetime as _dt
import os
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segverify
from segverify.errors import InputError
from segverify.outputs import RENDERERS

ROOT = Path(__file__).resolve().parent.parent
SEED_FILES = sorted((ROOT / "topologies").glob("*.yaml")) + sorted((ROOT / "topologies" / "broken").glob("*.yaml")) \
    + [ROOT / "tests" / "data" / "tiny.yaml"]
TEXTS: dict[str, str] = {p.name: p.read_text(encoding="utf-8") for p in SEED_FILES}
SEEDS: dict[str, Any] = {name: yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                         for name, text in TEXTS.items()}
FUZZ_EXAMPLES = int(os.environ.get("SEGVERIFY_FUZZ_EXAMPLES", "2000"))
TODAY = _dt.date(2026, 11, 26)

Path_ = tuple[Any, ...]
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

ODD_SCALARS: list[Any] = [
    None, True, False, 0, -1, 1, 255, 256, 65535, 65536, 2**31, 2**63, 2**64 + 1, -(2**70), 80.0, 1e308, "", " ",
    "any", "default", "10.0.0.0/8", "10.0.0.256", "10.0.0.0/33", "0.0.0.0/0", "255.255.255.255", "1.2.3.4-1.2.3.0",
    "10.0.0.1 0.0.0.255", "tcp/80", "tcp/99999", "udp/0-65535", "icmp/8/0", "icmp/300", "tcp/80-10", "８０", "²",
    "tcp/８０", "10.０.0.1", "a\nb", "x\x1b[8m", "\u202eevil", "名前", "a:b", "a,b", "SEG001", "SEG999", "2027-02-30",
    "2027-03-31", "permit", "deny", "mynumber", "lgwan", "internet", "external-internet", "firewall", "external",
    "host", "router", "sanitizer", "~", "null", "yes", "0x10", "0o17", "1_000", "9" * 400, "%", "::error::x",
]


def _paths(data: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a value below the root."""
    out: list[Path_] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append(prefix + (i,))
            out.extend(_paths(v, prefix + (i,)))
    return out


def _get(data: Any, path: Path_) -> Any:
    for p in path:
        data = data[p]
    return data


def _pick(draw: Callable[..., Any], data: Any) -> Path_ | None:
    paths = _paths(data)
    return paths[draw(st.integers(0, len(paths) - 1))] if paths else None


def _scalar(draw: Callable[..., Any]) -> Any:
    return draw(st.one_of(st.sampled_from(ODD_SCALARS), st.integers(-(2**70), 2**70),
                          st.text(max_size=12), st.text(st.characters(max_codepoint=0x3000), max_size=6)))


def _value(draw: Callable[..., Any]) -> Any:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return [_scalar(draw) for _ in range(draw(st.integers(0, 3)))]
    if kind == 1:
        return {str(_scalar(draw)): _scalar(draw) for _ in range(draw(st.integers(0, 2)))}
    return _scalar(draw)


def delete(draw: Callable[..., Any], data: Any) -> None:
    path = _pick(draw, data)
    if path:
        parent = _get(data, path[:-1])
        del parent[path[-1]]


def duplicate(draw: Callable[..., Any], data: Any) -> None:
    """A list item twice, or a mapping entry under a second name (the name of another entry)."""
    path = _pick(draw, data)
    if not path:
        return
    parent = _get(data, path[:-1])
    if isinstance(parent, list):
        parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
    elif len(parent) > 1:
        other = draw(st.sampled_from(sorted(map(str, parent))))
        parent[other] = copy.deepcopy(parent[path[-1]])


def retype(draw: Callable[..., Any], data: Any) -> None:
    path = _pick(draw, data)
    if path:
        _get(data, path[:-1])[path[-1]] = _value(draw)


def rename_key(draw: Callable[..., Any], data: Any) -> None:
    path = _pick(draw, data)
    if path and isinstance(_get(data, path[:-1]), dict):
        parent = _get(data, path[:-1])
        parent[str(_scalar(draw))] = parent.pop(path[-1])


def swap(draw: Callable[..., Any], data: Any) -> None:
    a, b = _pick(draw, data), _pick(draw, data)
    if not a or not b or a[: len(b)] == b or b[: len(a)] == a:
        return  # one inside the other
    pa, pb = _get(data, a[:-1]), _get(data, b[:-1])
    pa[a[-1]], pb[b[-1]] = copy.deepcopy(pb[b[-1]]), copy.deepcopy(pa[a[-1]])


def copy_into(draw: Callable[..., Any], data: Any) -> None:
    """A value of one field where another field is (a zone name as an address, ...)."""
    a, b = _pick(draw, data), _pick(draw, data)
    if a and b and a[: len(b)] != b:
        _get(data, b[:-1])[b[-1]] = copy.deepcopy(_get(data, a))


TREE_MUTATIONS = [delete, duplicate, retype, rename_key, swap, copy_into]

TAGS = ["!!python/object/apply:os.system ['id']", "!!python/name:os.system", "!!binary aGVsbG8=", "!!float 80",
        "!!int 80", "!!str 80", "!custom x", "!!set {a, b}", "!!omap [a: 1]", "!!timestamp 2027-02-30"]
INCLUDES = ["/etc/passwd", "/proc/self/status", "/dev/zero", "../../etc/hostname", ".", "..", "topologies/",
            "tests/data/tiny.yaml", "nosuchfile.yaml", "", "topologies/broken/../alpha.yaml", "x" * 300]


def _insert_line(draw: Callable[..., Any], text: str, line: str) -> str:
    lines = text.split("\n")
    at = draw(st.integers(0, len(lines)))
    indent = " " * draw(st.sampled_from([0, 2, 4, 6]))
    return "\n".join(lines[:at] + [indent + line] + lines[at:])


def text_mutation(draw: Callable[..., Any], text: str) -> str:
    kind = draw(st.integers(0, 7))
    if kind == 0:  # an anchor on one mapping, aliases elsewhere, maybe a merge key
        text = text.replace("\nnodes:\n", "\nnodes: &n\n", 1)
        return _insert_line(draw, text, draw(st.sampled_from(["x: *n", "<<: *n", "- *n", "y: *nosuch", "&a b: *a"])))
    if kind == 1:
        return _insert_line(draw, text, f"k: {draw(st.sampled_from(TAGS))}")
    if kind == 2:
        return text + f"\ninclude: [{yaml.safe_dump(draw(st.sampled_from(INCLUDES))).split(chr(10))[0]}]\n"
    if kind == 3:  # raw control or odd characters anywhere
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.sampled_from(["\x00", "\x1b[8m", "\x07", "\r", "\t", "\ufeff", "\u202e", "\x85",
                                                 "\ud7ff", "'", '"', "{", "[", "&", "*", "!", "%", "@", "`"])) + text[at:]
    if kind == 4:  # a line twice: a duplicate key, or a list item twice
        lines = text.split("\n")
        at = draw(st.integers(0, len(lines) - 1))
        return "\n".join(lines[: at + 1] + [lines[at]] + lines[at + 1:])
    if kind == 5:  # cut short
        return text[: draw(st.integers(0, len(text)))]
    if kind == 6:
        return text + "\n---\nsegverify: 1\n"
    return _insert_line(draw, text, draw(st.sampled_from(["segverify: 1.0", "segverify: 2", "? [a, b]\n: c",
                                                          "'pc\\n': {}", "a: 2027-13-01", "b: " + "9" * 5000])))


@st.composite
def mutated_topologies(draw: Callable[..., Any]) -> str:
    name = draw(st.sampled_from(sorted(SEEDS)))
    text = TEXTS[name]
    tree_mutations = draw(st.integers(0, 3))
    if tree_mutations:
        data = copy.deepcopy(SEEDS[name])
        for _ in range(tree_mutations):
            draw(st.sampled_from(TREE_MUTATIONS))(draw, data)
        try:
            text = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=120)
        except yaml.YAMLError:  # something PyYAML cannot write: mutate the seed's own text instead
            pass
    for _ in range(draw(st.integers(0 if tree_mutations else 1, 2))):
        text = text_mutation(draw, text)
    return text


def check_contract(text: str) -> str:
    """'refused' (InputError with file:line) or 'verified'; any other outcome fails the test."""
    try:
        topology = segverify.loads(text, "fuzz.yaml")
    except InputError as exc:
        # The place is in the input, or in a file it included (loads() includes relative to the
        # working directory, inside its tree).
        assert exc.span is not None and exc.span.line >= 1 and exc.span.column >= 1, str(exc)
        assert "Traceback" not in str(exc)
        return "refused"
    report = segverify.verify(topology, today=TODAY)
    RENDERERS["text"](report)
    return "verified"


def test_fuzzed_topologies_keep_the_contract() -> None:
    outcomes: Counter[str] = Counter()

    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(mutated_topologies())
    def one(text: str) -> None:
        outcomes[check_contract(text)] += 1

    one()
    print(f"fuzz: {sum(outcomes.values())} inputs: {dict(sorted(outcomes.items()))}")
    assert sum(outcomes.values()) >= FUZZ_EXAMPLES
    assert outcomes["refused"] and outcomes["verified"]  # both sides of the contract were exercised


def test_the_seeds_themselves_load() -> None:
    for path in SEED_FILES:
        check_contract(path.read_text(encoding="utf-8"))

"""Spans the fast read leaves out are found again exactly: the same file:line:column as a read that
keeps every span, for every value and key of every bundled network, and for every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from segverify import InputError, reader
from segverify.generate import generate

ROOT = Path(__file__).parent.parent
NETWORKS = sorted((ROOT / "topologies").rglob("*.yaml")) + sorted((ROOT / "tests" / "data").glob("*.yaml"))
BAD = sorted((ROOT / "tests" / "data" / "bad").glob("*.yaml"))


def _paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, path + (i,))


def _every_span(monkeypatch: pytest.MonkeyPatch, path: Path) -> reader.Document:
    with monkeypatch.context() as m:
        m.setattr(reader, "EAGER_DEPTH", 10**6)
        return reader.load_document(path)


def _compare(monkeypatch: pytest.MonkeyPatch, path: Path) -> int:
    fast = reader.load_document(path)
    full = _every_span(monkeypatch, path)
    assert fast.data == full.data
    paths = list(_paths(full.data))
    for p in paths:
        assert fast.span(p) == full.span(p), p
        assert fast.key_span(p) == full.key_span(p), p
    return len(paths)


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_span_of_a_bundled_network_is_found_again(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    assert _compare(monkeypatch, path) > 10


def test_every_span_of_a_generated_network_is_found_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    generate(2, 40, 30, "alpha", 2026, 9, tmp_path / "net")
    fast = reader.load_document(tmp_path / "net" / "network.yaml")
    assert fast.texts and any(len(p) > reader.EAGER_DEPTH for p in _paths(fast.data))
    assert not any(len(p) > reader.EAGER_DEPTH for p in fast.spans if not isinstance(reader._value_at(fast.data, p), (dict, list)))
    assert _compare(monkeypatch, tmp_path / "net" / "network.yaml") > 1000


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_errors_name_the_same_place(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    import segverify

    def error() -> tuple[str, object, object]:
        with pytest.raises(InputError) as info:
            segverify.load(path)
        return str(info.value), info.value.span, info.value.related

    fast = error()
    with monkeypatch.context() as m:
        m.setattr(reader, "EAGER_DEPTH", 10**6)
        assert error() == fast

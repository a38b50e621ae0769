"""The schema validator shipped as generated code (topology_validator.py) is the one schema.py gives.

Generating and compiling it took a tenth of a second at every start, so it is shipped; these tests
keep it honest: generated from today's schema, the one the reader uses, and answering every file and
every mutation of one exactly as fastjsonschema's freshly compiled validator does."""

from __future__ import annotations

import copy
import functools
import importlib.metadata
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segverify import reader, topology_validator
from segverify.errors import InputError
from segverify.generate import generate

ROOT = Path(__file__).parent.parent
FILES = sorted({*ROOT.glob("topologies/**/*.yaml"), *ROOT.glob("examples/**/*.yaml"),
                *ROOT.glob("tests/data/*.yaml"), *ROOT.glob("tests/data/bad/*.yaml")})


@functools.cache
def _compiled() -> Callable[[Any], Any]:
    return fastjsonschema.compile(reader._fast_schema())


@pytest.fixture(scope="module")
def compiled() -> Callable[[Any], Any]:
    return _compiled()


def _answer(validate: Callable[[Any], Any], data: Any) -> tuple[bool, str]:
    try:
        validate(data)
    except fastjsonschema.JsonSchemaException as error:
        return False, error.message
    return True, ""


def _data(path: Path) -> Any:
    """What the reader gives the validator for this file."""
    doc = reader.parse_text(path.read_text(encoding="utf-8"), str(path))
    return None if doc is None else doc.data


def _documents() -> list[tuple[str, Any]]:
    found = []
    for path in FILES:
        try:
            data = _data(path)
        except (InputError, UnicodeDecodeError):
            continue  # a file the reader refuses never reaches the validator
        found.append((str(path.relative_to(ROOT)), data))
    return found


def test_it_is_generated_from_todays_schema() -> None:
    assert topology_validator.SCHEMA_SHA256 == reader.schema_digest(), \
        "schema.py changed: run `python -m segverify.reader` to regenerate topology_validator.py"


def test_the_reader_uses_it() -> None:
    assert reader._FAST_VALIDATOR is topology_validator.validate


def test_it_is_the_code_fastjsonschema_writes_today() -> None:
    shipped = reader.GENERATED.read_text(encoding="utf-8")
    if importlib.metadata.version("fastjsonschema") == topology_validator.VERSION:
        assert shipped == reader.fast_validator_source()
    else:  # another fastjsonschema may write other code: the answers below must still agree
        assert f'SCHEMA_SHA256 = "{reader.schema_digest()}"' in shipped


def test_every_file_gets_the_same_answer(compiled: Callable[[Any], Any]) -> None:
    documents = _documents()
    assert len(documents) > 50
    answers = {name: _answer(topology_validator.validate, data) for name, data in documents}
    assert answers == {name: _answer(compiled, data) for name, data in documents}
    assert {ok for ok, _ in answers.values()} == {True, False}  # both kinds are in the sample


def test_generated_networks_get_the_same_answer(tmp_path: Path, compiled: Callable[[Any], Any]) -> None:
    generate(2, 40, 30, "beta", seed=3, inject=9, out=tmp_path)
    files = sorted(tmp_path.rglob("*.yaml"))
    assert files
    for path in files:
        data = _data(path)
        assert _answer(topology_validator.validate, data) == _answer(compiled, data) == (True, "")


VALID = _data(ROOT / "tests" / "data" / "tiny.yaml")
ODD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=6),
                       st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _places(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _places(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _places(value, path + (i,))
    return found


PLACES = _places(VALID)[1:]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(PLACES), st.sampled_from(["replace", "drop", "add"]), ODD_VALUES),
                min_size=1, max_size=3))
def test_mutated_documents_get_the_same_answer(edits: list[tuple[tuple[Any, ...], str, Any]]) -> None:
    data = copy.deepcopy(VALID)
    for path, how, value in edits:
        parent: Any = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            last = path[-1]
            if how == "replace":
                parent[last] = value
            elif how == "drop":
                del parent[last]
            elif isinstance(parent[last], dict):
                parent[last]["unexpected"] = value
            elif isinstance(parent[last], list):
                parent[last].append(value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit took this place away
    assert _answer(topology_validator.validate, data) == _answer(_compiled(), data)
